/* qemu.c - QEMU command line, QMP, accelerator choice, ports, NoCloud seed. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "json.h"
#include "proc.h"
#include "qemu.h"

#define QMP_CAP (1u << 20)

/* ---- the command line ---- */

const char *qemu_default_binary(void)
{
#if defined(__aarch64__)
	return "qemu-system-aarch64";
#else
	return "qemu-system-x86_64";
#endif
}

static int valid_port(long p)
{
	return p > 0 && p < 65536;
}

int qemu_network_parse(const char *spec, const char *id, struct strbuf *out)
{
	long a, b;
	char *end;
	if (str_starts(spec, "listen:") || str_starts(spec, "connect:")) {
		int listen = str_starts(spec, "listen:");
		const char *p = strchr(spec, ':') + 1;
		errno = 0;
		a = strtol(p, &end, 10);
		if (*p < '0' || *p > '9' || *end || errno || !valid_port(a))
			return dm_seterr("--qemu-network %s: expected a port after \"%s:\"", spec,
			                 listen ? "listen" : "connect");
		if (out)
			sb_addf(out, "socket,id=%s,%s=127.0.0.1:%ld", id, listen ? "listen" : "connect", a);
		return 0;
	}
	if (str_starts(spec, "dgram:")) {
		const char *p = spec + 6;
		errno = 0;
		a = strtol(p, &end, 10);
		if (*p < '0' || *p > '9' || *end != ':' || errno || !valid_port(a))
			return dm_seterr("--qemu-network %s: expected dgram:LOCALPORT:REMOTEPORT", spec);
		p = end + 1;
		b = strtol(p, &end, 10);
		if (*p < '0' || *p > '9' || *end || errno || !valid_port(b))
			return dm_seterr("--qemu-network %s: expected dgram:LOCALPORT:REMOTEPORT", spec);
		if (out)
			sb_addf(out, "dgram,id=%s,local.type=inet,local.host=127.0.0.1,local.port=%ld,"
			        "remote.type=inet,remote.host=127.0.0.1,remote.port=%ld", id, a, b);
		return 0;
	}
	return dm_seterr("--qemu-network %s: expected listen:PORT, connect:PORT or "
	                 "dgram:LOCALPORT:REMOTEPORT (all on 127.0.0.1)", spec);
}

void qemu_mac_for(const char *name, char mac[18])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	EVP_Digest(name, strlen(name), md, &n, EVP_sha256(), NULL);
	snprintf(mac, 18, "52:54:00:%02x:%02x:%02x", md[0], md[1], md[2]);
}

/* QEMU's option parser splits on ','; a literal comma is written ",,". */
static void add_optval(struct strbuf *sb, const char *s)
{
	for (; *s; s++) {
		if (*s == ',')
			sb_addc(sb, ',');
		sb_addc(sb, *s);
	}
}

static void push_kv(struct strvec *av, const char *opt, const char *prefix, const char *val,
                    const char *suffix)
{
	struct strbuf sb = STRBUF_INIT;
	sv_push(av, opt);
	sb_adds(&sb, prefix);
	add_optval(&sb, val);
	sb_adds(&sb, suffix);
	sv_push_owned(av, sb_detach(&sb));
}

