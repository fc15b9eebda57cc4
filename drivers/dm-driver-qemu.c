/* dm-driver-qemu - local virtual machines with QEMU (KVM, HVF or TCG).
 *
 *   dm-driver-qemu describe
 *   dm-driver-qemu VERB < host.json
 *
 * A machine is a qcow2 overlay over a cached base image (a distribution
 * cloud image, or the directory tools/build-image.sh makes: disk + kernel +
 * initrd for direct boot), a cloud-init NoCloud seed (user, SSH key,
 * hostname and the SSH host key made here, so machines/NAME/known_hosts is
 * pinned before the first connection), and one daemonized QEMU with a
 * pidfile and a QMP socket in the machine directory.  Networking is QEMU's
 * user mode with forwards on 127.0.0.1 only: SSH (SSHPort -> 22) and the
 * engine (EnginePort -> the same port in the guest); --qemu-restrict cuts
 * the VM off from everything else.
 *
 * state reads the pidfile and asks QMP query-status (a few ms; when QMP does
 * not answer at once, a live PID is Running); a Running answer carries URL.
 * stop is an ACPI power-down with a bounded wait, then QMP quit, then
 * SIGKILL of our PID; kill is quit/SIGKILL; remove deletes every file the
 * driver made.  The read verbs (state, url, ip) take one host per line.
 *
 * Exit status: 0 ok; 1 an {"Error"} was answered; 3 precreate-check failed.
 */
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
#include <time.h>
#include <unistd.h>

#include "dm.h"
#include "drvkit.h"
#include "image.h"
#include "json.h"
#include "proc.h"
#include "qemu.h"
#include "ssh.h"

#define STATE_QMP_MS 4              /* one QMP round trip for state, else PID liveness */
#define STOP_WAIT_MS (60 * 1000)    /* ACPI power-down before quit */
#define START_WAIT_MAX_MS (100 * 1000)   /* a lifecycle verb must end within the caller's 120 s */
#define PROBE_MS 5000               /* KVM probe boot */
#define QEMU_START_MS 30000

/* qemu-image's default is image_default_url(), set in main. */
static struct opt flags[] = {
	{ "qemu-accel", 0, OPT_STRING, "auto", "QEMU_ACCEL",
	  "Accelerator: auto (KVM when a probe boot works, HVF on macOS, else TCG), kvm, hvf or tcg", 0, NULL, 0 },
	{ "qemu-append", 0, OPT_STRING, NULL, "QEMU_APPEND",
	  "Kernel command line for direct kernel boot (default: the image's)", 0, NULL, 0 },
	{ "qemu-binary", 0, OPT_STRING, NULL, "QEMU_BINARY",
	  "QEMU system emulator (default: qemu-system-ARCH from PATH)", 0, NULL, 0 },
	{ "qemu-boot-timeout", 0, OPT_INT, "300", "QEMU_BOOT_TIMEOUT",
	  "Seconds to wait for the VM's SSH server after QEMU starts", 0, NULL, 0 },
	{ "qemu-cpu-count", 0, OPT_INT, "1", "QEMU_CPU_COUNT", "Number of CPUs", 0, NULL, 0 },
	{ "qemu-disk-size", 0, OPT_INT, "20000", "QEMU_DISK_SIZE", "Size of disk for host in MB", 0, NULL, 0 },
	{ "qemu-engine-port", 0, OPT_INT, "0", "QEMU_ENGINE_PORT",
	  "Host port on 127.0.0.1 forwarded to the Docker engine (0 = a free port)", 0, NULL, 0 },
	{ "qemu-image", 0, OPT_STRING, NULL, "QEMU_IMAGE",
	  "Disk image: URL, file or image directory (default: Debian 12 genericcloud, "
	  "checked against its SHA512SUMS)", 0, NULL, 0 },
	{ "qemu-image-checksum", 0, OPT_STRING, NULL, "QEMU_IMAGE_CHECKSUM",
	  "Checksum of --qemu-image: sha256:HEX or sha512:HEX", 0, NULL, 0 },
	{ "qemu-initrd", 0, OPT_STRING, NULL, "QEMU_INITRD", "Initrd for direct kernel boot (path or URL)", 0, NULL, 0 },
	{ "qemu-kernel", 0, OPT_STRING, NULL, "QEMU_KERNEL",
	  "Kernel for direct kernel boot (path or URL; default: the image directory's)", 0, NULL, 0 },
	{ "qemu-memory", 0, OPT_INT, "1024", "QEMU_MEMORY", "Size of memory for host in MB", 0, NULL, 0 },
	{ "qemu-network", 0, OPT_STRING, NULL, "QEMU_NETWORK",
	  "Private VM-to-VM link on 127.0.0.1: listen:PORT, connect:PORT or dgram:LOCALPORT:REMOTEPORT", 0, NULL, 0 },
	{ "qemu-restrict", 0, OPT_BOOL, NULL, "QEMU_RESTRICT",
	  "Isolate the VM: no network access beyond the forwarded ports (user-net restrict=on)", 0, NULL, 0 },
	{ "qemu-ssh-port", 0, OPT_INT, "0", "QEMU_SSH_PORT",
	  "Host port on 127.0.0.1 forwarded to the VM's SSH (0 = a free port)", 0, NULL, 0 },
	{ "qemu-ssh-user", 0, OPT_STRING, "docker", "QEMU_SSH_USER",
	  "SSH user created in the VM (sudo without password)", 0, NULL, 0 },
	{ "qemu-user-data", 0, OPT_STRING, NULL, "QEMU_USER_DATA",
	  "A cloud-init user-data file added to the machine's own", 0, NULL, 0 },
};

