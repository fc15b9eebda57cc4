/* probe.h - the rows of `ls` (and `active`): every machine's state, URL and
 * engine version, gathered in parallel under one deadline.
 *
 * One driver process per driver in use answers for all of its machines
 * (batch `state`); every running engine is asked its version at once (curl
 * multi).  A machine whose answer has not come by the deadline is a Timeout
 * row; the others are complete.
 */
#ifndef PROBE_H
#define PROBE_H

#include <jansson.h>

#include "filter.h"
#include "store.h"

struct probe_row {
	char *name;
	json_t *host;          /* NULL when the config could not be loaded */
	char *driver;          /* "not found" for broken entries */
	char *state;           /* "" Running … Error Timeout */
	char *url;
	char *active;          /* "*", "* (swarm)", "-", or "" */
	int active_host, active_swarm;
	char *swarm;           /* "master (master)", "master", "" */
	char *docker;          /* "v20.10.24", "Unknown", "" */
	char *error;
	long response_ms;
	struct strvec labels;  /* engine labels, for filters */
};

struct probe_opts {
	int timeout_s;          /* per ls -t */
	int want_state;         /* ask drivers for state */
	int want_engine;        /* ask engines for their version */
};

/* Load every machine in the store (natural order) into rows. */
int probe_load(const struct store *st, struct probe_row **rows, size_t *n);
/* Fill state/url/active/docker/error for rows[i] where sel[i] (sel may be NULL = all). */
void probe_run(const struct store *st, struct probe_row *rows, size_t n, const char *sel,
               const struct probe_opts *po);
/* The filter view of a row. */
void probe_filter_item(const struct probe_row *r, struct filter_item *it);
/* Row as the ls template sees it (fields in 0.16.2's order). New reference. */
json_t *probe_row_json(const struct probe_row *r);
void probe_free(struct probe_row *rows, size_t n);

#endif