int qemu_argv(const struct qemu_vm *vm, struct strvec *av)
{
	struct strbuf sb = STRBUF_INIT;
	int arm = strstr(vm->binary, "aarch64") != NULL;

	if (strcmp(vm->accel, "kvm") && strcmp(vm->accel, "hvf") && strcmp(vm->accel, "tcg"))
		return dm_seterr("unknown accelerator \"%s\" (want kvm, hvf or tcg)", vm->accel);
	if (!valid_port(vm->ssh_port) || (vm->engine_port && !valid_port(vm->engine_port)))
		return dm_seterr("invalid forwarded port");
	if (vm->engine_port == 22)
		return dm_seterr("the engine port cannot be 22 (the guest's SSH port)");
	if (vm->network && qemu_network_parse(vm->network, "n1", NULL) < 0)
		return -1;

	sv_push(av, vm->binary);
	push_kv(av, "-name", "dm-", vm->name, "");
	if (arm)
		sv_push(av, "-machine"), sv_push(av, "virt");
	sv_push(av, "-accel");
	if (!strcmp(vm->accel, "tcg"))
		sv_push(av, "tcg,thread=multi");
	else
		sv_push(av, vm->accel);
	if (strcmp(vm->accel, "tcg"))
		sv_push(av, "-cpu"), sv_push(av, "host");
	else if (arm)
		sv_push(av, "-cpu"), sv_push(av, "max");
	sv_push(av, "-m");
	sv_pushf(av, "%d", vm->memory_mb);
	sv_push(av, "-smp");
	sv_pushf(av, "%d", vm->cpus);
	sv_push(av, "-nodefaults");
	sv_push(av, "-display");
	sv_push(av, "none");
	if (vm->kernel) {
		push_kv(av, "-kernel", "", vm->kernel, "");
		if (vm->initrd)
			push_kv(av, "-initrd", "", vm->initrd, "");
		if (vm->append)
			sv_push(av, "-append"), sv_push(av, vm->append);
	}
	push_kv(av, "-drive", "file=", vm->disk, ",if=virtio,format=qcow2,discard=unmap");
	if (vm->seed)
		push_kv(av, "-drive", "file=", vm->seed, ",if=virtio,format=raw,readonly=on");

	/* user-mode network: forwards on 127.0.0.1 only */
	sb_addf(&sb, "user,id=n0%s,hostfwd=tcp:127.0.0.1:%d-:22", vm->restrict_net ? ",restrict=on" : "",
	        vm->ssh_port);
	if (vm->engine_port)
		sb_addf(&sb, ",hostfwd=tcp:127.0.0.1:%d-:%d", vm->engine_port, vm->engine_port);
	sv_push(av, "-netdev");
	sv_push_owned(av, sb_detach(&sb));
	sv_push(av, "-device");
	sv_push(av, "virtio-net-pci,netdev=n0");
	if (vm->network) {
		qemu_network_parse(vm->network, "n1", &sb);
		sv_push(av, "-netdev");
		sv_push_owned(av, sb_detach(&sb));
		sv_push(av, "-device");
		sv_pushf(av, "virtio-net-pci,netdev=n1,mac=%s", vm->mac ? vm->mac : "52:54:00:12:34:57");
	}
	sv_push(av, "-device");
	sv_push(av, "virtio-rng-pci");
	push_kv(av, "-serial", "file:", vm->console, "");
	push_kv(av, "-qmp", "unix:", vm->qmp, ",server=on,wait=off");
	push_kv(av, "-pidfile", "", vm->pidfile, "");
	sv_push(av, "-daemonize");
	sb_release(&sb);
	return 0;
}

/* ---- ports ---- */

static int bind_loopback(int port, int *out_port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), rc = -1;
	if (fd < 0)
		return dm_seterr_errno("socket");
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		dm_seterr_errno("bind 127.0.0.1:%d", port);
	else if (getsockname(fd, (struct sockaddr *)&sa, &sl) < 0)
		dm_seterr_errno("getsockname");
	else {
		if (out_port)
			*out_port = ntohs(sa.sin_port);
		rc = 0;
	}
	close(fd);
	return rc;
}

int qemu_free_port(int *port)
{
	return bind_loopback(0, port);
}

int qemu_port_available(int port)
{
	return valid_port(port) && bind_loopback(port, NULL) == 0;
}

/* ---- the process ---- */

pid_t qemu_running_pid(const char *pidfile, const char *qmp)
{
	struct strbuf sb = STRBUF_INIT;
	long pid;
	pid_t rc = 0;
	if (sb_read_file(&sb, pidfile, 64) < 0)
		goto out;
	sb_rtrim(&sb);
	if (parse_long(sb.buf, 1, 1L << 30, &pid, "pid") < 0)
		goto out;
	if (kill((pid_t)pid, 0) < 0 && errno != EPERM)
		goto out;
#ifdef __linux__
	{
		char path[64];
		struct strbuf cl = STRBUF_INIT;
		snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
		if (sb_read_file(&cl, path, 1u << 20) == 0) {
			for (size_t i = 0; i < cl.len; i++)
				if (!cl.buf[i])
					cl.buf[i] = ' ';
			/* a zombie has an empty command line: not running */
			if (cl.len && (!qmp || strstr(cl.buf, qmp)))
				rc = (pid_t)pid;
		}
		sb_release(&cl);
	}
#else
	(void)qmp;
	rc = (pid_t)pid;
#endif
out:
	sb_release(&sb);
	return rc;
}