/* ---- the host record ---- */

/* Paths of one machine's files, and the store they are in. */
struct mpaths {
	char *store, *dir, *disk, *seed, *pid, *qmp, *console, *key, *pub, *known_hosts, *hostkey;
};

static int paths_of(json_t *host, struct mpaths *p)
{
	memset(p, 0, sizeof(*p));
	if (!(p->dir = drv_machine_dir(host)))
		return dm_seterr("qemu: the host record has no StorePath/Name");
	/* the machine directory is always STORE/machines/NAME */
	p->store = xstrndup(p->dir, strlen(p->dir) - strlen("/machines/") - strlen(drv_host_name(host)));
	p->disk = xasprintf("%s/disk.qcow2", p->dir);
	p->seed = xasprintf("%s/seed.iso", p->dir);
	p->pid = xasprintf("%s/qemu.pid", p->dir);
	p->qmp = xasprintf("%s/qmp.sock", p->dir);
	p->console = xasprintf("%s/console.log", p->dir);
	p->key = xasprintf("%s/id_ed25519", p->dir);
	p->pub = xasprintf("%s/id_ed25519.pub", p->dir);
	p->known_hosts = xasprintf("%s/known_hosts", p->dir);
	p->hostkey = xasprintf("%s/.ssh_host_ed25519_key", p->dir);
	return 0;
}

static void paths_free(struct mpaths *p)
{
	free(p->store);
	free(p->dir);
	free(p->disk);
	free(p->seed);
	free(p->pid);
	free(p->qmp);
	free(p->console);
	free(p->key);
	free(p->pub);
	free(p->known_hosts);
	free(p->hostkey);
}

/* ---- flags ---- */

