/* t-ssh.c - lib/ssh: shell quoting, ssh argv, host key policy, known_hosts, keygen. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proc.h"
#include "ssh.h"
#include "tap.h"

static char *joined(struct strvec *av)
{
	struct strbuf sb = STRBUF_INIT;
	for (size_t i = 0; i < av->n; i++) {
		if (i)
			sb_addc(&sb, ' ');
		sb_adds(&sb, av->v[i]);
	}
	return sb_detach(&sb);
}

static void test_quote(void)
{
	static const struct { const char *in, *want; } cases[] = {
		{ "", "''" },
		{ "plain", "'plain'" },
		{ "two words", "'two words'" },
		{ "it's", "'it'\\''s'" },
		{ "'", "''\\'''" },
		{ "\"dq\"", "'\"dq\"'" },
		{ "$HOME", "'$HOME'" },
		{ "`id`", "'`id`'" },
		{ "$(rm -rf /)", "'$(rm -rf /)'" },
		{ "a\nb", "'a\nb'" },
		{ "back\\slash", "'back\\slash'" },
		{ "*?[x]~#&;|<>", "'*?[x]~#&;|<>'" },
		{ "--flag=v", "'--flag=v'" },
		{ "tab\there", "'tab\there'" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct strbuf sb = STRBUF_INIT, cmd = STRBUF_INIT, out = STRBUF_INIT;
		sh_quote(&sb, cases[i].in);
		is_str(sb.buf, cases[i].want, "sh_quote case %zu", i);
		/* and a real shell gives the value back byte for byte */
		sb_adds(&cmd, "printf %s ");
		sb_adds(&cmd, sb.buf);
		char *argv[] = { "sh", "-c", cmd.buf, NULL };
		int rc = proc_run(argv, NULL, 0, &out, now_ms() + 10000);
		is_int(rc, 0, "sh runs quoted case %zu", i);
		is_str(out.buf, cases[i].in, "sh round trip case %zu", i);
		sb_release(&sb);
		sb_release(&cmd);
		sb_release(&out);
	}
	{
		struct strbuf sb = STRBUF_INIT;
		char *words[] = { "echo", "a b", "c'd", NULL };
		sh_quote_argv(&sb, words);
		is_str(sb.buf, "'echo' 'a b' 'c'\\''d'", "sh_quote_argv joins with spaces");
		sb_release(&sb);
	}
}

