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
#include "json.h"
#include "ssh.h"

#define PROBE_DEFAULT_MS 2000
#define RESTART_TIMEOUT_MS 60000

static const struct {
	const char *name, *type, *usage, *env, *value;
} flags[] = {
	{ "generic-engine-port", "int", "Docker engine port", "GENERIC_ENGINE_PORT", "2376" },
	{ "generic-ip-address", "string", "IP Address of machine", "GENERIC_IP_ADDRESS", "" },
	{ "generic-ssh-key", "string",
	  "SSH private key path (if not provided, default SSH key will be used)", "GENERIC_SSH_KEY", "" },
	{ "generic-ssh-port", "int", "SSH port", "GENERIC_SSH_PORT", "22" },
	{ "generic-ssh-user", "string", "SSH user", "GENERIC_SSH_USER", "root" },
};

static int failures, precreate_failed;

static int write_all(const char *p, size_t n)
{
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
	return 0;
}

/* One answer line, written at once (batch answers stream). Takes v. */
static void emit(json_t *v)
{
	struct strbuf sb = STRBUF_INIT;
	dj_encode(v, 0, 0, &sb);
	sb_addc(&sb, '\n');
	write_all(sb.buf, sb.len);
	sb_release(&sb);
	json_decref(v);
}

static void emit_kv(const char *name, const char *key, json_t *val)
{
	json_t *v = json_object();
	if (name)
		dj_set_str(v, "Name", name);
	dj_set(v, key, val);
	emit(v);
}

static void emit_error(const char *name, const char *text)
{
	emit_kv(name, "Error", json_string(text));
	failures++;
}

static void emit_log(const char *text) { emit_kv(NULL, "Log", json_string(text)); }
static void emit_ok(void) { emit_kv(NULL, "OK", json_true()); }

static void do_describe(void)
{
	json_t *d = json_object(), *arr = json_array();
	dj_set_str(d, "Name", "generic");
	for (size_t i = 0; i < ARRAY_SIZE(flags); i++) {
		json_t *f = json_object();
		dj_set_str(f, "Name", flags[i].name);
		dj_set_str(f, "Type", flags[i].type);
		dj_set_str(f, "Usage", flags[i].usage);
		dj_set_str(f, "EnvVar", flags[i].env);
		if (!strcmp(flags[i].type, "int"))
			dj_set_int(f, "Value", atol(flags[i].value));
		else
			dj_set_str(f, "Value", flags[i].value);
		dj_set_bool(f, "Required", 0);
		dj_set_bool(f, "Secret", 0);
		json_array_append_new(arr, f);
	}
	dj_set(d, "Flags", arr);
	emit(d);
}

/* ---- reading the host record ---- */

static json_t *drv(json_t *host)
{
	json_t *d = json_object_get(host, "Driver");
	return json_is_object(d) ? d : NULL;
}

static const char *host_label(json_t *host)
{
	const char *n = dj_str(host, "Name", NULL);
	return n ? n : dj_str(drv(host), "MachineName", NULL);
}

/* A flag value from "Flags": string or number; def when absent. */
static const char *flag_str(json_t *fl, const char *name, const char *def)
{
	json_t *v = json_object_get(fl, name);
	return json_is_string(v) ? json_string_value(v) : def;
}

static int flag_int(json_t *fl, const char *name, long def, long *out)
{
	json_t *v = json_object_get(fl, name);
	if (!v || json_is_null(v)) {
		*out = def;
		return 0;
	}
	if (json_is_integer(v)) {
		*out = (long)json_integer_value(v);
		return 0;
	}
	if (json_is_string(v))
		return parse_long(json_string_value(v), 0, 65535, out, name);
	return dm_seterr("%s: expected a number", name);
}

static int driver_int(json_t *d, const char *key, int def)
{
	json_t *v = json_object_get(d, key);
	return json_is_integer(v) ? (int)json_integer_value(v) : def;
}

/* machines/NAME under the record's StorePath. Caller frees. */
static char *machine_dir(json_t *host)
{
	json_t *d = drv(host);
	const char *store = dj_str(d, "StorePath", NULL);
	const char *name = host_label(host);
	if (!store || !*store)
		store = dj_str(dj_path(host, "HostOptions.AuthOptions"), "StorePath", NULL);
	if (!store || !*store || !name)
		return NULL;
	return xasprintf("%s/machines/%s", store, name);
}

