/* provision.c - os-release, the provisioner table, the daemon options file
 * and the provisioning steps over SSH.  Contracts in provision.h. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cert.h"
#include "dm.h"
#include "driver.h"
#include "host.h"
#include "json.h"
#include "machine.h"
#include "provision.h"
#include "ssh.h"
#include "swarm.h"
#include "tlscheck.h"

#define SSH_WAIT_DEFAULT_MS (30 * 1000)
#define DOCKER_WAIT_DEFAULT_MS (60 * 1000)
#define STEP_TIMEOUT_MS (2 * 60 * 1000)      /* one ordinary remote command */
#define INSTALL_TIMEOUT_MS (20 * 60 * 1000)  /* package installs and upgrades */
#define DRIVER_TIMEOUT_MS (60 * 1000)
#define OUT_CAP (1u << 20)

/* ---- os-release ---- */

static void osr_set(char **slot, const char *v, size_t n)
{
	free(*slot);
	*slot = xstrndup(v, n);
}

int osr_parse(const char *text, size_t len, struct os_release *osr)
{
	const char *p = text, *end = text + len;
	memset(osr, 0, sizeof(*osr));
	if (len > OSR_CAP)
		return dm_seterr("os-release exceeds %u bytes", OSR_CAP);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end, *eq, *v, *ve;
		size_t keylen;
		if (le > p && le[-1] == '\r')
			le--;
		if (le == p)
			goto next;   /* empty line: silently fine */
		eq = memchr(p, '=', (size_t)(le - p));
		if (!eq || memchr(eq + 1, '=', (size_t)(le - eq - 1))) {
			osr->bad_lines++;
			goto next;
		}
		keylen = (size_t)(eq - p);
		v = eq + 1;
		ve = le;
		if (memchr(v, '\0', (size_t)(ve - v)))
			ve = memchr(v, '\0', (size_t)(ve - v));
		if (ve > v && *v == '"') {
			v++;
			if (ve > v)
				ve--;      /* 0.16.2 drops the last byte, whatever it is */
		} else if (ve - v >= 2 && *v == '\'' && ve[-1] == '\'') {
			v++;
			ve--;
		}
#define KEY(k, field) \
		if (keylen == sizeof(k) - 1 && !memcmp(p, k, keylen)) \
			osr_set(&osr->field, v, (size_t)(ve - v));
		KEY("ID", id)
		else KEY("ID_LIKE", id_like)
		else KEY("NAME", name)
		else KEY("PRETTY_NAME", pretty_name)
		else KEY("VERSION", version)
		else KEY("VERSION_ID", version_id)
#undef KEY
next:
		p = nl ? nl + 1 : end;
	}
	return 0;
}

void osr_free(struct os_release *osr)
{
	free(osr->id);
	free(osr->id_like);
	free(osr->name);
	free(osr->pretty_name);
	free(osr->version);
	free(osr->version_id);
	memset(osr, 0, sizeof(*osr));
}

/* ---- the provisioner table ---- */

#define DROPIN "/etc/systemd/system/docker.service.d/10-machine.conf"
static const struct provisioner table[] = {
	{ "boot2docker", "boot2docker", INIT_B2D, PKG_NONE, INSTALL_NONE, FORM_B2D,
	  "/var/lib/boot2docker/profile", "/var/lib/boot2docker", "overlay2" },
	{ "rancheros", "rancheros", INIT_RANCHER, PKG_NONE, INSTALL_NONE, FORM_DOCKER_OPTS,
	  "/var/lib/rancher/conf/docker", "/var/lib/rancher/conf", "overlay" },
	{ "coreOS", "coreos flatcar", INIT_SYSTEMD, PKG_NONE, INSTALL_NONE, FORM_SYSTEMD, DROPIN,
	  "/etc/docker", NULL },
	{ "ubuntu(systemd)", "ubuntu", INIT_SYSTEMD, PKG_APT, INSTALL_URL, FORM_SYSTEMD, DROPIN,
	  "/etc/docker", "overlay2" },
	{ "ubuntu(upstart)", "ubuntu", INIT_UPSTART, PKG_APT, INSTALL_URL, FORM_DOCKER_OPTS,
	  "/etc/default/docker", "/etc/docker", "overlay2" },
	{ "debian", "debian", INIT_SYSTEMD, PKG_APT, INSTALL_URL, FORM_SYSTEMD, DROPIN, "/etc/docker",
	  "overlay2" },
	{ "raspbian", "raspbian", INIT_SYSTEMD, PKG_APT, INSTALL_URL, FORM_SYSTEMD, DROPIN,
	  "/etc/docker", "overlay2" },
	{ "redhat", "rhel", INIT_SYSTEMD, PKG_YUM, INSTALL_URL, FORM_SYSTEMD, DROPIN, "/etc/docker",
	  "overlay2" },
	{ "centos", "centos", INIT_SYSTEMD, PKG_YUM, INSTALL_URL, FORM_SYSTEMD, DROPIN, "/etc/docker",
	  "overlay2" },
	{ "rocky", "rocky", INIT_SYSTEMD, PKG_YUM, INSTALL_URL, FORM_SYSTEMD, DROPIN, "/etc/docker",
	  "overlay2" },
	{ "almalinux", "almalinux", INIT_SYSTEMD, PKG_YUM, INSTALL_URL, FORM_SYSTEMD, DROPIN,
	  "/etc/docker", "overlay2" },
	{ "ol", "ol", INIT_SYSTEMD, PKG_YUM, INSTALL_URL, FORM_SYSTEMD, DROPIN, "/etc/docker",
	  "overlay2" },
	{ "fedora", "fedora", INIT_SYSTEMD, PKG_YUM, INSTALL_URL, FORM_SYSTEMD, DROPIN, "/etc/docker",
	  "overlay2" },
	{ "amzn", "amzn", INIT_SYSTEMD, PKG_YUM, INSTALL_PKG, FORM_SYSTEMD, DROPIN, "/etc/docker",
	  "overlay2" },
	{ "arch", "arch", INIT_SYSTEMD, PKG_PACMAN, INSTALL_PKG, FORM_SYSTEMD, DROPIN, "/etc/docker",
	  "overlay2" },
	{ "openSUSE", "suse opensuse opensuse-leap opensuse-tumbleweed sles sled sle-micro",
	  INIT_SYSTEMD, PKG_ZYPPER, INSTALL_PKG, FORM_SYSTEMD, DROPIN, "/etc/docker", "overlay2" },
};

