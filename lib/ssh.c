/* ssh.c - external ssh argv, bounded remote commands, libssh2 client, keys. See ssh.h. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libssh2.h>

#include "proc.h"
#include "ssh.h"

#define SSH_OUT_CAP (8u << 20)
#define DM_CAP_KNOWN_HOSTS (1u << 20)

static int native_forced = -1;   /* -1: ask the environment */

/* ---- quoting ---- */

void sh_quote(struct strbuf *sb, const char *s)
{
	sb_addc(sb, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			sb_adds(sb, "'\\''");
		else
			sb_addc(sb, *s);
	}
	sb_addc(sb, '\'');
}

void sh_quote_argv(struct strbuf *sb, char *const argv[])
{
	for (size_t i = 0; argv && argv[i]; i++) {
		if (i)
			sb_addc(sb, ' ');
		sh_quote(sb, argv[i]);
	}
}

/* ---- argv ---- */

static int target_port(const struct ssh_target *t) { return t->port > 0 ? t->port : 22; }
static const char *target_user(const struct ssh_target *t)
{
	return t->user && *t->user ? t->user : "root";
}

int ssh_known_host(const char *known_hosts, const char *host, int port)
{
	struct strbuf sb = STRBUF_INIT, want = STRBUF_INIT;
	int found = 0;

	if (!known_hosts || sb_read_file(&sb, known_hosts, DM_CAP_KNOWN_HOSTS) < 0)
		goto out;
	if (port == 22 || port <= 0)
		sb_addf(&want, "%s", host);
	else
		sb_addf(&want, "[%s]:%d", host, port);
	for (char *line = sb.buf; line && *line && !found;) {
		char *nl = strchr(line, '\n');
		/* the host field: comma-separated names up to the first space */
		size_t hl = strcspn(line, " \t\n");
		for (size_t i = 0; i < hl && !found;) {
			size_t j = i;
			while (j < hl && line[j] != ',')
				j++;
			if (j - i == want.len && !memcmp(line + i, want.buf, want.len))
				found = 1;
			i = j + 1;
		}
		line = nl ? nl + 1 : NULL;
	}
out:
	sb_release(&sb);
	sb_release(&want);
	return found;
}

const char *ssh_hostkey_policy(const struct ssh_target *t)
{
	struct stat st;

	if (!t->known_hosts)
		return "no";
	switch (t->hostkey) {
	case SSH_HK_TOFU:
		return "accept-new";
	case SSH_HK_AUTO:
		return stat(t->known_hosts, &st) == 0 ? "yes" : "accept-new";
	default:
		return "yes";
	}
}

/* The shared options; kh_value is UserKnownHostsFile's raw value and
 * policy the StrictHostKeyChecking value. */
static void common_opts(int ct, int batch, const char *kh_value, const char *policy,
                        struct strvec *av)
{
	sv_push(av, "-F");
	sv_push(av, "/dev/null");
	sv_push(av, "-o");
	sv_pushf(av, "ConnectTimeout=%d", ct > 0 ? ct : SSH_CONNECT_TIMEOUT);
	sv_push(av, "-o");
	sv_push(av, "ControlMaster=no");
	sv_push(av, "-o");
	sv_push(av, "ControlPath=none");
	sv_push(av, "-o");
	sv_push(av, "PasswordAuthentication=no");
	sv_push(av, "-o");
	sv_push(av, "ServerAliveInterval=60");
	sv_push(av, "-o");
	sv_push(av, "HashKnownHosts=no");
	sv_push(av, "-o");
	sv_push(av, "GlobalKnownHostsFile=/dev/null");
	sv_push(av, "-o");
	sv_pushf(av, "UserKnownHostsFile=%s", kh_value);
	sv_push(av, "-o");
	sv_pushf(av, "StrictHostKeyChecking=%s", policy);
	if (batch) {
		sv_push(av, "-o");
		sv_push(av, "BatchMode=yes");
	}
}

/* A path for ssh's config parser: double-quoted unless it holds '"'. */
static void add_cfg_path(struct strbuf *sb, const char *path)
{
	if (strchr(path, '"'))
		sb_adds(sb, path);
	else
		sb_addf(sb, "\"%s\"", path);
}