/* ---- create ---- */

static int copy_key(const char *src, const char *dst)
{
	struct strbuf sb = STRBUF_INIT;
	int rc = 0;
	if (sb_read_file(&sb, src, 1u << 20) < 0)
		rc = dm_seterr("unable to copy ssh key: open %s: %s", src, strerror(errno));
	else if (unlink(dst) < 0 && errno != ENOENT)
		rc = dm_seterr("unable to copy ssh key: %s: %s", dst, strerror(errno));
	else if (write_file_excl(dst, sb.buf, sb.len, 0600) < 0)
		rc = dm_seterr("unable to copy ssh key: %s", dm_strerr());
	sb_release(&sb);
	return rc;
}

/* Validate the flags; 1 ok, 0 answered an error. */
static int check_config(json_t *fl, const char **ip, long *sshport, long *engport)
{
	*ip = flag_str(fl, "generic-ip-address", "");
	if (flag_int(fl, "generic-ssh-port", 22, sshport) < 0 ||
	    flag_int(fl, "generic-engine-port", 2376, engport) < 0) {
		emit_error(NULL, dm_strerr());
		return 0;
	}
	if (!**ip) {
		emit_error(NULL, "generic driver requires the --generic-ip-address option");
		return 0;
	}
	return 1;
}

/* set-config: 0.16.2's SetConfigFromFlags, the flag checks only. */
static void do_set_config(json_t *host)
{
	const char *ip;
	long sp, ep;
	if (check_config(json_object_get(host, "Flags"), &ip, &sp, &ep))
		emit_ok();
}

static void do_precreate(json_t *host)
{
	json_t *fl = json_object_get(host, "Flags");
	const char *ip, *key = flag_str(fl, "generic-ssh-key", "");
	long sp, ep;
	struct stat st;

	if (!check_config(fl, &ip, &sp, &ep))
		return;
	if (*key && stat(key, &st) < 0 && errno == ENOENT) {
		struct strbuf m = STRBUF_INIT;
		sb_adds(&m, "SSH key does not exist: \"");
		sb_adds(&m, key);
		sb_adds(&m, "\"");
		emit_error(NULL, m.buf);
		sb_release(&m);
		precreate_failed = 1;
		return;
	}
	emit_ok();
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
	json_t *fl = json_object_get(host, "Flags"), *in = drv(host), *d, *v;
	const char *ip, *key = flag_str(fl, "generic-ssh-key", ""), *k;
	const char *user = flag_str(fl, "generic-ssh-user", "root");
	long sp, ep;
	char *dir = machine_dir(host), *keypath = NULL;

	if (!check_config(fl, &ip, &sp, &ep))
		goto out;
	if (*key) {
		if (!dir) {
			emit_error(NULL, "generic: the host record has no StorePath/Name");
			goto out;
		}
		emit_log("Importing SSH key...");
		keypath = xasprintf("%s/id_rsa", dir);
		char *pub = xasprintf("%s.pub", key), *dpub = xasprintf("%s.pub", keypath);
		int rc = copy_key(key, keypath);
		if (rc == 0 && access(pub, F_OK) == 0 && copy_key(pub, dpub) < 0) {
			struct strbuf m = STRBUF_INIT;
			sb_addf(&m, "Couldn't copy SSH public key : %s", dm_strerr());
			emit_log(m.buf);
			sb_release(&m);
		}
		free(pub);
		free(dpub);
		if (rc < 0) {
			emit_error(NULL, dm_strerr());
			goto out;
		}
	} else {
		emit_log("No SSH key specified. Assuming an existing key at the default location.");
	}
	/* Go field order: BaseDriver, then EnginePort, SSHKey */
	d = json_object();
	dj_set_str(d, "IPAddress", ip);
	copy_or(d, "MachineName", in, json_string(host_label(host) ? host_label(host) : ""));
	dj_set_str(d, "SSHUser", user);
	dj_set_int(d, "SSHPort", sp);
	dj_set_str(d, "SSHKeyPath", keypath ? keypath : "");
	copy_or(d, "StorePath", in, json_string(""));
	copy_or(d, "SwarmMaster", in, json_false());
	copy_or(d, "SwarmHost", in, json_string(""));
	copy_or(d, "SwarmDiscovery", in, json_string(""));
	dj_set_int(d, "EnginePort", ep);
	dj_set_str(d, "SSHKey", key);
	if (in)
		json_object_foreach(in, k, v)
			if (!json_object_get(d, k))
				dj_set(d, k, json_incref(v));
	emit_kv(NULL, "Driver", d);
	emit_ok();
out:
	free(dir);
	free(keypath);
}