int qemu_start(char *const argv[], long long deadline_ms)
{
	struct proc p;
	struct strbuf err = STRBUF_INIT;
	char buf[4096];
	int st;

	err.cap = 64u << 10;
	if (proc_spawn(&p, argv, NULL, PROC_PIPE_ERR | PROC_NEWPGRP) < 0)
		return -1;
	for (;;) {
		struct pollfd pf = { p.err, POLLIN, 0 };
		long long left = deadline_ms - now_ms();
		ssize_t r;
		if (left <= 0)
			break;
		if (poll(&pf, 1, (int)(left > 1000 ? 1000 : left)) < 0 && errno != EINTR)
			break;
		if (!pf.revents)
			continue;
		r = read(p.err, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		sb_add(&err, buf, (size_t)r);
	}
	st = proc_wait(&p, deadline_ms);
	sb_rtrim(&err);
	if (st == 0) {
		if (err.len)
			dm_debugf("qemu: %s", err.buf);
		sb_release(&err);
		return 0;
	}
	if (st < 0)
		dm_seterr("qemu did not start in time%s%s", err.len ? ": " : "", err.buf);
	else
		dm_seterr("qemu failed (exit status %d)%s%s", st, err.len ? ": " : "", err.buf);
	sb_release(&err);
	return -1;
}

/* ---- QMP ---- */

/* Next JSON object line from fd; -1 on timeout/EOF/garbage. */
static int qmp_read(int fd, struct strbuf *buf, json_t **msg, long long deadline)
{
	for (;;) {
		char *nl = memchr(buf->buf, '\n', buf->len);
		if (nl) {
			size_t n = (size_t)(nl - buf->buf) + 1;
			json_t *v = NULL;
			int rc = dj_parse(buf->buf, n, &v);
			memmove(buf->buf, buf->buf + n, buf->len - n);
			sb_setlen(buf, buf->len - n);
			if (rc < 0 || !json_is_object(v)) {
				json_decref(v);
				return dm_seterr("qmp: malformed reply");
			}
			*msg = v;
			return 0;
		}
		long long left = deadline - now_ms();
		struct pollfd pf = { fd, POLLIN, 0 };
		char tmp[4096];
		ssize_t r;
		if (left <= 0)
			return dm_seterr("qmp: timed out");
		if (poll(&pf, 1, (int)left) < 0) {
			if (errno == EINTR)
				continue;
			return dm_seterr_errno("qmp: poll");
		}
		if (!pf.revents)
			continue;
		r = read(fd, tmp, sizeof(tmp));
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0)
			return dm_seterr("qmp: connection closed");
		if (sb_add(buf, tmp, (size_t)r) < 0)
			return dm_seterr("qmp: reply too long");
	}
}

static int qmp_send(int fd, const char *cmd, json_t *args)
{
	json_t *v = json_object();
	struct strbuf sb = STRBUF_INIT;
	int rc = 0;
	dj_set_str(v, "execute", cmd);
	if (args)
		dj_set(v, "arguments", json_incref(args));
	dj_encode(v, 0, 0, &sb);
	sb_addc(&sb, '\n');
	json_decref(v);
	for (size_t off = 0; off < sb.len;) {
		ssize_t w = proc_write(fd, sb.buf + off, sb.len - off);
		if (w < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			rc = dm_seterr_errno("qmp: write");
			break;
		}
		off += (size_t)w;
	}
	sb_release(&sb);
	return rc;
}

/* Per-fd read buffers are kept in a tiny table (QMP fds are few). */
static struct { int fd; struct strbuf buf; } qmp_bufs[8];

static struct strbuf *qmp_buf(int fd, int create)
{
	for (size_t i = 0; i < ARRAY_SIZE(qmp_bufs); i++)
		if (qmp_bufs[i].buf.cap && qmp_bufs[i].fd == fd)
			return &qmp_bufs[i].buf;
	if (!create)
		return NULL;
	for (size_t i = 0; i < ARRAY_SIZE(qmp_bufs); i++)
		if (!qmp_bufs[i].buf.cap) {
			qmp_bufs[i].fd = fd;
			sb_init(&qmp_bufs[i].buf, QMP_CAP);
			return &qmp_bufs[i].buf;
		}
	return NULL;
}

static void qmp_close(int fd)
{
	struct strbuf *b = qmp_buf(fd, 0);
	if (b) {
		sb_release(b);
		b->cap = 0;
	}
	close(fd);
}

int qmp_exec(int fd, const char *cmd, json_t *args, json_t **ret, long long deadline_ms)
{
	struct strbuf *buf = qmp_buf(fd, 0);
	if (!buf)
		return dm_seterr("qmp: not an open QMP connection");
	if (qmp_send(fd, cmd, args) < 0)
		return -1;
	for (;;) {
		json_t *m = NULL, *e;
		if (qmp_read(fd, buf, &m, deadline_ms) < 0)
			return -1;
		if ((e = json_object_get(m, "error"))) {
			dm_seterr("qmp %s: %s", cmd, dj_str(e, "desc", "error"));
			json_decref(m);
			return -1;
		}
		if (json_object_get(m, "return")) {
			if (ret)
				*ret = json_incref(json_object_get(m, "return"));
			json_decref(m);
			return 0;
		}
		json_decref(m);    /* an event */
	}
}