void ssh_common_opts(const struct ssh_target *t, int batch, struct strvec *av)
{
	struct strbuf kh = STRBUF_INIT;
	add_cfg_path(&kh, t->known_hosts ? t->known_hosts : "/dev/null");
	common_opts(t->connect_timeout, batch, kh.buf, ssh_hostkey_policy(t), av);
	sb_release(&kh);
}

void ssh_argv(const struct ssh_target *t, unsigned flags, char *const cmd[], struct strvec *av)
{
	sv_push(av, "ssh");
	ssh_common_opts(t, !!(flags & SSH_BATCH), av);
	if (t->key && *t->key) {
		sv_push(av, "-o");
		sv_push(av, "IdentitiesOnly=yes");
		sv_push(av, "-i");
		sv_push(av, t->key);
	}
	sv_push(av, "-p");
	sv_pushf(av, "%d", target_port(t));
	if (flags & SSH_TTY)
		sv_push(av, "-t");
	sv_pushf(av, "%s@%s", target_user(t), t->host);
	if (cmd && cmd[0]) {
		/* ssh parses options again after the destination: "--" ends them */
		sv_push(av, "--");
		for (size_t i = 0; cmd[i]; i++)
			sv_push(av, cmd[i]);
	}
}

/* ---- scp / rsync ---- */

char *scp_location(const struct scp_loc *l)
{
	const char *user;
	if (!l->t)
		return xstrdup(l->path);
	user = l->user && *l->user ? l->user : target_user(l->t);
	if (strchr(l->t->host, ':'))
		return xasprintf("%s@[%s]:%s", user, l->t->host, l->path);
	return xasprintf("%s@%s:%s", user, l->t->host, l->path);
}

/* Options for the remote ends of a copy (scp's and rsync -e's). */
static void copy_opts(const struct scp_loc *src, const struct scp_loc *dst, struct strvec *opts,
                      struct strvec *ends)
{
	const struct scp_loc *l[2] = { src, dst };
	struct strbuf kh = STRBUF_INIT;
	const char *policy = NULL;
	int ct = 0;

	for (int i = 0; i < 2; i++) {
		const struct ssh_target *t = l[i]->t;
		if (!t)
			continue;
		if (kh.len)
			sb_addc(&kh, ' ');
		add_cfg_path(&kh, t->known_hosts ? t->known_hosts : "/dev/null");
		/* "no" if any end checks nothing, "yes" only if every end is pinned */
		const char *p = ssh_hostkey_policy(t);
		if (!policy || !strcmp(p, "no") || (strcmp(policy, "no") && strcmp(p, "yes")))
			policy = p;
		if (t->connect_timeout > ct)
			ct = t->connect_timeout;
		if (t->key && *t->key) {
			sv_push(ends, "-o");
			sv_push(ends, "IdentitiesOnly=yes");
		}
		sv_push(ends, "-o");
		sv_pushf(ends, "Port=%d", target_port(t));
		if (t->key && *t->key) {
			struct strbuf id = STRBUF_INIT;
			sb_adds(&id, "IdentityFile=");
			add_cfg_path(&id, t->key);
			sv_push(ends, "-o");
			sv_push_owned(ends, sb_detach(&id));
		}
	}
	if (!kh.len)
		sb_adds(&kh, "/dev/null");
	common_opts(ct, 1, kh.buf, policy ? policy : "yes", opts);
	sb_release(&kh);
}

void ssh_scp_argv(const struct scp_loc *src, const struct scp_loc *dst, unsigned flags,
                  struct strvec *av)
{
	struct strvec ends = STRVEC_INIT;

	sv_push(av, "scp");
	copy_opts(src, dst, av, &ends);
	sv_push(av, "-3");
	if (flags & SCP_RECURSIVE)
		sv_push(av, "-r");
	if (flags & SCP_QUIET)
		sv_push(av, "-q");
	for (size_t i = 0; i < ends.n; i++)
		sv_push(av, ends.v[i]);
	sv_clear(&ends);
	sv_push_owned(av, scp_location(src));
	sv_push_owned(av, scp_location(dst));
}