/* 1 if the space-separated list names word w (length n). */
static int list_has(const char *list, const char *w, size_t n)
{
	const char *p = list;
	while (*p) {
		size_t k = strcspn(p, " ");
		if (k == n && !memcmp(p, w, n))
			return 1;
		p += k;
		while (*p == ' ')
			p++;
	}
	return 0;
}

/* VERSION_ID >= 15.04, comparing major then minor numerically; a missing or
 * unparsable version counts as new. */
static int ubuntu_systemd(const char *ver)
{
	char *e;
	long maj, min = 0;
	if (!ver || !isdigit((unsigned char)*ver))
		return 1;
	maj = strtol(ver, &e, 10);
	if (*e == '.')
		min = strtol(e + 1, NULL, 10);
	return maj > 15 || (maj == 15 && min >= 4);
}

static const struct provisioner *match_word(const char *w, size_t n, const char *version, int exact)
{
	for (size_t i = 0; i < ARRAY_SIZE(table); i++) {
		if (!list_has(table[i].ids, w, n))
			continue;
		if (exact && n == 6 && !memcmp(w, "ubuntu", 6))
			return &table[i + (ubuntu_systemd(version) ? 0 : 1)];
		return &table[i];
	}
	return NULL;
}

const struct provisioner *provisioner_detect(const struct os_release *osr)
{
	const struct provisioner *p = NULL;
	const char *l;
	if (osr->id && *osr->id)
		p = match_word(osr->id, strlen(osr->id), osr->version_id, 1);
	for (l = osr->id_like ? osr->id_like : ""; !p && *l;) {
		size_t k;
		while (*l == ' ' || *l == '\t')
			l++;
		k = strcspn(l, " \t");
		if (k)
			p = match_word(l, k, NULL, 0);
		l += k;
	}
	if (!p)
		dm_seterr("OS type not recognized");
	return p;
}

const struct provisioner *provisioner_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(table); i++)
		if (!strcmp(table[i].name, name))
			return &table[i];
	return NULL;
}

/* ---- the daemon options ---- */

static int sd_bare(const char *w)
{
	if (!*w)
		return 0;
	for (; *w; w++)
		if (!isalnum((unsigned char)*w) && !strchr("_./:=,+@-", *w))
			return 0;
	return 1;
}

static void sd_escape(struct strbuf *sb, const char *s, int exec)
{
	sb_addc(sb, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '\\': sb_adds(sb, "\\\\"); break;
		case '"': sb_adds(sb, "\\\""); break;
		case '\n': sb_adds(sb, "\\n"); break;
		case '\t': sb_adds(sb, "\\t"); break;
		case '\r': sb_adds(sb, "\\r"); break;
		case '%': sb_adds(sb, "%%"); break;
		case '$':
			sb_adds(sb, exec ? "$$" : "$");
			break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				sb_addf(sb, "\\x%02x", *p);
			else
				sb_addc(sb, *p);
		}
	}
	sb_addc(sb, '"');
}

void systemd_quote_exec(struct strbuf *sb, const char *word)
{
	if (sd_bare(word))
		sb_adds(sb, word);
	else
		sd_escape(sb, word, 1);
}

void systemd_quote_env(struct strbuf *sb, const char *assignment)
{
	sd_escape(sb, assignment, 0);
}

static void push_list(struct strvec *av, const char *flag, json_t *arr)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v)
		if (json_is_string(v)) {
			sv_push(av, flag);
			sv_push(av, json_string_value(v));
		}
}

/* The user's part of the arguments (boot2docker's EXTRA_ARGS). */
static void extra_args(const struct daemon_cfg *c, struct strvec *av)
{
	json_t *e = c->engine, *v;
	size_t i;
	const char *s;
	push_list(av, "--label", json_object_get(e, "Labels"));
	sv_push(av, "--label");
	sv_pushf(av, "provider=%s", c->driver_name ? c->driver_name : "");
	push_list(av, "--insecure-registry", json_object_get(e, "InsecureRegistry"));
	push_list(av, "--registry-mirror", json_object_get(e, "RegistryMirror"));
	push_list(av, "--dns", json_object_get(e, "Dns"));
	if (*(s = dj_str(e, "GraphDir", ""))) {
		sv_push(av, "--data-root");
		sv_push(av, s);
	}
	if (dj_bool(e, "Ipv6", 0))
		sv_push(av, "--ipv6");
	if (*(s = dj_str(e, "LogLevel", ""))) {
		sv_push(av, "--log-level");
		sv_push(av, s);
	}
	if (dj_bool(e, "SelinuxEnabled", 0))
		sv_push(av, "--selinux-enabled");
	json_array_foreach(json_object_get(e, "ArbitraryFlags"), i, v) {
		if (!json_is_string(v) || !*json_string_value(v))
			continue;
		s = json_string_value(v);
		if (*s == '-')
			sv_push(av, s);
		else
			sv_pushf(av, "--%s", s);
	}
}

void provision_daemon_args(const struct daemon_cfg *c, struct strvec *av)
{
	sv_push(av, "-H");
	sv_pushf(av, "tcp://0.0.0.0:%d", c->port);
	sv_push(av, "-H");
	sv_push(av, "unix:///var/run/docker.sock");
	if (c->storage && *c->storage) {
		sv_push(av, "--storage-driver");
		sv_push(av, c->storage);
	}
	sv_push(av, "--tlsverify");
	sv_push(av, "--tlscacert");
	sv_pushf(av, "%s/ca.pem", c->cert_dir);
	sv_push(av, "--tlscert");
	sv_pushf(av, "%s/server.pem", c->cert_dir);
	sv_push(av, "--tlskey");
	sv_pushf(av, "%s/server-key.pem", c->cert_dir);
	extra_args(c, av);
}

static int check_env(json_t *env)
{
	size_t i;
	json_t *v;
	json_array_foreach(env, i, v) {
		const char *s = json_is_string(v) ? json_string_value(v) : "";
		const char *eq = strchr(s, '=');
		int ok = eq && eq > s && !isdigit((unsigned char)*s);
		for (const char *p = s; ok && p < eq; p++)
			ok = isalnum((unsigned char)*p) || *p == '_';
		if (!ok)
			return dm_seterr("invalid engine environment variable \"%s\": expected NAME=VALUE", s);
	}
	return 0;
}

