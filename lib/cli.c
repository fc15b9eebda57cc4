/* cli.c - shared command-binary glue. See cli.h. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "dm.h"
#include "json.h"
#include "complete.h"

#define ONE "Argument is a machine name."
#define MANY "Argument(s) are one or more machine names."

const struct cmd_info dm_commands[] = {
	{ "active", "Print which machine is active", NULL },
	{ "config", "Print the connection config for machine", ONE },
	{ "create", "Create a machine",
	  "Run 'docker-machine create --driver name --help' to include the create flags for that driver in the help text." },
	{ "env", "Display the commands to set up the environment for the Docker client", ONE },
	{ "inspect", "Inspect information about a machine", ONE },
	{ "ip", "Get the IP address of a machine", MANY },
	{ "kill", "Kill a machine", MANY },
	{ "ls", "List machines", NULL },
	{ "provision", "Re-provision existing machines", MANY },
	{ "regenerate-certs", "Regenerate TLS Certificates for a machine", MANY },
	{ "restart", "Restart a machine", MANY },
	{ "rm", "Remove a machine", MANY },
	{ "ssh", "Log into or run a command on a machine with SSH.", "Arguments are [machine-name] [command]" },
	{ "scp", "Copy files between machines",
	  "Arguments are [[user@]machine:][path] [[user@]machine:][path]." },
	{ "mount", "Mount or unmount a directory from a machine with SSHFS.",
	  "Arguments are [machine:][path] [mountpoint]" },
	{ "start", "Start a machine", MANY },
	{ "status", "Get the status of a machine", ONE },
	{ "stop", "Stop a machine", MANY },
	{ "upgrade", "Upgrade a machine to the latest version of Docker", MANY },
	{ "url", "Get the URL of a machine", ONE },
	{ "version", "Show the Docker Machine version or a machine docker version", NULL },
	{ "help", "Shows a list of commands or help for one command", NULL },
	{ NULL, NULL, NULL },
};

/* Commands that exist as binaries but are not in 0.16.2's help list. */
static const struct cmd_info extra_commands[] = {
	{ "certs", "Show, create or renew the store's TLS certificates", NULL },
	{ NULL, NULL, NULL },
};