static int valid_user(const char *u)
{
	size_t n = strlen(u);
	if (n < 1 || n > 32 || !((u[0] >= 'a' && u[0] <= 'z') || u[0] == '_'))
		return 0;
	for (const char *c = u; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_' || *c == '-'))
			return 0;
	return 1;
}

struct config {
	const char *image, *checksum, *kernel, *initrd, *append, *accel, *binary, *user, *user_data, *network;
	long cpus, memory, disk, ssh_port, engine_port, boot_timeout;
	int restrict_net;
};

/* Read and check the flags. */
static int read_config(json_t *fl, struct config *c)
{
	memset(c, 0, sizeof(*c));
	c->image = drv_flag_str(fl, "qemu-image");
	c->checksum = drv_flag_str(fl, "qemu-image-checksum");
	c->kernel = drv_flag_str(fl, "qemu-kernel");
	c->initrd = drv_flag_str(fl, "qemu-initrd");
	c->append = drv_flag_str(fl, "qemu-append");
	c->accel = drv_flag_str(fl, "qemu-accel");
	c->binary = drv_flag_str(fl, "qemu-binary");
	c->user = drv_flag_str(fl, "qemu-ssh-user");
	c->user_data = drv_flag_str(fl, "qemu-user-data");
	c->network = drv_flag_str(fl, "qemu-network");
	c->restrict_net = drv_flag_bool(fl, "qemu-restrict");
	if (!*c->image)
		c->image = image_default_url();
	if (!*c->binary)
		c->binary = qemu_default_binary();
	if (drv_flag_int(fl, "qemu-cpu-count", 1, 1024, &c->cpus) < 0 ||
	    drv_flag_int(fl, "qemu-memory", 128, 16L << 20, &c->memory) < 0 ||
	    drv_flag_int(fl, "qemu-disk-size", 1000, 64L << 20, &c->disk) < 0 ||
	    drv_flag_int(fl, "qemu-ssh-port", 0, 65535, &c->ssh_port) < 0 ||
	    drv_flag_int(fl, "qemu-engine-port", 0, 65535, &c->engine_port) < 0 ||
	    drv_flag_int(fl, "qemu-boot-timeout", 10, 24 * 3600, &c->boot_timeout) < 0)
		return -1;
	if (strcmp(c->accel, "auto") && strcmp(c->accel, "kvm") && strcmp(c->accel, "hvf") && strcmp(c->accel, "tcg"))
		return dm_seterr("--qemu-accel %s: expected auto, kvm, hvf or tcg", c->accel);
	if (!valid_user(c->user))
		return dm_seterr("--qemu-ssh-user \"%s\": expected a Linux user name ([a-z_][a-z0-9_-]*, at most 32)",
		                 c->user);
	if (!strcmp(c->user, "root"))
		return dm_seterr("--qemu-ssh-user root: use an unprivileged user (it gets sudo)");
	if (c->ssh_port && c->ssh_port == c->engine_port)
		return dm_seterr("--qemu-ssh-port and --qemu-engine-port are the same port");
	if (c->engine_port == 22)
		return dm_seterr("--qemu-engine-port 22 is the guest's SSH port");
	if (*c->network && qemu_network_parse(c->network, "n1", NULL) < 0)
		return -1;
	if (*c->checksum) {
		const char *algo;
		char hex[129];
		if (image_parse_checksum(c->checksum, &algo, hex) < 0)
			return -1;
	}
	return 0;
}

/* ---- set-config, precreate-check ---- */

static void do_set_config(const char *verb, json_t *host)
{
	struct config c;
	if (read_config(drv_host_flags(host), &c) < 0)
		drv_error(NULL, dm_strerr());
	else
		drv_ok();
}

static int need_file(const char *what, const char *path)
{
	if (!*path || strstr(path, "://"))
		return 0;
	if (access(path, R_OK) < 0)
		return dm_seterr("%s %s: %s", what, path, strerror(errno));
	return 0;
}

static void do_precreate(const char *verb, json_t *host)
{
	struct config c;
	char *bin, *img;
	if (read_config(drv_host_flags(host), &c) < 0) {
		drv_precreate_error(dm_strerr());
		return;
	}
	bin = strchr(c.binary, '/') ? (access(c.binary, X_OK) == 0 ? xstrdup(c.binary) : NULL)
	                            : proc_find(c.binary, getenv("PATH"));
	img = proc_find("qemu-img", getenv("PATH"));
	if (!bin)
		dm_seterr("%s not found: install QEMU (Debian: apt-get install qemu-system-x86 qemu-utils)", c.binary);
	else if (!img)
		dm_seterr("qemu-img not found: install qemu-utils");
	else if (need_file("--qemu-image", str_starts(c.image, "file://") ? c.image + 7 : c.image) < 0 ||
	         need_file("--qemu-kernel", c.kernel) < 0 || need_file("--qemu-initrd", c.initrd) < 0 ||
	         need_file("--qemu-user-data", c.user_data) < 0)
		;
	else if (!strcmp(c.accel, "kvm") && access("/dev/kvm", R_OK | W_OK) < 0)
		dm_seterr("--qemu-accel kvm: /dev/kvm: %s", strerror(errno));
	else {
		free(bin);
		free(img);
		drv_ok();
		return;
	}
	free(bin);
	free(img);
	drv_precreate_error(dm_strerr());
}

/* ---- waiting for the guest ---- */

/* 1 when 127.0.0.1:port sends an SSH banner within ms (slirp accepts every
 * forwarded connection, and closes it at once while the guest refuses). */
static int ssh_banner(int port, int ms)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	long long deadline = now_ms() + ms;
	char buf[256];
	size_t got = 0;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), ok = 0;
	if (fd < 0)
		return 0;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return 0;
	}
	while (!ok) {
		struct pollfd pf = { fd, POLLIN, 0 };
		long long left = deadline - now_ms();
		ssize_t r;
		if (left <= 0 || poll(&pf, 1, (int)left) <= 0)
			break;
		r = read(fd, buf + got, sizeof(buf) - 1 - got);
		if (r <= 0)
			break;
		got += (size_t)r;
		buf[got] = 0;
		if (got >= 4 && !memcmp(buf, "SSH-", 4))
			ok = 1;
		else if (got >= 4 || got == sizeof(buf) - 1)
			break;
	}
	close(fd);
	return ok;
}

/* 1 when the guest accepted a connection forwarded to port: the connection
 * stays open (a TLS server waits for the client) instead of being closed. */
static int engine_accepts(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct pollfd pf;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), ok = 0;
	if (fd < 0)
		return 0;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		pf.fd = fd;
		pf.events = POLLIN;
		pf.revents = 0;
		ok = poll(&pf, 1, 700) == 0;
	}
	close(fd);
	return ok;
}

static void console_tail(const char *console, struct strbuf *out)
{
	struct strbuf sb = STRBUF_INIT;
	if (sb_read_file(&sb, console, 64u << 20) == 0 && sb.len) {
		size_t start = sb.len, lines = 0;
		while (start > 0 && lines < 12)
			if (sb.buf[--start] == '\n')
				lines++;
		sb_adds(out, "\nlast lines of ");
		sb_adds(out, console);
		sb_adds(out, ":\n");
		sb_adds(out, sb.buf + start);
	}
	sb_release(&sb);
}