static int no_space(const struct strvec *av, const char *file)
{
	for (size_t i = 0; i < av->n; i++)
		for (const char *p = av->v[i]; *p; p++)
			if (isspace((unsigned char)*p))
				return dm_seterr("engine option \"%s\" contains whitespace, which %s cannot "
				                 "pass to the daemon", av->v[i], file);
	return 0;
}

/* s as one sh word: bare when it needs no quoting. */
static void sh_word(struct strbuf *out, const char *s)
{
	if (sd_bare(s))
		sb_adds(out, s);
	else
		sh_quote(out, s);
}

/* "\n" + one word per line + "\n" (+ a blank line for boot2docker, as
 * 0.16.2 writes it), as one sh word. */
static void sh_lines(struct strbuf *out, const struct strvec *av, int pairs, int blank)
{
	struct strbuf t = STRBUF_INIT;
	sb_addc(&t, '\n');
	for (size_t i = 0; i < av->n; i++) {
		sb_adds(&t, av->v[i]);
		/* a flag and its value on one line, as 0.16.2 writes them */
		if (pairs && i + 1 < av->n && av->v[i][0] == '-' && av->v[i + 1][0] != '-' &&
		    !strchr(av->v[i], '=')) {
			sb_addc(&t, ' ');
			sb_adds(&t, av->v[++i]);
		}
		sb_addc(&t, '\n');
	}
	if (blank)
		sb_addc(&t, '\n');
	sh_quote(out, t.buf);
	sb_release(&t);
}

static void sh_exports(struct strbuf *out, json_t *env)
{
	size_t i;
	json_t *v;
	json_array_foreach(env, i, v) {
		sb_adds(out, "export ");
		sh_word(out, json_string_value(v));
		sb_addc(out, '\n');
	}
}

int provision_render(const struct daemon_cfg *c, enum daemon_form form, struct strbuf *out)
{
	struct strvec av = STRVEC_INIT;
	json_t *env = json_object_get(c->engine, "Env"), *v;
	size_t i;
	int rc = 0;

	if (check_env(env) < 0)
		return -1;
	switch (form) {
	case FORM_SYSTEMD:
		provision_daemon_args(c, &av);
		sb_adds(out, "[Service]\nExecStart=\nExecStart=");
		systemd_quote_exec(out, c->dockerd && *c->dockerd ? c->dockerd : "/usr/bin/dockerd");
		for (i = 0; i < av.n; i++) {
			sb_addc(out, ' ');
			systemd_quote_exec(out, av.v[i]);
		}
		sb_addc(out, '\n');
		json_array_foreach(env, i, v) {
			sb_adds(out, "Environment=");
			systemd_quote_env(out, json_string_value(v));
			sb_addc(out, '\n');
		}
		break;
	case FORM_B2D:
		extra_args(c, &av);
		if ((rc = no_space(&av, "the boot2docker profile")) < 0)
			break;
		sb_adds(out, "\nEXTRA_ARGS=");
		sh_lines(out, &av, 1, 1);
		sb_addf(out, "\nCACERT=%s/ca.pem\n", c->cert_dir);
		sb_addf(out, "DOCKER_HOST='-H tcp://0.0.0.0:%d'\n", c->port);
		if (c->storage && *c->storage) {
			sb_adds(out, "DOCKER_STORAGE=");
			sh_word(out, c->storage);
			sb_addc(out, '\n');
		}
		sb_adds(out, "DOCKER_TLS=auto\n");
		sb_addf(out, "SERVERKEY=%s/server-key.pem\n", c->cert_dir);
		sb_addf(out, "SERVERCERT=%s/server.pem\n\n", c->cert_dir);
		sh_exports(out, env);
		break;
	case FORM_DOCKER_OPTS:
		provision_daemon_args(c, &av);
		if ((rc = no_space(&av, "DOCKER_OPTS")) < 0)
			break;
		sb_adds(out, "DOCKER_OPTS=");
		sh_lines(out, &av, 1, 0);
		sb_addc(out, '\n');
		sh_exports(out, env);
		break;
	}
	sv_clear(&av);
	return rc;
}

/* ---- running ---- */

struct session {
	const struct store *st;
	json_t *h;
	const struct provision_opts *po;
	const char *name;
	struct ssh_target t;
	char *kh, *ip, *url_host;
	int port;
	const char *sudo, *sudo_e;   /* "sudo " / "sudo -E ", or "" for root */
	const struct provisioner *prov;
	struct os_release osr;
	json_t *info;                /* the ssh-info answer */
	/* facts */
	char *dockerd, *fstype;
	int has_docker, has_curl, systemd;
};

static void say(const char *msg)
{
	printf("%s\n", msg);
	fflush(stdout);
}

static int env_ms(const char *var, int def)
{
	const char *e = getenv(var);
	long v;
	if (e && *e && parse_long(e, 1, 24 * 3600, &v, var) == 0)
		return (int)(v * 1000);
	return def;
}

static void session_free(struct session *s)
{
	free(s->kh);
	free(s->ip);
	free(s->url_host);
	free(s->dockerd);
	free(s->fstype);
	osr_free(&s->osr);
	json_decref(s->info);
}

/* Run cmd; 0 on remote status 0, else -1 with "what: <stderr or status>". */
static int run(struct session *s, const char *what, const char *cmd, const char *in, size_t inlen,
               struct strbuf *out, int timeout_ms)
{
	struct strbuf err = STRBUF_INIT;
	int rc;
	dm_debugf("(%s) ssh: %s", s->name, cmd);
	err.cap = OUT_CAP;
	rc = ssh_run(&s->t, cmd, in, inlen, out, &err, now_ms() + timeout_ms);
	if (rc == 0) {
		sb_release(&err);
		return 0;
	}
	if (rc > 0 && rc != 255) {
		sb_rtrim(&err);
		dm_seterr("%s: ssh command error:\ncommand : %s\nerr     : exit status %d\noutput  : %s",
		          what, cmd, rc, err.buf);
	} else {
		char *m = xstrdup(dm_strerr());
		dm_seterr("%s: %s", what, m);
		free(m);
	}
	sb_release(&err);
	return -1;
}