const struct cmd_info *cmd_info_find(const char *name)
{
	for (const struct cmd_info *c = dm_commands; c->name; c++)
		if (!strcmp(c->name, name))
			return c;
	for (const struct cmd_info *c = extra_commands; c->name; c++)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

void cli_spec(struct cmd_spec *spec, const char *name)
{
	const struct cmd_info *c = cmd_info_find(name);
	if (!c) {
		fprintf(stderr, "BUG: command '%s' not in the catalogue\n", name);
		abort();
	}
	spec->name = c->name;
	spec->usage = c->usage;
	spec->description = c->description;
}

const char *const dm_states[] = {
	"", "Running", "Paused", "Saved", "Stopped", "Stopping", "Starting", "Error", "Timeout", NULL,
};

int cli_store(struct store *st)
{
	return store_init(st, NULL);
}

static int add_json_names(json_t *v, struct strvec *names)
{
	if (json_is_array(v)) {
		size_t i;
		json_t *x;
		json_array_foreach(v, i, x)
			if (add_json_names(x, names) < 0)
				return -1;
		return 0;
	}
	if (json_is_object(v)) {
		const char *n = dj_str(v, "Name", NULL);
		if (!n)
			return dm_seterr("stdin: JSON object without a \"Name\" member");
		sv_push(names, n);
		return 0;
	}
	if (json_is_string(v)) {
		sv_push(names, json_string_value(v));
		return 0;
	}
	return dm_seterr("stdin: expected machine names or JSON objects with \"Name\"");
}

static int read_stdin_names(struct strvec *names)
{
	struct strbuf all = STRBUF_INIT;
	int r = 0;
	if (sb_read_fd(&all, 0, DM_CAP_CONFIG) < 0) {
		sb_release(&all);
		return dm_seterr("stdin: %s", dm_strerr());
	}
	const char *p = all.buf;
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	if (*p == '[') {
		json_t *v;
		if (dj_parse(p, strlen(p), &v) < 0)
			r = dm_seterr("stdin: %s", dm_strerr());
		else {
			r = add_json_names(v, names);
			json_decref(v);
		}
		sb_release(&all);
		return r;
	}
	char *save = NULL, *line;
	for (line = strtok_r(all.buf, "\n", &save); line && r == 0; line = strtok_r(NULL, "\n", &save)) {
		size_t n = strlen(line);
		while (n && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
			line[--n] = 0;
		while (*line == ' ' || *line == '\t')
			line++;
		if (!*line)
			continue;
		if (*line == '{' || *line == '"') {
			json_t *v;
			if (dj_parse(line, strlen(line), &v) < 0) {
				r = dm_seterr("stdin: %s", dm_strerr());
				break;
			}
			r = add_json_names(v, names);
			json_decref(v);
		} else {
			sv_push(names, line);
		}
	}
	sb_release(&all);
	return r;
}

int cli_names(const struct store *st, const struct strvec *args, int allow_default,
              struct strvec *names)
{
	int stdin_used = 0;
	for (size_t i = 0; i < args->n; i++) {
		if (!strcmp(args->v[i], "-")) {
			if (stdin_used++)
				continue;
			if (read_stdin_names(names) < 0)
				return -1;
		} else {
			sv_push(names, args->v[i]);
		}
	}
	if (names->n == 0 && !stdin_used) {
		if (allow_default && store_exists(st, "default")) {
			sv_push(names, "default");
			return 0;
		}
		return dm_seterr("Error: No machine name(s) specified and no \"default\" machine exists");
	}
	return 0;
}

static int saved_argc;
static char **saved_argv;

void cli_set_argv(int argc, char **argv)
{
	saved_argc = argc;
	saved_argv = argv;
}

const char *cli_argv0(void)
{
	const char *a0 = getenv("DM_ARGV0");
	if (a0 && *a0)
		return a0;
	return saved_argv && saved_argv[0] ? saved_argv[0] : dm_progname;
}

const char *cli_cmdline(void)
{
	static char *line;
	const char *env = getenv("DM_CMDLINE");
	struct strbuf sb = STRBUF_INIT;
	if (line)
		return line;
	if (env && *env)
		return line = xstrdup(env);
	for (int i = 0; i < saved_argc; i++) {
		const char *a = saved_argv[i];
		if (i)
			sb_addc(&sb, ' ');
		if (i == 0 && (strchr(a, ' ') || strchr(a, '\\')))
			sb_addf(&sb, "\"%s\"", a);
		else
			sb_adds(&sb, a);
	}
	return line = sb_detach(&sb);
}

int cli_print_json(json_t *v)
{
	struct strbuf sb = STRBUF_INIT;
	dj_encode(v, 0, 0, &sb);
	sb_addc(&sb, '\n');
	fwrite(sb.buf, 1, sb.len, stdout);
	sb_release(&sb);
	return 0;
}

int cli_parse(struct optset *os, const struct cmd_spec *spec, int argc, char **argv, int *status)
{
	cli_set_argv(argc, argv);
	if (argc > 1 && !strcmp(argv[1], "__complete")) {
		*status = complete_main(spec, argc - 2, argv + 2);
		fflush(stdout);
		return -1;
	}
	if (argc > 1 && !strcmp(argv[1], "__options")) {
		json_t *o = opts_to_json(spec);
		cli_print_json(o);
		json_decref(o);
		*status = 0;
		return -1;
	}
	return opts_parse_main(os, spec, argc - 1, argv + 1, status);
}

static const char *const comp_names[] = {
	[COMP_NONE] = "", [COMP_MACHINE] = "machine", [COMP_FILE] = "file", [COMP_DIR] = "dir",
	[COMP_DRIVER] = "driver", [COMP_SHELL] = "shell", [COMP_FILTER] = "filter",
	[COMP_LIST] = "list", [COMP_COMMAND] = "command",
};

json_t *opts_to_json(const struct cmd_spec *spec)
{
	static const char *const types[] = { "bool", "string", "int", "stringslice" };
	json_t *o = json_object(), *a = json_array();
	dj_set_str(o, "Name", spec->name);
	dj_set_str(o, "Usage", spec->usage ? spec->usage : "");
	dj_set_str(o, "Description", spec->description ? spec->description : "");
	dj_set_str(o, "Args", comp_names[spec->args]);
	dj_set_bool(o, "RawArgs", spec->raw_args);
	for (size_t i = 0; i < spec->nopts; i++) {
		const struct opt *p = &spec->opts[i];
		json_t *f = json_object();
		struct strbuf sb = STRBUF_INIT;
		char sh[2] = { p->shortname, 0 };
		dj_set_str(f, "Name", p->name);
		dj_set_str(f, "Short", sh);
		dj_set_str(f, "Type", types[p->type]);
		dj_set_str(f, "Value", p->defval ? p->defval : "");
		dj_set_str(f, "EnvVar", p->envvar ? p->envvar : "");
		dj_set_str(f, "Usage", p->usage ? p->usage : "");
		dj_set_str(f, "Complete", comp_names[p->comp]);
		dj_set_str(f, "Values", p->values ? p->values : "");
		dj_set_bool(f, "Hidden", !!(p->flags & OPTF_HIDDEN));
		dj_set_bool(f, "Secret", !!(p->flags & OPTF_SECRET));
		dj_set_bool(f, "Required", !!(p->flags & OPTF_REQUIRED));
		opts_flag_text(p, &sb);
		dj_set_str(f, "HelpText", sb.buf);
		sb_release(&sb);
		json_array_append_new(a, f);
	}
	dj_set(o, "Flags", a);
	return o;
}
