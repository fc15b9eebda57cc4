/* json.h - the thin layer over jansson.
 *
 * Ownership (jansson's rule, stated once): functions named *_new or taking a
 * "steal" argument consume the reference passed in; getters return borrowed
 * references valid while the parent lives.  dj_* getters never create values.
 *
 * Getters return 0, or -1 with an error naming the key ("X: missing",
 * "X: expected string").  The _opt variants return the default when the key
 * is missing or null, and -1 only on a wrong type.
 */
#ifndef JSON_H
#define JSON_H

#include <jansson.h>

#include "util.h"

int dj_get_str(json_t *obj, const char *key, const char **out);
int dj_get_int(json_t *obj, const char *key, long long *out);
int dj_get_bool(json_t *obj, const char *key, int *out);
int dj_get_obj(json_t *obj, const char *key, json_t **out);
int dj_get_arr(json_t *obj, const char *key, json_t **out);

const char *dj_str(json_t *obj, const char *key, const char *def); /* never fails */
long long dj_int(json_t *obj, const char *key, long long def);
int dj_bool(json_t *obj, const char *key, int def);
/* Path lookup "HostOptions.AuthOptions.CertDir"; NULL when absent. Borrowed. */
json_t *dj_path(json_t *root, const char *dotted);

/* Set helpers (the value is copied / created). */
void dj_set_str(json_t *obj, const char *key, const char *s);
void dj_set_int(json_t *obj, const char *key, long long v);
void dj_set_bool(json_t *obj, const char *key, int v);
void dj_set(json_t *obj, const char *key, json_t *steal);

/* Parse text (size-capped by the caller); -1 with jansson's message. */
int dj_parse(const char *text, size_t len, json_t **out);

/* Encode like Go's encoding/json: indent = 0 for compact (json.Marshal) or the
 * number of spaces (MarshalIndent with 4); sort = 1 sorts object keys (a Go
 * map), else insertion order (a Go struct).  Escapes <, >, & and U+2028/9 as
 * Go does.  No trailing newline. */
enum { DJ_SORT = 1 };
int dj_encode(json_t *v, int indent, int flags, struct strbuf *out);

/* Go fmt %v of a value: strings raw, objects as "map[k:v ...]" with sorted keys
 * (or "{v v}" in insertion order when structs=1), arrays as "[a b]", null as
 * "<nil>" ("[]" for a null slice is the caller's choice). */
int dj_format_go(json_t *v, int structs, struct strbuf *out);

#endif