int qmp_open(const char *sock, long long deadline_ms, int *fd)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct strbuf *buf;
	json_t *greet = NULL;
	int s;

	if (strlen(sock) >= sizeof(sa.sun_path))
		return dm_seterr("qmp: socket path too long (%zu bytes, the limit is %zu): %s", strlen(sock),
		                 sizeof(sa.sun_path) - 1, sock);
	memcpy(sa.sun_path, sock, strlen(sock) + 1);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return dm_seterr_errno("qmp: socket");
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(s);
		errno = e;
		return dm_seterr_errno("qmp: connect %s", sock);
	}
	if (!(buf = qmp_buf(s, 1))) {
		close(s);
		return dm_seterr("qmp: too many connections");
	}
	if (qmp_read(s, buf, &greet, deadline_ms) < 0 || !json_object_get(greet, "QMP")) {
		json_decref(greet);
		qmp_close(s);
		return dm_seterr("qmp: no greeting from %s", sock);
	}
	json_decref(greet);
	if (qmp_exec(s, "qmp_capabilities", NULL, NULL, deadline_ms) < 0) {
		qmp_close(s);
		return -1;
	}
	*fd = s;
	return 0;
}

int qmp_call(const char *sock, const char *cmd, json_t **ret, long long deadline_ms)
{
	int fd, rc;
	if (qmp_open(sock, deadline_ms, &fd) < 0)
		return -1;
	rc = qmp_exec(fd, cmd, NULL, ret, deadline_ms);
	qmp_close(fd);
	return rc;
}

const char *qemu_state_of_status(const char *s)
{
	static const struct { const char *status, *state; } map[] = {
		{ "running", "Running" },        { "paused", "Paused" },
		{ "suspended", "Paused" },       { "debug", "Paused" },
		{ "shutdown", "Stopping" },      { "inmigrate", "Starting" },
		{ "prelaunch", "Starting" },     { "restore-vm", "Starting" },
		{ "finish-migrate", "Paused" },  { "postmigrate", "Paused" },
		{ "save-vm", "Saved" },          { "internal-error", "Error" },
		{ "io-error", "Error" },         { "guest-panicked", "Error" },
		{ "watchdog", "Error" },         { "colo", "Running" },
	};
	for (size_t i = 0; s && i < ARRAY_SIZE(map); i++)
		if (!strcmp(s, map[i].status))
			return map[i].state;
	return "";
}

/* ---- accelerator ---- */

