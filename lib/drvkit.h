/* drvkit.h - the driver side of the protocol (driver.h is the caller's side).
 *
 * A dm-driver-NAME binary holds its provider logic and one table of flags and
 * one of verbs; drvkit does the rest: argv, `describe`, reading the host
 * records from stdin, writing the JSON Lines, counting failures and choosing
 * the exit status.
 *
 *   static const struct opt flags[] = {
 *       { "generic-ssh-port", 0, OPT_INT, "22", "GENERIC_SSH_PORT", "SSH port", 0, NULL, 0 },
 *       ...
 *   };
 *   static const struct drv_verb verbs[] = {
 *       { "create", do_create, NULL }, ..., { "state", NULL, do_batch }, ...
 *   };
 *   static const struct drv_spec spec = { "generic", flags, ARRAY_SIZE(flags),
 *                                         verbs, ARRAY_SIZE(verbs) };
 *   int main(int argc, char **argv) { return drv_main(&spec, argc, argv); }
 *
 * The flag table is the project's option table (opts.h): `describe` is
 * generated from it, in table order, as
 *   {"Name":NAME,"Flags":[{"Name","Type","Usage","EnvVar","Value","Required","Secret"}]}
 * Type is "string", "int", "bool" or "stringslice"; Value is the default:
 * a number for int (defval parsed, 0 when NULL), a boolean for bool (false
 * unless defval is "true"), an array for slices (defval split at commas, []
 * when NULL or empty), else the string (NULL: "").  Required and Secret come
 * from OPTF_REQUIRED and OPTF_SECRET.  shortname, comp, values and
 * OPTF_HIDDEN are not part of the protocol and are not sent.
 *
 * Output: every line is written with write(2) the moment it is made (batch
 * answers stream; nothing waits in a buffer).  If stdout is gone (EPIPE
 * where SIGPIPE is ignored, or any other write error) the process ends at
 * once with DM_EXIT_FAIL: a create nobody listens to must not go on making
 * resources.  This is the one place in the library that ends the process;
 * drvkit is the driver's main loop.
 *
 * Exit status of drv_main: 0 ok; 1 an {"Error"} was answered (or stdin could
 * not be read); 2 usage (no verb, an unknown verb, extra arguments); 3 a
 * precreate-check failure was answered (drv_precreate_error).
 */
#ifndef DRVKIT_H
#define DRVKIT_H

#include <jansson.h>

#include "dm.h"
#include "opts.h"
#include "util.h"

/* Everything stdin may hold, and one host record in it (the store's cap). */
#define DRV_CAP_INPUT   (64u << 20)
#define DRV_CAP_RECORD  DM_CAP_CONFIG

struct drv_verb {
	const char *name;       /* "create" */
	/* An action verb: gets the first host record (an empty object when
	 * stdin held none; a record that is not an object is answered with an
	 * error and run is not called). */
	void (*run)(const char *verb, json_t *host);
	/* A batch read verb (state, url, ip): gets every host record that is an
	 * object (each other one is answered with an error), n >= 1. */
	void (*batch)(const char *verb, json_t **hosts, size_t n);
};

struct drv_spec {
	const char *name;             /* "generic" */
	const struct opt *flags;      /* the driver's flags, in describe order */
	size_t nflags;
	const struct drv_verb *verbs; /* in the order the usage message lists them */
	size_t nverbs;
};

/* The whole of a driver's main: dm_init, drv_init, `describe` or one verb.
 * Returns the exit status (after dm_finish). */
int drv_main(const struct drv_spec *spec, int argc, char **argv);

/* Start over with spec: the flag getters use its table; the failure counts
 * are cleared.  drv_main calls it; tests call it. */
void drv_init(const struct drv_spec *spec);

/* The describe object of spec (a new reference). */
json_t *drv_describe_json(const struct drv_spec *spec);

/* ---- output: one JSON object per line on stdout ---- */

