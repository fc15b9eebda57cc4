/* dm-driver-generic - the driver for an existing host reached over SSH.
 *
 *   dm-driver-generic describe
 *   dm-driver-generic VERB < host.json
 *
 * Nothing is created at a provider: create copies the given SSH key into the
 * machine directory (as id_rsa, the name 0.16.2 uses) and records the
 * address.  state is a TCP connect to the SSH port (Running, or Stopped when
 * it fails within $GENERIC_PROBE_TIMEOUT_MS, default 2000 ms); url is
 * tcp://IP:ENGINEPORT once Running; restart runs `sudo shutdown -r now` over
 * SSH; start, stop and kill are refused; remove removes nothing.
 * The read verbs (state, url, ip) take any number of hosts, one JSON object
 * per line; their probes run at once and each answer (carrying "Name") is
 * written as soon as it is known.  A Running state answer carries "URL" too.
 *
 * Exit status: 0 ok; 1 an {"Error"} was answered (also a missing
 * --generic-ip-address, a configuration error); 3 precreate-check failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dm.h"
#include "drvkit.h"
#include "json.h"
#include "ssh.h"

#define PROBE_DEFAULT_MS 2000
#define RESTART_TIMEOUT_MS 60000

static const struct opt flags[] = {
	{ "generic-engine-port", 0, OPT_INT, "2376", "GENERIC_ENGINE_PORT", "Docker engine port", 0, NULL, 0 },
	{ "generic-ip-address", 0, OPT_STRING, NULL, "GENERIC_IP_ADDRESS", "IP Address of machine", 0, NULL, 0 },
	{ "generic-ssh-key", 0, OPT_STRING, NULL, "GENERIC_SSH_KEY",
	  "SSH private key path (if not provided, default SSH key will be used)", 0, NULL, 0 },
	{ "generic-ssh-port", 0, OPT_INT, "22", "GENERIC_SSH_PORT", "SSH port", 0, NULL, 0 },
	{ "generic-ssh-user", 0, OPT_STRING, "root", "GENERIC_SSH_USER", "SSH user", 0, NULL, 0 },
};

/* ---- create ---- */


/* Validate the flags; 1 ok, 0 answered an error. */
static int check_config(json_t *fl, const char **ip, long *sshport, long *engport)
{
	*ip = drv_flag_str(fl, "generic-ip-address");
	if (drv_flag_int(fl, "generic-ssh-port", 0, 65535, sshport) < 0 ||
	    drv_flag_int(fl, "generic-engine-port", 0, 65535, engport) < 0) {
		drv_error(NULL, dm_strerr());
		return 0;
	}
	if (!**ip) {
		drv_error(NULL, "generic driver requires the --generic-ip-address option");
		return 0;
	}
	return 1;
}

/* set-config: 0.16.2's SetConfigFromFlags, the flag checks only. */
static void do_set_config(const char *verb, json_t *host)
{
	const char *ip;
	long sp, ep;
	if (check_config(drv_host_flags(host), &ip, &sp, &ep))
		drv_ok();
}

static void do_precreate(const char *verb, json_t *host)
{
	json_t *fl = drv_host_flags(host);
	const char *ip, *key = drv_flag_str(fl, "generic-ssh-key");
	long sp, ep;
	struct stat st;

	if (!check_config(fl, &ip, &sp, &ep))
		return;
	if (*key && stat(key, &st) < 0 && errno == ENOENT) {
		struct strbuf m = STRBUF_INIT;
		sb_addf(&m, "SSH key does not exist: \"%s\"", key);
		drv_precreate_error(m.buf);
		sb_release(&m);
		return;
	}
	drv_ok();
}