/* A word for rsync's -e splitter (spaces separate; '' and "" group). */
static void rsync_word(struct strbuf *sb, const char *w)
{
	if (!w[strcspn(w, " \t'\"")])
		sb_adds(sb, w);
	else if (!strchr(w, '\''))
		sb_addf(sb, "'%s'", w);
	else
		sb_addf(sb, "\"%s\"", w);
}

int ssh_rsync_argv(const struct scp_loc *src, const struct scp_loc *dst, unsigned flags,
                   struct strvec *av)
{
	struct strvec opts = STRVEC_INIT, ends = STRVEC_INIT;
	struct strbuf e = STRBUF_INIT;

	if (src->t && dst->t)
		return dm_seterr("--delta (rsync) cannot copy between two machines; "
		                 "copy through a local path or drop --delta");
	copy_opts(src, dst, &opts, &ends);
	sb_adds(&e, "ssh");
	for (size_t i = 0; i < opts.n; i++) {
		sb_addc(&e, ' ');
		rsync_word(&e, opts.v[i]);
	}
	for (size_t i = 0; i < ends.n; i++) {
		sb_addc(&e, ' ');
		rsync_word(&e, ends.v[i]);
	}
	sv_clear(&opts);
	sv_clear(&ends);
	sv_push(av, "rsync");
	if (!(flags & SCP_QUIET))
		sv_push(av, "--progress");
	sv_push(av, "-e");
	sv_push_owned(av, sb_detach(&e));
	if (flags & SCP_RECURSIVE)
		sv_push(av, "-r");
	sv_push_owned(av, scp_location(src));
	sv_push_owned(av, scp_location(dst));
	return 0;
}

/* ---- external runner ---- */

static int hostkey_refused(const char *err)
{
	return strstr(err, "Host key verification failed") != NULL;
}

static int set_ssh_error(const struct ssh_target *t, const char *err)
{
	if (hostkey_refused(err)) {
		if (strstr(err, "REMOTE HOST IDENTIFICATION HAS CHANGED") || strstr(err, "has changed"))
			return dm_seterr("host key for %s:%d does not match the one pinned in %s "
			                 "(refusing to connect; if the machine was rebuilt, remove its line "
			                 "from that file)", t->host, target_port(t), t->known_hosts);
		return dm_seterr("no host key for %s:%d is pinned in %s (refusing to connect)",
		                 t->host, target_port(t), t->known_hosts ? t->known_hosts : "/dev/null");
	}
	/* ssh's own last line: "ssh: connect to host … port 22: Connection refused" */
	const char *end = err + strlen(err);
	while (end > err && (end[-1] == '\n' || end[-1] == '\r'))
		end--;
	const char *start = end;
	while (start > err && start[-1] != '\n')
		start--;
	if (start == end)
		return dm_seterr("ssh to %s@%s:%d failed (exit status 255)", target_user(t), t->host,
		                 target_port(t));
	return dm_seterr("%.*s", (int)(end - start), start);
}

static void pump_read(int *fd, struct strbuf *sb)
{
	char buf[8192];
	ssize_t n = read(*fd, buf, sizeof buf);

	if (n > 0) {
		if (sb->len + (size_t)n <= SSH_OUT_CAP)
			sb_add(sb, buf, (size_t)n);
	} else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
		close(*fd);
		*fd = -1;
	}
}

int ssh_run_external(const struct ssh_target *t, const char *cmd, const char *in, size_t inlen,
                     struct strbuf *out, struct strbuf *err, long long deadline_ms)
{
	struct strvec av = STRVEC_INIT;
	struct strbuf o = STRBUF_INIT, e = STRBUF_INIT;
	struct proc p;
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;
	char *words[] = { (char *)cmd, NULL };
	size_t off = 0;
	int timed_out = 0, status;

