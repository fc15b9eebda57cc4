/* opts.h - option tables: one table per binary drives argv parsing, -h,
 * completion (__complete) and the man page OPTIONS block.
 *
 * Parsing follows Go's flag package as used by Docker Machine: "-name" and
 * "--name" are the same flag; values as "--name=v" or "--name v"; booleans
 * take no separate value ("--name=false" works).  Unlike 0.16.2, flags may
 * follow positional arguments (until "--"), and an unknown flag is a usage
 * error (exit 2).  A flag not given falls back to its environment variable
 * (slices: comma-separated), then to its default.
 */
#ifndef OPTS_H
#define OPTS_H

#include <stdio.h>

#include "util.h"

enum opt_type { OPT_BOOL, OPT_STRING, OPT_INT, OPT_SLICE };

/* What completion offers for a flag's value or a command's arguments. */
enum opt_comp {
	COMP_NONE = 0,
	COMP_MACHINE,     /* a machine name from the store */
	COMP_FILE,        /* a local path */
	COMP_DIR,
	COMP_DRIVER,      /* an installed driver name */
	COMP_SHELL,       /* bash fish ... */
	COMP_FILTER,      /* ls --filter key=value */
	COMP_LIST,        /* the words in opt.values */
	COMP_COMMAND,     /* a docker-machine command */
};

enum {
	OPTF_HIDDEN = 1,    /* parsed but not shown in -h or completion */
	OPTF_SECRET = 2,    /* value is a credential: never logged, redacted */
	OPTF_REQUIRED = 4,
};

struct opt {
	const char *name;       /* long name without dashes: "storage-path" */
	char shortname;         /* 's', or 0 */
	enum opt_type type;
	const char *defval;     /* default as shown in -h ("10"); NULL = none */
	const char *envvar;     /* "MACHINE_STORAGE_PATH", or NULL */
	const char *usage;
	enum opt_comp comp;
	const char *values;     /* COMP_LIST: space-separated words */
	unsigned flags;
};

struct cmd_spec {
	const char *name;        /* "ls"; "" for the top level */
	const char *usage;       /* one line: "List machines" */
	const char *description; /* "Argument is a machine name." or NULL */
	const struct opt *opts;
	size_t nopts;
	enum opt_comp args;      /* what positional arguments are */
	int raw_args;            /* 1: no flag parsing after the first argument (ssh) */
};

/* One parsed flag. */
struct optval {
	const struct opt *opt;
	int given;              /* on the command line */
	int from_env;           /* from the environment variable */
	int on;                 /* OPT_BOOL */
	long num;               /* OPT_INT */
	const char *str;        /* OPT_STRING (points into argv, env or defval) */
	struct strvec list;     /* OPT_SLICE */
};

struct optset {
	const struct cmd_spec *spec;
	struct optval *v;       /* one per spec->opts entry, same order */
	struct strvec args;     /* positional arguments */
	int help;               /* -h/--help was given */
};

/* Parse argv[0..argc) (argv[0] is NOT skipped: pass argc-1, argv+1).
 * Returns 0, or -1 with the error set to the 0.16.2 text
 * ("flag provided but not defined: -bogus", "flag needs an argument: -t",
 * "invalid value \"x\" for flag -t: parse error").
 * Extra driver flags may be appended to the spec by the caller (create). */
int opts_parse(struct optset *os, const struct cmd_spec *spec, int argc, char **argv);
void opts_free(struct optset *os);

/* Lookup by long name; aborts if the name is not in the table (a programming error). */
struct optval *opts_get(struct optset *os, const char *name);
int opts_on(struct optset *os, const char *name);
const char *opts_str(struct optset *os, const char *name); /* "" when unset */
long opts_int(struct optset *os, const char *name);
struct strvec *opts_list(struct optset *os, const char *name);

/* The flag as shown by -h: `--name, -n "default"`, `--x [--x option --x option]`. */
void opts_flag_text(const struct opt *o, struct strbuf *out);
/* The usage cell: usage + " [$ENV]". */
void opts_usage_text(const struct opt *o, struct strbuf *out);

/* Command help in the reference layout, to f:
 *   Usage: docker-machine NAME [OPTIONS] [arg...]
 *   ...
 * progname is "docker-machine" (or the binary's name). */
void opts_help(const struct cmd_spec *spec, const char *progname, FILE *f);
/* Print the usage error: "Incorrect Usage." + help on stdout, msg on stderr;
 * returns DM_EXIT_USAGE. */
int opts_usage_error(const struct cmd_spec *spec, const char *progname, const char *msg);

/* Completion data: flags of spec ("--name" per line, short forms too). */
void opts_complete_flags(const struct cmd_spec *spec, FILE *f);
const struct opt *opts_find(const struct cmd_spec *spec, const char *arg);

/* Standard parse for a command binary: parse, handle -h (help, exit 0) and
 * errors (usage error, exit 2).  Returns -1 and sets *status when main must
 * exit with *status; 0 when parsing succeeded. */
int opts_parse_main(struct optset *os, const struct cmd_spec *spec, int argc, char **argv,
                    int *status);

/* The name users see for the command in messages: "docker-machine" when run
 * through the dispatcher (DM_ARGV0 set), else the binary name. */
const char *opts_progname(void);

#endif