/* Wait until SSH answers; -1 when QEMU exits or the time is up. */
static int wait_ssh(const struct mpaths *p, int port, long long deadline)
{
	long long t0 = now_ms(), next_note = t0 + 30000;
	for (;;) {
		if (!qemu_running_pid(p->pid, p->qmp)) {
			struct strbuf m = STRBUF_INIT;
			sb_adds(&m, "the VM stopped while booting");
			console_tail(p->console, &m);
			dm_seterr("%s", m.buf);
			sb_release(&m);
			return -1;
		}
		if (ssh_banner(port, 2000)) {
			drv_log("SSH is up after %.1f s", (double)(now_ms() - t0) / 1000);
			return 0;
		}
		if (now_ms() >= deadline) {
			struct strbuf m = STRBUF_INIT;
			sb_addf(&m, "the VM's SSH server did not answer on 127.0.0.1:%d within %lld s", port,
			        (now_ms() - t0) / 1000);
			console_tail(p->console, &m);
			dm_seterr("%s", m.buf);
			sb_release(&m);
			return -1;
		}
		if (now_ms() >= next_note) {
			drv_log("Still booting (%lld s)...", (now_ms() - t0) / 1000);
			next_note += 30000;
		}
		usleep(500 * 1000);
	}
}

/* Wait until cloud-init has finished its first boot, over SSH with the
 * pinned host key: provisioning must not race cloud-init's later stages
 * (they may restart sshd or rewrite files).  A cloud-init that ends in
 * error is reported, not fatal. */
static int wait_cloud_init(const struct mpaths *p, const char *user, int port, long long deadline)
{
	struct ssh_target t = { .host = "127.0.0.1", .port = port, .user = user, .key = p->key,
		                .known_hosts = p->known_hosts, .hostkey = SSH_HK_STRICT, .connect_timeout = 5 };
	/* a shell loop, not `cloud-init status --wait`: Python starts slowly under TCG */
	const char *cmd = "command -v cloud-init >/dev/null 2>&1 || exit 0; "
	                  "[ -e /etc/cloud/cloud-init.disabled ] && [ ! -d /var/lib/cloud/instance ] && exit 0; "
	                  "while [ ! -e /var/lib/cloud/instance/boot-finished ]; do sleep 0.5; done; "
	                  "if grep -q '\"errors\": \\[\\]' /run/cloud-init/result.json 2>/dev/null || "
	                  "[ ! -e /run/cloud-init/result.json ]; then exit 0; fi; echo error; exit 1";
	long long t0 = now_ms();
	char *last = NULL;
	for (;;) {
		struct strbuf out = STRBUF_INIT, err = STRBUF_INIT;
		int rc = ssh_run(&t, cmd, NULL, 0, &out, &err, deadline);
		sb_rtrim(&out);
		sb_rtrim(&err);
		if (rc >= 0 && rc != 255) {
			if (rc == 0)
				drv_log("cloud-init done after %.1f s more", (double)(now_ms() - t0) / 1000);
			else
				drv_log("Warning: cloud-init finished with status %s (exit %d); see "
				      "/var/log/cloud-init.log in the machine", out.len ? out.buf : "?", rc);
			sb_release(&out);
			sb_release(&err);
			free(last);
			return 0;
		}
		free(last);
		last = xstrdup(err.len ? err.buf : dm_strerr());
		sb_release(&out);
		sb_release(&err);
		if (strstr(last, "pinned") || strstr(last, "REMOTE HOST IDENTIFICATION") || now_ms() >= deadline)
			break;
		sleep(1);
	}
	dm_seterr("cannot log in to the VM to wait for cloud-init: %s", last);
	free(last);
	return -1;
}

/* ---- the QEMU command ---- */

static int driver_int(json_t *d, const char *key, long long def)
{
	json_t *v = json_object_get(d, key);
	return json_is_integer(v) ? (int)json_integer_value(v) : (int)def;
}

static const char *nonempty(const char *s)
{
	return s && *s ? s : NULL;
}

static int launch(json_t *d, const char *name, const struct mpaths *p)
{
	struct qemu_vm vm;
	struct strvec av = STRVEC_INIT;
	char mac[18];
	int rc;

	memset(&vm, 0, sizeof(vm));
	vm.binary = dj_str(d, "Binary", qemu_default_binary());
	vm.name = name;
	vm.accel = dj_str(d, "Accel", "tcg");
	vm.cpus = driver_int(d, "CPU", 1);
	vm.memory_mb = driver_int(d, "Memory", 1024);
	vm.disk = p->disk;
	vm.seed = access(p->seed, F_OK) == 0 ? p->seed : NULL;
	vm.kernel = nonempty(dj_str(d, "Kernel", NULL));
	vm.initrd = nonempty(dj_str(d, "Initrd", NULL));
	vm.append = nonempty(dj_str(d, "Append", NULL));
	vm.ssh_port = driver_int(d, "SSHPort", 0);
	vm.engine_port = driver_int(d, "EnginePort", 0);
	vm.restrict_net = dj_bool(d, "Restrict", 0);
	vm.network = nonempty(dj_str(d, "Network", NULL));
	qemu_mac_for(vm.name, mac);
	vm.mac = mac;
	vm.pidfile = p->pid;
	vm.qmp = p->qmp;
	vm.console = p->console;
	if (qemu_argv(&vm, &av) < 0) {
		sv_clear(&av);
		return -1;
	}
	unlink(p->qmp);
	unlink(p->pid);
	if (dm_debug) {
		struct strbuf sb = STRBUF_INIT;
		sh_quote_argv(&sb, sv_argv(&av));
		dm_debugf("qemu: %s", sb.buf);
		sb_release(&sb);
	}
	rc = qemu_start(sv_argv(&av), now_ms() + QEMU_START_MS);
	sv_clear(&av);
	return rc;
}

