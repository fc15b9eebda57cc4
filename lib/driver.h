/* driver.h - the driver protocol client (DESIGN §5, dm-driver(7)).
 *
 * A driver is an executable dm-driver-NAME found in $DM_LIBEXECDIR, the
 * compiled-in libexec dir, the directory of the running binary, then PATH.
 *
 *   dm-driver-NAME describe            -> {"Name":…,"Flags":[…]}
 *   dm-driver-NAME VERB < host.json    -> JSON Lines on stdout
 *
 * Lines: {"Log":"text"}, {"Driver":{…}} (persist now), and one answer
 * ({"State"}, {"IP"}, {"URL"}, {"SSH":{…}}, {"OK":true}) or {"Error":"text"}.
 * Batch read verbs (state, ip, url) take one host per line and answer one
 * line per host carrying "Name".
 */
#ifndef DRIVER_H
#define DRIVER_H

#include <jansson.h>

#include "util.h"

/* Path of dm-driver-NAME or NULL with the error set to 0.16.2's
 * `Driver "x" not found. Do you have the plugin binary "docker-machine-driver-x" accessible in your PATH?` */
char *driver_path(const char *name);
/* Installed driver names (for completion), sorted. */
void driver_list(struct strvec *names);

/* `describe`: borrowed-cache-free; caller json_decref's. */
int driver_describe(const char *name, json_t **out);

struct driver_cb {
	void (*log)(void *ctx, const char *text);            /* {"Log"} */
	int (*persist)(void *ctx, json_t *driver);           /* {"Driver"}: save now; -1 aborts */
	void *ctx;
};

/* Run VERB for one host: sends host (plus "Flags" when flags != NULL) on
 * stdin, handles Log/Driver lines through cb, returns the answer object
 * (new reference) in *answer.  Returns 0; or -1 with the error set to the
 * driver's {"Error"} text (or a protocol/timeout message).  *exit_code (may be
 * NULL) receives the driver's exit status (3 for a failed precreate-check). */
int driver_call(const char *name, const char *verb, json_t *host, json_t *flags,
                const struct driver_cb *cb, int timeout_ms, json_t **answer, int *exit_code);

/* Batch read verb over many hosts of one driver; answers arrive through
 * on_answer(ctx, index, answer) as they come (answer borrowed).  Hosts not
 * answered when the deadline (absolute ms) passes are reported with
 * answer NULL.  Runs without blocking other batches: see driver_batch_many. */
struct driver_batch {
	const char *driver;
	const char *verb;
	json_t **hosts;
	size_t n;
	void (*on_answer)(void *ctx, size_t index, json_t *answer);
	void *ctx;
	/* internal */
	struct {
		int pid, out;
		struct strbuf line;
		char *done;
	} st;
};
/* Run several batches (different drivers) at once until all answered or deadline. */
void driver_batch_many(struct driver_batch *b, size_t nb, long long deadline_ms);

#endif
