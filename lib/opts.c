/* opts.c - option tables: parsing, -h text, completion data. See opts.h. */
#include <stdlib.h>
#include <string.h>

#include "dm.h"
#include "opts.h"
#include "tabwriter.h"

static const struct opt *find_long(const struct cmd_spec *spec, const char *name, size_t n)
{
	for (size_t i = 0; i < spec->nopts; i++) {
		const struct opt *o = &spec->opts[i];
		if (strlen(o->name) == n && !strncmp(o->name, name, n))
			return o;
		if (o->shortname && n == 1 && name[0] == o->shortname)
			return o;
	}
	return NULL;
}

const struct opt *opts_find(const struct cmd_spec *spec, const char *arg)
{
	const char *name = arg;
	size_t n;
	while (*name == '-')
		name++;
	n = strcspn(name, "=");
	return find_long(spec, name, n);
}

static void split_env_list(struct strvec *sv, const char *s)
{
	while (*s) {
		size_t n = strcspn(s, ",");
		char *item = xstrndup(s, n);
		sv_push_owned(sv, item);
		s += n;
		if (*s == ',')
			s++;
	}
}

static int set_value(struct optval *v, const char *flagname, const char *val)
{
	const struct opt *o = v->opt;
	switch (o->type) {
	case OPT_BOOL: {
		int b;
		if (parse_bool(val, &b) < 0)
			return dm_seterr("invalid boolean value \"%s\" for -%s: parse error", val, flagname);
		v->on = b;
		break;
	}
	case OPT_INT:
		if (parse_long(val, -2147483647L, 2147483647L, &v->num, "") < 0)
			return dm_seterr("invalid value \"%s\" for flag -%s: parse error", val, flagname);
		v->str = val;
		break;
	case OPT_STRING:
		v->str = val;
		break;
	case OPT_SLICE:
		sv_push(&v->list, val);
		break;
	}
	return 0;
}

static void apply_defaults(struct optset *os)
{
	for (size_t i = 0; i < os->spec->nopts; i++) {
		struct optval *v = &os->v[i];
		const struct opt *o = v->opt;
		const char *env = o->envvar ? getenv(o->envvar) : NULL;
		if (v->given)
			continue;
		if (env && *env) {
			v->from_env = 1;
			switch (o->type) {
			case OPT_BOOL:
				if (parse_bool(env, &v->on) < 0)
					v->on = 0;
				break;
			case OPT_INT:
				if (parse_long(env, -2147483647L, 2147483647L, &v->num, "") == 0) {
					v->str = env;
					break;
				}
				v->from_env = 0;
				/* fall back to the default */
				if (o->defval)
					parse_long(o->defval, -2147483647L, 2147483647L, &v->num, "");
				v->str = o->defval;
				break;
			case OPT_STRING:
				v->str = env;
				break;
			case OPT_SLICE:
				split_env_list(&v->list, env);
				break;
			}
			continue;
		}
		if (o->type == OPT_INT && o->defval)
			parse_long(o->defval, -2147483647L, 2147483647L, &v->num, "");
		if (o->type == OPT_STRING || o->type == OPT_INT)
			v->str = o->defval;
	}
}

int opts_parse(struct optset *os, const struct cmd_spec *spec, int argc, char **argv)
{
	int i, rest = 0;
	memset(os, 0, sizeof(*os));
	os->spec = spec;
	os->v = xcalloc(spec->nopts + 1, sizeof(*os->v));
	for (size_t k = 0; k < spec->nopts; k++)
		os->v[k].opt = &spec->opts[k];

	for (i = 0; i < argc; i++) {
		const char *a = argv[i], *name, *eq;
		const struct opt *o;
		size_t n;
		struct optval *v;

		if (rest || a[0] != '-' || a[1] == 0) {
			sv_push(&os->args, a);
			if (spec->raw_args)
				rest = 1;
			continue;
		}
		if (!strcmp(a, "--")) {
			rest = 1;
			if (spec->raw_args)
				sv_push(&os->args, a);
			continue;
		}
		name = a + 1;
		if (*name == '-')
			name++;
		if (*name == 0 || *name == '-' || *name == '=')
			return dm_seterr("bad flag syntax: %s", a);
		eq = strchr(name, '=');
		n = eq ? (size_t)(eq - name) : strlen(name);
		o = find_long(spec, name, n);
		if (!o) {
			if ((n == 1 && name[0] == 'h') || (n == 4 && !strncmp(name, "help", 4))) {
				os->help = 1;
				continue;
			}
			return dm_seterr("flag provided but not defined: -%.*s", (int)n, name);
		}
		v = &os->v[o - spec->opts];
		v->given = 1;
		char *flagname = xstrndup(name, n);
		int r;
		if (eq) {
			r = set_value(v, flagname, eq + 1);
		} else if (o->type == OPT_BOOL) {
			v->on = 1;
			r = 0;
		} else if (i + 1 < argc) {
			r = set_value(v, flagname, argv[++i]);
		} else {
			r = dm_seterr("flag needs an argument: -%s", flagname);
		}
		free(flagname);
		if (r < 0)
			return -1;
	}
	apply_defaults(os);
	return 0;
}

void opts_free(struct optset *os)
{
	if (!os->v)
		return;
	for (size_t i = 0; i < os->spec->nopts; i++)
		sv_clear(&os->v[i].list);
	free(os->v);
	sv_clear(&os->args);
	os->v = NULL;
}

