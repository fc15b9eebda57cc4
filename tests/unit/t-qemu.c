/* t-qemu.c - lib/qemu.c and lib/image.c: command line, network specs,
 * states, ports, QMP against a fake server, the ISO 9660 seed, cloud-init
 * user-data, qemu-img info checks, checksums. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "image.h"
#include "json.h"
#include "proc.h"
#include "qemu.h"
#include "tap.h"

static int has_arg(struct strvec *av, const char *a)
{
	for (size_t i = 0; i < av->n; i++)
		if (!strcmp(av->v[i], a))
			return 1;
	return 0;
}

static const char *arg_after(struct strvec *av, const char *opt, const char *prefix)
{
	for (size_t i = 0; i + 1 < av->n; i++)
		if (!strcmp(av->v[i], opt) && str_starts(av->v[i + 1], prefix))
			return av->v[i + 1];
	return NULL;
}

static void test_argv(void)
{
	struct qemu_vm vm = { .binary = "qemu-system-x86_64", .name = "dev", .accel = "tcg", .cpus = 2,
		              .memory_mb = 1024, .disk = "/s/m/a,b/disk.qcow2", .seed = "/s/seed.iso",
		              .kernel = "/c/k", .initrd = "/c/i", .append = "root=/dev/vda rw",
		              .ssh_port = 40022, .engine_port = 40376, .restrict_net = 1,
		              .pidfile = "/s/qemu.pid", .qmp = "/s/qmp.sock", .console = "/s/console.log" };
	struct strvec av = STRVEC_INIT;
	const char *net;

	is_int(qemu_argv(&vm, &av), 0, "argv builds");
	is_str(av.v[0], "qemu-system-x86_64", "binary first");
	is_str(av.v[av.n - 1], "-daemonize", "-daemonize last");
	net = arg_after(&av, "-netdev", "user,");
	ok(net != NULL, "user netdev present");
	is_str(net, "user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:40022-:22,hostfwd=tcp:127.0.0.1:40376-:40376",
	       "restrict=on and forwards on 127.0.0.1 only");
	is_str(arg_after(&av, "-drive", "file=/s/m"), "file=/s/m/a,,b/disk.qcow2,if=virtio,format=qcow2,discard=unmap",
	       "commas in paths are doubled");
	is_str(arg_after(&av, "-drive", "file=/s/seed"), "file=/s/seed.iso,if=virtio,format=raw,readonly=on",
	       "seed read-only raw");
	is_str(arg_after(&av, "-accel", ""), "tcg,thread=multi", "tcg multi-threaded");
	ok(!has_arg(&av, "-cpu"), "no -cpu host under tcg");
	is_str(arg_after(&av, "-append", ""), "root=/dev/vda rw", "append");
	is_str(arg_after(&av, "-qmp", ""), "unix:/s/qmp.sock,server=on,wait=off", "qmp socket");
	is_str(arg_after(&av, "-name", ""), "dm-dev", "name");
	ok(has_arg(&av, "-nodefaults"), "-nodefaults");
	sv_clear(&av);

	vm.restrict_net = 0;
	vm.accel = "kvm";
	vm.engine_port = 0;
	vm.network = "listen:40100";
	vm.mac = "52:54:00:aa:bb:cc";
	is_int(qemu_argv(&vm, &av), 0, "argv with kvm and a private link");
	is_str(arg_after(&av, "-netdev", "user,"), "user,id=n0,hostfwd=tcp:127.0.0.1:40022-:22", "no restrict");
	is_str(arg_after(&av, "-netdev", "socket"), "socket,id=n1,listen=127.0.0.1:40100", "socket link on loopback");
	is_str(arg_after(&av, "-device", "virtio-net-pci,netdev=n1"), "virtio-net-pci,netdev=n1,mac=52:54:00:aa:bb:cc",
	       "link NIC mac");
	is_str(arg_after(&av, "-cpu", ""), "host", "-cpu host under kvm");
	sv_clear(&av);

	vm.accel = "xen";
	ok(qemu_argv(&vm, &av) < 0, "unknown accel refused");
	sv_clear(&av);
	vm.accel = "tcg";
	vm.engine_port = 22;
	ok(qemu_argv(&vm, &av) < 0, "engine port 22 refused");
	sv_clear(&av);
}

static void test_network(void)
{
	static const struct { const char *spec, *want; } cases[] = {
		{ "listen:40100", "socket,id=x,listen=127.0.0.1:40100" },
		{ "connect:1", "socket,id=x,connect=127.0.0.1:1" },
		{ "dgram:5000:5001", "dgram,id=x,local.type=inet,local.host=127.0.0.1,local.port=5000,"
		                     "remote.type=inet,remote.host=127.0.0.1,remote.port=5001" },
		{ "listen:0", NULL },
		{ "listen:65536", NULL },
		{ "listen:", NULL },
		{ "listen:12x", NULL },
		{ "connect:10.0.0.1:5", NULL },
		{ "dgram:1", NULL },
		{ "dgram:1:", NULL },
		{ "mcast:230.0.0.1:1234", NULL },
		{ "", NULL },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct strbuf sb = STRBUF_INIT;
		int rc = qemu_network_parse(cases[i].spec, "x", &sb);
		if (cases[i].want)
			is_str(rc == 0 ? sb.buf : dm_strerr(), cases[i].want, "network %s", cases[i].spec);
		else
			ok(rc < 0, "network %s refused", cases[i].spec);
		sb_release(&sb);
	}
	char a[18], b[18], c[18];
	qemu_mac_for("n1", a);
	qemu_mac_for("n1", b);
	qemu_mac_for("n2", c);
	is_str(a, b, "mac is stable");
	ok(strcmp(a, c) != 0, "mac differs per name");
	ok(str_starts(a, "52:54:00:") && strlen(a) == 17, "mac is 52:54:00:xx:xx:xx");
}

static void test_states(void)
{
	static const char *const cases[][2] = {
		{ "running", "Running" }, { "paused", "Paused" }, { "shutdown", "Stopping" },
		{ "inmigrate", "Starting" }, { "prelaunch", "Starting" }, { "internal-error", "Error" },
		{ "guest-panicked", "Error" }, { "save-vm", "Saved" }, { "bogus", "" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		is_str(qemu_state_of_status(cases[i][0]), cases[i][1], "status %s", cases[i][0]);
	is_str(qemu_state_of_status(NULL), "", "status NULL");
}

static void test_ports(void)
{
	int p = 0;
	is_int(qemu_free_port(&p), 0, "free port");
	ok(p > 1024 && p < 65536, "port %d in range", p);
	ok(qemu_port_available(p), "free port is available");
	ok(!qemu_port_available(0), "port 0 is not a port");
}

/* ---- QMP against a fake server ---- */

