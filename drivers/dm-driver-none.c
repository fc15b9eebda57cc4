/* dm-driver-none - the driver for an existing Docker engine reached by URL.
 *
 *   dm-driver-none describe
 *   dm-driver-none VERB < host.json
 *
 * set-config and create check Flags.url and answer the Driver state
 * ({"Driver":{…}} then {"OK":true}).  The host is always Running; it cannot be started, stopped, restarted or
 * killed, has no SSH, and removing it removes nothing.  The read verbs
 * (state, url, ip) take any number of hosts, one JSON object per line, and
 * answer one line per host with its Name.  See driver.h for the protocol.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dm.h"
#include "json.h"

static const char describe_json[] =
	"{\"Name\":\"none\",\"Flags\":[{\"Name\":\"url\",\"Type\":\"string\","
	"\"Usage\":\"URL of host when no driver is selected\",\"EnvVar\":\"\",\"Value\":\"\","
	"\"Required\":true,\"Secret\":false}]}\n";

static struct strbuf out = STRBUF_INIT;
static int failures;

static int flush_out(void)
{
	const char *p = out.buf;
	size_t n = out.len;
	while (n) {
		ssize_t w = write(1, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	sb_reset(&out);
	return 0;
}

/* Queue one answer line (takes v). */
static void emit(json_t *v)
{
	dj_encode(v, 0, 0, &out);
	sb_addc(&out, '\n');
	json_decref(v);
}

static void emit_error(const char *name, const char *text)
{
	json_t *v = json_object();
	if (name)
		dj_set_str(v, "Name", name);
	dj_set_str(v, "Error", text);
	emit(v);
	failures++;
}

static void emit_ok(void)
{
	json_t *v = json_object();
	dj_set_bool(v, "OK", 1);
	emit(v);
}

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

static json_t *driver_obj(json_t *host)
{
	json_t *in = json_object_get(host, "Driver");
	return json_is_object(in) ? in : NULL;
}

static void copy_or(json_t *dst, const char *key, json_t *src, json_t *def)
{
	json_t *v = src ? json_object_get(src, key) : NULL;
	if (v) {
		dj_set(dst, key, json_incref(v));
		json_decref(def);
	} else {
		dj_set(dst, key, def);
	}
}

static void do_create(json_t *host)
{
	json_t *flags = json_object_get(host, "Flags"), *in = driver_obj(host), *d, *v;
	const char *url = dj_str(flags, "url", NULL), *k;
	char *ip, msg[1024];
	if (!url || !*url) {
		emit_error(NULL, "--url option is required when no driver is selected");
		return;
	}
	if (url_host(url, &ip, msg, sizeof(msg)) < 0) {
		emit_error(NULL, msg);
		return;
	}
	/* BaseDriver keys in their order, then URL, then anything else given. */
	d = json_object();
	dj_set_str(d, "IPAddress", ip);
	copy_or(d, "MachineName", in, json_string(dj_str(host, "Name", "")));
	dj_set_str(d, "SSHUser", "");
	dj_set_int(d, "SSHPort", 0);
	dj_set_str(d, "SSHKeyPath", "");
	copy_or(d, "StorePath", in, json_string(""));
	copy_or(d, "SwarmMaster", in, json_false());
	copy_or(d, "SwarmHost", in, json_string(""));
	copy_or(d, "SwarmDiscovery", in, json_string(""));
	dj_set_str(d, "URL", url);
	if (in)
		json_object_foreach(in, k, v)
			if (!json_object_get(d, k))
				dj_set(d, k, json_incref(v));
	free(ip);
	v = json_object();
	dj_set(v, "Driver", d);
	emit(v);
	emit_ok();
}

static void do_read(const char *verb, json_t *host)
{
	json_t *in = driver_obj(host), *a = json_object();
	const char *name = dj_str(host, "Name", NULL);
	const char *url = dj_str(in, "URL", ""), *ip = dj_str(in, "IPAddress", "");
	if (!name)
		name = dj_str(in, "MachineName", NULL);
	if (name)
		dj_set_str(a, "Name", name);
	if (!strcmp(verb, "state")) {
		dj_set_str(a, "State", "Running");
		dj_set_str(a, "URL", url);
	} else if (!strcmp(verb, "url")) {
		dj_set_str(a, "URL", url);
	} else if (!*ip) {
		json_decref(a);
		emit_error(name, "IP address is not set");
		return;
	} else {
		dj_set_str(a, "IP", ip);
	}
	emit(a);
}

struct verb {
	const char *name;
	const char *error;      /* the answer is this error */
	int batch;              /* read verb: one host per line */
};

