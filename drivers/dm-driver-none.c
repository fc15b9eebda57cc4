/* dm-driver-none - the driver for an existing Docker engine reached by URL.
 *
 *   dm-driver-none describe
 *   dm-driver-none VERB < host.json
 *
 * set-config and create check Flags.url and answer the Driver state
 * ({"Driver":{…}} then {"OK":true}).  The host is always Running; it cannot be started, stopped, restarted or
 * killed, has no SSH, and removing it removes nothing.  The read verbs
 * (state, url, ip) take any number of hosts, one JSON object per line, and
 * answer one line per host with its Name.  See driver.h for the protocol;
 * drvkit.h does its driver side.
 */
#include <stdlib.h>
#include <string.h>

#include "dm.h"
#include "drvkit.h"
#include "json.h"

static const struct opt flags[] = {
	{ "url", 0, OPT_STRING, NULL, NULL, "URL of host when no driver is selected", 0, NULL, OPTF_REQUIRED },
};

/* URL's host[:port] as Go's url.Parse gives u.Host; -1 with msg set on error. */
static int url_host(const char *url, char **host, char *msg, size_t msglen)
{
	const char *p = strstr(url, "://"), *s, *e, *at;
	const char *c;
	*host = NULL;
	/* a scheme is ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
	if (p) {
		for (c = url; c < p; c++)
			if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
			      (c > url && ((*c >= '0' && *c <= '9') || *c == '+' || *c == '-' || *c == '.'))))
				break;
		if (c != p || p == url)
			p = NULL;
	}
	if (!p) {
		e = url + strcspn(url, "/?#");
		if (memchr(url, ':', (size_t)(e - url))) {
			snprintf(msg, msglen, "parse \"%s\": first path segment in URL cannot contain colon", url);
			return -1;
		}
		*host = xstrdup("");
		return 0;
	}
	s = p + 3;
	e = s + strcspn(s, "/?#");
	at = NULL;
	for (c = s; c < e; c++)
		if (*c == '@')
			at = c;
	if (at)
		s = at + 1;
	*host = xstrndup(s, (size_t)(e - s));
	return 0;
}

static void do_create(const char *verb, json_t *host)
{
	json_t *in = drv_host_driver(host), *d;
	const char *url = drv_flag_str(drv_host_flags(host), "url");
	char *ip, msg[1024];
	if (!*url) {
		drv_error(NULL, "--url option is required when no driver is selected");
		return;
	}
	if (url_host(url, &ip, msg, sizeof(msg)) < 0) {
		drv_error(NULL, msg);
		return;
	}
	/* BaseDriver keys in their order, then URL, then anything else given. */
	d = json_object();
	dj_set_str(d, "IPAddress", ip);
	drv_keep_or(d, "MachineName", in, json_string(dj_str(host, "Name", "")));
	dj_set_str(d, "SSHUser", "");
	dj_set_int(d, "SSHPort", 0);
	dj_set_str(d, "SSHKeyPath", "");
	drv_keep_or(d, "StorePath", in, json_string(""));
	drv_keep_or(d, "SwarmMaster", in, json_false());
	drv_keep_or(d, "SwarmHost", in, json_string(""));
	drv_keep_or(d, "SwarmDiscovery", in, json_string(""));
	dj_set_str(d, "URL", url);
	drv_merge_missing(d, in);
	free(ip);
	drv_persist(d);
	drv_ok();
}

static void do_read(const char *verb, json_t *host)
{
	json_t *in = drv_host_driver(host), *a;
	const char *name = drv_host_name(host);
	const char *url = dj_str(in, "URL", ""), *ip = dj_str(in, "IPAddress", "");
	if (!strcmp(verb, "ip") && !*ip) {
		drv_error(name, "IP address is not set");
		return;
	}
	a = json_object();
	if (name)
		dj_set_str(a, "Name", name);
	if (!strcmp(verb, "state")) {
		dj_set_str(a, "State", "Running");
		dj_set_str(a, "URL", url);
	} else if (!strcmp(verb, "url")) {
		dj_set_str(a, "URL", url);
	} else {
		dj_set_str(a, "IP", ip);
	}
	drv_emit(a);
}

static void do_refuse(const char *verb, json_t *host)
{
	static const struct { const char *verb, *what; } refusals[] = {
		{ "start", "started" }, { "stop", "stopped" }, { "restart", "restarted" },
		{ "kill", "killed" }, { "ssh-info", "reached over SSH" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(refusals); i++)
		if (!strcmp(verb, refusals[i].verb))
			drv_errorf(NULL, "hosts without a driver cannot be %s", refusals[i].what);
}

static void do_ok(const char *verb, json_t *host)
{
	drv_ok();
}

static void do_batch(const char *verb, json_t **hosts, size_t n)
{
	for (size_t i = 0; i < n; i++)
		do_read(verb, hosts[i]);
}

static const struct drv_verb verbs[] = {
	{ "set-config", do_create, NULL },
	{ "precreate-check", do_ok, NULL },
	{ "create", do_create, NULL },
	{ "remove", do_ok, NULL },
	{ "start", do_refuse, NULL },
	{ "stop", do_refuse, NULL },
	{ "restart", do_refuse, NULL },
	{ "kill", do_refuse, NULL },
	{ "state", NULL, do_batch },
	{ "url", NULL, do_batch },
	{ "ip", NULL, do_batch },
	{ "ssh-info", do_refuse, NULL },
};

static const struct drv_spec spec = { "none", flags, ARRAY_SIZE(flags), verbs, ARRAY_SIZE(verbs) };

int main(int argc, char **argv)
{
	return drv_main(&spec, argc, argv);
}
