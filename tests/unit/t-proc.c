/* t-proc.c - spawn, pipes, exit codes, deadlines, process groups, fd hygiene. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "proc.h"
#include "tap.h"

static int run_sh(const char *script, const char *in, struct strbuf *out, int timeout_ms)
{
	char *argv[] = { "/bin/sh", "-c", (char *)script, NULL };
	return proc_run(argv, in, in ? strlen(in) : 0, out, timeout_ms ? now_ms() + timeout_ms : 0);
}

static void test_run(void)
{
	static const struct {
		const char *script, *in, *out;
		int code;
	} cases[] = {
		{ "printf hello", NULL, "hello", 0 },
		{ "cat", "line1\nline2\n", "line1\nline2\n", 0 },
		{ "cat", "", "", 0 },
		{ "exit 7", NULL, "", 7 },
		{ "printf x; exit 3", NULL, "x", 3 },
		{ "kill -9 $$", NULL, "", 128 + 9 },
		{ "kill -TERM $$", NULL, "", 128 + 15 },
		{ "printf '%s' \"$1\"", NULL, "", 0 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct strbuf out = STRBUF_INIT;
		int r = run_sh(cases[i].script, cases[i].in, &out, 5000);
		is_int(r, cases[i].code, "'%s': status", cases[i].script);
		is_str(out.buf, cases[i].out, "'%s': output", cases[i].script);
		sb_release(&out);
	}
}

static void test_spawn_errors(void)
{
	struct proc p;
	char *bad[] = { "/nonexistent/prog", NULL };
	char *nopath[] = { "no-such-program-dm-test", NULL };
	char *empty[] = { NULL };
	struct strbuf out = STRBUF_INIT;
	ok(proc_spawn(&p, bad, NULL, PROC_PIPE_OUT) < 0, "spawn of a missing file fails");
	is_str(dm_strerr(), "exec /nonexistent/prog: No such file or directory", "exec error message");
	ok(p.out == -1 && p.pid == -1, "nothing left open");
	ok(proc_spawn(&p, nopath, NULL, 0) < 0, "PATH lookup failure");
	ok(proc_spawn(&p, empty, NULL, 0) < 0, "empty argv");
	is_int(proc_run(bad, NULL, 0, &out, 0), -2, "proc_run of a missing program: -2");
	sb_release(&out);
}

static void test_env_and_path(void)
{
	struct proc p;
	struct strbuf out = STRBUF_INIT;
	char *argv[] = { "/bin/sh", "-c", "printf %s \"$FOO\"", NULL };
	char *envp[] = { "FOO=bar baz", NULL };
	char *t[] = { "true", NULL };
	ok(proc_spawn(&p, argv, envp, PROC_PIPE_OUT) == 0, "spawn with envp");
	sb_read_fd(&out, p.out, 0);
	is_int(proc_wait(&p, 0), 0, "exit 0");
	is_str(out.buf, "bar baz", "child sees envp");
	sb_release(&out);
	ok(proc_spawn(&p, t, NULL, 0) == 0 && proc_wait(&p, 0) == 0, "PATH lookup of 'true'");
}

static int pid_gone(pid_t pid)
{
	char path[64], buf[512];
	FILE *f;
	int gone = 1;
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	f = fopen(path, "r");
	if (!f)
		return 1;
	if (fgets(buf, sizeof(buf), f)) {
		char *rp = strrchr(buf, ')');
		gone = rp && rp[1] == ' ' && rp[2] == 'Z';
	}
	fclose(f);
	return gone;
}

static void test_deadlines(void)
{
	struct strbuf out = STRBUF_INIT;
	long long t0 = now_ms();
	int r = run_sh("sleep 5", NULL, &out, 200);
	long long el = now_ms() - t0;
	is_int(r, -1, "timeout: -1");
	ok(el >= 190 && el < 1500, "killed near the deadline (%lld ms)", el);
	is_str(dm_strerr(), "timed out", "timeout message");

	t0 = now_ms();
	r = run_sh("trap '' TERM; sleep 5", NULL, &out, 100);
	el = now_ms() - t0;
	is_int(r, -1, "SIGTERM ignored: still -1");
	ok(el >= 550 && el < 2000, "SIGKILL 500 ms after SIGTERM (%lld ms)", el);

	/* the whole process group goes, not just the leader */
	{
		struct proc p;
		char *argv[] = { "/bin/sh", "-c", "sleep 30 & echo $!; wait", NULL };
		char buf[64] = "";
		ssize_t n;
		long bg;
		ok(proc_spawn(&p, argv, NULL, PROC_PIPE_OUT | PROC_NEWPGRP) == 0, "spawn group");
		n = read(p.out, buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = 0;
		bg = atol(buf);
		ok(bg > 0 && !pid_gone((pid_t)bg), "background child running (%ld)", bg);
		is_int(proc_wait(&p, now_ms() + 100), -1, "group leader timed out");
		for (int i = 0; i < 100 && bg > 0 && !pid_gone((pid_t)bg); i++)
			usleep(10000);
		ok(bg > 0 && pid_gone((pid_t)bg), "background child killed with the group");
	}
	sb_release(&out);
}