	ssh_argv(t, SSH_BATCH, words, &av);
	if (proc_spawn(&p, sv_argv(&av), NULL,
	               PROC_PIPE_IN | PROC_PIPE_OUT | PROC_PIPE_ERR | PROC_NEWPGRP) < 0) {
		sv_clear(&av);
		return -1;
	}
	sv_clear(&av);
	sigaction(SIGPIPE, &ign, &old);
	if (!in || !inlen) {
		close(p.in);
		p.in = -1;
	} else {
		fcntl(p.in, F_SETFL, fcntl(p.in, F_GETFL) | O_NONBLOCK);
	}
	while (p.out >= 0 || p.err >= 0) {
		struct pollfd pf[3];
		int n = 0, ms = -1;
		if (p.out >= 0)
			pf[n++] = (struct pollfd){ .fd = p.out, .events = POLLIN };
		if (p.err >= 0)
			pf[n++] = (struct pollfd){ .fd = p.err, .events = POLLIN };
		if (p.in >= 0)
			pf[n++] = (struct pollfd){ .fd = p.in, .events = POLLOUT };
		if (deadline_ms) {
			long long left = deadline_ms - now_ms();
			if (left <= 0) {
				timed_out = 1;
				break;
			}
			ms = left > 1000000 ? 1000000 : (int)left;
		}
		if (poll(pf, (nfds_t)n, ms) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int i = 0; i < n; i++) {
			if (!pf[i].revents)
				continue;
			if (pf[i].fd == p.out)
				pump_read(&p.out, &o);
			else if (pf[i].fd == p.err)
				pump_read(&p.err, &e);
			else if (pf[i].fd == p.in) {
				ssize_t w = write(p.in, in + off, inlen - off);
				if (w > 0)
					off += (size_t)w;
				if ((w < 0 && errno != EAGAIN && errno != EINTR) || off == inlen) {
					close(p.in);
					p.in = -1;
				}
			}
		}
	}
	if (p.in >= 0)
		close(p.in);
	if (p.out >= 0)
		close(p.out);
	if (p.err >= 0)
		close(p.err);
	p.in = p.out = p.err = -1;
	status = proc_wait(&p, timed_out ? now_ms() : deadline_ms);
	sigaction(SIGPIPE, &old, NULL);
	if (out)
		sb_add(out, o.buf, o.len);
	if (err)
		sb_add(err, e.buf, e.len);
	if (timed_out || status == -1) {
		dm_seterr("ssh %s@%s:%d: command did not finish in time", target_user(t), t->host,
		          target_port(t));
		status = -1;
	} else if (status == 255) {
		set_ssh_error(t, e.buf);
		if (hostkey_refused(e.buf))
			status = -1;
	}
	sb_release(&o);
	sb_release(&e);
	return status;
}

/* ---- native client (libssh2) ---- */

static int tcp_connect(const char *host, int port, long long deadline_ms)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV }, *res, *ai;
	char portstr[16];
	int fd = -1, rc, lasterr = 0;

	snprintf(portstr, sizeof portstr, "%d", port);
	if ((rc = getaddrinfo(host, portstr, &hints, &res)) != 0)
		return dm_seterr("dial tcp %s:%d: %s", host, port, gai_strerror(rc));
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno == EINPROGRESS) {
			struct pollfd pf = { .fd = fd, .events = POLLOUT };
			long long left = deadline_ms - now_ms();
			int soerr = 0;
			socklen_t sl = sizeof soerr;
			if (left > 0 && poll(&pf, 1, (int)left) == 1 &&
			    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0)
				break;
			lasterr = soerr ? soerr : ETIMEDOUT;
		} else {
			lasterr = errno;
		}
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		errno = lasterr;
		return dm_seterr_errno("dial tcp %s:%d", host, port);
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}

static const char *hostkey_name(int type)
{
	switch (type) {
	case LIBSSH2_HOSTKEY_TYPE_RSA: return "ssh-rsa";
	case LIBSSH2_HOSTKEY_TYPE_DSS: return "ssh-dss";
#ifdef LIBSSH2_HOSTKEY_TYPE_ECDSA_256
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_256: return "ecdsa-sha2-nistp256";
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_384: return "ecdsa-sha2-nistp384";
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_521: return "ecdsa-sha2-nistp521";
#endif
#ifdef LIBSSH2_HOSTKEY_TYPE_ED25519
	case LIBSSH2_HOSTKEY_TYPE_ED25519: return "ssh-ed25519";
#endif
	}
	return NULL;
}

