/* proc.h - child processes from argv vectors (never a shell string).
 *
 * proc_spawn starts argv[0] (looked up in PATH when it has no '/') with
 * pipes as asked; proc_wait_deadline reaps it, killing the process group
 * with SIGTERM then SIGKILL once the deadline passes.
 */
#ifndef PROC_H
#define PROC_H

#include <sys/types.h>

#include "util.h"

struct proc {
	pid_t pid;
	int in, out, err;       /* parent ends, -1 when not piped */
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
 * (the child was killed and reaped). */
int proc_wait(struct proc *p, long long deadline_ms);
/* Run argv, feeding `in` (may be NULL), collecting stdout (capped) into out;
 * stderr passes through. Returns as proc_wait. */
int proc_run(char *const argv[], const char *in, size_t inlen, struct strbuf *out,
             long long deadline_ms);
/* Find an executable: dir/name for each dir in the colon list; NULL if none. */
char *proc_find(const char *name, const char *dirs);

#endif