static int wait_running(struct session *s, long long deadline)
{
	char *state = NULL;
	for (;;) {
		free(state);
		state = machine_ask(s->h, "state", "State", DRIVER_TIMEOUT_MS);
		if (state && !strcmp(state, "Running"))
			break;
		if (now_ms() >= deadline) {
			free(state);
			return dm_seterr("Error waiting for machine to be running: Maximum number of retries "
			                 "exceeded (state %s)", state ? state : dm_strerr());
		}
		usleep(300 * 1000);
	}
	free(state);
	return 0;
}

static int get_target(struct session *s)
{
	json_t *ans = NULL, *si;
	if (driver_call(host_driver_name(s->h), "ssh-info", s->h, NULL, NULL, DRIVER_TIMEOUT_MS, &ans,
	                NULL) < 0)
		return -1;
	si = json_object_get(ans, "SSH");
	if (!json_is_object(si) || !*dj_str(si, "Host", "")) {
		json_decref(ans);
		return dm_seterr("driver %s: ssh-info: answer without \"SSH\":{\"Host\"…}",
		                 host_driver_name(s->h));
	}
	s->info = ans;
	memset(&s->t, 0, sizeof(s->t));
	s->t.host = dj_str(si, "Host", "");
	s->t.port = (int)dj_int(si, "Port", 22);
	s->t.user = dj_str(si, "User", "root");
	if (!*s->t.user)
		s->t.user = "root";
	s->t.key = dj_str(si, "KeyPath", "");
	if (*dj_str(si, "KnownHosts", "")) {
		s->kh = xstrdup(dj_str(si, "KnownHosts", ""));
	} else {
		char *d = store_machine_dir(s->st, s->name);
		s->kh = xasprintf("%s/known_hosts", d);
		free(d);
	}
	s->t.known_hosts = s->kh;
	s->t.hostkey = SSH_HK_AUTO;
	s->t.connect_timeout = 3;
	s->sudo = strcmp(s->t.user, "root") ? "sudo " : "";
	s->sudo_e = strcmp(s->t.user, "root") ? "sudo -E " : "";
	return 0;
}

/* Short `exit 0` attempts until one succeeds or the deadline passes. */
static int wait_ssh(struct session *s, long long deadline)
{
	struct stat sb;
	char *last = NULL;
	if (!(s->po->flags & PROV_CREATE) && stat(s->kh, &sb) < 0 && errno == ENOENT)
		dm_errorf("Warning: no host key is pinned for \"%s\" yet: trusting the key %s:%d offers "
		          "now and saving it in %s", s->name, s->t.host, s->t.port ? s->t.port : 22, s->kh);
	for (;;) {
		long long left = deadline - now_ms(), t0 = now_ms();
		long long step = left < 8000 ? left : 8000;
		int rc;
		if (step < 500)
			step = 500;
		rc = ssh_run(&s->t, "exit 0", NULL, 0, NULL, NULL, now_ms() + step);
		if (rc == 0) {
			free(last);
			return 0;
		}
		free(last);
		last = xstrdup(rc > 0 && rc != 255 ? "exit status" : dm_strerr());
		if (strstr(last, "pinned in"))
			break;     /* a refused host key will not get better */
		if (now_ms() >= deadline)
			break;
		if (now_ms() - t0 < 500)
			usleep(500 * 1000 - (useconds_t)(now_ms() - t0) * 1000);
	}
	dm_seterr("Too many retries waiting for SSH to be available.  Last error: %s", last);
	free(last);
	return -1;
}

static int detect(struct session *s)
{
	struct strbuf out = STRBUF_INIT;
	int rc;
	say("Detecting the provisioner...");
	out.cap = OSR_CAP;
	rc = run(s, "Error detecting OS", "cat /etc/os-release", NULL, 0, &out, STEP_TIMEOUT_MS);
	if (rc == 0)
		rc = osr_parse(out.buf, out.len, &s->osr);
	if (rc == 0 && s->osr.bad_lines)
		dm_debugf("(%s) os-release: %d line(s) skipped", s->name, s->osr.bad_lines);
	if (rc == 0 && !(s->prov = provisioner_detect(&s->osr)))
		rc = -1;
	sb_release(&out);
	return rc;
}

/* IP and the engine URL's host and port. */
static int addresses(struct session *s)
{
	char *url;
	s->ip = machine_ask(s->h, "ip", "IP", DRIVER_TIMEOUT_MS);
	if (!s->ip)
		return dm_seterr("Error getting IP address: %s", dm_strerr());
	url = machine_ask(s->h, "url", "URL", DRIVER_TIMEOUT_MS);
	if (url && url_split(url, &s->url_host, &s->port) == 0) {
		free(url);
		return 0;
	}
	free(url);
	s->url_host = xstrdup(s->ip);
	s->port = (int)dj_int(host_driver(s->h), "EnginePort", 2376);
	if (s->port <= 0)
		s->port = 2376;
	return 0;
}

static int set_hostname(struct session *s)
{
	struct strbuf cmd = STRBUF_INIT, sed = STRBUF_INIT, line = STRBUF_INIT;
	const char *n = s->name, *su = s->sudo;
	int rc;
	sb_addf(&line, "127.0.1.1 %s", n);
	sb_addf(&sed, "s/^127\\.0\\.1\\.1[[:space:]].*/127.0.1.1 %s/", n);
	if (s->prov->init == INIT_B2D) {
		sb_addf(&cmd, "%s/usr/bin/sethostname ", su);
		sh_quote(&cmd, n);
		sb_adds(&cmd, " && echo ");
		sh_quote(&cmd, n);
		sb_addf(&cmd, " | %stee /var/lib/boot2docker/etc/hostname >/dev/null", su);
	} else {
		sb_addf(&cmd, "%shostname ", su);
		sh_quote(&cmd, n);
		sb_adds(&cmd, " && echo ");
		sh_quote(&cmd, n);
		sb_addf(&cmd, " | %stee /etc/hostname >/dev/null && "
		        "if grep -q '^127\\.0\\.1\\.1[[:space:]]' /etc/hosts; then %ssed -i ", su, su);
		sh_quote(&cmd, sed.buf);
		sb_adds(&cmd, " /etc/hosts; else echo ");
		sh_quote(&cmd, line.buf);
		sb_addf(&cmd, " | %stee -a /etc/hosts >/dev/null; fi", su);
	}
	rc = run(s, "Error setting the hostname", cmd.buf, NULL, 0, NULL, STEP_TIMEOUT_MS);
	sb_release(&cmd);
	sb_release(&sed);
	sb_release(&line);
	return rc;
}

