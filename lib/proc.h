/* proc.h - child processes from argv vectors (never a shell string).
 *
 * proc_spawn starts argv[0] (looked up in PATH when it has no '/') with
 * pipes as asked; proc_wait_deadline reaps it, killing the process group
 * with SIGTERM then SIGKILL once the deadline passes.
 *
 * Every pipe is created O_CLOEXEC, so no descriptor leaks into other
 * children; the child starts with an empty signal mask and SIGPIPE, SIGINT,
 * SIGQUIT, SIGTERM, SIGHUP and SIGCHLD at their defaults.
 */
#ifndef PROC_H
#define PROC_H

#include <sys/types.h>

#include "util.h"

struct proc {
	pid_t pid;
	int in, out, err;       /* parent ends, -1 when not piped */
	int pgrp;               /* 1: the child leads its own process group */
};

enum {
	PROC_PIPE_IN = 1,
	PROC_PIPE_OUT = 2,
	PROC_PIPE_ERR = 4,
	PROC_NEWPGRP = 8,       /* child gets its own process group */
};

/* envp NULL = inherit. 0 or -1 with the error set ("exec X: No such file"). */
int proc_spawn(struct proc *p, char *const argv[], char *const envp[], unsigned flags);
/* Wait; deadline_ms absolute (now_ms clock) or 0 for none. Returns the exit
 * status (0-255), 128+signal when killed by a signal, or -1 on timeout
 * (the child was killed and reaped, error "timed out"). Closes the parent's
 * pipe ends first (stdin EOF for the child). */
int proc_wait(struct proc *p, long long deadline_ms);
/* Send sig to the child's process group (PROC_NEWPGRP) or to the child. */
void proc_kill(struct proc *p, int sig);
/* One write(2) that cannot raise SIGPIPE: returns bytes written, or -1 with
 * errno (EPIPE when the reader is gone, EAGAIN on a full non-blocking pipe). */
ssize_t proc_write(int fd, const void *buf, size_t n);
/* Feed in/inlen to p's stdin (closed when all is written, or at once when
 * inlen is 0) while handing each chunk of its stdout to on_out, until stdout
 * ends.  Returns 0 at the end of stdout, -1 when on_out (or poll) failed
 * (error set), -2 when the deadline (absolute, 0 = none) passed first.  The
 * child is neither killed nor reaped: the caller decides. */
int proc_pump(struct proc *p, const char *in, size_t inlen,
              int (*on_out)(void *ctx, const char *buf, size_t n), void *ctx,
              long long deadline_ms);
/* Run argv in its own process group, feeding `in` (may be NULL: stdin is
 * inherited), collecting stdout into out (out->cap bounds it; exceeding it
 * kills the child); stderr passes through.  Returns as proc_wait, or -2 when
 * the program could not be run or its output overran (error set). */
int proc_run(char *const argv[], const char *in, size_t inlen, struct strbuf *out,
             long long deadline_ms);
/* Find an executable: dir/name for each dir in the colon list; NULL if none.
 * Empty list elements are skipped. Caller frees. */
char *proc_find(const char *name, const char *dirs);
/* Where dm's own programs (dm-CMD, dm-driver-NAME) are looked for, as a
 * PATH-style list: $DM_LIBEXECDIR (itself a list), the compiled-in libexec
 * dir, the running binary's directory, then $PATH.  Caller frees. */
char *proc_libexec_path(void);
/* proc_find(name, proc_libexec_path()); NULL if not found. Caller frees. */
char *proc_find_libexec(const char *name);

#endif