static int hostkey_knownbit(int type)
{
	switch (type) {
	case LIBSSH2_HOSTKEY_TYPE_RSA: return LIBSSH2_KNOWNHOST_KEY_SSHRSA;
	case LIBSSH2_HOSTKEY_TYPE_DSS: return LIBSSH2_KNOWNHOST_KEY_SSHDSS;
#ifdef LIBSSH2_HOSTKEY_TYPE_ECDSA_256
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_256: return LIBSSH2_KNOWNHOST_KEY_ECDSA_256;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_384: return LIBSSH2_KNOWNHOST_KEY_ECDSA_384;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_521: return LIBSSH2_KNOWNHOST_KEY_ECDSA_521;
#endif
#ifdef LIBSSH2_HOSTKEY_TYPE_ED25519
	case LIBSSH2_HOSTKEY_TYPE_ED25519: return LIBSSH2_KNOWNHOST_KEY_ED25519;
#endif
	}
	return LIBSSH2_KNOWNHOST_KEY_UNKNOWN;
}

/* Prefer the host key types already pinned for this host, so a server with
 * several keys offers the one we can check. */
static void prefer_pinned_types(LIBSSH2_SESSION *s, const struct ssh_target *t)
{
	static const char *const types[] = { "ssh-ed25519", "ecdsa-sha2-nistp256",
		"ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa" };
	struct strbuf sb = STRBUF_INIT, pref = STRBUF_INIT, want = STRBUF_INIT;
	int port = target_port(t);

	if (!t->known_hosts || sb_read_file(&sb, t->known_hosts, DM_CAP_KNOWN_HOSTS) < 0)
		goto out;
	if (port == 22)
		sb_addf(&want, "%s ", t->host);
	else
		sb_addf(&want, "[%s]:%d ", t->host, port);
	for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
		struct strbuf pat = STRBUF_INIT;
		sb_addf(&pat, "\n%s%s ", want.buf, types[i]);
		if (str_starts(sb.buf, pat.buf + 1) || strstr(sb.buf, pat.buf)) {
			if (pref.len)
				sb_addc(&pref, ',');
			sb_adds(&pref, types[i]);
		}
		sb_release(&pat);
	}
	if (pref.len)
		libssh2_session_method_pref(s, LIBSSH2_METHOD_HOSTKEY, pref.buf);
out:
	sb_release(&sb);
	sb_release(&pref);
	sb_release(&want);
}

static int check_hostkey(LIBSSH2_SESSION *s, const struct ssh_target *t)
{
	const char *policy = ssh_hostkey_policy(t);
	size_t len;
	int type, port = target_port(t), rc;
	const char *key = libssh2_session_hostkey(s, &len, &type);
	LIBSSH2_KNOWNHOSTS *kh;
	struct libssh2_knownhost *found = NULL;
	struct stat st;

	if (!strcmp(policy, "no"))
		return 0;
	if (!key)
		return dm_seterr("ssh %s:%d: no host key offered", t->host, port);
	kh = libssh2_knownhost_init(s);
	if (!kh)
		return dm_seterr("libssh2: cannot init known hosts");
	if (stat(t->known_hosts, &st) == 0 &&
	    libssh2_knownhost_readfile(kh, t->known_hosts, LIBSSH2_KNOWNHOST_FILE_OPENSSH) < 0) {
		libssh2_knownhost_free(kh);
		return dm_seterr("cannot read %s: not an OpenSSH known_hosts file", t->known_hosts);
	}
	rc = libssh2_knownhost_checkp(kh, t->host, port, key, len,
	                              LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW |
	                                  hostkey_knownbit(type), &found);
	libssh2_knownhost_free(kh);
	if (rc == LIBSSH2_KNOWNHOST_CHECK_MATCH)
		return 0;
	if (rc == LIBSSH2_KNOWNHOST_CHECK_MISMATCH)
		return dm_seterr("host key for %s:%d does not match the one pinned in %s "
		                 "(refusing to connect; if the machine was rebuilt, remove its line "
		                 "from that file)", t->host, port, t->known_hosts);
	if (rc != LIBSSH2_KNOWNHOST_CHECK_NOTFOUND)
		return dm_seterr("cannot check the host key of %s:%d against %s", t->host, port,
		                 t->known_hosts);
	if (strcmp(policy, "accept-new") != 0)
		return dm_seterr("no host key for %s:%d is pinned in %s (refusing to connect)",
		                 t->host, port, t->known_hosts);
	/* trust on first use: append "host type base64" */
	{
		const char *name = hostkey_name(type);
		struct strbuf line = STRBUF_INIT;
		static const char b64[] =
			"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
		const unsigned char *k = (const unsigned char *)key;
		int fd;

		if (!name)
			return dm_seterr("ssh %s:%d: unsupported host key type", t->host, port);
		if (port == 22)
			sb_addf(&line, "%s %s ", t->host, name);
		else
			sb_addf(&line, "[%s]:%d %s ", t->host, port, name);
		for (size_t i = 0; i < len; i += 3) {
			unsigned v = (unsigned)k[i] << 16 | (i + 1 < len ? k[i + 1] << 8 : 0) |
			             (i + 2 < len ? k[i + 2] : 0);
			sb_addc(&line, b64[v >> 18 & 63]);
			sb_addc(&line, b64[v >> 12 & 63]);
			sb_addc(&line, i + 1 < len ? b64[v >> 6 & 63] : '=');
			sb_addc(&line, i + 2 < len ? b64[v & 63] : '=');
		}
		sb_addc(&line, '\n');
		fd = open(t->known_hosts, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 || write(fd, line.buf, line.len) != (ssize_t)line.len) {
			if (fd >= 0)
				close(fd);
			sb_release(&line);
			return dm_seterr_errno("cannot write %s", t->known_hosts);
		}
		close(fd);
		sb_release(&line);
	}
	return 0;
}