static const char *facts_cmd =
	"if type docker >/dev/null 2>&1; then echo docker=1; fi; "
	"if type curl >/dev/null 2>&1; then echo curl=1; fi; "
	"if [ -d /run/systemd/system ]; then echo systemd=1; fi; "
	"for p in \"$(command -v dockerd 2>/dev/null)\" /usr/bin/dockerd /usr/sbin/dockerd "
	"/usr/local/bin/dockerd /usr/lib/coreos/dockerd; do "
	"if [ -n \"$p\" ] && [ -x \"$p\" ]; then echo \"dockerd=$p\"; break; fi; done; "
	"echo \"fstype=$(stat -f -c %T /var/lib/docker 2>/dev/null)\"";

static int facts(struct session *s)
{
	struct strbuf out = STRBUF_INIT;
	char *p, *save = NULL;
	out.cap = 64u << 10;
	if (run(s, "Error inspecting the machine", facts_cmd, NULL, 0, &out, STEP_TIMEOUT_MS) < 0) {
		sb_release(&out);
		return -1;
	}
	free(s->dockerd);
	free(s->fstype);
	s->dockerd = s->fstype = NULL;
	s->has_docker = s->has_curl = s->systemd = 0;
	for (p = strtok_r(out.buf, "\n", &save); p; p = strtok_r(NULL, "\n", &save)) {
		if (!strcmp(p, "docker=1"))
			s->has_docker = 1;
		else if (!strcmp(p, "curl=1"))
			s->has_curl = 1;
		else if (!strcmp(p, "systemd=1"))
			s->systemd = 1;
		else if (str_starts(p, "dockerd=") && !s->dockerd)
			s->dockerd = xstrdup(p + 8);
		else if (str_starts(p, "fstype=") && !s->fstype)
			s->fstype = xstrdup(p + 7);
	}
	sb_release(&out);
	return 0;
}

/* "sudo -E apt-get install -y P" etc. */
static void pkg_install(struct session *s, struct strbuf *cmd, const char *pkg)
{
	switch (s->prov->pkg) {
	case PKG_APT:
		sb_addf(cmd, "%sapt-get update -qq; DEBIAN_FRONTEND=noninteractive %sapt-get install -y %s",
		        s->sudo, s->sudo_e, pkg);
		break;
	case PKG_YUM:
		sb_addf(cmd, "if command -v dnf >/dev/null 2>&1; then P=dnf; else P=yum; fi; "
		        "%s$P install -y %s", s->sudo_e, pkg);
		break;
	case PKG_PACMAN:
		sb_addf(cmd, "%spacman -Sy --noconfirm --noprogressbar %s", s->sudo_e, pkg);
		break;
	case PKG_ZYPPER:
		sb_addf(cmd, "%szypper -n in %s", s->sudo_e, pkg);
		break;
	case PKG_NONE:
		sb_addf(cmd, "echo 'no package manager known for %s' >&2; false", s->prov->name);
		break;
	}
}

static int install_docker(struct session *s)
{
	struct strbuf cmd = STRBUF_INIT;
	const char *url = dj_str(host_engine(s->h), "InstallURL", "");
	int rc = 0;

	if (s->prov->install == INSTALL_NONE)
		return 0;
	say("Installing Docker...");
	if (s->has_docker)
		return 0;
	if (s->prov->install == INSTALL_PKG) {
		pkg_install(s, &cmd, "docker");
	} else {
		if (!*url)
			url = "https://get.docker.com";
		if (!strcmp(url, "none"))
			return dm_seterr("Docker is not installed on the machine and --engine-install-url "
			                 "is \"none\"");
		if (!s->has_curl) {
			pkg_install(s, &cmd, "curl");
			sb_adds(&cmd, " && ");
		}
		sb_adds(&cmd, "curl -sSL ");
		sh_quote(&cmd, url);
		sb_adds(&cmd, " | sh -");
	}
	rc = run(s, "Error installing Docker", cmd.buf, NULL, 0, NULL, INSTALL_TIMEOUT_MS);
	sb_release(&cmd);
	if (rc == 0)
		rc = facts(s);
	return rc;
}

static int copy_local(const char *src, const char *dst, unsigned mode)
{
	struct strbuf sb = STRBUF_INIT;
	int rc;
	if (!strcmp(src, dst))
		return 0;
	rc = sb_read_file(&sb, src, 1u << 20);
	if (rc == 0)
		rc = write_file_atomic(dst, sb.buf, sb.len, mode);
	sb_release(&sb);
	return rc;
}

static void add_san(struct strvec *sans, const char *v)
{
	if (v && *v && !sv_contains(sans, v))
		sv_push(sans, v);
}

/* 1 for an RSA CA (new server keys follow the CA's kind, or MACHINE_TLS_KEY_TYPE). */
static enum cert_keytype server_keytype(const char *ca_cert)
{
	const char *e = getenv("MACHINE_TLS_KEY_TYPE");
	json_t *d = NULL;
	enum cert_keytype kt = CERT_ECDSA;
	if (e && *e)
		return strcmp(e, "rsa") ? CERT_ECDSA : CERT_RSA;
	if (cert_describe(ca_cert, &d) == 0 && !strcmp(dj_str(d, "KeyType", ""), "rsa"))
		kt = CERT_RSA;
	json_decref(d);
	return kt;
}

/* Write data to a remote file through `sudo tee`, fed on stdin. */
static int remote_write(struct session *s, const char *path, const char *data, size_t n,
                        const char *mode)
{
	struct strbuf cmd = STRBUF_INIT, dir = STRBUF_INIT;
	const char *slash = strrchr(path, '/');
	int rc;
	sb_add(&dir, path, slash && slash != path ? (size_t)(slash - path) : 1);
	sb_addf(&cmd, "umask 077; %smkdir -p ", s->sudo);
	sh_quote(&cmd, dir.buf);
	sb_addf(&cmd, " && %stee ", s->sudo);
	sh_quote(&cmd, path);
	sb_addf(&cmd, " >/dev/null && %schmod %s ", s->sudo, mode);
	sh_quote(&cmd, path);
	rc = run(s, "Error writing to the remote machine", cmd.buf, data, n, NULL, STEP_TIMEOUT_MS);
	sb_release(&cmd);
	sb_release(&dir);
	return rc;
}