static void test_caps_and_pipes(void)
{
	struct strbuf out;
	size_t n = 1 << 20;
	char *big = xmalloc(n + 1);
	int r;
	memset(big, 'x', n);
	big[n] = 0;
	sb_init(&out, 1000);
	r = run_sh("head -c 100000 /dev/zero", NULL, &out, 5000);
	is_int(r, -2, "output over the cap: -2");
	ok(strstr(dm_strerr(), "exceeds") != NULL, "cap message: %s", dm_strerr());
	sb_release(&out);

	sb_init(&out, 0);
	r = run_sh("exit 0", big, &out, 5000);
	is_int(r, 0, "1 MiB to a child that does not read: no SIGPIPE, status 0");
	r = run_sh("head -c 10 >/dev/null; printf done", big, &out, 5000);
	is_int(r, 0, "child reads a little then exits");
	is_str(out.buf, "done", "its output");
	sb_reset(&out);
	r = run_sh("wc -c | tr -d ' \\n'", big, &out, 5000);
	is_str(out.buf, "1048576", "1 MiB through stdin and back");
	sb_release(&out);
	free(big);

	{
		int fds[2];
		sigset_t pend;
		ok(pipe2(fds, O_CLOEXEC) == 0, "pipe");
		close(fds[0]);
		errno = 0;
		ok(proc_write(fds[1], "x", 1) < 0 && errno == EPIPE, "proc_write to a closed pipe: EPIPE");
		sigpending(&pend);
		ok(!sigismember(&pend, SIGPIPE), "no SIGPIPE left pending");
		close(fds[1]);
	}
}

static int count_fds(int *inheritable)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0, inh = 0;
	while (d && (e = readdir(d))) {
		int fd;
		if (e->d_name[0] == '.')
			continue;
		fd = atoi(e->d_name);
		if (fd == dirfd(d))
			continue;
		n++;
		if (fd > 2 && !(fcntl(fd, F_GETFD) & FD_CLOEXEC))
			inh++;
	}
	if (d)
		closedir(d);
	if (inheritable)
		*inheritable = inh;
	return n;
}

static void test_fds(void)
{
	struct strbuf out = STRBUF_INIT;
	int before, after, inh;
	before = count_fds(&inh);
	for (int i = 0; i < 20; i++) {
		sb_reset(&out);
		run_sh("cat", "abc", &out, 5000);
	}
	after = count_fds(NULL);
	is_int(after, before, "no descriptors leak in the parent");
	sb_reset(&out);
	/* The child sees stdin, stdout, stderr, what the test itself lets inherit,
	 * and the directory its glob is reading (+1). */
	run_sh("n=0; for f in /proc/$$/fd/*; do n=$((n+1)); done; echo $n", "", &out, 5000);
	sb_rtrim(&out);
	is_int(atoi(out.buf), 3 + inh + 1, "the child gets no pipe ends of ours");
	sb_release(&out);
}

static void on_alarm(int sig)
{
	(void)sig;
}

static void test_eintr(void)
{
	struct sigaction sa;
	struct itimerval it = { { 0, 5000 }, { 0, 5000 } };
	struct strbuf out = STRBUF_INIT;
	int r;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;   /* no SA_RESTART: syscalls see EINTR */
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	r = run_sh("sleep 0.2; printf ok", "in", &out, 5000);
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
	is_int(r, 0, "signals every 5 ms: status still 0");
	is_str(out.buf, "ok", "and the output intact");
	sb_release(&out);
}

static void test_find(const char *tmp)
{
	char *p = proc_find("sh", "/nonexistent::/bin");
	char *plain = xasprintf("%s/notexec", tmp);
	is_str(p, "/bin/sh", "found in the second dir (empty element skipped)");
	free(p);
	ok(proc_find("no-such-prog", "/bin:/usr/bin") == NULL, "not found: NULL");
	write_file_atomic(plain, "x", 1, 0644);
	ok(proc_find("notexec", tmp) == NULL, "a non-executable file is not found");
	ok(proc_find("", "/bin") == NULL, "empty name");
	free(plain);
}

int main(void)
{
	signal(SIGPIPE, SIG_DFL);   /* a stray SIGPIPE would kill this test */
	test_run();
	test_spawn_errors();
	test_env_and_path();
	test_deadlines();
	test_caps_and_pipes();
	test_fds();
	test_eintr();
	test_find(tap_tmpdir());
	return done_testing();
}
