/* dm-ls - list machines. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dm.h"
#include "filter.h"
#include "json.h"
#include "probe.h"
#include "tabwriter.h"
#include "template.h"

static const struct opt ls_opts[] = {
	{ "quiet", 'q', OPT_BOOL, NULL, NULL, "Enable quiet mode", 0, NULL, 0 },
	{ "filter", 0, OPT_SLICE, NULL, NULL, "Filter output based on conditions provided",
	  COMP_FILTER, NULL, 0 },
	{ "timeout", 't', OPT_INT, "10", NULL, "Timeout in seconds, default to 10s", 0, NULL, 0 },
	{ "format", 'f', OPT_STRING, NULL, NULL, "Pretty-print machines using a Go template", 0, NULL, 0 },
	{ "json", 0, OPT_BOOL, NULL, NULL, "Print one JSON object per machine", 0, NULL, 0 },
};

static const char default_format[] = "table {{ .Name }}\t{{ .Active }}\t{{ .DriverName}}\t"
	"{{ .State }}\t{{ .URL }}\t{{ .Swarm }}\t{{ .DockerVersion }}\t{{ .Error}}";

/* ls --format: literal "\t" and "\n" become real characters; spaces trimmed. */
static char *unescape_format(const char *s)
{
	struct strbuf sb = STRBUF_INIT;
	while (*s == ' ')
		s++;
	for (; *s; s++) {
		if (s[0] == '\\' && s[1] == 't') {
			sb_addc(&sb, '\t');
			s++;
		} else if (s[0] == '\\' && s[1] == 'n') {
			sb_addc(&sb, '\n');
			s++;
		} else {
			sb_addc(&sb, *s);
		}
	}
	while (sb.len && sb.buf[sb.len - 1] == ' ')
		sb_setlen(&sb, sb.len - 1);
	return sb_detach(&sb);
}

static json_t *header_row(void)
{
	static const char *const kv[][2] = {
		{ "Name", "NAME" }, { "Active", "ACTIVE" }, { "ActiveHost", "ACTIVE_HOST" },
		{ "ActiveSwarm", "ACTIVE_SWARM" }, { "DriverName", "DRIVER" }, { "State", "STATE" },
		{ "URL", "URL" }, { "SwarmOptions", "SWARM_OPTIONS" }, { "Swarm", "SWARM" },
		{ "EngineOptions", "ENGINE_OPTIONS" }, { "Error", "ERRORS" },
		{ "DockerVersion", "DOCKER" }, { "ResponseTime", "RESPONSE" },
	};
	json_t *o = json_object();
	for (size_t i = 0; i < ARRAY_SIZE(kv); i++)
		dj_set_str(o, kv[i][0], kv[i][1]);
	return o;
}

int main(int argc, char **argv)
{
	struct cmd_spec spec = { .opts = ls_opts, .nopts = ARRAY_SIZE(ls_opts) };
	struct optset os;
	struct store st;
	struct filter *flt;
	struct probe_row *rows = NULL;
	size_t n = 0;
	char *sel;
	int status = 0, quiet, json;
	const char *fmt;
	struct tmpl *t = NULL;
	int table = 0;

	dm_init(argc, argv);
	cli_spec(&spec, "ls");
	if (cli_parse(&os, &spec, argc, argv, &status) < 0)
		return dm_finish(status);
	if (os.args.n) {
		dm_errorf("Error: ls takes no arguments (got '%s'); use --filter name=REGEX", os.args.v[0]);
		return dm_finish(DM_EXIT_USAGE);
	}
	quiet = opts_on(&os, "quiet");
	json = opts_on(&os, "json");
	if (opts_int(&os, "timeout") < 1) {
		dm_errorf("invalid timeout %ld: must be at least 1 second", opts_int(&os, "timeout"));
		return DM_EXIT_USAGE;
	}
	if (!(flt = filter_parse(opts_list(&os, "filter")))) {
		dm_errorf("%s", dm_strerr());
		return dm_finish(DM_EXIT_FAIL);
	}
	fmt = opts_str(&os, "format");
	if (!quiet && !json) {
		char *f = unescape_format(*fmt ? fmt : default_format);
		const char *body = f;
		if (str_starts(f, "table")) {
			table = 1;
			body = f + 5;
			while (*body == ' ')
				body++;
		}
		t = tmpl_parse(body, TMPL_FN_ALL | TMPL_STRUCTS);
		if (!t) {
			dm_errorf("%s", dm_strerr());
			free(f);
			return dm_finish(DM_EXIT_FAIL);
		}
		free(f);
	}
	if (cli_store(&st) < 0 || probe_load(&st, &rows, &n) < 0) {
		dm_errorf("%s", dm_strerr());
		return dm_finish(DM_EXIT_FAIL);
	}

	/* Filter in two passes: what needs no state first, then state= after probing. */
	sel = xcalloc(n + 1, 1);
	for (size_t i = 0; i < n; i++)
		sel[i] = 1;
	struct probe_opts po = { (int)opts_int(&os, "timeout"), 1, 1 };
	if (quiet && !filter_needs_state(flt)) {
		po.want_state = po.want_engine = 0;
	} else {
		probe_run(&st, rows, n, sel, &po);
	}
	for (size_t i = 0; i < n; i++) {
		struct filter_item it;
		probe_filter_item(&rows[i], &it);
		sel[i] = (char)filter_match(flt, &it);
	}

	if (quiet) {
		/* As 0.16.2: entries whose config cannot be loaded are not listed by -q. */
		for (size_t i = 0; i < n; i++)
			if (sel[i] && rows[i].host)
				printf("%s\n", rows[i].name);
	} else if (json) {
		for (size_t i = 0; i < n; i++) {
			if (!sel[i])
				continue;
			json_t *o = probe_row_json(&rows[i]);
			cli_print_json(o);
			json_decref(o);
		}
	} else {
		struct strbuf out = STRBUF_INIT, line = STRBUF_INIT;
		struct tabwriter tw;
		tw_init(&tw, 5, 1, 3, ' ');
		if (table) {
			json_t *hdr = header_row();
			if (tmpl_exec(t, hdr, &line) == 0) {
				tw_write(&tw, line.buf);
				tw_write(&tw, "\n");
			}
			json_decref(hdr);
		}
		for (size_t i = 0; i < n && status == 0; i++) {
			if (!sel[i])
				continue;
			json_t *o = probe_row_json(&rows[i]);
			sb_reset(&line);
			if (tmpl_exec(t, o, &line) < 0) {
				dm_errorf("%s", dm_strerr());
				status = DM_EXIT_FAIL;
			} else if (table) {
				tw_write(&tw, line.buf);
				tw_write(&tw, "\n");
			} else {
				fwrite(line.buf, 1, line.len, stdout);
				fputc('\n', stdout);
			}
			json_decref(o);
		}
		if (table) {
			tw_flush(&tw, &out);
			fwrite(out.buf, 1, out.len, stdout);
		}
		tw_free(&tw);
		sb_release(&out);
		sb_release(&line);
	}
	tmpl_free(t);
	filter_free(flt);
	probe_free(rows, n);
	free(sel);
	store_free(&st);
	opts_free(&os);
	return dm_finish(status);
}