/* Boot the probe under KVM; 1 when the guest kernel got well into its boot. */
static int kvm_probe(const char *binary, const char *kernel, const char *disk, int probe_ms, char **why)
{
	struct strvec av = STRVEC_INIT;
	struct strbuf out = STRBUF_INIT;
	struct proc p;
	long long deadline = now_ms() + probe_ms;
	int ok = 0;

	sv_push(&av, binary);
	sv_push(&av, "-accel");
	sv_push(&av, "kvm");
	sv_push(&av, "-cpu");
	sv_push(&av, "host");
	sv_push(&av, "-m");
	sv_push(&av, "256");
	sv_push(&av, "-nodefaults");
	sv_push(&av, "-display");
	sv_push(&av, "none");
	sv_push(&av, "-no-reboot");
	sv_push(&av, "-serial");
	sv_push(&av, "stdio");
	if (kernel) {
		push_kv(&av, "-kernel", "", kernel, "");
		sv_push(&av, "-append");
		sv_push(&av, "console=ttyS0 earlyprintk=serial panic=-1 root=/dev/dm-probe-none");
	} else {
		push_kv(&av, "-drive", "file=", disk, ",if=virtio,snapshot=on");
	}
	out.cap = 4u << 20;
	if (proc_spawn(&p, sv_argv(&av), NULL, PROC_PIPE_OUT | PROC_PIPE_ERR | PROC_NEWPGRP) < 0) {
		*why = xasprintf("kvm probe could not run: %s", dm_strerr());
		sv_clear(&av);
		return 0;
	}
	for (;;) {
		struct pollfd pf[2] = { { p.out, POLLIN, 0 }, { p.err, POLLIN, 0 } };
		long long left = deadline - now_ms();
		char buf[4096];
		ssize_t r;
		char *lv;
		if (left <= 0)
			break;
		if (poll(pf, p.err >= 0 ? 2 : 1, (int)left) < 0 && errno != EINTR)
			break;
		if (p.err >= 0 && pf[1].revents) {
			/* QEMU's complaints (e.g. a failed KVM MSR write) go to the debug log */
			r = read(p.err, buf, sizeof(buf) - 1);
			if (r > 0) {
				buf[r] = 0;
				dm_debugf("kvm probe: %s", buf);
			} else {
				close(p.err);
				p.err = -1;
			}
		}
		if (!pf[0].revents)
			continue;
		r = read(p.out, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (sb_add(&out, buf, (size_t)r) < 0)
			break;
		lv = strstr(out.buf, "Linux version");
		if (lv && (strstr(lv, "Kernel panic") || strstr(lv, "VFS:") ||
		           strstr(lv, "Freeing unused kernel") || strstr(lv, "Run /"))) {
			ok = 1;
			break;
		}
	}
	proc_kill(&p, SIGKILL);
	proc_wait(&p, now_ms() + 5000);
	if (!ok)
		*why = xasprintf("a probe boot under KVM did not get through the kernel's start in %d ms "
		                 "(/dev/kvm works only for some guests here): using TCG", probe_ms);
	else
		*why = xasprintf("a probe boot under KVM succeeded");
	sb_release(&out);
	sv_clear(&av);
	return ok;
}

int qemu_accel_choose(const char *want, const char *binary, const char *probe_kernel,
                      const char *probe_disk, int probe_ms, const char *cache_file,
                      const char **accel, char **why)
{
	char *reason = NULL;
	if (why)
		*why = NULL;
	if (!strcmp(want, "kvm") || !strcmp(want, "hvf") || !strcmp(want, "tcg")) {
		*accel = !strcmp(want, "kvm") ? "kvm" : !strcmp(want, "hvf") ? "hvf" : "tcg";
		if (why)
			*why = xasprintf("%s as asked", *accel);
		return 0;
	}
	if (strcmp(want, "auto"))
		return dm_seterr("--qemu-accel %s: expected auto, kvm, hvf or tcg", want);
#ifdef __APPLE__
	(void)binary; (void)probe_kernel; (void)probe_disk; (void)probe_ms; (void)cache_file;
	*accel = "hvf";
	if (why)
		*why = xasprintf("hvf on macOS");
	return 0;
#else
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		*accel = "tcg";
		if (why)
			*why = xasprintf("/dev/kvm: %s: using TCG", strerror(errno));
		return 0;
	}
	close(fd);

	/* the cached verdict, keyed by the binary (path + mtime) and the probe image */
	char *bin = strchr(binary, '/') ? xstrdup(binary) : proc_find(binary, getenv("PATH"));
	struct stat st;
	long long mtime = bin && stat(bin, &st) == 0 ? (long long)st.st_mtime : 0;
	const char *probe = probe_kernel ? probe_kernel : probe_disk ? probe_disk : "";
	json_t *c = NULL;
	if (cache_file) {
		struct strbuf sb = STRBUF_INIT;
		if (sb_read_file(&sb, cache_file, 64u << 10) == 0 && dj_parse(sb.buf, sb.len, &c) == 0 &&
		    json_is_object(c) && !strcmp(dj_str(c, "Binary", ""), bin ? bin : binary) &&
		    dj_int(c, "BinaryMtime", -1) == mtime && !strcmp(dj_str(c, "Probe", ""), probe)) {
			const char *a = dj_str(c, "Accel", "");
			if (!strcmp(a, "kvm") || !strcmp(a, "tcg")) {
				*accel = !strcmp(a, "kvm") ? "kvm" : "tcg";
				if (why)
					*why = xasprintf("%s (cached verdict in %s: %s)", *accel, cache_file,
					                 dj_str(c, "Reason", ""));
				sb_release(&sb);
				json_decref(c);
				free(bin);
				return 0;
			}
		}
		sb_release(&sb);
		json_decref(c);
	}
	if (!*probe) {
		*accel = "tcg";
		reason = xasprintf("no image to probe KVM with: using TCG");
	} else {
		*accel = kvm_probe(bin ? bin : binary, probe_kernel, probe_kernel ? NULL : probe_disk, probe_ms,
		                   &reason)
		         ? "kvm" : "tcg";
	}
	if (cache_file) {
		json_t *v = json_object();
		struct strbuf sb = STRBUF_INIT;
		dj_set_str(v, "Binary", bin ? bin : binary);
		dj_set_int(v, "BinaryMtime", mtime);
		dj_set_str(v, "Probe", probe);
		dj_set_str(v, "Accel", *accel);
		dj_set_str(v, "Reason", reason);
		dj_encode(v, 4, 0, &sb);
		sb_addc(&sb, '\n');
		if (write_file_atomic(cache_file, sb.buf, sb.len, 0600) < 0)
			dm_debugf("accel cache: %s", dm_strerr());
		sb_release(&sb);
		json_decref(v);
	}
	free(bin);
	if (why)
		*why = reason;
	else
		free(reason);
	return 0;
#endif
}

