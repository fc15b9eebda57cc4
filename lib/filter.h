/* filter.h - `ls --filter` (0.16.2 semantics).
 *
 * Keys (lower-cased): name (unanchored POSIX ERE standing in for Go regexp),
 * driver, state, swarm (the master's name), label (k=v against the engine
 * labels in config).  The same key repeated = OR, different keys = AND.
 * Errors: "Unsupported filter key 'x'", "Unsupported filter syntax".
 */
#ifndef FILTER_H
#define FILTER_H

#include "util.h"

struct filter;

/* Parse the --filter values; NULL with the error set. */
struct filter *filter_parse(const struct strvec *specs);
void filter_free(struct filter *f);

struct filter_item {
	const char *name, *driver, *state, *swarm_master;   /* "" when unknown */
	const struct strvec *labels;                          /* "k=v" */
};
/* Whether state= filters exist (ls then needs every machine's state first). */
int filter_needs_state(const struct filter *f);
int filter_match(const struct filter *f, const struct filter_item *it);

#endif