static void fake_qmp(int lfd, int mode)
{
	int c = accept(lfd, NULL, NULL);
	char buf[4096];
	const char *greet = "{\"QMP\": {\"version\": {}, \"capabilities\": []}}\r\n";
	if (c < 0)
		_exit(1);
	if (mode == 1) {      /* silent: never greets */
		sleep(3);
		_exit(0);
	}
	if (write(c, greet, strlen(greet)) < 0)
		_exit(1);
	for (int n = 0; n < 2; n++) {
		ssize_t r = read(c, buf, sizeof(buf) - 1);
		if (r <= 0)
			_exit(1);
		buf[r] = 0;
		if (strstr(buf, "qmp_capabilities")) {
			const char *a = "{\"return\": {}}\r\n";
			if (write(c, a, strlen(a)) < 0)
				_exit(1);
		} else if (strstr(buf, "query-status")) {
			const char *a = "{\"event\": \"RESUME\", \"data\": {}}\r\n"
			                "{\"return\": {\"status\": \"running\", \"running\": true}}\r\n";
			if (write(c, a, strlen(a)) < 0)
				_exit(1);
		} else {
			const char *a = "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"nope\"}}\r\n";
			if (write(c, a, strlen(a)) < 0)
				_exit(1);
		}
	}
	_exit(0);
}

static pid_t serve(const char *path, int mode)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int l = socket(AF_UNIX, SOCK_STREAM, 0);
	pid_t pid;
	unlink(path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(l, 4) < 0)
		return -1;
	pid = fork();
	if (pid == 0)
		fake_qmp(l, mode);
	close(l);
	return pid;
}