/* ---- ssh-info, restart ---- */

static int target_of(json_t *host, struct ssh_target *t, char **kh)
{
	json_t *d = drv(host);
	char *dir = machine_dir(host);
	memset(t, 0, sizeof(*t));
	t->host = dj_str(d, "IPAddress", "");
	t->port = driver_int(d, "SSHPort", 22);
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

static void do_ssh_info(json_t *host)
{
	struct ssh_target t;
	char *kh;
	if (target_of(host, &t, &kh) < 0) {
		emit_error(NULL, dm_strerr());
	} else {
		json_t *s = json_object();
		dj_set_str(s, "Host", t.host);
		dj_set_int(s, "Port", t.port);
		dj_set_str(s, "User", t.user);
		dj_set_str(s, "KeyPath", t.key);
		dj_set_str(s, "KnownHosts", kh ? kh : "");
		emit_kv(NULL, "SSH", s);
	}
	free(kh);
}

static void do_restart(json_t *host)
{
	struct ssh_target t;
	struct strbuf err = STRBUF_INIT;
	char *kh;
	int rc;

	if (target_of(host, &t, &kh) < 0) {
		emit_error(NULL, dm_strerr());
		free(kh);
		return;
	}
	rc = ssh_run(&t, "sudo shutdown -r now", NULL, 0, NULL, &err, now_ms() + RESTART_TIMEOUT_MS);
	/* the connection may drop under the reboot: that is success */
	if (rc == 0 || (rc == 255 && strstr(err.buf, "closed by remote host")))
		emit_ok();
	else if (rc > 0 && rc != 255) {
		struct strbuf m = STRBUF_INIT;
		sb_addf(&m, "ssh command error:\ncommand : sudo shutdown -r now\nerr     : exit status %d\noutput  : %s",
		        rc, err.buf);
		emit_error(NULL, m.buf);
		sb_release(&m);
	} else {
		emit_error(NULL, dm_strerr());
	}
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
	json_t *a = json_object();
	if (p->name)
		dj_set_str(a, "Name", p->name);
	if (!strcmp(verb, "state")) {
		dj_set_str(a, "State", running ? "Running" : "Stopped");
		if (running)
			dj_set_str(a, "URL", p->url);   /* what ls shows, without asking again */
	} else if (running) {
		dj_set_str(a, "URL", p->url);
	} else {
		dj_set_str(a, "Error", "Host is not running");
		failures++;
	}
	emit(a);
	p->done = 1;
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
}

/* Start a non-blocking connect; answers at once when it cannot start. */
static void probe_start(const char *verb, struct probe *p)
{
	json_t *d = drv(p->host);
	const char *ip = dj_str(d, "IPAddress", "");
	int port = driver_int(d, "SSHPort", 22);
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	char ps[16];

	p->fd = -1;
	if (!*ip) {
		json_t *a = json_object();
		if (p->name)
			dj_set_str(a, "Name", p->name);
		dj_set_str(a, "Error", "IP address is not set");
		emit(a);
		failures++;
		p->done = 1;
		return;
	}
	if (strchr(ip, ':'))
		snprintf(p->url, sizeof p->url, "tcp://[%s]:%d", ip, driver_int(d, "EnginePort", 2376));
	else
		snprintf(p->url, sizeof p->url, "tcp://%s:%d", ip, driver_int(d, "EnginePort", 2376));
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
		pr[i].name = host_label(hosts[i]);
		pr[i].fd = -1;
		if (!json_is_object(hosts[i])) {
			emit_error(NULL, "invalid host: expected a JSON object");
			pr[i].done = 1;
			continue;
		}
		if (!strcmp(verb, "ip")) {
			const char *ip = dj_str(drv(hosts[i]), "IPAddress", "");
			if (*ip)
				emit_kv(pr[i].name, "IP", json_string(ip));
			else
				emit_error(pr[i].name, "IP address is not set");
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

/* ---- input ---- */

/* Hosts from stdin: one JSON value per line, or one value spanning lines. */
static int read_hosts(struct strvec *unused, json_t ***out, size_t *n)
{
	struct strbuf sb;
	json_t **v = NULL;
	size_t cnt = 0;
	(void)unused;

	sb_init(&sb, 64u << 20);
	if (sb_read_fd(&sb, 0, 64u << 20) < 0) {
		sb_release(&sb);
		return -1;
	}
	/* whole input as one value first (pretty-printed config.json) */
	json_error_t e;
	json_t *one = json_loadb(sb.buf, sb.len, 0, &e);
	if (one) {
		v = xmalloc(sizeof(*v));
		v[cnt++] = one;
	} else {
		for (char *line = sb.buf; line && *line;) {
			char *nl = strchr(line, '\n');
			size_t len = nl ? (size_t)(nl - line) : strlen(line);
			size_t k = 0;
			while (k < len && (line[k] == ' ' || line[k] == '\t' || line[k] == '\r'))
				k++;
			if (k < len) {
				json_t *x = json_loadb(line, len, 0, &e);
				if (!x) {
					for (size_t i = 0; i < cnt; i++)
						json_decref(v[i]);
					free(v);
					sb_release(&sb);
					return dm_seterr("invalid host record: %s", e.text);
				}
				v = xrealloc(v, (cnt + 1) * sizeof(*v));
				v[cnt++] = x;
			}
			line = nl ? nl + 1 : NULL;
		}
	}
	sb_release(&sb);
	*out = v;
	*n = cnt;
	return 0;
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
	static const char *const known[] = { "set-config", "precreate-check", "create", "remove", "start", "stop",
		"restart", "kill", "state", "url", "ip", "ssh-info" };
	const char *verb;
	json_t **hosts = NULL;
	size_t n = 0, i;

	dm_init(argc, argv);
	if (argc != 2)
		return usage();
	verb = argv[1];
	if (!strcmp(verb, "describe")) {
		do_describe();
		return DM_EXIT_OK;
	}
	for (i = 0; i < ARRAY_SIZE(known); i++)
		if (!strcmp(verb, known[i]))
			break;
	if (i == ARRAY_SIZE(known))
		return usage();

	if (!strcmp(verb, "start") || !strcmp(verb, "stop") || !strcmp(verb, "kill")) {
		struct strbuf m = STRBUF_INIT;
		sb_addf(&m, "generic driver does not support %s", verb);
		emit_error(NULL, m.buf);
		sb_release(&m);
		return DM_EXIT_FAIL;
	}
	if (read_hosts(NULL, &hosts, &n) < 0) {
		emit_error(NULL, dm_strerr());
		return DM_EXIT_FAIL;
	}
	if (!strcmp(verb, "state") || !strcmp(verb, "url") || !strcmp(verb, "ip")) {
		if (!n)
			emit_error(NULL, "no host record on stdin");
		do_batch(verb, hosts, n);
	} else {
		json_t *h = n ? hosts[0] : json_object();
		if (!n)
			hosts = xcalloc(1, sizeof(*hosts)), hosts[0] = h, n = 1;
		if (!json_is_object(h))
			emit_error(NULL, "invalid host: expected a JSON object");
		else if (!strcmp(verb, "set-config"))
			do_set_config(h);
		else if (!strcmp(verb, "precreate-check"))
			do_precreate(h);
		else if (!strcmp(verb, "create"))
			do_create(h);
		else if (!strcmp(verb, "ssh-info"))
			do_ssh_info(h);
		else if (!strcmp(verb, "restart"))
			do_restart(h);
		else
			emit_ok();   /* remove: nothing to remove at a provider */
	}
	for (i = 0; i < n; i++)
		json_decref(hosts[i]);
	free(hosts);
	if (precreate_failed)
		return DM_EXIT_PRECREATE;
	return failures ? DM_EXIT_FAIL : DM_EXIT_OK;
}