static void do_create(const char *verb, json_t *host)
{
	json_t *fl = drv_host_flags(host), *in = drv_host_driver(host), *d;
	const char *ip, *key = drv_flag_str(fl, "generic-ssh-key");
	const char *user = drv_flag_str(fl, "generic-ssh-user");
	long sp, ep;
	char *dir = drv_machine_dir(host), *keypath = NULL;

	if (!check_config(fl, &ip, &sp, &ep))
		goto out;
	if (*key) {
		if (!dir) {
			drv_error(NULL, "generic: the host record has no StorePath/Name");
			goto out;
		}
		drv_log("Importing SSH key...");
		keypath = xasprintf("%s/id_rsa", dir);
		char *pub = xasprintf("%s.pub", key), *dpub = xasprintf("%s.pub", keypath);
		int rc = ssh_import_key(key, keypath);
		if (rc == 0 && access(pub, F_OK) == 0 && ssh_import_key(pub, dpub) < 0)
			drv_log("Couldn't copy SSH public key : %s", dm_strerr());
		free(pub);
		free(dpub);
		if (rc < 0) {
			drv_error(NULL, dm_strerr());
			goto out;
		}
	} else {
		drv_log("No SSH key specified. Assuming an existing key at the default location.");
	}
	/* Go field order: BaseDriver, then EnginePort, SSHKey */
	d = json_object();
	dj_set_str(d, "IPAddress", ip);
	drv_keep_or(d, "MachineName", in, json_string(drv_host_name(host) ? drv_host_name(host) : ""));
	dj_set_str(d, "SSHUser", user);
	dj_set_int(d, "SSHPort", sp);
	dj_set_str(d, "SSHKeyPath", keypath ? keypath : "");
	drv_keep_or(d, "StorePath", in, json_string(""));
	drv_keep_or(d, "SwarmMaster", in, json_false());
	drv_keep_or(d, "SwarmHost", in, json_string(""));
	drv_keep_or(d, "SwarmDiscovery", in, json_string(""));
	dj_set_int(d, "EnginePort", ep);
	dj_set_str(d, "SSHKey", key);
	drv_merge_missing(d, in);
	drv_persist(d);
	drv_ok();
out:
	free(dir);
	free(keypath);
}

/* ---- ssh-info, restart ---- */

static int target_of(json_t *host, struct ssh_target *t, char **kh)
{
	json_t *d = drv_host_driver(host);
	char *dir = drv_machine_dir(host);
	memset(t, 0, sizeof(*t));
	t->host = dj_str(d, "IPAddress", "");
	t->port = (int)dj_int(d, "SSHPort", 22);
	t->user = dj_str(d, "SSHUser", "root");
	t->key = dj_str(d, "SSHKeyPath", "");
	if (!*t->user)
		t->user = "root";
	*kh = dir ? xasprintf("%s/known_hosts", dir) : NULL;
	t->known_hosts = *kh;
	t->hostkey = SSH_HK_AUTO;
	free(dir);
	if (!*t->host)
		return dm_seterr("IP address is not set");
	return 0;
}

static void do_ssh_info(const char *verb, json_t *host)
{
	struct ssh_target t;
	char *kh;
	if (target_of(host, &t, &kh) < 0)
		drv_error(NULL, dm_strerr());
	else
		drv_answer_ssh(t.host, t.port, t.user, t.key, kh);
	free(kh);
}

static void do_restart(const char *verb, json_t *host)
{
	struct ssh_target t;
	struct strbuf err = STRBUF_INIT;
	char *kh;
	int rc;

	if (target_of(host, &t, &kh) < 0) {
		drv_error(NULL, dm_strerr());
		free(kh);
		return;
	}
	rc = ssh_run(&t, "sudo shutdown -r now", NULL, 0, NULL, &err, now_ms() + RESTART_TIMEOUT_MS);
	/* the connection may drop under the reboot: that is success */
	if (rc == 0 || (rc == 255 && strstr(err.buf, "closed by remote host")))
		drv_ok();
	else if (rc > 0 && rc != 255)
		drv_errorf(NULL, "ssh command error:\ncommand : sudo shutdown -r now\nerr     : exit status %d\noutput  : %s",
		           rc, err.buf);
	else
		drv_error(NULL, dm_strerr());
	sb_release(&err);
	free(kh);
}

/* ---- batched read verbs ---- */

struct probe {
	json_t *host;
	const char *name;
	char url[300];
	int fd;            /* connecting socket, -1 when answered */
	int done;
};

static int probe_timeout_ms(void)
{
	const char *e = getenv("GENERIC_PROBE_TIMEOUT_MS");
	long v;
	if (e && *e && parse_long(e, 1, 600000, &v, "GENERIC_PROBE_TIMEOUT_MS") == 0)
		return (int)v;
	return PROBE_DEFAULT_MS;
}

static void answer(const char *verb, struct probe *p, int running)
{
	if (!strcmp(verb, "state") || running) {
		json_t *a = json_object();
		if (p->name)
			dj_set_str(a, "Name", p->name);
		if (!strcmp(verb, "state"))
			dj_set_str(a, "State", running ? "Running" : "Stopped");
		if (running)
			dj_set_str(a, "URL", p->url);   /* state: what ls shows, without asking again */
		drv_emit(a);
	} else {
		drv_error(p->name, "Host is not running");
	}
	p->done = 1;
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
}