static void test_qmp(void)
{
	char *sock = xasprintf("%s/q.sock", tap_tmpdir());
	json_t *ret = NULL;
	pid_t pid = serve(sock, 0);
	int st;
	ok(pid > 0, "fake QMP server");
	is_int(qmp_call(sock, "query-status", &ret, now_ms() + 3000), 0, "query-status answered");
	is_str(dj_str(ret, "status", ""), "running", "status skips the event");
	json_decref(ret);
	waitpid(pid, &st, 0);

	pid = serve(sock, 0);
	ok(qmp_call(sock, "bogus", NULL, now_ms() + 3000) < 0, "error reply");
	is_str(dm_strerr(), "qmp bogus: nope", "error desc");
	waitpid(pid, &st, 0);

	pid = serve(sock, 1);
	long long t0 = now_ms();
	ok(qmp_call(sock, "query-status", NULL, now_ms() + 30) < 0, "silent server times out");
	ok(now_ms() - t0 < 1000, "within the deadline");
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);

	unlink(sock);
	ok(qmp_call(sock, "query-status", NULL, now_ms() + 30) < 0, "no socket");
	free(sock);

	/* pidfile checks */
	char *pf = xasprintf("%s/qemu.pid", tap_tmpdir());
	char txt[32];
	snprintf(txt, sizeof(txt), "%ld\n", (long)getpid());
	write_file_atomic(pf, txt, strlen(txt), 0600);
	ok(qemu_running_pid(pf, NULL) == getpid(), "live pid");
	ok(qemu_running_pid(pf, "/no/such/qmp.sock") == 0, "live pid of another program is not ours");
	pid = fork();
	if (pid == 0)
		_exit(0);
	waitpid(pid, &st, 0);
	snprintf(txt, sizeof(txt), "%ld\n", (long)pid);
	write_file_atomic(pf, txt, strlen(txt), 0600);
	ok(qemu_running_pid(pf, NULL) == 0, "dead pid");
	write_file_atomic(pf, "junk", 4, 0600);
	ok(qemu_running_pid(pf, NULL) == 0, "junk pidfile");
	unlink(pf);
	ok(qemu_running_pid(pf, NULL) == 0, "no pidfile");
	free(pf);
}

/* ---- the seed ---- */

static unsigned le32(const unsigned char *p)
{
	return p[0] | (p[1] << 8) | (p[2] << 16) | ((unsigned)p[3] << 24);
}

static void test_seed(void)
{
	struct seed_file f[] = { { "user-data", "#cloud-config\n{}\n", 17 }, { "meta-data", "{}\n", 3 } };
	struct strbuf iso = STRBUF_INIT;
	const unsigned char *b, *root, *r;
	int found = 0;

	is_int(seed_iso_build("cidata", f, 2, &iso), 0, "seed builds");
	b = (const unsigned char *)iso.buf;
	ok(iso.len % 2048 == 0 && iso.len >= 23 * 2048, "whole sectors (%zu bytes)", iso.len);
	ok(!memcmp(b + 16 * 2048 + 1, "CD001", 5) && b[16 * 2048] == 1, "primary volume descriptor");
	ok(!memcmp(b + 16 * 2048 + 40, "cidata  ", 8), "volume label cidata");
	ok(b[17 * 2048] == 255, "terminator");
	is_int(le32(b + 16 * 2048 + 80), (long long)(iso.len / 2048), "volume size");
	root = b + le32(b + 16 * 2048 + 156 + 2) * 2048;
	for (r = root; r < root + 2048 && r[0]; r += r[0]) {
		unsigned lba = le32(r + 2), len = le32(r + 10);
		if (r[32] == 12 && !memcmp(r + 33, "USER-DATA.;1", 12)) {
			ok(len == 17 && !memcmp(b + lba * 2048, f[0].data, 17), "user-data content");
			found++;
		}
		if (r[32] == 12 && !memcmp(r + 33, "META-DATA.;1", 12)) {
			ok(len == 3 && !memcmp(b + lba * 2048, f[1].data, 3), "meta-data content");
			found++;
		}
	}
	is_int(found, 2, "both files in the root directory");
	sb_release(&iso);

	struct seed_file bad[] = { { "User Data", "x", 1 } };
	ok(seed_iso_build("cidata", bad, 1, &iso) < 0, "bad file name refused");
	ok(seed_iso_build("", f, 2, &iso) < 0, "empty label refused");
	sb_release(&iso);
}