/* Write v (compact, Go's encoding) and a newline; takes v. */
void drv_emit(json_t *v);
/* {"Name":name,key:val} ("Name" left out when name is NULL); takes val. */
void drv_answer(const char *name, const char *key, json_t *val);
/* {"Name":name,"Error":text} and one more failure. */
void drv_error(const char *name, const char *text);
void drv_errorf(const char *name, const char *fmt, ...) ATTR_PRINTF(2, 3);
/* An {"Error"} of precreate-check: the exit status becomes 3. */
void drv_precreate_error(const char *text);
/* {"Log":text} for the user. */
void drv_log(const char *fmt, ...) ATTR_PRINTF(1, 2);
/* {"OK":true}. */
void drv_ok(void);
/* {"Driver":d}: the state to persist now; takes d. */
void drv_persist(json_t *d);
/* The ssh-info answer {"SSH":{"Host","Port","User","KeyPath","KnownHosts"}}
 * (a NULL string is sent as ""). */
void drv_answer_ssh(const char *host, long port, const char *user, const char *keypath,
                    const char *known_hosts);

/* Errors answered so far, and the exit status they make (0, 1 or 3). */
int drv_failures(void);
int drv_exit_status(void);

/* ---- input ---- */

/* Host records from fd, read to EOF (at most cap bytes): the whole input as
 * one JSON object or array (a pretty-printed config.json), else one per
 * non-blank line (JSON Lines).  *hosts (caller frees with drv_hosts_free)
 * holds *n new references; n is 0 for blank input.  Returns 0; or -1 with
 * the error set ("input exceeds N bytes", "host record exceeds the size
 * limit" past DRV_CAP_RECORD, "invalid host record: <parser's text>"), and
 * nothing to free. */
int drv_read_hosts(int fd, size_t cap, json_t ***hosts, size_t *n);
void drv_hosts_free(json_t **hosts, size_t n);

/* ---- the host record ---- */

/* Its "Driver" object, or NULL when absent or not an object.  Borrowed. */
json_t *drv_host_driver(json_t *host);
/* Its "Flags" object, or NULL.  Borrowed. */
json_t *drv_host_flags(json_t *host);
/* The machine's name: "Name", else Driver.MachineName; NULL when neither is
 * a non-empty string.  Borrowed. */
const char *drv_host_name(json_t *host);
/* machines/NAME under the store: Driver.StorePath/machines/NAME, else
 * HostOptions.AuthOptions.StorePath (which already is that directory in
 * 0.16.2's records; STORE/machines/NAME if it is not).  NULL when the record
 * has no store path or name.  Caller frees. */
char *drv_machine_dir(json_t *host);

/* dst[key] = src[key] when src (may be NULL) has it, else def.  Takes def
 * (dropped when unused). */
void drv_keep_or(json_t *dst, const char *key, json_t *src, json_t *def);
/* Add each member of src (may be NULL) that dst lacks. */
void drv_merge_missing(json_t *dst, json_t *src);

/* ---- flag values from "Flags" (fl may be NULL), with the table's defaults ----
 * name must be in the table given to drv_init (else abort: a programming
 * error). */

/* A string: the value when it is a string, else the default ("" for none).
 * Borrowed (from fl or the table). */
const char *drv_flag_str(json_t *fl, const char *name);
/* A boolean, or a string Go's strconv.ParseBool accepts; else the default. */
int drv_flag_bool(json_t *fl, const char *name);
/* A number in [min,max]: an integer, or a string of one; absent, null or ""
 * gives the default.  Returns 0, or -1 with the error set
 * ("invalid value \"x\" for --NAME", "--NAME: expected a number"). */
int drv_flag_int(json_t *fl, const char *name, long min, long max, long *out);
/* A string slice: an array (its non-empty strings), or a comma-separated
 * string (from the environment); absent gives the default split at commas.
 * Appends to out. */
void drv_flag_slice(json_t *fl, const char *name, struct strvec *out);

#endif
