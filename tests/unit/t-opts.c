/* t-opts: option tables — parsing (Go flag rules), env fallback, help text. */
#include <stdlib.h>
#include <string.h>

#include "opts.h"
#include "tap.h"

static const struct opt t_opts[] = {
	{ "quiet", 'q', OPT_BOOL, NULL, NULL, "Enable quiet mode", 0, NULL, 0 },
	{ "filter", 0, OPT_SLICE, NULL, "T_FILTER", "Filter output based on conditions provided", 0, NULL, 0 },
	{ "timeout", 't', OPT_INT, "10", "T_TIMEOUT", "Timeout in seconds, default to 10s", 0, NULL, 0 },
	{ "format", 'f', OPT_STRING, NULL, NULL, "Pretty-print machines using a Go template", 0, NULL, 0 },
	{ "y", 0, OPT_BOOL, NULL, NULL, "Assumes yes", 0, NULL, 0 },
	{ "secret", 0, OPT_STRING, NULL, NULL, "hidden", 0, NULL, OPTF_HIDDEN },
};
static struct cmd_spec spec = { "ls", "List machines", NULL, t_opts, ARRAY_SIZE(t_opts), 0, 0 };

static int parse(struct optset *os, const char *line)
{
	char *copy = xstrdup(line), *argv[32], *save = NULL;
	int argc = 0, r;
	for (char *w = strtok_r(copy, " ", &save); w && argc < 31; w = strtok_r(NULL, " ", &save))
		argv[argc++] = w;
	argv[argc] = NULL;
	r = opts_parse(os, &spec, argc, argv);
	/* the values point into argv: keep copy alive for the test's lifetime */
	return r;
}

static const struct {
	const char *line;
	int ok;
	const char *err;
} errors[] = {
	{ "--bogus", 0, "flag provided but not defined: -bogus" },
	{ "-bogus=1", 0, "flag provided but not defined: -bogus" },
	{ "-t", 0, "flag needs an argument: -t" },
	{ "--timeout x", 0, "invalid value \"x\" for flag -timeout: parse error" },
	{ "-q=maybe", 0, "invalid boolean value \"maybe\" for -q: parse error" },
	{ "---x", 0, "bad flag syntax: ---x" },
	{ "-q", 1, NULL },
	{ "-quiet -t 3 --format={{.Name}} a b", 1, NULL },
};

int main(void)
{
	struct optset os;

	for (size_t i = 0; i < ARRAY_SIZE(errors); i++) {
		int r = parse(&os, errors[i].line);
		is_int(r == 0, errors[i].ok, "parse '%s'", errors[i].line);
		if (errors[i].err)
			is_str(dm_strerr(), errors[i].err, "  message");
		opts_free(&os);
	}

	ok(parse(&os, "a --quiet -t 3 -f x --filter name=a --filter=driver=none b") == 0,
	   "flags after arguments");
	is_int(opts_on(&os, "quiet"), 1, "bool");
	is_int(opts_int(&os, "timeout"), 3, "int");
	is_str(opts_str(&os, "format"), "x", "string");
	is_int(opts_list(&os, "filter")->n, 2, "slice: two values");
	is_str(opts_list(&os, "filter")->v[1], "driver=none", "slice value with '='");
	is_int(os.args.n, 2, "positionals");
	is_str(os.args.v[1], "b", "positional order");
	opts_free(&os);

	ok(parse(&os, "-q -- -t 5") == 0, "-- ends the flags");
	is_int(opts_int(&os, "timeout"), 10, "default after --");
	is_int(os.args.n, 2, "words after -- are arguments");
	opts_free(&os);

	ok(parse(&os, "-q=false -y") == 0, "bool =false, one-letter long name");
	is_int(opts_on(&os, "quiet"), 0, "-q=false");
	is_int(opts_on(&os, "y"), 1, "-y");
	opts_free(&os);

	ok(parse(&os, "-h") == 0 && os.help, "-h asks for help");
	opts_free(&os);

	setenv("T_TIMEOUT", "7", 1);
	setenv("T_FILTER", "a=1,b=2", 1);
	ok(parse(&os, "") == 0, "env fallback");
	is_int(opts_int(&os, "timeout"), 7, "int from env");
	is_int(opts_get(&os, "timeout")->from_env, 1, "from_env set");
	is_int(opts_list(&os, "filter")->n, 2, "slice from env, comma-separated");
	opts_free(&os);
	ok(parse(&os, "-t 2") == 0 && opts_int(&os, "timeout") == 2, "flag beats env");
	opts_free(&os);
	unsetenv("T_TIMEOUT");
	unsetenv("T_FILTER");

	/* help text in 0.16.2's layout (Go tabwriter, tabs) */
	{
		char *buf = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);
		opts_help(&spec, "docker-machine", f);
		fclose(f);
		is_str(buf,
		       "Usage: docker-machine ls [OPTIONS] [arg...]\n\nList machines\n\nOptions:\n   \n"
		       "   --quiet, -q\t\t\t\t\tEnable quiet mode\n"
		       "   --filter [--filter option --filter option]\tFilter output based on conditions provided [$T_FILTER]\n"
		       "   --timeout, -t \"10\"\t\t\t\tTimeout in seconds, default to 10s [$T_TIMEOUT]\n"
		       "   --format, -f \t\t\t\tPretty-print machines using a Go template\n"
		       "   -y\t\t\t\t\t\tAssumes yes\n",
		       "help layout, hidden flag left out");
		free(buf);
	}
	{
		char *buf = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);
		opts_complete_flags(&spec, f);
		fclose(f);
		is_str(buf, "--quiet\n-q\n--filter\n--timeout\n-t\n--format\n-f\n-y\n", "completion flags");
		free(buf);
	}
	ok(opts_find(&spec, "--format=x") == &t_opts[3], "opts_find with =value");
	ok(opts_find(&spec, "-nope") == NULL, "opts_find unknown");
	return done_testing();
}