/* ---- ISO 9660 seed ---- */

#define SECTOR 2048

static void put16le(unsigned char *p, unsigned v) { p[0] = v & 0xff; p[1] = (v >> 8) & 0xff; }
static void put16be(unsigned char *p, unsigned v) { p[0] = (v >> 8) & 0xff; p[1] = v & 0xff; }
static void put16b(unsigned char *p, unsigned v) { put16le(p, v); put16be(p + 2, v); }
static void put32le(unsigned char *p, unsigned long v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (v >> (8 * i)) & 0xff;
}
static void put32be(unsigned char *p, unsigned long v)
{
	for (int i = 0; i < 4; i++)
		p[3 - i] = (v >> (8 * i)) & 0xff;
}
static void put32b(unsigned char *p, unsigned long v) { put32le(p, v); put32be(p + 4, v); }

static void padstr(unsigned char *p, size_t n, const char *s)
{
	size_t l = strlen(s);
	memset(p, ' ', n);
	memcpy(p, s, l < n ? l : n);
}

/* 7-byte directory record date */
static void dirdate(unsigned char *p, const struct tm *tm)
{
	p[0] = (unsigned char)tm->tm_year;
	p[1] = (unsigned char)(tm->tm_mon + 1);
	p[2] = (unsigned char)tm->tm_mday;
	p[3] = (unsigned char)tm->tm_hour;
	p[4] = (unsigned char)tm->tm_min;
	p[5] = (unsigned char)tm->tm_sec;
	p[6] = 0;
}

/* 17-byte volume descriptor date */
static void voldate(unsigned char *p, const struct tm *tm)
{
	char b[80];
	if (!tm) {
		memset(p, '0', 16);
		p[16] = 0;
		return;
	}
	snprintf(b, sizeof(b), "%04d%02d%02d%02d%02d%02d00", tm->tm_year + 1900, tm->tm_mon + 1,
	         tm->tm_mday, tm->tm_hour, tm->tm_min, tm->tm_sec);
	memcpy(p, b, 16);
	p[16] = 0;
}

/* A directory record at p; returns its length. */
static size_t dirrec(unsigned char *p, unsigned long lba, unsigned long len, int dir,
                     const unsigned char *name, size_t nlen, const struct tm *tm)
{
	size_t rl = 33 + nlen + (nlen % 2 == 0 ? 1 : 0);
	memset(p, 0, rl);
	p[0] = (unsigned char)rl;
	put32b(p + 2, lba);
	put32b(p + 10, len);
	dirdate(p + 18, tm);
	p[25] = dir ? 2 : 0;
	put16b(p + 28, 1);
	p[32] = (unsigned char)nlen;
	memcpy(p + 33, name, nlen);
	return rl;
}

static int seed_name_ok(const char *n)
{
	size_t l = strlen(n);
	if (l < 1 || l > 30)
		return 0;
	for (const char *c = n; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '.' || *c == '_' ||
		      *c == '-'))
			return 0;
	return 1;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp((*(const struct seed_file *const *)a)->name, (*(const struct seed_file *const *)b)->name);
}