/* Start a non-blocking connect; answers at once when it cannot start. */
static void probe_start(const char *verb, struct probe *p)
{
	json_t *d = drv_host_driver(p->host);
	const char *ip = dj_str(d, "IPAddress", "");
	int port = (int)dj_int(d, "SSHPort", 22);
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	char ps[16];

	p->fd = -1;
	if (!*ip) {
		drv_error(p->name, "IP address is not set");
		p->done = 1;
		return;
	}
	if (strchr(ip, ':'))
		snprintf(p->url, sizeof p->url, "tcp://[%s]:%d", ip, (int)dj_int(d, "EnginePort", 2376));
	else
		snprintf(p->url, sizeof p->url, "tcp://%s:%d", ip, (int)dj_int(d, "EnginePort", 2376));
	snprintf(ps, sizeof ps, "%d", port);
	/* names are resolved (blocking) only when the record holds one */
	if (getaddrinfo(ip, ps, &hints, &res) != 0) {
		hints.ai_flags = AI_NUMERICSERV;
		if (getaddrinfo(ip, ps, &hints, &res) != 0) {
			answer(verb, p, 0);
			return;
		}
	}
	p->fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (p->fd < 0) {
		freeaddrinfo(res);
		answer(verb, p, 0);
		return;
	}
	if (connect(p->fd, res->ai_addr, res->ai_addrlen) == 0)
		answer(verb, p, 1);
	else if (errno != EINPROGRESS)
		answer(verb, p, 0);
	freeaddrinfo(res);
}

static void do_batch(const char *verb, json_t **hosts, size_t n)
{
	struct probe *pr = xcalloc(n ? n : 1, sizeof(*pr));
	struct pollfd *pf = xcalloc(n ? n : 1, sizeof(*pf));
	long long deadline = now_ms() + probe_timeout_ms();
	size_t left = 0;

	for (size_t i = 0; i < n; i++) {
		pr[i].host = hosts[i];
		pr[i].name = drv_host_name(hosts[i]);
		pr[i].fd = -1;
		if (!strcmp(verb, "ip")) {
			const char *ip = dj_str(drv_host_driver(hosts[i]), "IPAddress", "");
			if (*ip)
				drv_answer(pr[i].name, "IP", json_string(ip));
			else
				drv_error(pr[i].name, "IP address is not set");
			pr[i].done = 1;
			continue;
		}
		probe_start(verb, &pr[i]);
	}
	for (;;) {
		size_t np = 0;
		left = 0;
		for (size_t i = 0; i < n; i++) {
			if (pr[i].done)
				continue;
			left++;
			pf[np].fd = pr[i].fd;
			pf[np].events = POLLOUT;
			pf[np].revents = 0;
			np++;
		}
		if (!left)
			break;
		long long ms = deadline - now_ms();
		if (ms <= 0)
			break;
		if (poll(pf, (nfds_t)np, (int)ms) < 0 && errno != EINTR)
			break;
		for (size_t i = 0, j = 0; i < n; i++) {
			if (pr[i].done)
				continue;
			if (pf[j].revents) {
				int soerr = 0;
				socklen_t sl = sizeof soerr;
				getsockopt(pr[i].fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
				answer(verb, &pr[i], soerr == 0);
			}
			j++;
		}
	}
	for (size_t i = 0; i < n; i++)
		if (!pr[i].done)
			answer(verb, &pr[i], 0);    /* no answer within the probe timeout */
	free(pr);
	free(pf);
}

/* start, stop, kill */
static void do_refuse(const char *verb, json_t *host)
{
	drv_errorf(NULL, "generic driver does not support %s", verb);
}

/* remove: nothing to remove at a provider */
static void do_remove(const char *verb, json_t *host)
{
	drv_ok();
}

static const struct drv_verb verbs[] = {
	{ "set-config", do_set_config, NULL },
	{ "precreate-check", do_precreate, NULL },
	{ "create", do_create, NULL },
	{ "remove", do_remove, NULL },
	{ "start", do_refuse, NULL },
	{ "stop", do_refuse, NULL },
	{ "restart", do_restart, NULL },
	{ "kill", do_refuse, NULL },
	{ "state", NULL, do_batch },
	{ "url", NULL, do_batch },
	{ "ip", NULL, do_batch },
	{ "ssh-info", do_ssh_info, NULL },
};

static const struct drv_spec spec = { "generic", flags, ARRAY_SIZE(flags), verbs, ARRAY_SIZE(verbs) };

int main(int argc, char **argv)
{
	return drv_main(&spec, argc, argv);
}