static void test_argv(void)
{
	const char *dir = tap_tmpdir();
	char *kh = xasprintf("%s/known_hosts", dir);
	char *khsp = xasprintf("%s/with space/known_hosts", dir);
	struct ssh_target t = { .host = "10.0.0.5", .port = 2222, .user = "docker",
		.key = "/m/id_rsa", .known_hosts = kh, .hostkey = SSH_HK_STRICT };
	struct strvec av = STRVEC_INIT;
	char *got, *want;
	char *cmd[] = { "ls", "-l", NULL };

	ssh_argv(&t, SSH_BATCH, cmd, &av);
	got = joined(&av);
	want = xasprintf("ssh -F /dev/null -o ConnectTimeout=10 -o ControlMaster=no -o ControlPath=none "
	                 "-o PasswordAuthentication=no -o ServerAliveInterval=60 -o HashKnownHosts=no "
	                 "-o GlobalKnownHostsFile=/dev/null -o UserKnownHostsFile=\"%s\" "
	                 "-o StrictHostKeyChecking=yes -o BatchMode=yes -o IdentitiesOnly=yes "
	                 "-i /m/id_rsa -p 2222 docker@10.0.0.5 -- ls -l", kh);
	is_str(got, want, "strict, batch, key, port, command after --");
	ok(!sv_contains(&av, "LogLevel=quiet"), "ssh's own errors stay visible");
	free(got);
	free(want);
	sv_clear(&av);

	struct ssh_target t2 = { .host = "h", .known_hosts = NULL, .connect_timeout = 3 };
	ssh_argv(&t2, SSH_TTY, NULL, &av);
	got = joined(&av);
	is_str(got, "ssh -F /dev/null -o ConnectTimeout=3 -o ControlMaster=no -o ControlPath=none "
	            "-o PasswordAuthentication=no -o ServerAliveInterval=60 -o HashKnownHosts=no "
	            "-o GlobalKnownHostsFile=/dev/null -o UserKnownHostsFile=\"/dev/null\" "
	            "-o StrictHostKeyChecking=no -p 22 -t root@h",
	       "defaults: root, port 22, no -i, tty, no command");
	free(got);
	sv_clear(&av);

	/* a path with a space is one argv word, double-quoted for ssh's parser */
	t.known_hosts = khsp;
	ssh_common_opts(&t, 0, &av);
	want = xasprintf("UserKnownHostsFile=\"%s\"", khsp);
	ok(sv_contains(&av, want), "known_hosts with a space: one quoted word");
	free(want);
	sv_clear(&av);

	/* host key policy */
	struct { enum ssh_hostkey hk; int exists; const char *want; } pol[] = {
		{ SSH_HK_STRICT, 0, "yes" }, { SSH_HK_TOFU, 0, "accept-new" },
		{ SSH_HK_AUTO, 0, "accept-new" }, { SSH_HK_STRICT, 1, "yes" },
		{ SSH_HK_TOFU, 1, "accept-new" }, { SSH_HK_AUTO, 1, "yes" },
	};
	char *pf = xasprintf("%s/pol_known_hosts", dir);
	for (size_t i = 0; i < ARRAY_SIZE(pol); i++) {
		struct ssh_target pt = { .host = "h", .known_hosts = pf, .hostkey = pol[i].hk };
		if (pol[i].exists)
			write_file_atomic(pf, "", 0, 0600);
		else
			unlink(pf);
		is_str(ssh_hostkey_policy(&pt), pol[i].want, "policy case %zu", i);
	}
	free(pf);
	free(kh);
	free(khsp);
}