int seed_iso_build(const char *label, const struct seed_file *files, size_t n, struct strbuf *out)
{
	/* layout: 0-15 system area, 16 PVD, 17 terminator, 18 L path table,
	 * 19 M path table, 20 root directory, 21.. file data */
	enum { PVD = 16, TERM = 17, LPT = 18, MPT = 19, ROOT = 20, DATA = 21 };
	const struct seed_file **sorted;
	unsigned long lba = DATA, total;
	unsigned long *at;
	size_t rootlen = 0;
	unsigned char *img, *r;
	struct tm tm;
	time_t now = time(NULL);

	if (strlen(label) < 1 || strlen(label) > 32)
		return dm_seterr("seed: label must be 1-32 characters");
	if (n > 40)
		return dm_seterr("seed: too many files");
	gmtime_r(&now, &tm);
	sorted = xcalloc(n ? n : 1, sizeof(*sorted));
	at = xcalloc(n ? n : 1, sizeof(*at));
	for (size_t i = 0; i < n; i++) {
		if (!seed_name_ok(files[i].name)) {
			free(sorted);
			free(at);
			return dm_seterr("seed: invalid file name \"%s\"", files[i].name);
		}
		if (files[i].len > (64u << 20)) {
			free(sorted);
			free(at);
			return dm_seterr("seed: %s is too large", files[i].name);
		}
		sorted[i] = &files[i];
	}
	qsort(sorted, n, sizeof(*sorted), name_cmp);
	for (size_t i = 0; i < n; i++) {
		at[i] = lba;
		lba += (sorted[i]->len + SECTOR - 1) / SECTOR;
	}
	total = lba;
	img = xcalloc(total, SECTOR);

	/* root directory */
	r = img + ROOT * SECTOR;
	rootlen += dirrec(r + rootlen, ROOT, SECTOR, 1, (const unsigned char *)"\0", 1, &tm);
	rootlen += dirrec(r + rootlen, ROOT, SECTOR, 1, (const unsigned char *)"\1", 1, &tm);
	for (size_t i = 0; i < n; i++) {
		unsigned char nm[40];
		size_t l = strlen(sorted[i]->name);
		for (size_t k = 0; k < l; k++) {
			char c = sorted[i]->name[k];
			nm[k] = (unsigned char)(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
		}
		/* a name without a dot gets one, as ISO 9660 requires ("USER-DATA.;1") */
		if (!strchr(sorted[i]->name, '.'))
			nm[l++] = '.';
		nm[l++] = ';';
		nm[l++] = '1';
		if (rootlen + 33 + l + 1 > SECTOR) {
			free(img);
			free(sorted);
			free(at);
			return dm_seterr("seed: too many files for one directory sector");
		}
		rootlen += dirrec(r + rootlen, at[i], sorted[i]->len, 0, nm, l, &tm);
		memcpy(img + at[i] * SECTOR, sorted[i]->data, sorted[i]->len);
	}

	/* path tables: the root only */
	r = img + LPT * SECTOR;
	r[0] = 1;
	put32le(r + 2, ROOT);
	put16le(r + 6, 1);
	r = img + MPT * SECTOR;
	r[0] = 1;
	put32be(r + 2, ROOT);
	put16be(r + 6, 1);

	/* primary volume descriptor */
	r = img + PVD * SECTOR;
	r[0] = 1;
	memcpy(r + 1, "CD001", 5);
	r[6] = 1;
	padstr(r + 8, 32, "LINUX");
	padstr(r + 40, 32, label);
	put32b(r + 80, total);
	put16b(r + 120, 1);
	put16b(r + 124, 1);
	put16b(r + 128, SECTOR);
	put32b(r + 132, 10);
	put32le(r + 140, LPT);
	put32be(r + 148, MPT);
	dirrec(r + 156, ROOT, SECTOR, 1, (const unsigned char *)"\0", 1, &tm);
	padstr(r + 190, 128, "");
	padstr(r + 318, 128, "");
	padstr(r + 446, 128, "");
	padstr(r + 574, 128, "DM QEMU DRIVER");
	padstr(r + 702, 37, "");
	padstr(r + 739, 37, "");
	padstr(r + 776, 37, "");
	voldate(r + 813, &tm);
	voldate(r + 830, &tm);
	voldate(r + 847, NULL);
	voldate(r + 864, NULL);
	r[881] = 1;

	r = img + TERM * SECTOR;
	r[0] = 255;
	memcpy(r + 1, "CD001", 5);
	r[6] = 1;

	sb_reset(out);
	if (sb_add(out, img, total * SECTOR) < 0) {
		free(img);
		free(sorted);
		free(at);
		return -1;
	}
	free(img);
	free(sorted);
	free(at);
	return 0;
}

int seed_iso_write(const char *path, const char *label, const struct seed_file *files, size_t n)
{
	struct strbuf sb = STRBUF_INIT;
	int rc = seed_iso_build(label, files, n, &sb);
	if (rc == 0)
		rc = write_file_atomic(path, sb.buf, sb.len, 0600);
	sb_release(&sb);
	return rc;
}

/* ---- cloud-init ---- */

static const char *part_type(const char *data, size_t len)
{
	static const struct { const char *prefix, *type; } types[] = {
		{ "#cloud-config", "text/cloud-config" },
		{ "#!", "text/x-shellscript" },
		{ "#include", "text/x-include-url" },
		{ "#cloud-boothook", "text/cloud-boothook" },
		{ "#part-handler", "text/part-handler" },
		{ "#upstart-job", "text/upstart-job" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(types); i++)
		if (len >= strlen(types[i].prefix) && !memcmp(data, types[i].prefix, strlen(types[i].prefix)))
			return types[i].type;
	return NULL;
}

static void mime_part(struct strbuf *out, const char *boundary, const char *type, const char *fname,
                      const char *data, size_t len)
{
	sb_addf(out, "--%s\r\nContent-Type: %s; charset=\"utf-8\"\r\nMIME-Version: 1.0\r\n"
	        "Content-Transfer-Encoding: 8bit\r\nContent-Disposition: attachment; filename=\"%s\"\r\n\r\n",
	        boundary, type, fname);
	sb_add(out, data, len);
	if (!len || data[len - 1] != '\n')
		sb_addc(out, '\n');
}

int cloud_init_user_data(const struct cloud_init *ci, struct strbuf *out)
{
	json_t *cc = json_object(), *users = json_array(), *u = json_object(), *keys = json_object();
	struct strbuf cfg = STRBUF_INIT, script = STRBUF_INIT;
	unsigned char rnd[8];
	char boundary[64];
	const char *utype = NULL;
	int tries = 0;

	if (ci->user_data) {
		if (memchr(ci->user_data, 0, ci->user_data_len))
			return dm_seterr("user-data: binary content (gzip?) is not supported: give the text");
		if (!(utype = part_type(ci->user_data, ci->user_data_len)))
			return dm_seterr("user-data: unknown type: it must start with #cloud-config, #!, "
			                 "#include, #cloud-boothook, #part-handler or #upstart-job");
	}

	dj_set_str(cc, "hostname", ci->hostname);
	dj_set_bool(cc, "preserve_hostname", 0);
	dj_set_bool(cc, "manage_etc_hosts", 1);
	dj_set_bool(cc, "ssh_deletekeys", 1);
	dj_set(cc, "ssh_genkeytypes", json_array());
	dj_set_str(keys, "ed25519_private", ci->hostkey_private);
	dj_set_str(keys, "ed25519_public", ci->hostkey_public);
	dj_set(cc, "ssh_keys", keys);
	dj_set_str(u, "name", ci->user);
	dj_set_bool(u, "no_user_group", 1);
	dj_set_str(u, "groups", "sudo");
	dj_set_str(u, "shell", "/bin/bash");
	dj_set_str(u, "sudo", "ALL=(ALL) NOPASSWD:ALL");
	dj_set_bool(u, "lock_passwd", 1);
	{
		json_t *ak = json_array();
		json_array_append_new(ak, json_string(ci->authorized_key));
		dj_set(u, "ssh_authorized_keys", ak);
	}
	json_array_append_new(users, u);
	dj_set(cc, "users", users);
	dj_set_bool(cc, "resize_rootfs", 1);
	sb_adds(&cfg, "#cloud-config\n");
	dj_encode(cc, 2, 0, &cfg);
	sb_addc(&cfg, '\n');
	json_decref(cc);

	/* after everything else: docker group (when docker is installed), and
	 * no cloud-init on later boots */
	sb_adds(&script, "#!/bin/sh\n# dm: add the SSH user to the docker group, skip cloud-init from now on\n");
	sb_adds(&script, "if getent group docker >/dev/null; then usermod -aG docker ");
	{
		/* the user name was checked to be [a-z_][a-z0-9_-]* by the driver,
		 * but quote it anyway */
		struct strbuf q = STRBUF_INIT;
		sb_addc(&q, '\'');
		for (const char *c = ci->user; *c; c++) {
			if (*c == '\'')
				sb_adds(&q, "'\\''");
			else
				sb_addc(&q, *c);
		}
		sb_addc(&q, '\'');
		sb_adds(&script, q.buf);
		sb_release(&q);
	}
	sb_adds(&script, "; fi\ntouch /etc/cloud/cloud-init.disabled\n");

	do {
		if (RAND_bytes(rnd, sizeof(rnd)) != 1)
			for (size_t i = 0; i < sizeof(rnd); i++)
				rnd[i] = (unsigned char)(now_ms() >> (i * 3));
		snprintf(boundary, sizeof(boundary), "==dm-%02x%02x%02x%02x%02x%02x%02x%02x==", rnd[0],
		         rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
	} while (ci->user_data && memmem(ci->user_data, ci->user_data_len, boundary, strlen(boundary)) &&
	         ++tries < 10);

	sb_addf(out, "Content-Type: multipart/mixed; boundary=\"%s\"\r\nMIME-Version: 1.0\r\n\r\n", boundary);
	mime_part(out, boundary, "text/cloud-config", "dm-cloud-config", cfg.buf, cfg.len);
	if (ci->user_data)
		mime_part(out, boundary, utype, "user-data", ci->user_data, ci->user_data_len);
	mime_part(out, boundary, "text/x-shellscript", "dm-finish.sh", script.buf, script.len);
	sb_addf(out, "--%s--\r\n", boundary);
	sb_release(&cfg);
	sb_release(&script);
	return 0;
}

int cloud_init_meta_data(const struct cloud_init *ci, struct strbuf *out)
{
	json_t *v = json_object();
	dj_set_str(v, "instance-id", ci->instance_id);
	dj_set_str(v, "local-hostname", ci->hostname);
	dj_encode(v, 2, 0, out);
	sb_addc(out, '\n');
	json_decref(v);
	return 0;
}