/* known_hosts: one line for the forwarded port. */
static int write_known_hosts(const struct mpaths *p, int port, const char *pubkey)
{
	struct strbuf sb = STRBUF_INIT;
	const char *sp = strchr(pubkey, ' '), *sp2 = sp ? strchr(sp + 1, ' ') : NULL;
	int rc;
	sb_addf(&sb, "[127.0.0.1]:%d ", port);
	if (sp2)
		sb_add(&sb, pubkey, (size_t)(sp2 - pubkey));
	else
		sb_adds(&sb, pubkey);
	sb_rtrim(&sb);
	sb_addc(&sb, '\n');
	rc = write_file_atomic(p->known_hosts, sb.buf, sb.len, 0600);
	sb_release(&sb);
	return rc;
}

/* known_hosts' key text ("ssh-ed25519 AAAA…") to re-pin on a new port. */
static char *pinned_key(const struct mpaths *p)
{
	struct strbuf sb = STRBUF_INIT;
	char *sp, *r = NULL;
	if (sb_read_file(&sb, p->known_hosts, 1u << 16) == 0 && (sp = strchr(sb.buf, ' '))) {
		sb_rtrim(&sb);
		char *nl = strchr(sp + 1, '\n');
		if (nl)
			*nl = 0;
		r = xstrdup(sp + 1);
	}
	sb_release(&sb);
	return r;
}

/* ---- create ---- */

static void image_log(const char *text) { drv_log("%s", text); }

static char *read_text(const char *path, size_t cap)
{
	struct strbuf sb = STRBUF_INIT;
	if (sb_read_file(&sb, path, cap) < 0) {
		sb_release(&sb);
		return NULL;
	}
	return sb_detach(&sb);
}

static int pick_port(long want, int *port)
{
	if (want)
		return *port = (int)want, 0;
	return qemu_free_port(port);
}

