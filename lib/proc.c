/* proc.c - spawn children from argv vectors, wait with deadlines. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dm.h"
#include "proc.h"

extern char **environ;

#define KILL_GRACE_MS 500

static void close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

int proc_spawn(struct proc *p, char *const argv[], char *const envp[], unsigned flags)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, def;
	short aflags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
	int r;

	p->pid = -1;
	p->in = p->out = p->err = -1;
	p->pgrp = 0;
	if (!argv || !argv[0])
		return dm_seterr("exec: empty command");
	if (((flags & PROC_PIPE_IN) && pipe2(in, O_CLOEXEC) < 0) ||
	    ((flags & PROC_PIPE_OUT) && pipe2(out, O_CLOEXEC) < 0) ||
	    ((flags & PROC_PIPE_ERR) && pipe2(err, O_CLOEXEC) < 0)) {
		dm_seterr_errno("pipe");
		goto fail;
	}
	posix_spawn_file_actions_init(&fa);
	if (in[0] >= 0)
		posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	if (out[1] >= 0)
		posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	if (err[1] >= 0)
		posix_spawn_file_actions_adddup2(&fa, err[1], 2);
	posix_spawnattr_init(&at);
	sigemptyset(&none);
	posix_spawnattr_setsigmask(&at, &none);
	/* Signals the parent may ignore or catch come back to their defaults. */
	sigemptyset(&def);
	sigaddset(&def, SIGPIPE);
	sigaddset(&def, SIGINT);
	sigaddset(&def, SIGQUIT);
	sigaddset(&def, SIGTERM);
	sigaddset(&def, SIGHUP);
	sigaddset(&def, SIGCHLD);
	posix_spawnattr_setsigdefault(&at, &def);
	if (flags & PROC_NEWPGRP) {
		aflags |= POSIX_SPAWN_SETPGROUP;
		posix_spawnattr_setpgroup(&at, 0);
	}
	posix_spawnattr_setflags(&at, aflags);
	if (strchr(argv[0], '/'))
		r = posix_spawn(&p->pid, argv[0], &fa, &at, argv, envp ? envp : environ);
	else
		r = posix_spawnp(&p->pid, argv[0], &fa, &at, argv, envp ? envp : environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (r != 0) {
		errno = r;
		dm_seterr_errno("exec %s", argv[0]);
		p->pid = -1;
		goto fail;
	}
	p->pgrp = (flags & PROC_NEWPGRP) != 0;
	close_fd(&in[0]);
	close_fd(&out[1]);
	close_fd(&err[1]);
	p->in = in[1];
	p->out = out[0];
	p->err = err[0];
	return 0;
fail:
	close_fd(&in[0]);
	close_fd(&in[1]);
	close_fd(&out[0]);
	close_fd(&out[1]);
	close_fd(&err[0]);
	close_fd(&err[1]);
	return -1;
}

void proc_kill(struct proc *p, int sig)
{
	if (p->pid <= 0)
		return;
	if (p->pgrp && kill(-p->pid, sig) == 0)
		return;
	kill(p->pid, sig);
}