static int remote_write_file(struct session *s, const char *local, const char *remote,
                             const char *mode)
{
	struct strbuf sb = STRBUF_INIT;
	int rc = sb_read_file(&sb, local, 1u << 20);
	if (rc == 0)
		rc = remote_write(s, remote, sb.buf, sb.len, mode);
	sb_release(&sb);
	return rc;
}

static const char *restart_cmd(struct session *s, struct strbuf *cmd, const char *action)
{
	switch (s->prov->init) {
	case INIT_SYSTEMD:
		if (s->systemd) {
			sb_addf(cmd, "%ssystemctl daemon-reload && ", s->sudo);
			if (!strcmp(action, "restart"))
				sb_addf(cmd, "{ %ssystemctl -f enable docker >/dev/null 2>&1 || true; } && ",
				        s->sudo);
			sb_addf(cmd, "%ssystemctl -f %s docker", s->sudo, action);
			break;
		}
		/* no systemd running: the init script */
		__attribute__((fallthrough));
	case INIT_UPSTART:
		sb_addf(cmd, "if command -v service >/dev/null 2>&1; then %sservice docker %s; "
		        "else %s/etc/init.d/docker %s; fi", s->sudo, action, s->sudo, action);
		break;
	case INIT_B2D:
		sb_addf(cmd, "%s/etc/init.d/docker %s", s->sudo, action);
		break;
	case INIT_RANCHER:
		sb_addf(cmd, "%ssystem-docker %s docker", s->sudo, action);
		break;
	}
	return cmd->buf;
}

static int restart_docker(struct session *s)
{
	struct strbuf cmd = STRBUF_INIT, log = STRBUF_INIT;
	int rc = run(s, "Error restarting docker", restart_cmd(s, &cmd, "restart"), NULL, 0, NULL,
	             STEP_TIMEOUT_MS);
	if (rc < 0 && s->prov->init == INIT_SYSTEMD && s->systemd) {
		char *m = xstrdup(dm_strerr());
		struct strbuf j = STRBUF_INIT;
		sb_addf(&j, "%sjournalctl -u docker --no-pager -n 20 2>&1 | tail -n 20", s->sudo);
		log.cap = 64u << 10;
		ssh_run(&s->t, j.buf, NULL, 0, &log, NULL, now_ms() + 10000);
		sb_rtrim(&log);
		dm_seterr("%s%s%s", m, log.len ? "\njournal:\n" : "", log.buf);
		free(m);
		sb_release(&j);
	}
	sb_release(&cmd);
	sb_release(&log);
	return rc;
}

/* Until the engine's TLS port completes a handshake with the client cert. */
static int wait_docker(struct session *s)
{
	struct tls_client tc;
	char *hp = strchr(s->url_host, ':') ? xasprintf("[%s]:%d", s->url_host, s->port)
	                                    : xasprintf("%s:%d", s->url_host, s->port);
	int wait = s->po->docker_wait_ms ? s->po->docker_wait_ms
	                                 : env_ms("MACHINE_DOCKER_WAIT_TIMEOUT", DOCKER_WAIT_DEFAULT_MS);
	long long deadline = now_ms() + wait;
	machine_tls(s->h, &tc);
	for (;;) {
		long long left = deadline - now_ms();
		if (tls_check(hp, &tc, left < 2000 ? (left < 200 ? 200 : (int)left) : 2000) == 0)
			break;
		if (now_ms() >= deadline) {
			char *m = xstrdup(dm_strerr());
			dm_seterr("Unable to verify the Docker daemon is listening: %s did not answer a TLS "
			          "handshake within %d s: %s", hp, wait / 1000, m);
			free(m);
			free(hp);
			return -1;
		}
		usleep(200 * 1000);
	}
	free(hp);
	return 0;
}