static void do_create(const char *verb, json_t *host)
{
	json_t *fl = drv_host_flags(host), *in = drv_host_driver(host), *d = NULL;
	const char *name = drv_host_name(host);
	struct config c;
	struct mpaths p;
	struct image_ref img;
	struct image_src src;
	struct strbuf ud = STRBUF_INIT, md = STRBUF_INIT, udfile = STRBUF_INIT;
	char *pub = NULL, *hk = NULL, *hkpub = NULL, *why = NULL, *accel_cache = NULL, *qemu_img = NULL;
	const char *accel;
	int sshp = 0, engp = 0;
	long long t0 = now_ms(), t;

	memset(&img, 0, sizeof(img));
	memset(&p, 0, sizeof(p));
	if (read_config(fl, &c) < 0 || paths_of(host, &p) < 0) {
		drv_error(NULL, dm_strerr());
		goto out;
	}
	if (pick_port(c.ssh_port, &sshp) < 0 || pick_port(c.engine_port, &engp) < 0 ||
	    (sshp == engp && qemu_free_port(&engp) < 0)) {
		drv_error(NULL, dm_strerr());
		goto out;
	}
	/* The record, at once: an interrupted create can always be removed. */
	d = json_object();
	dj_set_str(d, "IPAddress", "127.0.0.1");
	drv_keep_or(d, "MachineName", in, json_string(name));
	dj_set_str(d, "SSHUser", c.user);
	dj_set_int(d, "SSHPort", sshp);
	dj_set_str(d, "SSHKeyPath", p.key);
	drv_keep_or(d, "StorePath", in, json_string(p.store));
	drv_keep_or(d, "SwarmMaster", in, json_false());
	drv_keep_or(d, "SwarmHost", in, json_string(""));
	drv_keep_or(d, "SwarmDiscovery", in, json_string(""));
	dj_set_int(d, "EnginePort", engp);
	dj_set_str(d, "Image", c.image);
	dj_set_str(d, "ImageChecksum", c.checksum);
	dj_set_str(d, "ImageDigest", "");
	dj_set_str(d, "BaseImage", "");
	dj_set_str(d, "Kernel", "");
	dj_set_str(d, "Initrd", "");
	dj_set_str(d, "Append", c.append);
	dj_set_int(d, "CPU", c.cpus);
	dj_set_int(d, "Memory", c.memory);
	dj_set_int(d, "DiskSize", c.disk);
	dj_set_str(d, "Accel", c.accel);
	dj_set_str(d, "Binary", c.binary);
	dj_set_bool(d, "Restrict", c.restrict_net);
	dj_set_str(d, "Network", c.network);
	dj_set_str(d, "UserDataFile", c.user_data);
	dj_set_bool(d, "SSHPortAuto", c.ssh_port == 0);
	dj_set_bool(d, "EnginePortAuto", c.engine_port == 0);
	dj_set_int(d, "BootTimeout", c.boot_timeout);
	drv_merge_missing(d, in);
	drv_persist(json_incref(d));

	if (mkdir_p(p.dir, 0700) < 0)
		goto fail;
	if (*c.user_data && sb_read_file(&udfile, c.user_data, 1u << 20) < 0) {
		dm_seterr("--qemu-user-data %s: %s", c.user_data, dm_strerr());
		goto fail;
	}

	/* keys: the login key, and the VM's host key made here and pinned */
	drv_log("%s", "Creating SSH key...");
	if (ssh_keygen(p.key, "ed25519", name) < 0)
		goto fail;
	unlink(p.hostkey);
	{
		char *hp = xasprintf("%s.pub", p.hostkey);
		unlink(hp);
		int r = ssh_keygen(p.hostkey, "ed25519", name);
		hk = r == 0 ? read_text(p.hostkey, 1u << 16) : NULL;
		hkpub = r == 0 ? read_text(hp, 1u << 16) : NULL;
		unlink(p.hostkey);
		unlink(hp);
		free(hp);
		if (!hk || !hkpub)
			goto fail;
	}
	if (!(pub = read_text(p.pub, 1u << 16)))
		goto fail;
	{
		struct strbuf s = STRBUF_INIT;
		sb_adds(&s, pub);
		sb_rtrim(&s);
		free(pub);
		pub = sb_detach(&s);
		sb_adds(&s, hkpub);
		sb_rtrim(&s);
		free(hkpub);
		hkpub = sb_detach(&s);
	}
	if (write_known_hosts(&p, sshp, hkpub) < 0)
		goto fail;

	/* the image */
	t = now_ms();
	{
		char *dir = strchr(c.binary, '/') ? xstrdup(c.binary) : NULL;
		if (dir && strrchr(dir, '/')) {
			*strrchr(dir, '/') = 0;
			qemu_img = xasprintf("%s/qemu-img", dir);
			if (access(qemu_img, X_OK) < 0) {
				free(qemu_img);
				qemu_img = NULL;
			}
		}
		free(dir);
	}
	memset(&src, 0, sizeof(src));
	src.spec = c.image;
	src.checksum = c.checksum;
	src.kernel = c.kernel;
	src.initrd = c.initrd;
	src.qemu_img = qemu_img;
	src.log = image_log;
	{
		char *cache = xasprintf("%s/cache", p.store);
		int r = image_resolve(cache, &src, &img);
		free(cache);
		if (r < 0)
			goto fail;
	}
	dj_set_str(d, "ImageDigest", img.digest);
	dj_set_str(d, "BaseImage", img.disk);
	dj_set_str(d, "Kernel", img.kernel ? img.kernel : "");
	dj_set_str(d, "Initrd", img.initrd ? img.initrd : "");
	if (!*c.append && img.kernel)
		dj_set_str(d, "Append", img.append ? img.append
		                                   : "root=/dev/vda rw console=ttyS0 net.ifnames=0 apparmor=0");
	drv_log("Image ready (%s, %s) in %.1f s", img.digest, img.format, (double)(now_ms() - t) / 1000);

	drv_log("%s", "Creating disk image...");
	if (image_overlay(qemu_img, &img, p.disk, (long long)c.disk << 20) < 0)
		goto fail;

	/* the NoCloud seed */
	{
		char *iid = xasprintf("dm-%s-%lld", name, (long long)time(NULL));
		struct cloud_init ci = { name, iid, c.user, pub, hk, hkpub,
			                 udfile.len ? udfile.buf : NULL, udfile.len };
		struct seed_file files[2];
		int r = cloud_init_user_data(&ci, &ud);
		if (r == 0)
			r = cloud_init_meta_data(&ci, &md);
		files[0] = (struct seed_file){ "meta-data", md.buf, md.len };
		files[1] = (struct seed_file){ "user-data", ud.buf, ud.len };
		if (r == 0)
			r = seed_iso_write(p.seed, "cidata", files, 2);
		free(iid);
		if (r < 0)
			goto fail;
	}

	/* the accelerator */
	accel_cache = xasprintf("%s/cache/qemu/accel.json", p.store);
	if (qemu_accel_choose(c.accel, c.binary, img.kernel, img.kernel ? NULL : img.disk, PROBE_MS, accel_cache,
	                      &accel, &why) < 0)
		goto fail;
	drv_log("Accelerator: %s", why ? why : accel);
	dj_set_str(d, "Accel", accel);
	drv_persist(json_incref(d));

	drv_log("%s", "Starting the VM...");
	t = now_ms();
	if (launch(d, name, &p) < 0)
		goto fail;
	drv_log("Waiting for the VM to boot (SSH on 127.0.0.1:%d, console in %s)...", sshp, p.console);
	{
		long long deadline = now_ms() + c.boot_timeout * 1000;
		if (wait_ssh(&p, sshp, deadline) < 0 || wait_cloud_init(&p, c.user, sshp, deadline) < 0)
			goto fail;
	}
	drv_log("VM created in %.1f s (QEMU start to cloud-init done %.1f s)", (double)(now_ms() - t0) / 1000,
	      (double)(now_ms() - t) / 1000);
	drv_ok();
	goto out;
fail:
	drv_error(NULL, dm_strerr());
out:
	json_decref(d);
	image_ref_free(&img);
	paths_free(&p);
	sb_release(&ud);
	sb_release(&md);
	sb_release(&udfile);
	free(pub);
	free(hk);
	free(hkpub);
	free(why);
	free(accel_cache);
	free(qemu_img);
}