static void test_cloud_init(void)
{
	struct cloud_init ci = { "dev", "dm-dev-1", "docker", "ssh-ed25519 AAAAkey dev",
		                 "-----BEGIN OPENSSH PRIVATE KEY-----\nxx\n-----END OPENSSH PRIVATE KEY-----\n",
		                 "ssh-ed25519 AAAAhost dev", NULL, 0 };
	struct strbuf ud = STRBUF_INIT, md = STRBUF_INIT;
	is_int(cloud_init_user_data(&ci, &ud), 0, "user-data");
	ok(str_starts(ud.buf, "Content-Type: multipart/mixed; boundary=\"==dm-"), "multipart");
	ok(strstr(ud.buf, "Content-Type: text/cloud-config") && strstr(ud.buf, "#cloud-config\n{"), "cloud-config part");
	ok(strstr(ud.buf, "\"ssh_genkeytypes\": []") != NULL, "no other host keys generated");
	ok(strstr(ud.buf, "\"ed25519_public\": \"ssh-ed25519 AAAAhost dev\"") != NULL, "host key handed over");
	ok(strstr(ud.buf, "\"ssh_authorized_keys\": [\n") && strstr(ud.buf, "\"ssh-ed25519 AAAAkey dev\""),
	   "authorized key");
	ok(strstr(ud.buf, "\"no_user_group\": true") != NULL, "no user group (the docker group may exist)");
	ok(strstr(ud.buf, "touch /etc/cloud/cloud-init.disabled") != NULL, "later boots skip cloud-init");
	ok(strstr(ud.buf, "usermod -aG docker 'docker'") != NULL, "docker group when present");
	ok(str_ends(ud.buf, "==--\r\n"), "closing boundary");
	sb_reset(&ud);

	ci.user_data = "#!/bin/sh\necho hi\n";
	ci.user_data_len = strlen(ci.user_data);
	is_int(cloud_init_user_data(&ci, &ud), 0, "with a user script");
	ok(strstr(ud.buf, "Content-Type: text/x-shellscript; charset=\"utf-8\"\r\nMIME-Version: 1.0\r\n"
	                  "Content-Transfer-Encoding: 8bit\r\nContent-Disposition: attachment; "
	                  "filename=\"user-data\"\r\n\r\n#!/bin/sh\necho hi\n") != NULL, "user part kept");
	sb_reset(&ud);
	ci.user_data = "hello";
	ci.user_data_len = 5;
	ok(cloud_init_user_data(&ci, &ud) < 0, "unknown user-data type refused");
	ci.user_data = "#!\0x";
	ci.user_data_len = 4;
	ok(cloud_init_user_data(&ci, &ud) < 0, "binary user-data refused");

	is_int(cloud_init_meta_data(&ci, &md), 0, "meta-data");
	ok(strstr(md.buf, "\"instance-id\": \"dm-dev-1\"") && strstr(md.buf, "\"local-hostname\": \"dev\""),
	   "meta-data keys");
	sb_release(&ud);
	sb_release(&md);
}

/* ---- images ---- */

static void test_image_info(void)
{
	static const struct { const char *json, *fmt; } cases[] = {
		{ "{\"virtual-size\": 2147483648, \"filename\": \"a\", \"format\": \"qcow2\", "
		  "\"format-specific\": {\"type\": \"qcow2\", \"data\": {\"compat\": \"1.1\"}}}", "qcow2" },
		{ "{\"virtual-size\": 1048576, \"format\": \"raw\"}", "raw" },
		{ "{\"virtual-size\": 1048576, \"format\": \"vmdk\"}", NULL },
		{ "{\"virtual-size\": 1048576, \"format\": \"qcow2\", \"backing-filename\": \"/etc/shadow\"}", NULL },
		{ "{\"virtual-size\": 1048576, \"format\": \"qcow2\", \"full-backing-filename\": \"/x\"}", NULL },
		{ "{\"virtual-size\": 1048576, \"format\": \"qcow2\", \"format-specific\": {\"type\": \"qcow2\", "
		  "\"data\": {\"data-file\": \"/dev/sda\"}}}", NULL },
		{ "{\"format\": \"qcow2\"}", NULL },
		{ "not json", NULL },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *fmt = NULL;
		long long vs = 0;
		int rc = image_check_info(cases[i].json, strlen(cases[i].json), &fmt, &vs);
		if (cases[i].fmt)
			ok(rc == 0 && !strcmp(fmt, cases[i].fmt) && vs > 0, "info %zu accepted as %s", i, cases[i].fmt);
		else
			ok(rc < 0, "info %zu refused: %s", i, rc < 0 ? dm_strerr() : "(accepted)");
		free(fmt);
	}
}

static void test_checksums(void)
{
	const char *algo;
	char hex[129];
	const char *h64 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
	is_int(image_parse_checksum("sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD", &algo, hex),
	       0, "sha256: prefix");
	is_str(hex, h64, "lower-cased");
	is_int(image_parse_checksum(h64, &algo, hex), 0, "bare 64 hex");
	is_str(algo, "sha256", "is sha256");
	ok(image_parse_checksum("sha512:abc", &algo, hex) < 0, "short sha512 refused");
	ok(image_parse_checksum("md5:900150983cd24fb0d6963f7d28e17f72", &algo, hex) < 0, "md5 refused");

	const char *sums = "1111111111111111111111111111111111111111111111111111111111111111  other.qcow2\n"
	                   "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD  debian.qcow2\r\n";
	is_int(image_sums_lookup(sums, "debian.qcow2", hex), 0, "GNU sums line");
	is_str(hex, h64, "GNU sums value");
	ok(image_sums_lookup(sums, "debian", hex) < 0, "no partial name match");
	is_int(image_sums_lookup("SHA256 (x.img) = ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n",
	                         "x.img", hex), 0, "BSD sums line");
	is_str(hex, h64, "BSD sums value");

	char *f = xasprintf("%s/abc", tap_tmpdir());
	write_file_atomic(f, "abc", 3, 0600);
	is_int(image_hash_file(f, "sha256", hex), 0, "hash a file");
	is_str(hex, h64, "sha256(abc)");
	is_int(image_hash_file(f, "sha512", hex), 0, "sha512 a file");
	ok(str_starts(hex, "ddaf35a193617aba"), "sha512(abc)");
	free(f);
}

