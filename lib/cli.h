/* cli.h - what every command binary shares: the command catalogue (names,
 * one-line usage, description: the dispatcher's help and each binary's -h
 * read the same table), the store from the environment the dispatcher
 * exported, machine-name arguments (with "-" = read from stdin), and the
 * command line as the user typed it (for the hints env and create print).
 */
#ifndef CLI_H
#define CLI_H

#include <jansson.h>

#include "opts.h"
#include "store.h"

struct cmd_info {
	const char *name;
	const char *usage;
	const char *description;   /* NULL when none */
};
extern const struct cmd_info dm_commands[];   /* help order, NULL-terminated */
const struct cmd_info *cmd_info_find(const char *name);

/* Fill spec->name/usage/description from the catalogue (aborts if unknown). */
void cli_spec(struct cmd_spec *spec, const char *name);

/* Store from -s/MACHINE_STORAGE_PATH and MACHINE_TLS_* (exported by the
 * dispatcher). Returns 0 or -1 with the error set. */
int cli_store(struct store *st);

/* Expand the machine-name arguments:
 *   - none: "default" if allow_default and it exists, else the error
 *     `Error: No machine name(s) specified and no "default" machine exists`;
 *   - "-": read stdin, one name per line, or JSON objects (one per line, or a
 *     JSON array) taking their "Name" member; blank lines skipped.
 * Names are not checked for existence here. */
int cli_names(const struct store *st, const struct strvec *args, int allow_default,
              struct strvec *names);

/* The user's command line as 0.16.2 joins os.Args: argv[0] double-quoted
 * when it has a space or '\'.  From $DM_CMDLINE (set by the dispatcher) or
 * this process's own argv. */
const char *cli_cmdline(void);
void cli_set_argv(int argc, char **argv);
/* argv[0] as typed ("docker-machine", or "dm-env" when run directly). */
const char *cli_argv0(void);

/* Machine state names, index = 0.16.2's numeric state. */
extern const char *const dm_states[];

/* The standard start of a command's main: records argv, answers the hidden
 * `__complete` and `__options` verbs, parses options (-h: help, exit 0; errors: usage, exit 2).
 * Returns 0 to go on, or -1 when main must return *status. */
int cli_parse(struct optset *os, const struct cmd_spec *spec, int argc, char **argv, int *status);

/* The option table as JSON (the hidden `__options` verb every binary answers;
 * the completion and man page generators read it). New reference. */
json_t *opts_to_json(const struct cmd_spec *spec);

/* Print one JSON value per line to stdout (compact, stable key order). */
int cli_print_json(json_t *v);

#endif