static const struct verb verbs[] = {
	{ "set-config", NULL, 0 },
	{ "precreate-check", NULL, 0 },
	{ "create", NULL, 0 },
	{ "remove", NULL, 0 },
	{ "start", "hosts without a driver cannot be started", 0 },
	{ "stop", "hosts without a driver cannot be stopped", 0 },
	{ "restart", "hosts without a driver cannot be restarted", 0 },
	{ "kill", "hosts without a driver cannot be killed", 0 },
	{ "ssh-info", "hosts without a driver cannot be reached over SSH", 0 },
	{ "state", NULL, 1 },
	{ "url", NULL, 1 },
	{ "ip", NULL, 1 },
};

static void handle(const struct verb *vb, json_t *host)
{
	if (!json_is_object(host))
		emit_error(NULL, "invalid host: expected a JSON object");
	else if (vb->batch)
		do_read(vb->name, host);
	else if (vb->error)
		emit_error(NULL, vb->error);
	else if (!strcmp(vb->name, "create") || !strcmp(vb->name, "set-config"))
		do_create(host);
	else
		emit_ok();
}

/* Parse pending as one JSON value: 1 handled, 0 incomplete (wait for more). */
static int try_value(const struct verb *vb, struct strbuf *pending, int final)
{
	json_error_t e;
	json_t *v;
	if (!pending->len)
		return 1;
	v = json_loadb(pending->buf, pending->len, JSON_DECODE_ANY, &e);
	if (!v) {
		if (!final && json_error_code(&e) == json_error_premature_end_of_input)
			return 0;
		emit_error(NULL, final && json_error_code(&e) == json_error_premature_end_of_input
		                 ? "unexpected end of JSON input" : e.text);
		sb_reset(pending);
		return 1;
	}
	handle(vb, v);
	json_decref(v);
	sb_reset(pending);
	return 1;
}

static int blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return 0;
	return 1;
}

/* Hosts arrive one per line (a pretty-printed host spanning lines works
 * too: lines are joined until they parse).  Answers go out per read chunk. */
static int run_stream(const struct verb *vb)
{
	struct strbuf pending;
	char buf[65536];
	int handled_any = 0;
	sb_init(&pending, DM_CAP_CONFIG);
	for (;;) {
		ssize_t r = read(0, buf, sizeof(buf));
		size_t i, start = 0;
		if (r < 0) {
			if (errno == EINTR)
				continue;
			dm_warnx("read: %s", strerror(errno));
			return DM_EXIT_FAIL;
		}
		if (r == 0)
			break;
		for (i = 0; i < (size_t)r; i++) {
			if (buf[i] != '\n')
				continue;
			if (sb_add(&pending, buf + start, i + 1 - start) < 0) {
				emit_error(NULL, "host record exceeds the size limit");
				sb_reset(&pending);
			} else if (blank(pending.buf, pending.len)) {
				sb_reset(&pending);
			} else if (try_value(vb, &pending, 0)) {
				handled_any = 1;
			}
			start = i + 1;
		}
		if (start < (size_t)r && sb_add(&pending, buf + start, (size_t)r - start) < 0) {
			emit_error(NULL, "host record exceeds the size limit");
			sb_reset(&pending);
		}
		if (out.len && flush_out() < 0)
			return DM_EXIT_FAIL;
	}
	if (!blank(pending.buf, pending.len)) {
		try_value(vb, &pending, 1);
		handled_any = 1;
	}
	if (!handled_any) {
		/* No host on stdin: the action verbs still answer. */
		json_t *empty = json_object();
		if (vb->batch)
			emit_error(NULL, "no host record on stdin");
		else
			handle(vb, empty);
		json_decref(empty);
	}
	sb_release(&pending);
	if (out.len && flush_out() < 0)
		return DM_EXIT_FAIL;
	return failures ? DM_EXIT_FAIL : DM_EXIT_OK;
}

static int usage(void)
{
	dm_errorf("usage: %s describe\n       %s VERB < host.json\n"
	          "VERB: set-config precreate-check create remove start stop restart kill state url ip ssh-info",
	          dm_progname, dm_progname);
	return DM_EXIT_USAGE;
}

int main(int argc, char **argv)
{
	dm_init(argc, argv);
	if (argc != 2)
		return usage();
	if (!strcmp(argv[1], "describe")) {
		sb_adds(&out, describe_json);
		return flush_out() < 0 ? DM_EXIT_FAIL : DM_EXIT_OK;
	}
	for (size_t i = 0; i < ARRAY_SIZE(verbs); i++)
		if (!strcmp(argv[1], verbs[i].name))
			return run_stream(&verbs[i]);
	return usage();
}