/* ConfigureAuth (reference §2) and the daemon options. */
static int configure_auth(struct session *s)
{
	json_t *a = host_auth(s->h), *v;
	const char *ca = dj_str(a, "CaCertPath", ""), *cakey = dj_str(a, "CaPrivateKeyPath", "");
	const char *cert = dj_str(a, "ClientCertPath", ""), *key = dj_str(a, "ClientKeyPath", "");
	const char *scert = dj_str(a, "ServerCertPath", ""), *skey = dj_str(a, "ServerKeyPath", "");
	char *mdir = store_machine_dir(s->st, s->name), *org = NULL, *p = NULL;
	struct strvec sans = STRVEC_INIT;
	struct strbuf opts = STRBUF_INIT;
	struct daemon_cfg dc;
	json_t *engine = NULL;
	const char *storage;
	size_t i;
	int rc = -1;

	char *f1 = NULL, *f2 = NULL, *f3 = NULL;
	if (!*ca)
		ca = s->st->ca_cert ? s->st->ca_cert : (p = xasprintf("%s/ca.pem", s->st->certs));
	if (!*cakey)
		cakey = s->st->ca_key ? s->st->ca_key : (f1 = xasprintf("%s/ca-key.pem", s->st->certs));
	if (!*cert)
		cert = s->st->client_cert ? s->st->client_cert : (f2 = xasprintf("%s/cert.pem", s->st->certs));
	if (!*key)
		key = s->st->client_key ? s->st->client_key : (f3 = xasprintf("%s/key.pem", s->st->certs));
	say("Copying certs to the local machine directory...");
	{
		char *d1 = xasprintf("%s/ca.pem", mdir), *d2 = xasprintf("%s/cert.pem", mdir),
		     *d3 = xasprintf("%s/key.pem", mdir);
		int r = copy_local(ca, d1, 0644);
		if (r == 0)
			r = copy_local(cert, d2, 0644);
		if (r == 0)
			r = copy_local(key, d3, 0600);
		free(d1);
		free(d2);
		free(d3);
		if (r < 0) {
			char *m = xstrdup(dm_strerr());
			dm_seterr("Error copying certs to the machine directory: %s", m);
			free(m);
			goto out;
		}
	}
	json_array_foreach(json_object_get(a, "ServerCertSANs"), i, v)
		if (json_is_string(v))
			add_san(&sans, json_string_value(v));
	add_san(&sans, s->ip);
	add_san(&sans, s->name);
	add_san(&sans, "localhost");
	if (!strcmp(s->url_host, "127.0.0.1"))
		add_san(&sans, "127.0.0.1");
	add_san(&sans, s->url_host);
	org = cert_org(s->name);
	{
		char *sc = *scert ? NULL : xasprintf("%s/server.pem", mdir);
		char *sk = *skey ? NULL : xasprintf("%s/server-key.pem", mdir);
		rc = cert_make_server(ca, cakey, org, (const char *const *)sans.v, sans.n,
		                      dj_bool(host_swarm(s->h), "Master", 0), server_keytype(ca),
		                      sc ? sc : scert, sk ? sk : skey);
		if (rc < 0) {
			char *m = xstrdup(dm_strerr());
			dm_seterr("Error generating the server certificate: %s", m);
			free(m);
		} else {
			say("Copying certs to the remote machine...");
			char *rca = xasprintf("%s/ca.pem", s->prov->cert_dir);
			char *rsc = xasprintf("%s/server.pem", s->prov->cert_dir);
			char *rsk = xasprintf("%s/server-key.pem", s->prov->cert_dir);
			rc = remote_write_file(s, ca, rca, "0644");
			if (rc == 0)
				rc = remote_write_file(s, sc ? sc : scert, rsc, "0644");
			if (rc == 0)
				rc = remote_write_file(s, sk ? sk : skey, rsk, "0600");
			free(rca);
			free(rsc);
			free(rsk);
		}
		free(sc);
		free(sk);
		if (rc < 0)
			goto out;
	}

	say("Setting Docker configuration on the remote daemon...");
	rc = -1;
	storage = dj_str(host_engine(s->h), "StorageDriver", "");
	if (!*storage) {
		storage = s->prov->storage;
		if (!strcmp(s->prov->name, "openSUSE") && s->fstype && !strcmp(s->fstype, "btrfs"))
			storage = "btrfs";
	}
	memset(&dc, 0, sizeof(dc));
	dc.engine = engine = swarm_engine_options(host_engine(s->h), host_swarm(s->h));
	dc.driver_name = host_driver_name(s->h);
	dc.dockerd = s->dockerd;
	dc.cert_dir = s->prov->cert_dir;
	dc.port = s->port;
	dc.storage = storage;
	{
		enum daemon_form form = s->prov->form;
		const char *file = s->prov->opts_file;
		if (form == FORM_SYSTEMD && !s->systemd) {
			form = FORM_DOCKER_OPTS;
			file = "/etc/default/docker";
		}
		if (form == FORM_SYSTEMD && !s->dockerd) {
			dm_seterr("Error configuring the daemon: dockerd was not found on the machine "
			          "(Docker before 1.12 is not supported)");
			goto out;
		}
		if (provision_render(&dc, form, &opts) < 0) {
			char *m = xstrdup(dm_strerr());
			dm_seterr("Error configuring the daemon: %s", m);
			free(m);
			goto out;
		}
		dm_debugf("(%s) %s:\n%s", s->name, file, opts.buf);
		if (remote_write(s, file, opts.buf, opts.len, "0644") < 0 || restart_docker(s) < 0)
			goto out;
	}
	rc = wait_docker(s);
out:
	free(mdir);
	free(org);
	free(p);
	free(f1);
	free(f2);
	free(f3);
	sv_clear(&sans);
	sb_release(&opts);
	json_decref(engine);
	return rc;
}

static void prefix_err(const char *prefix)
{
	char *m = xstrdup(dm_strerr());
	dm_seterr("%s%s", prefix, m);
	free(m);
}

/* Wait for SSH and detect the provisioner, with the messages. */
static int session_open(struct session *s, const struct store *st, json_t *h,
                        const struct provision_opts *po)
{
	int wait = po->ssh_wait_ms ? po->ssh_wait_ms
	                           : env_ms("MACHINE_SSH_WAIT_TIMEOUT", SSH_WAIT_DEFAULT_MS);
	long long deadline = now_ms() + wait;
	int create = po->flags & PROV_CREATE;

	memset(s, 0, sizeof(*s));
	s->st = st;
	s->h = h;
	s->po = po;
	s->name = host_name(h);
	if (create) {
		say("Waiting for machine to be running, this may take a few minutes...");
		if (wait_running(s, deadline) < 0) {
			prefix_err("Error creating machine: ");
			return -1;
		}
		say("Detecting operating system of created instance...");
	}
	say("Waiting for SSH to be available...");
	if (get_target(s) < 0 || wait_ssh(s, deadline) < 0 || detect(s) < 0) {
		if (create)
			prefix_err("Error creating machine: Error detecting OS: ");
		return -1;
	}
	s->t.hostkey = SSH_HK_STRICT;    /* pinned now */
	return 0;
}

/* Swarm mode, once the engine answers over TLS (lib/swarm.h). */
static int swarm_step(struct session *s)
{
	char *url;
	int rc;
	if (!swarm_wanted(host_swarm(s->h)))
		return 0;
	url = strchr(s->url_host, ':') ? xasprintf("tcp://[%s]:%d", s->url_host, s->port)
	                               : xasprintf("tcp://%s:%d", s->url_host, s->port);
	rc = swarm_provision(s->st, s->h, url, s->ip);
	free(url);
	return rc;
}

int provision_host(const struct store *st, json_t *h, const struct provision_opts *po)
{
	struct session s;
	int create = po->flags & PROV_CREATE, rc = -1;
	char *url = NULL;

	if (session_open(&s, st, h, po) < 0) {
		session_free(&s);
		return -1;
	}
	printf("Provisioning with %s...\n", s.prov->name);
	fflush(stdout);
	if (addresses(&s) < 0 || set_hostname(&s) < 0 || facts(&s) < 0 || install_docker(&s) < 0 ||
	    configure_auth(&s) < 0 || swarm_step(&s) < 0) {
		if (create)
			prefix_err("Error creating machine: Error running provisioning: ");
		goto out;
	}
	if (create) {
		say("Checking connection to Docker...");
		if (machine_check_connection(st, h, 0, &url) < 0) {
			prefix_err("Error creating machine: Error checking the host: ");
			goto out;
		}
		say("Docker is up and running!");
	}
	rc = 0;
out:
	free(url);
	session_free(&s);
	return rc;
}