static int auth_key(LIBSSH2_SESSION *s, const struct ssh_target *t)
{
	const char *user = target_user(t);
	const char *home = getenv("HOME");
	static const char *const defaults[] = { "id_ed25519", "id_ecdsa", "id_rsa" };

	if (t->key && *t->key) {
		if (libssh2_userauth_publickey_fromfile(s, user, NULL, t->key, NULL) == 0)
			return 0;
		char *msg = NULL;
		libssh2_session_last_error(s, &msg, NULL, 0);
		return dm_seterr("ssh %s@%s: public key authentication with %s failed: %s", user,
		                 t->host, t->key, msg ? msg : "denied");
	}
	for (size_t i = 0; home && i < ARRAY_SIZE(defaults); i++) {
		char *p = xasprintf("%s/.ssh/%s", home, defaults[i]);
		int ok = access(p, R_OK) == 0 &&
		         libssh2_userauth_publickey_fromfile(s, user, NULL, p, NULL) == 0;
		free(p);
		if (ok)
			return 0;
	}
	return dm_seterr("ssh %s@%s: Permission denied (publickey)", user, t->host);
}

static int native_wait(LIBSSH2_SESSION *s, int sock, long long deadline_ms)
{
	int dir = libssh2_session_block_directions(s);
	struct pollfd pf = { .fd = sock, .events = 0 };
	int ms = 1000;

	if (dir & LIBSSH2_SESSION_BLOCK_INBOUND)
		pf.events |= POLLIN;
	if (dir & LIBSSH2_SESSION_BLOCK_OUTBOUND)
		pf.events |= POLLOUT;
	if (!pf.events)
		pf.events = POLLIN;
	if (deadline_ms) {
		long long left = deadline_ms - now_ms();
		if (left <= 0)
			return -1;
		ms = left < 1000 ? (int)left : 1000;
	}
	poll(&pf, 1, ms);
	return 0;
}

int ssh_run_native(const struct ssh_target *t, const char *cmd, const char *in, size_t inlen,
                   struct strbuf *out, struct strbuf *err, long long deadline_ms)
{
	static int inited;
	int port = target_port(t), sock, status = -1;
	int ct = t->connect_timeout > 0 ? t->connect_timeout : SSH_CONNECT_TIMEOUT;
	long long cdl = now_ms() + ct * 1000LL;
	LIBSSH2_SESSION *s = NULL;
	LIBSSH2_CHANNEL *ch = NULL;
	size_t off = 0;
	int out_eof = 0, err_eof = 0;