static int exit_code(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return 1;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Reap pid before deadline (0 = wait forever). 1 reaped (*st set), 0 timed out,
 * -1 error (not our child any more). */
static int reap(pid_t pid, int *st, long long deadline)
{
	int pfd = -1, r = 0;
	for (;;) {
		pid_t w = waitpid(pid, st, deadline ? WNOHANG : 0);
		if (w == pid) {
			r = 1;
			break;
		}
		if (w < 0) {
			if (errno == EINTR)
				continue;
			r = -1;
			break;
		}
		long long left = deadline - now_ms();
		if (left <= 0)
			break;
#ifdef SYS_pidfd_open
		if (pfd < 0)
			pfd = (int)syscall(SYS_pidfd_open, pid, 0);
#endif
		if (pfd >= 0) {
			struct pollfd pf = { pfd, POLLIN, 0 };
			if (poll(&pf, 1, left > 1000 ? 1000 : (int)left) < 0 && errno != EINTR)
				sleep_ms(1);
		} else {
			sleep_ms(left < 5 ? left : 5);
		}
	}
	if (pfd >= 0)
		close(pfd);
	return r;
}

int proc_wait(struct proc *p, long long deadline_ms)
{
	int st = 0, r;
	close_fd(&p->in);
	close_fd(&p->out);
	close_fd(&p->err);
	if (p->pid <= 0)
		return dm_seterr("wait: no process");
	r = reap(p->pid, &st, deadline_ms);
	if (r == 1) {
		p->pid = -1;
		return exit_code(st);
	}
	if (r < 0) {
		dm_seterr_errno("wait %ld", (long)p->pid);
		p->pid = -1;
		return 1;
	}
	proc_kill(p, SIGTERM);
	if (reap(p->pid, &st, now_ms() + KILL_GRACE_MS) != 1) {
		proc_kill(p, SIGKILL);
		reap(p->pid, &st, 0);
	}
	if (p->pgrp)
		kill(-p->pid, SIGKILL);   /* stragglers of the group */
	p->pid = -1;
	dm_seterr("timed out");
	return -1;
}

ssize_t proc_write(int fd, const void *buf, size_t n)
{
	sigset_t pipe_set, old, pending;
	int was_pending;
	ssize_t w;
	int e;
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	sigpending(&pending);
	was_pending = sigismember(&pending, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	do
		w = write(fd, buf, n);
	while (w < 0 && errno == EINTR);
	e = errno;
	if (w < 0 && e == EPIPE && !was_pending) {
		struct timespec zero = { 0, 0 };
		while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
			;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = e;
	return w;
}

int proc_pump(struct proc *p, const char *in, size_t inlen,
              int (*on_out)(void *ctx, const char *buf, size_t n), void *ctx,
              long long deadline_ms)
{
	size_t off = 0;
	char buf[65536];

	if (p->in >= 0) {
		fcntl(p->in, F_SETFL, fcntl(p->in, F_GETFL) | O_NONBLOCK);
		if (!in || inlen == 0)
			close_fd(&p->in);
	}
	while (p->out >= 0) {
		struct pollfd pf[2];
		int np = 0, tmo = -1, ir = -1;
		if (deadline_ms) {
			long long left = deadline_ms - now_ms();
			if (left <= 0)
				return -2;
			tmo = left > 60000 ? 60000 : (int)left;
		}
		pf[np].fd = p->out;
		pf[np++].events = POLLIN;
		if (p->in >= 0) {
			ir = np;
			pf[np].fd = p->in;
			pf[np++].events = POLLOUT;
		}
		if (poll(pf, (nfds_t)np, tmo) < 0) {
			if (errno == EINTR)
				continue;
			return dm_seterr_errno("poll");
		}
		if (ir >= 0 && (pf[ir].revents & (POLLOUT | POLLERR | POLLHUP))) {
			ssize_t w = proc_write(p->in, in + off, inlen - off);
			if (w > 0)
				off += (size_t)w;
			if ((w < 0 && errno != EAGAIN) || off == inlen)
				close_fd(&p->in);   /* all sent, or EPIPE: the child stopped reading */
		}
		if (pf[0].revents & (POLLIN | POLLERR | POLLHUP)) {
			ssize_t r = read(p->out, buf, sizeof(buf));
			if (r < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (r <= 0)
				close_fd(&p->out);
			else if (on_out(ctx, buf, (size_t)r) < 0)
				return -1;
		}
	}
	return 0;
}

struct collect {
	struct strbuf *out;
	const char *prog;
};

static int collect_out(void *ctx, const char *buf, size_t n)
{
	struct collect *c = ctx;
	if (sb_add(c->out, buf, n) < 0)
		return dm_seterr("%s: output exceeds %zu bytes", c->prog, c->out->cap);
	return 0;
}

int proc_run(char *const argv[], const char *in, size_t inlen, struct strbuf *out,
             long long deadline_ms)
{
	struct proc p;
	struct collect c = { out, argv[0] };
	unsigned flags = PROC_PIPE_OUT | PROC_NEWPGRP | (in ? PROC_PIPE_IN : 0);
	int r;
	if (proc_spawn(&p, argv, NULL, flags) < 0)
		return -2;
	r = proc_pump(&p, in, inlen, collect_out, &c, deadline_ms);
	if (r == -1) {
		char msg[2048];
		snprintf(msg, sizeof(msg), "%s", dm_strerr());
		proc_kill(&p, SIGKILL);
		proc_wait(&p, 0);
		dm_seterr("%s", msg);
		return -2;
	}
	return proc_wait(&p, deadline_ms);
}

char *proc_find(const char *name, const char *dirs)
{
	const char *d = dirs;
	if (!name || !*name || !dirs)
		return NULL;
	while (*d) {
		const char *e = strchr(d, ':');
		size_t n = e ? (size_t)(e - d) : strlen(d);
		if (n) {
			struct stat sb;
			char *p = xasprintf("%.*s/%s", (int)n, d, name);
			if (stat(p, &sb) == 0 && S_ISREG(sb.st_mode) && access(p, X_OK) == 0)
				return p;
			free(p);
		}
		if (!e)
			break;
		d = e + 1;
	}
	return NULL;
}

/* ---- where dm's programs live ---- */

static char *self_dir(void)
{
	char buf[4096], *slash;
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
	if (n <= 0)
		return NULL;
	buf[n] = 0;
	slash = strrchr(buf, '/');
	if (!slash || slash == buf)
		return NULL;
	*slash = 0;
	return xstrdup(buf);
}

char *proc_libexec_path(void)
{
	struct strbuf sb = STRBUF_INIT;
	const char *env = getenv("DM_LIBEXECDIR"), *path = getenv("PATH");
	char *self = self_dir();
	if (env && *env)
		sb_addf(&sb, "%s:", env);
	if (dm_libexecdir[0])
		sb_addf(&sb, "%s:", dm_libexecdir);
	if (self)
		sb_addf(&sb, "%s:", self);
	sb_adds(&sb, path && *path ? path : "/usr/local/bin:/usr/bin:/bin");
	free(self);
	return sb_detach(&sb);
}

char *proc_find_libexec(const char *name)
{
	char *dirs = proc_libexec_path(), *p = proc_find(name, dirs);
	free(dirs);
	return p;
}