/* ---- lifecycle ---- */

static int wait_exit(const struct mpaths *p, long long deadline)
{
	while (qemu_running_pid(p->pid, p->qmp)) {
		if (now_ms() >= deadline)
			return -1;
		usleep(100 * 1000);
	}
	return 0;
}

/* quit over QMP, then SIGKILL of our PID. */
static int hard_stop(const struct mpaths *p)
{
	pid_t pid = qemu_running_pid(p->pid, p->qmp);
	if (!pid)
		return 0;
	qmp_call(p->qmp, "quit", NULL, now_ms() + 2000);
	if (wait_exit(p, now_ms() + 5000) == 0)
		goto done;
	pid = qemu_running_pid(p->pid, p->qmp);
	if (pid)
		kill(pid, SIGKILL);
	if (wait_exit(p, now_ms() + 5000) < 0)
		return dm_seterr("qemu (pid %ld) did not exit", (long)pid);
done:
	unlink(p->pid);
	unlink(p->qmp);
	return 0;
}

static int stop_vm(const struct mpaths *p, int stop_ms)
{
	if (!qemu_running_pid(p->pid, p->qmp))
		return 0;
	if (qmp_call(p->qmp, "system_powerdown", NULL, now_ms() + 5000) == 0 &&
	    wait_exit(p, now_ms() + stop_ms) == 0) {
		unlink(p->pid);
		unlink(p->qmp);
		return 0;
	}
	drv_log("%s", "The VM did not power off in time: stopping QEMU");
	return hard_stop(p);
}

/* Start a stopped machine: re-pick auto ports that were taken meanwhile. */
static int start_vm(json_t *host, const struct mpaths *p, long long deadline)
{
	json_t *d = drv_host_driver(host);
	int sshp = driver_int(d, "SSHPort", 0), engp = driver_int(d, "EnginePort", 0), changed = 0;
	long long t0 = now_ms();

	if (qemu_running_pid(p->pid, p->qmp))
		return 0;
	if (!qemu_port_available(sshp)) {
		if (!dj_bool(d, "SSHPortAuto", 0))
			return dm_seterr("port 127.0.0.1:%d (--qemu-ssh-port) is in use", sshp);
		if (qemu_free_port(&sshp) < 0)
			return -1;
		changed = 1;
	}
	if (!qemu_port_available(engp) || engp == sshp) {
		if (!dj_bool(d, "EnginePortAuto", 0))
			return dm_seterr("port 127.0.0.1:%d (--qemu-engine-port) is in use", engp);
		do
			if (qemu_free_port(&engp) < 0)
				return -1;
		while (engp == sshp);
		changed = 1;
	}
	if (changed) {
		char *key = pinned_key(p);
		dj_set_int(d, "SSHPort", sshp);
		dj_set_int(d, "EnginePort", engp);
		if (key && write_known_hosts(p, sshp, key) < 0) {
			free(key);
			return -1;
		}
		free(key);
		drv_log("Ports moved: SSH 127.0.0.1:%d, engine 127.0.0.1:%d", sshp, engp);
		drv_persist(json_incref(d));
	}
	if (launch(d, drv_host_name(host), p) < 0)
		return -1;
	if (wait_ssh(p, sshp, deadline) < 0)
		return -1;
	/* the engine starts with the machine; wait for it within the budget */
	while (now_ms() < deadline && !engine_accepts(engp))
		usleep(500 * 1000);
	drv_log("Started in %.1f s", (double)(now_ms() - t0) / 1000);
	return 0;
}

static long long start_deadline(json_t *host)
{
	long long bt = (long long)driver_int(drv_host_driver(host), "BootTimeout", 300) * 1000;
	return now_ms() + (bt < START_WAIT_MAX_MS ? bt : START_WAIT_MAX_MS);
}

