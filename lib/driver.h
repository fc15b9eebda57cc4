/* driver.h - the driver protocol client (DESIGN §5, dm-driver(7)).
 *
 * A driver is an executable dm-driver-NAME found in each directory of
 * $DM_LIBEXECDIR (colon-separated), the compiled-in libexec dir, the
 * directory of the running binary (/proc/self/exe), then $PATH.
 *
 *   dm-driver-NAME describe            -> {"Name":…,"Flags":[…]}
 *   dm-driver-NAME VERB < host.json    -> JSON Lines on stdout
 *
 * Lines: {"Log":"text"}, {"Driver":{…}} (persist now), and one answer
 * ({"State"}, {"IP"}, {"URL"}, {"SSH":{…}}, {"OK":true}) or {"Error":"text"}.
 * Every line is one JSON object of at most DM_CAP_LINE bytes; blank lines are
 * ignored; anything else is a protocol error (the driver is killed).
 *
 * Batch read verbs (state, ip, url) take one host per line (compact JSON,
 * reduced to its Name, DriverName and Driver members)
 * and answer one line per host carrying "Name", in any order, as soon as
 * each is known.  An answer may carry more than the verb asks: a `state`
 * answer may include "URL" (and "IP") so that ls needs one round trip per
 * driver, e.g. {"Name":"n1","State":"Running","URL":"tcp://1.2.3.4:2376"}.
 * A line {"Error":"text"} without "Name" is an error for every host the
 * driver has not answered.
 *
 * `set-config` (used by dm-create before precreate-check) checks the Flags
 * and answers the driver's initial state as a {"Driver":{…}} line, or an
 * {"Error"} in 0.16.2's words ("--url option is required when no driver is
 * selected"); dm-driver-none implements it.
 *
 * Drivers run in their own process group with stdin/stdout piped; stderr is
 * the caller's (debug output of the driver reaches the user's terminal).
 * Being in their own group, drivers do not get the terminal's SIGINT: a
 * caller that wants to pass Ctrl-C on must signal the group itself.
 */
#ifndef DRIVER_H
#define DRIVER_H

#include <jansson.h>

#include "proc.h"
#include "util.h"

/* Path of dm-driver-NAME (caller frees) or NULL with the error set to 0.16.2's
 * `Driver "x" not found. Do you have the plugin binary "docker-machine-driver-x" accessible in your PATH?` */
char *driver_path(const char *name);
/* Installed driver names (for completion), sorted, without duplicates. */
void driver_list(struct strvec *names);

/* `describe` (10 s deadline): *out is a new reference the caller json_decref's. */
int driver_describe(const char *name, json_t **out);

struct driver_cb {
	void (*log)(void *ctx, const char *text);            /* {"Log"} */
	int (*persist)(void *ctx, json_t *driver);           /* {"Driver"}: save now; -1 aborts */
	void *ctx;
};

/* Run VERB for one host: sends host (plus "Flags" when flags != NULL; host
 * may be NULL for describe: stdin is then empty) on stdin, handles Log/Driver
 * lines through cb (cb or its members may be NULL: Log lines then go to
 * stderr as "(NAME) text", Driver lines are dropped), returns the answer
 * object (new reference) in *answer — {} when the driver exits 0 without an
 * answer line.  timeout_ms 0 = no deadline.
 * Returns 0; or -1 with *answer NULL and the error set to the driver's
 * {"Error"} text, a persist failure, a protocol message, `driver NAME: VERB
 * timed out` or `driver NAME: VERB: exit status N`.
 * *exit_code (may be NULL) receives the driver's exit status (3 for a failed
 * precreate-check, 128+signal), -1 on timeout, -2 when it could not be run. */
int driver_call(const char *name, const char *verb, json_t *host, json_t *flags,
                const struct driver_cb *cb, int timeout_ms, json_t **answer, int *exit_code);

/* Batch read verb over many hosts of one driver; answers arrive through
 * on_answer(ctx, index, answer) as they come (answer borrowed, valid during
 * the call), exactly once per host.  A host answer is the driver's line
 * (matched to hosts[index] by "Name"), or {"Name","Error"} made up when the
 * driver is missing, fails, or exits without answering that host.  Hosts not
 * answered when the deadline (absolute ms, now_ms clock) passes are reported
 * with answer NULL (the caller shows Timeout) and the driver's process group
 * is killed.  Fill driver, verb, hosts, n, on_answer, ctx; `st` is internal. */
struct driver_batch {
	const char *driver;
	const char *verb;
	json_t **hosts;
	size_t n;
	void (*on_answer)(void *ctx, size_t index, json_t *answer);
	void *ctx;
	/* internal */
	struct {
		struct proc p;
		struct strbuf in, line;
		size_t inoff, left;
		char *done;
		char *err;          /* a Name-less {"Error"} */
		int active;
	} st;
};
/* Run several batches (different drivers) at once, in one poll(2) loop,
 * until all are answered or the deadline passes. */
void driver_batch_many(struct driver_batch *b, size_t nb, long long deadline_ms);

/* Ask VERB of every hosts[i] (NULL entries are skipped): one batch per
 * DriverName, all at once, under one deadline.  on_answer gets the index
 * into hosts and the answer (borrowed; NULL when the deadline passed). */
void driver_ask_many(json_t *const *hosts, size_t n, const char *verb,
                     void (*on_answer)(void *ctx, size_t index, json_t *answer), void *ctx,
                     long long deadline_ms);

#endif