static int sh(const char *cmd)
{
	char *argv[] = { (char *)"sh", (char *)"-c", (char *)cmd, NULL };
	struct strbuf out = STRBUF_INIT;
	int st = proc_run(argv, NULL, 0, &out, now_ms() + 30000);
	sb_release(&out);
	return st;
}

static void test_resolve(void)
{
	char *dir = xasprintf("%s/img", tap_tmpdir()), *cmd;
	struct image_src src = { 0 };
	struct image_ref a, b;
	struct stat st;
	if (!proc_find("qemu-img", getenv("PATH"))) {
		ok(1, "# skip qemu-img not installed: image_resolve not tested");
		free(dir);
		return;
	}
	cmd = xasprintf("mkdir -p %s/d && cd %s && qemu-img create -q -f qcow2 base.qcow2 64M && "
	                "qemu-img create -q -f qcow2 -F qcow2 -b %s/base.qcow2 evil.qcow2 && "
	                "cp base.qcow2 d/disk.qcow2 && echo kernel > d/vmlinuz && echo initrd > d/initrd && "
	                "echo 'root=/dev/vda quiet' > d/cmdline", dir, dir, dir);
	is_int(sh(cmd), 0, "test images made");
	free(cmd);

	char *cache = xasprintf("%s/cache", dir), *p = xasprintf("%s/base.qcow2", dir);
	src.spec = p;
	is_int(image_resolve(cache, &src, &a), 0, "local qcow2 resolved: %s", dm_strerr());
	is_str(a.format, "qcow2", "format");
	is_int(a.virtual_size, 64 << 20, "virtual size");
	ok(str_starts(a.disk, cache) && strstr(a.disk, "/qemu/images/sha256-"), "content-addressed blob in the cache");
	ok(stat(a.disk, &st) == 0 && (st.st_mode & 0777) == 0444, "blob is read-only");
	is_int(image_resolve(cache, &src, &b), 0, "resolved again");
	is_str(b.disk, a.disk, "same blob (index hit)");
	image_ref_free(&b);

	char *ov = xasprintf("%s/disk.qcow2", dir);
	is_int(image_overlay(NULL, &a, ov, 128LL << 20), 0, "overlay");
	char *fmt = NULL;
	long long vs = 0;
	ok(image_check(NULL, ov, &fmt, &vs) < 0 && strstr(dm_strerr(), "backing file"),
	   "an overlay (backing file) is refused as a base image");
	free(fmt);
	image_ref_free(&a);

	free(p);
	p = xasprintf("%s/evil.qcow2", dir);
	src.spec = p;
	ok(image_resolve(cache, &src, &a) < 0 && strstr(dm_strerr(), "backing file"), "backing file refused");
	free(p);

	p = xasprintf("file://%s/d", dir);
	src.spec = p + 7;
	is_int(image_resolve(cache, &src, &a), 0, "image directory");
	ok(a.kernel && a.initrd && strstr(a.kernel, "/qemu/images/sha256-"), "kernel and initrd cached");
	is_str(a.append, "root=/dev/vda quiet", "cmdline");
	image_ref_free(&a);
	src.spec = "file:///no/such/file.qcow2";
	ok(image_resolve(cache, &src, &a) < 0, "missing file");
	src.spec = "ftp://example.invalid/x.qcow2";
	ok(image_resolve(cache, &src, &a) < 0 && strstr(dm_strerr(), "unsupported URL scheme"), "ftp refused");
	src.spec = NULL;
	free(p);
	free(ov);
	free(cache);
	free(dir);
}

int main(void)
{
	plan_lazy();
	test_argv();
	test_network();
	test_states();
	test_ports();
	test_qmp();
	test_seed();
	test_cloud_init();
	test_image_info();
	test_checksums();
	test_resolve();
	return done_testing();
}