static void do_action(const char *verb, json_t *host)
{
	struct mpaths p;
	int rc = 0;
	if (paths_of(host, &p) < 0) {
		drv_error(NULL, dm_strerr());
		return;
	}
	if (!strcmp(verb, "start")) {
		rc = start_vm(host, &p, start_deadline(host));
	} else if (!strcmp(verb, "stop")) {
		rc = stop_vm(&p, STOP_WAIT_MS);
	} else if (!strcmp(verb, "kill")) {
		rc = hard_stop(&p);
	} else if (!strcmp(verb, "restart")) {
		rc = stop_vm(&p, 30000);
		if (rc == 0)
			rc = start_vm(host, &p, start_deadline(host) - 20000);
	} else if (!strcmp(verb, "remove")) {
		const char *const files[] = { p.disk, p.seed, p.pid, p.qmp, p.console, p.key, p.pub,
			                       p.known_hosts, p.hostkey };
		rc = hard_stop(&p);
		if (rc == 0)
			for (size_t i = 0; i < ARRAY_SIZE(files); i++)
				if (unlink(files[i]) < 0 && errno != ENOENT) {
					rc = dm_seterr_errno("remove %s", files[i]);
					break;
				}
		if (rc == 0) {
			char *hp = xasprintf("%s.pub", p.hostkey);
			unlink(hp);
			free(hp);
		}
	}
	if (rc < 0)
		drv_error(NULL, dm_strerr());
	else
		drv_ok();
	paths_free(&p);
}

static void do_ssh_info(const char *verb, json_t *host)
{
	json_t *d = drv_host_driver(host);
	struct mpaths p;
	if (paths_of(host, &p) < 0) {
		drv_error(NULL, dm_strerr());
		return;
	}
	drv_answer_ssh(dj_str(d, "IPAddress", "127.0.0.1"), driver_int(d, "SSHPort", 22), dj_str(d, "SSHUser", "docker"),
	               dj_str(d, "SSHKeyPath", p.key), p.known_hosts);
	paths_free(&p);
}

/* ---- batched read verbs ---- */

static const char *state_of(const struct mpaths *p)
{
	json_t *ret = NULL;
	const char *st;
	if (!qemu_running_pid(p->pid, p->qmp))
		return "Stopped";
	if (qmp_call(p->qmp, "query-status", &ret, now_ms() + STATE_QMP_MS) < 0)
		return "Running";    /* QMP busy (another client) or slow: the PID is alive */
	st = qemu_state_of_status(dj_str(ret, "status", ""));
	json_decref(ret);
	return *st ? st : "Running";
}

/* The answer of state, url or ip for one host. */
static void read_one(const char *verb, json_t *host)
{
	json_t *d = drv_host_driver(host), *a;
	const char *name = drv_host_name(host), *st;
	struct mpaths p;
	char url[64];

	if (!strcmp(verb, "ip")) {
		drv_answer(name, "IP", json_string(dj_str(d, "IPAddress", "127.0.0.1")));
		return;
	}
	if (paths_of(host, &p) < 0) {
		drv_error(name, dm_strerr());
		return;
	}
	st = state_of(&p);
	paths_free(&p);
	snprintf(url, sizeof(url), "tcp://%s:%d", dj_str(d, "IPAddress", "127.0.0.1"), driver_int(d, "EnginePort", 2376));
	if (strcmp(verb, "state") && strcmp(st, "Running")) {
		drv_error(name, "Host is not running");
		return;
	}
	a = json_object();
	if (name)
		dj_set_str(a, "Name", name);
	if (!strcmp(verb, "state"))
		dj_set_str(a, "State", st);
	if (!strcmp(st, "Running"))
		dj_set_str(a, "URL", url);   /* state: what ls shows, without asking again */
	drv_emit(a);
}

static void do_read(const char *verb, json_t **hosts, size_t n)
{
	for (size_t i = 0; i < n; i++)
		read_one(verb, hosts[i]);
}

static const struct drv_verb verbs[] = {
	{ "set-config", do_set_config, NULL },
	{ "precreate-check", do_precreate, NULL },
	{ "create", do_create, NULL },
	{ "remove", do_action, NULL },
	{ "start", do_action, NULL },
	{ "stop", do_action, NULL },
	{ "restart", do_action, NULL },
	{ "kill", do_action, NULL },
	{ "state", NULL, do_read },
	{ "url", NULL, do_read },
	{ "ip", NULL, do_read },
	{ "ssh-info", do_ssh_info, NULL },
};

static const struct drv_spec spec = { "qemu", flags, ARRAY_SIZE(flags), verbs, ARRAY_SIZE(verbs) };

int main(int argc, char **argv)
{
	for (size_t i = 0; i < ARRAY_SIZE(flags); i++)
		if (!strcmp(flags[i].name, "qemu-image"))
			flags[i].defval = image_default_url();
	signal(SIGPIPE, SIG_IGN);
	return drv_main(&spec, argc, argv);
}
