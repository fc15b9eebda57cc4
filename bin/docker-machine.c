/* docker-machine - the dispatcher: global flags, help, then exec dm-CMD. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "dm.h"
#include "opts.h"
#include "proc.h"
#include "store.h"
#include "tabwriter.h"
#include "complete.h"
#include "json.h"

static char default_store[PATH_MAX];

static struct opt global_opts[] = {
	{ "debug", 'D', OPT_BOOL, NULL, NULL, "Enable debug mode", 0, NULL, 0 },
	{ "storage-path", 's', OPT_STRING, default_store, "MACHINE_STORAGE_PATH",
	  "Configures storage path", COMP_DIR, NULL, 0 },
	{ "tls-ca-cert", 0, OPT_STRING, NULL, "MACHINE_TLS_CA_CERT", "CA to verify remotes against",
	  COMP_FILE, NULL, 0 },
	{ "tls-ca-key", 0, OPT_STRING, NULL, "MACHINE_TLS_CA_KEY",
	  "Private key to generate certificates", COMP_FILE, NULL, 0 },
	{ "tls-client-cert", 0, OPT_STRING, NULL, "MACHINE_TLS_CLIENT_CERT",
	  "Client cert to use for TLS", COMP_FILE, NULL, 0 },
	{ "tls-client-key", 0, OPT_STRING, NULL, "MACHINE_TLS_CLIENT_KEY",
	  "Private key used in client TLS auth", COMP_FILE, NULL, 0 },
	{ "github-api-token", 0, OPT_STRING, NULL, "MACHINE_GITHUB_API_TOKEN",
	  "Token to use for requests to the Github API", 0, NULL, OPTF_SECRET },
	{ "native-ssh", 0, OPT_BOOL, NULL, "MACHINE_NATIVE_SSH",
	  "Use the native (Go-based) SSH implementation.", 0, NULL, 0 },
	{ "bugsnag-api-token", 0, OPT_STRING, NULL, "MACHINE_BUGSNAG_API_TOKEN",
	  "BugSnag API token for crash reporting", 0, NULL, OPTF_SECRET },
	{ "help", 'h', OPT_BOOL, NULL, NULL, "show help", 0, NULL, 0 },
	{ "version", 'v', OPT_BOOL, NULL, NULL, "print the version", 0, NULL, 0 },
};

static struct cmd_spec global_spec = {
	"", "Create and manage machines running Docker.", NULL, global_opts,
	ARRAY_SIZE(global_opts), COMP_COMMAND, 1,
};

static void global_help(const char *prog, FILE *f)
{
	struct tabwriter tw;
	struct strbuf out = STRBUF_INIT, cell = STRBUF_INIT;

	tw_init(&tw, 0, 8, 1, '\t');
	tw_printf(&tw, "Usage: %s [OPTIONS] COMMAND [arg...]\n\n%s\n\nVersion: %s, build %s\n\n"
	               "Author:\n  Docker Machine Contributors - <https://github.com/docker/machine>\n\n"
	               "Options:\n",
	          prog, global_spec.usage, dm_version, dm_build);
	for (size_t i = 0; i < ARRAY_SIZE(global_opts); i++) {
		sb_reset(&cell);
		opts_flag_text(&global_opts[i], &cell);
		sb_addc(&cell, '\t');
		opts_usage_text(&global_opts[i], &cell);
		tw_printf(&tw, "  %s\n", cell.buf);
	}
	tw_write(&tw, "  \nCommands:\n");
	for (const struct cmd_info *c = dm_commands; c->name; c++)
		tw_printf(&tw, "  %s\t%s\n", c->name, c->usage);
	tw_printf(&tw, "  \nRun '%s COMMAND --help' for more information on a command.\n", prog);
	tw_flush(&tw, &out);
	fwrite(out.buf, 1, out.len, f);
	tw_free(&tw);
	sb_release(&out);
	sb_release(&cell);
}

static void set_default_store(void)
{
	const char *env = getenv("MACHINE_STORAGE_PATH");
	const char *home = getenv("HOME");
	if (env && *env)
		snprintf(default_store, sizeof(default_store), "%s", env);
	else
		snprintf(default_store, sizeof(default_store), "%s/.docker/machine", home ? home : "");
}

static char *join_cmdline(int argc, char **argv)
{
	struct strbuf sb = STRBUF_INIT;
	for (int i = 0; i < argc; i++) {
		if (i)
			sb_addc(&sb, ' ');
		if (i == 0 && (strchr(argv[i], ' ') || strchr(argv[i], '\\')))
			sb_addf(&sb, "\"%s\"", argv[i]);
		else
			sb_adds(&sb, argv[i]);
	}
	return sb_detach(&sb);
}

static void export_opt(struct optset *os, const char *name, const char *env)
{
	struct optval *v = opts_get(os, name);
	if (v->given && v->str)
		setenv(env, v->str, 1);
}

static int run_command(const char *prog, const char *cmd, int argc, char **argv)
{
	char *bin, *name = xasprintf("dm-%s", cmd);
	char **av;
	if (strchr(cmd, '/') || !cmd_info_find(cmd) || !(bin = proc_find_libexec(name))) {
		dm_errorf("%s: '%s' is not a %s command. See '%s --help'.", prog, cmd, prog, prog);
		return DM_EXIT_FAIL;
	}
	av = xcalloc((size_t)argc + 2, sizeof(*av));
	av[0] = name;
	for (int i = 0; i < argc; i++)
		av[i + 1] = argv[i];
	execv(bin, av);
	dm_errorf("%s: exec %s: %s", prog, bin, strerror(errno));
	return DM_EXIT_FAIL;
}

int main(int argc, char **argv)
{
	struct optset os;
	const char *prog, *dbg;
	int i, status, b;

	dm_init(argc, argv);
	prog = dm_progname;
	set_default_store();

	dbg = getenv("MACHINE_DEBUG");
	if (dbg && *dbg && parse_bool(dbg, &b) < 0) {
		dm_errorf("Error parsing boolean value from MACHINE_DEBUG: %s", dm_strerr());
		return DM_EXIT_FAIL;
	}

	if (argc > 1 && !strcmp(argv[1], "__complete"))
		return complete_main(&global_spec, argc - 2, argv + 2);
	if (argc > 1 && !strcmp(argv[1], "__options")) {
		json_t *o = opts_to_json(&global_spec), *cmds = json_array();
		for (const struct cmd_info *c = dm_commands; c->name; c++) {
			json_t *e = json_object();
			dj_set_str(e, "Name", c->name);
			dj_set_str(e, "Usage", c->usage);
			json_array_append_new(cmds, e);
		}
		dj_set(o, "Commands", cmds);
		cli_print_json(o);
		json_decref(o);
		return dm_finish(0);
	}

	if (opts_parse(&os, &global_spec, argc - 1, argv + 1) < 0) {
		fputs("Incorrect Usage.\n\n", stdout);
		global_help(prog, stdout);
		fflush(stdout);
		dm_errorf("%s", dm_strerr());
		return DM_EXIT_USAGE;
	}
	if (opts_on(&os, "version")) {
		printf("%s version %s, build %s\n", prog, dm_version, dm_build);
		return dm_finish(0);
	}
	if (os.help || os.args.n == 0) {
		global_help(prog, stdout);
		return dm_finish(0);
	}

	const char *cmd = os.args.v[0];
	if (!strcmp(cmd, "help") || !strcmp(cmd, "h")) {
		if (os.args.n < 2) {
			global_help(prog, stdout);
			return dm_finish(0);
		}
		char *hv[] = { (char *)"-h", NULL };
		cmd = os.args.v[1];
		setenv("DM_ARGV0", argv[0], 1);
		return run_command(prog, cmd, 1, hv);
	}

	/* Export the global options for dm-CMD. */
	{
		struct optval *sp = opts_get(&os, "storage-path");
		if (sp->given && sp->str) {
			char abs[PATH_MAX];
			if (sp->str[0] != '/' && getcwd(abs, sizeof(abs)))
				setenv("MACHINE_STORAGE_PATH", xasprintf("%s/%s", abs, sp->str), 1);
			else
				setenv("MACHINE_STORAGE_PATH", sp->str, 1);
		}
	}
	export_opt(&os, "tls-ca-cert", "MACHINE_TLS_CA_CERT");
	export_opt(&os, "tls-ca-key", "MACHINE_TLS_CA_KEY");
	export_opt(&os, "tls-client-cert", "MACHINE_TLS_CLIENT_CERT");
	export_opt(&os, "tls-client-key", "MACHINE_TLS_CLIENT_KEY");
	export_opt(&os, "github-api-token", "MACHINE_GITHUB_API_TOKEN");
	if (opts_get(&os, "debug")->given && opts_on(&os, "debug"))
		setenv("MACHINE_DEBUG", "1", 1);
	if (opts_get(&os, "native-ssh")->given && opts_on(&os, "native-ssh"))
		setenv("MACHINE_NATIVE_SSH", "1", 1);
	setenv("DM_ARGV0", argv[0], 1);
	setenv("DM_CMDLINE", join_cmdline(argc, argv), 1);

	/* os.args: the command and everything after it, unparsed (raw_args). */
	i = argc - (int)os.args.n;
	status = run_command(prog, cmd, argc - i - 1, argv + i + 1);
	return status;
}