/* ---- upgrade ---- */

static char *engine_version(struct session *s)
{
	struct strbuf cmd = STRBUF_INIT, out = STRBUF_INIT;
	char *v = NULL;
	out.cap = 64u << 10;
	sb_addf(&cmd, "%sdocker version --format '{{.Server.Version}}' 2>/dev/null || "
	        "docker --version", s->sudo);
	if (run(s, "Error getting the Docker version", cmd.buf, NULL, 0, &out, STEP_TIMEOUT_MS) == 0) {
		sb_rtrim(&out);
		const char *p = out.buf;
		if (str_starts(p, "Docker version "))   /* client fallback: "Docker version X, build Y" */
			p += 15;
		v = xstrndup(p, strcspn(p, ", \n"));
	}
	sb_release(&cmd);
	sb_release(&out);
	return v;
}

static char *package_version(struct session *s)
{
	struct strbuf out = STRBUF_INIT;
	char *v = NULL;
	out.cap = 64u << 10;
	if (run(s, "Error getting the Docker version", "docker --version", NULL, 0, &out,
	        STEP_TIMEOUT_MS) == 0) {
		sb_rtrim(&out);
		v = sb_detach(&out);
	}
	sb_release(&out);
	return v;
}

static int upgrade_cmd(struct session *s, struct strbuf *cmd)
{
	static const char *pkgs = "docker-ce docker-ce-cli containerd.io docker.io docker-engine "
	                          "moby-engine docker containerd runc";
	switch (s->prov->pkg) {
	case PKG_APT:
		sb_addf(cmd, "pkgs=$(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\\n' %s 2>/dev/null "
		        "| awk '$1 == \"ii\" { print $2 }' | tr '\\n' ' '); "
		        "[ -n \"$pkgs\" ] || { echo 'no Docker package is installed' >&2; exit 1; }; "
		        "%sapt-get update -qq || echo 'warning: apt-get update failed: upgrading from "
		        "the package lists the machine has' >&2; "
		        "DEBIAN_FRONTEND=noninteractive %sapt-get install -y --only-upgrade "
		        "-o Dpkg::Options::=--force-confold $pkgs",
		        pkgs, s->sudo, s->sudo_e);
		return 0;
	case PKG_YUM:
		sb_addf(cmd, "pkgs=; for p in %s; do rpm -q \"$p\" >/dev/null 2>&1 && pkgs=\"$pkgs $p\"; "
		        "done; [ -n \"$pkgs\" ] || { echo 'no Docker package is installed' >&2; exit 1; }; "
		        "if command -v dnf >/dev/null 2>&1; then P=dnf; else P=yum; fi; "
		        "%s$P upgrade -y $pkgs", pkgs, s->sudo_e);
		return 0;
	case PKG_PACMAN:
		sb_addf(cmd, "%spacman -Sy --noconfirm --noprogressbar --needed docker", s->sudo_e);
		return 0;
	case PKG_ZYPPER:
		sb_addf(cmd, "%szypper -n up docker", s->sudo_e);
		return 0;
	case PKG_NONE:
		break;
	}
	return dm_seterr("upgrading Docker on %s is not supported: its engine comes with the OS "
	                 "image", s->prov->name);
}

int provision_upgrade(const struct store *st, json_t *h, const struct provision_opts *po)
{
	struct session s;
	struct strbuf cmd = STRBUF_INIT;
	char *before = NULL, *pkg_before = NULL, *pkg_after = NULL, *after = NULL;
	int rc = -1;

	if (session_open(&s, st, h, po) < 0) {
		session_free(&s);
		return -1;
	}
	if (addresses(&s) < 0 || facts(&s) < 0 || upgrade_cmd(&s, &cmd) < 0)
		goto out;
	if (!s.has_docker) {
		dm_seterr("Docker is not installed on the machine: run '%s provision %s'",
		          "docker-machine", s.name);
		goto out;
	}
	before = engine_version(&s);
	pkg_before = package_version(&s);
	printf("Docker version before the upgrade: %s\n", before ? before : "unknown");
	say("Upgrading docker...");
	if (run(&s, "Error upgrading Docker", cmd.buf, NULL, 0, NULL, INSTALL_TIMEOUT_MS) < 0)
		goto out;
	pkg_after = package_version(&s);
	if (pkg_before && pkg_after && !strcmp(pkg_before, pkg_after)) {
		printf("Docker %s is already the newest version available: nothing was upgraded\n",
		       before ? before : pkg_before);
		fflush(stdout);
		rc = 0;
		goto out;
	}
	say("Restarting docker...");
	if (facts(&s) < 0 || restart_docker(&s) < 0 || wait_docker(&s) < 0)
		goto out;
	after = engine_version(&s);
	printf("Docker upgraded from %s to %s\n", before ? before : "unknown", after ? after : "unknown");
	fflush(stdout);
	rc = 0;
out:
	free(before);
	free(after);
	free(pkg_before);
	free(pkg_after);
	sb_release(&cmd);
	session_free(&s);
	return rc;
}

/* ---- many machines at once ---- */

int provision_each(const struct strvec *names, int (*fn)(const char *name, void *ctx), void *ctx)
{
	pid_t *pids;
	int status = 0;
	if (names->n == 1)
		return fn(names->v[0], ctx);
	fflush(stdout);
	fflush(stderr);
	pids = xcalloc(names->n, sizeof(*pids));
	for (size_t i = 0; i < names->n; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			setvbuf(stdout, NULL, _IOLBF, 0);
			int r = fn(names->v[i], ctx);
			fflush(stdout);
			_exit(r & 0xff);
		}
		if (pids[i] < 0) {
			dm_errorf("fork: %s", strerror(errno));
			status = status ? status : DM_EXIT_FAIL;
		}
	}
	for (size_t i = 0; i < names->n; i++) {
		int ws;
		if (pids[i] <= 0)
			continue;
		while (waitpid(pids[i], &ws, 0) < 0 && errno == EINTR)
			;
		int r = WIFEXITED(ws) ? WEXITSTATUS(ws) : DM_EXIT_FAIL;
		if (r && !status)
			status = r;
	}
	free(pids);
	return status;
}