struct optval *opts_get(struct optset *os, const char *name)
{
	for (size_t i = 0; i < os->spec->nopts; i++)
		if (!strcmp(os->v[i].opt->name, name))
			return &os->v[i];
	fprintf(stderr, "BUG: option --%s not in the table of '%s'\n", name, os->spec->name);
	abort();
}

int opts_on(struct optset *os, const char *name)
{
	return opts_get(os, name)->on;
}

const char *opts_str(struct optset *os, const char *name)
{
	const char *s = opts_get(os, name)->str;
	return s ? s : "";
}

long opts_int(struct optset *os, const char *name)
{
	return opts_get(os, name)->num;
}

struct strvec *opts_list(struct optset *os, const char *name)
{
	return &opts_get(os, name)->list;
}

/* ---- help ---- */

static void add_names(const struct opt *o, struct strbuf *out)
{
	sb_adds(out, strlen(o->name) == 1 ? "-" : "--");
	sb_adds(out, o->name);
	if (o->shortname)
		sb_addf(out, ", -%c", o->shortname);
}

void opts_flag_text(const struct opt *o, struct strbuf *out)
{
	const char *dash = strlen(o->name) == 1 ? "-" : "--";
	add_names(o, out);
	switch (o->type) {
	case OPT_BOOL:
		break;
	case OPT_INT:
		sb_addf(out, " \"%s\"", o->defval ? o->defval : "0");
		break;
	case OPT_STRING:
		if (o->defval && *o->defval)
			sb_addf(out, " \"%s\"", o->defval);
		else
			sb_addc(out, ' ');
		break;
	case OPT_SLICE:
		sb_addf(out, " [%s%s option %s%s option]", dash, o->name, dash, o->name);
		break;
	}
}

void opts_usage_text(const struct opt *o, struct strbuf *out)
{
	sb_adds(out, o->usage ? o->usage : "");
	if (o->envvar)
		sb_addf(out, " [$%s]", o->envvar);
}

const char *opts_progname(void)
{
	static char *name;
	const char *a0 = getenv("DM_ARGV0");
	if (name)
		return name;
	if (a0 && *a0) {
		const char *s = strrchr(a0, '/');
		name = xstrdup(s ? s + 1 : a0);
	} else {
		name = xstrdup(dm_progname);
	}
	return name;
}

static int visible(const struct opt *o)
{
	return !(o->flags & OPTF_HIDDEN);
}

void opts_help(const struct cmd_spec *spec, const char *progname, FILE *f)
{
	struct tabwriter tw;
	struct strbuf out = STRBUF_INIT, cell = STRBUF_INIT;
	int nflags = 0;
	for (size_t i = 0; i < spec->nopts; i++)
		nflags += visible(&spec->opts[i]);

	tw_init(&tw, 0, 8, 1, '\t');
	if (spec->name[0] && str_starts(progname, "dm-"))
		tw_printf(&tw, "Usage: %s%s [arg...]\n\n%s", progname, nflags ? " [OPTIONS]" : "",
		          spec->usage);
	else
		tw_printf(&tw, "Usage: %s %s%s [arg...]\n\n%s", progname, spec->name,
		          nflags ? " [OPTIONS]" : "", spec->usage);
	if (spec->description)
		tw_printf(&tw, "\n\nDescription:\n   %s", spec->description);
	if (nflags) {
		tw_write(&tw, "\n\nOptions:\n   ");
		for (size_t i = 0; i < spec->nopts; i++) {
			const struct opt *o = &spec->opts[i];
			if (!visible(o))
				continue;
			sb_reset(&cell);
			opts_flag_text(o, &cell);
			sb_addc(&cell, '\t');
			opts_usage_text(o, &cell);
			tw_write(&tw, "\n   ");
			tw_write(&tw, cell.buf);
		}
	}
	tw_write(&tw, "\n");
	tw_flush(&tw, &out);
	fwrite(out.buf, 1, out.len, f);
	tw_free(&tw);
	sb_release(&out);
	sb_release(&cell);
}

int opts_usage_error(const struct cmd_spec *spec, const char *progname, const char *msg)
{
	fputs("Incorrect Usage.\n\n", stdout);
	opts_help(spec, progname, stdout);
	fflush(stdout);
	fprintf(stderr, "%s\n", msg);
	return DM_EXIT_USAGE;
}

void opts_complete_flags(const struct cmd_spec *spec, FILE *f)
{
	for (size_t i = 0; i < spec->nopts; i++) {
		const struct opt *o = &spec->opts[i];
		if (!visible(o))
			continue;
		fprintf(f, "%s%s\n", strlen(o->name) == 1 ? "-" : "--", o->name);
		if (o->shortname)
			fprintf(f, "-%c\n", o->shortname);
	}
}

int opts_parse_main(struct optset *os, const struct cmd_spec *spec, int argc, char **argv,
                    int *status)
{
	if (opts_parse(os, spec, argc, argv) < 0) {
		char *msg = xstrdup(dm_strerr());
		*status = opts_usage_error(spec, opts_progname(), msg);
		free(msg);
		return -1;
	}
	if (os->help) {
		opts_help(spec, opts_progname(), stdout);
		*status = DM_EXIT_OK;
		return -1;
	}
	return 0;
}