	if (!inited) {
		if (libssh2_init(0) != 0)
			return dm_seterr("libssh2: initialisation failed");
		inited = 1;
	}
	if (deadline_ms && deadline_ms < cdl)
		cdl = deadline_ms;
	if ((sock = tcp_connect(t->host, port, cdl)) < 0)
		return -1;
	s = libssh2_session_init();
	if (!s) {
		close(sock);
		return dm_seterr("libssh2: cannot create a session");
	}
	{
		long long left = (deadline_ms ? deadline_ms : now_ms() + 60000) - now_ms();
		libssh2_session_set_timeout(s, left > 0 ? (long)left : 1);
	}
	prefer_pinned_types(s, t);
	if (libssh2_session_handshake(s, sock) != 0) {
		char *msg = NULL;
		libssh2_session_last_error(s, &msg, NULL, 0);
		dm_seterr("ssh %s:%d: handshake failed: %s", t->host, port, msg ? msg : "?");
		goto done;
	}
	if (check_hostkey(s, t) < 0 || auth_key(s, t) < 0)
		goto done;
	ch = libssh2_channel_open_session(s);
	if (!ch || libssh2_channel_exec(ch, cmd) != 0) {
		char *msg = NULL;
		libssh2_session_last_error(s, &msg, NULL, 0);
		dm_seterr("ssh %s:%d: cannot run the command: %s", t->host, port, msg ? msg : "?");
		goto done;
	}
	libssh2_session_set_blocking(s, 0);
	if (!in || !inlen) {
		while (libssh2_channel_send_eof(ch) == LIBSSH2_ERROR_EAGAIN)
			if (native_wait(s, sock, deadline_ms) < 0)
				goto timeout;
		off = inlen = 0;
		in = NULL;
	}
	while (!out_eof || !err_eof) {
		char buf[8192];
		ssize_t n;
		int progress = 0;

		if (in && off < inlen) {
			n = libssh2_channel_write(ch, in + off, inlen - off);
			if (n > 0) {
				off += (size_t)n;
				progress = 1;
			} else if (n != LIBSSH2_ERROR_EAGAIN) {
				off = inlen;
			}
			if (off == inlen)
				while (libssh2_channel_send_eof(ch) == LIBSSH2_ERROR_EAGAIN)
					if (native_wait(s, sock, deadline_ms) < 0)
						goto timeout;
		}
		n = out_eof ? 0 : libssh2_channel_read(ch, buf, sizeof buf);
		if (n > 0) {
			if (out && out->len + (size_t)n <= SSH_OUT_CAP)
				sb_add(out, buf, (size_t)n);
			progress = 1;
		} else if (n != LIBSSH2_ERROR_EAGAIN && !out_eof) {
			out_eof = n < 0 || libssh2_channel_eof(ch);
		}
		n = err_eof ? 0 : libssh2_channel_read_stderr(ch, buf, sizeof buf);
		if (n > 0) {
			if (err && err->len + (size_t)n <= SSH_OUT_CAP)
				sb_add(err, buf, (size_t)n);
			progress = 1;
		} else if (n != LIBSSH2_ERROR_EAGAIN && !err_eof) {
			err_eof = n < 0 || libssh2_channel_eof(ch);
		}
		if (!progress && (!out_eof || !err_eof))
			if (native_wait(s, sock, deadline_ms) < 0)
				goto timeout;
	}
	while (libssh2_channel_close(ch) == LIBSSH2_ERROR_EAGAIN)
		if (native_wait(s, sock, deadline_ms) < 0)
			goto timeout;
	while (libssh2_channel_wait_closed(ch) == LIBSSH2_ERROR_EAGAIN)
		if (native_wait(s, sock, deadline_ms) < 0)
			goto timeout;
	{
		char *sig = NULL;
		libssh2_channel_get_exit_signal(ch, &sig, NULL, NULL, NULL, NULL, NULL);
		if (sig) {
			dm_seterr("remote command killed by signal %s", sig);
			libssh2_free(s, sig);
			status = 255;
		} else {
			status = libssh2_channel_get_exit_status(ch) & 255;
		}
	}
	goto done;
timeout:
	dm_seterr("ssh %s@%s:%d: command did not finish in time", target_user(t), t->host, port);
	status = -1;
done:
	if (ch) {
		libssh2_session_set_blocking(s, 1);
		libssh2_session_set_timeout(s, 1000);
		libssh2_channel_free(ch);
	}
	libssh2_session_disconnect(s, "bye");
	libssh2_session_free(s);
	close(sock);
	return status;
}