static void test_known_host(void)
{
	char *kh = xasprintf("%s/kh2", tap_tmpdir());
	const char *text = "10.0.0.1 ssh-ed25519 AAAA\n"
	                   "[10.0.0.2]:2222 ssh-ed25519 BBBB\n"
	                   "alias,10.0.0.3 ssh-rsa CCCC\n";
	write_file_atomic(kh, text, strlen(text), 0600);
	static const struct { const char *host; int port, want; } cases[] = {
		{ "10.0.0.1", 22, 1 }, { "10.0.0.1", 2222, 0 }, { "10.0.0.2", 2222, 1 },
		{ "10.0.0.2", 22, 0 }, { "10.0.0.3", 22, 1 }, { "10.0.0.", 22, 0 },
		{ "0.0.1", 22, 0 }, { "alias", 22, 1 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		is_int(ssh_known_host(kh, cases[i].host, cases[i].port), cases[i].want,
		       "known host %s:%d", cases[i].host, cases[i].port);
	is_int(ssh_known_host("/nonexistent/kh", "10.0.0.1", 22), 0, "missing file: not known");
	free(kh);
}

static void test_keygen(void)
{
	const char *dir = tap_tmpdir();
	static const char *types[] = { NULL, "rsa" };
	for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
		char *k = xasprintf("%s/key%zu", dir, i), *pub = xasprintf("%s.pub", k);
		struct stat st;
		struct strbuf sb = STRBUF_INIT;
		is_int(ssh_keygen(k, types[i], "t-ssh"), 0, "keygen %s", types[i] ? types[i] : "default");
		ok(stat(k, &st) == 0 && (st.st_mode & 0777) == 0600, "private key 0600");
		ok(stat(pub, &st) == 0 && (st.st_mode & 0777) == 0600, "public key 0600");
		sb_read_file(&sb, pub, 1 << 16);
		ok(str_starts(sb.buf, types[i] ? "ssh-rsa " : "ssh-ed25519 "), "key type %s", sb.buf);
		is_int(ssh_keygen(k, types[i], NULL), -1, "existing key refused");
		ok(strstr(dm_strerr(), "file exists") != NULL, "message: %s", dm_strerr());
		sb_release(&sb);
		free(k);
		free(pub);
	}
	is_int(ssh_keygen("/tmp/x", "dsa", NULL), -1, "dsa refused");
}

static void test_copy_argv(void)
{
	const char *dir = tap_tmpdir();
	char *kh1 = xasprintf("%s/m1_known_hosts", dir), *kh2 = xasprintf("%s/m 2/known_hosts", dir);
	struct ssh_target t1 = { .host = "10.0.0.1", .port = 22, .user = "root", .key = "/s/m1/id_rsa",
		.known_hosts = kh1, .hostkey = SSH_HK_STRICT };
	struct ssh_target t2 = { .host = "fd00::2", .port = 2222, .user = "docker", .key = "",
		.known_hosts = kh2, .hostkey = SSH_HK_STRICT };
	struct scp_loc local = { NULL, NULL, "/tmp/a b" };
	struct scp_loc r1 = { &t1, NULL, "/etc/hosts" }, r2 = { &t2, "admin", "x" };
	struct strvec av = STRVEC_INIT;
	char *got, *want;

	ssh_scp_argv(&local, &r1, SCP_RECURSIVE | SCP_QUIET, &av);
	got = joined(&av);
	want = xasprintf("scp -F /dev/null -o ConnectTimeout=10 -o ControlMaster=no -o ControlPath=none "
	                 "-o PasswordAuthentication=no -o ServerAliveInterval=60 -o HashKnownHosts=no "
	                 "-o GlobalKnownHostsFile=/dev/null -o UserKnownHostsFile=\"%s\" "
	                 "-o StrictHostKeyChecking=yes -o BatchMode=yes -3 -r -q -o IdentitiesOnly=yes "
	                 "-o Port=22 -o IdentityFile=\"/s/m1/id_rsa\" /tmp/a b root@10.0.0.1:/etc/hosts", kh1);
	is_str(got, want, "scp local -> machine, as 0.16.2 orders it, pinned");
	is_str(av.v[av.n - 2], "/tmp/a b", "local path with a space is one word");
	free(got);
	free(want);
	sv_clear(&av);

	ssh_scp_argv(&r1, &r2, 0, &av);
	want = xasprintf("UserKnownHostsFile=\"%s\" \"%s\"", kh1, kh2);
	ok(sv_contains(&av, want), "machine -> machine: both known_hosts files");
	ok(sv_contains(&av, "Port=2222"), "second end's port");
	is_str(av.v[av.n - 1], "admin@[fd00::2]:x", "user override, IPv6 in brackets");
	free(want);
	sv_clear(&av);

	is_int(ssh_rsync_argv(&r1, &r2, 0, &av), -1, "rsync between two machines refused");
	sv_clear(&av);
	is_int(ssh_rsync_argv(&r2, &local, SCP_RECURSIVE, &av), 0, "rsync machine -> local");
	is_str(av.v[0], "rsync", "rsync argv[0]");
	is_str(av.v[1], "--progress", "progress unless -q");
	is_str(av.v[2], "-e", "-e");
	ok(str_starts(av.v[3], "ssh -F /dev/null -o ConnectTimeout=10 "), "-e starts with ssh opts: %s", av.v[3]);
	want = xasprintf("'UserKnownHostsFile=\"%s\"'", kh2);
	ok(strstr(av.v[3], want) != NULL, "known_hosts path with a space quoted for rsync's splitter");
	free(want);
	is_str(av.v[4], "-r", "-r after -e");
	is_str(av.v[5], "admin@[fd00::2]:x", "source (user from the argument)");
	is_str(av.v[6], "/tmp/a b", "destination");
	sv_clear(&av);
	free(kh1);
	free(kh2);
}

int main(void)
{
	plan_lazy();
	test_quote();
	test_argv();
	test_known_host();
	test_keygen();
	test_copy_argv();
	return done_testing();
}