void ssh_set_native(int on) { native_forced = on; }

int ssh_native_enabled(void)
{
	if (native_forced >= 0)
		return native_forced;
	const char *e = getenv("MACHINE_NATIVE_SSH");
	int on = 0;
	if (e && *e && parse_bool(e, &on) == 0 && on)
		return 1;
	char *p = proc_find("ssh", getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
	if (!p)
		return 1;
	free(p);
	return 0;
}

int ssh_run(const struct ssh_target *t, const char *cmd, const char *in, size_t inlen,
            struct strbuf *out, struct strbuf *err, long long deadline_ms)
{
	if (ssh_native_enabled())
		return ssh_run_native(t, cmd, in, inlen, out, err, deadline_ms);
	return ssh_run_external(t, cmd, in, inlen, out, err, deadline_ms);
}

int ssh_pin_hostkey(const struct ssh_target *t, long long deadline_ms)
{
	struct ssh_target tofu = *t;
	int rc;

	if (!t->known_hosts)
		return dm_seterr("no known_hosts file to pin the host key in");
	tofu.hostkey = SSH_HK_TOFU;
	rc = ssh_run(&tofu, "exit 0", NULL, 0, NULL, NULL, deadline_ms);
	if (rc != 0)
		return rc == -1 ? -1 : (rc == 255 ? -1 : dm_seterr("ssh %s: exit status %d", t->host, rc));
	return 0;
}

/* ---- keys ---- */

int ssh_keygen(const char *path, const char *type, const char *comment)
{
	struct stat st;
	char *pub = xasprintf("%s.pub", path);
	int rc;

	if (!type || !*type)
		type = "ed25519";
	if (strcmp(type, "ed25519") != 0 && strcmp(type, "rsa") != 0) {
		free(pub);
		return dm_seterr("unsupported SSH key type \"%s\" (ed25519 or rsa)", type);
	}
	if (lstat(path, &st) == 0 || lstat(pub, &st) == 0) {
		free(pub);
		return dm_seterr("cannot create SSH key %s: file exists", path);
	}
	{
		char *argv[] = { "ssh-keygen", "-q", "-t", (char *)type, "-b",
			!strcmp(type, "rsa") ? "2048" : "256", "-N", "", "-C",
			(char *)(comment ? comment : ""), "-f", (char *)path, NULL };
		char **av = argv;
		char *ed[] = { "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C",
			(char *)(comment ? comment : ""), "-f", (char *)path, NULL };
		struct strbuf out = STRBUF_INIT;
		if (!strcmp(type, "ed25519"))
			av = ed;
		sb_init(&out, 1 << 16);
		rc = proc_run(av, NULL, 0, &out, now_ms() + 30000);
		sb_release(&out);
	}
	if (rc != 0) {
		free(pub);
		return rc == -1 ? -1 : dm_seterr("ssh-keygen failed for %s (exit status %d)", path, rc);
	}
	if (chmod(path, 0600) < 0 || chmod(pub, 0600) < 0) {
		dm_seterr_errno("chmod %s", path);
		free(pub);
		return -1;
	}
	free(pub);
	return 0;
}

int ssh_import_key(const char *src, const char *dst)
{
	struct strbuf sb = STRBUF_INIT;
	int rc = 0;
	if (sb_read_file(&sb, src, 1u << 20) < 0)
		rc = dm_seterr("unable to copy ssh key: %s", dm_strerr());
	else if (unlink(dst) < 0 && errno != ENOENT)
		rc = dm_seterr("unable to copy ssh key: %s: %s", dst, strerror(errno));
	else if (write_file_excl(dst, sb.buf, sb.len, 0600) < 0)
		rc = dm_seterr("unable to copy ssh key: %s", dm_strerr());
	if (sb.alloc)
		explicit_bzero(sb.buf, sb.len);
	sb_release(&sb);
	return rc;
}
