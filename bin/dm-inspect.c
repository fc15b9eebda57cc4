/* dm-inspect - print a machine's record (secrets redacted). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dm.h"
#include "driver.h"
#include "host.h"
#include "json.h"
#include "machine.h"
#include "template.h"

static const struct opt inspect_opts[] = {
	{ "format", 'f', OPT_STRING, NULL, NULL, "Format the output using the given go template.", 0,
	  NULL, 0 },
	{ "show-secrets", 0, OPT_BOOL, NULL, NULL, "Show tokens, keys and passwords instead of (redacted)",
	  0, NULL, 0 },
	{ "json", 0, OPT_BOOL, NULL, NULL, "Print the record as one line of JSON", 0, NULL, 0 },
};

/* Field names the machine's driver declares secret (describe "Secret": true),
 * in the Driver's CamelCase spelling is unknowable here, so the flag names
 * are matched loosely by host_redact. */
static void driver_secrets(const char *driver, struct strvec *out)
{
	json_t *d = NULL, *flags, *f;
	size_t i;
	if (driver_describe(driver, &d) < 0)
		return;
	flags = json_object_get(d, "Flags");
	json_array_foreach(flags, i, f)
		if (dj_bool(f, "Secret", 0))
			sv_push(out, dj_str(f, "Name", ""));
	json_decref(d);
}

int main(int argc, char **argv)
{
	struct cmd_spec spec = { .opts = inspect_opts, .nopts = ARRAY_SIZE(inspect_opts),
		                 .args = COMP_MACHINE };
	struct optset os;
	struct store st;
	struct strvec secrets = STRVEC_INIT;
	struct strbuf out = STRBUF_INIT;
	int status = 0;
	json_t *h, *view;
	const char *fmt;

	dm_init(argc, argv);
	cli_spec(&spec, "inspect");
	if (cli_parse(&os, &spec, argc, argv, &status) < 0)
		return dm_finish(status);
	if (os.args.n > 1) {
		opts_help(&spec, opts_progname(), stdout);
		dm_errorf("Error: Expected one machine name as an argument");
		return dm_finish(DM_EXIT_FAIL);
	}
	if (cli_store(&st) < 0 || !(h = machine_load_one(&st, &os.args))) {
		dm_errorf("%s", dm_strerr());
		return dm_finish(DM_EXIT_FAIL);
	}
	if (opts_on(&os, "show-secrets")) {
		view = json_incref(h);
	} else {
		driver_secrets(host_driver_name(h), &secrets);
		view = host_redact(h, &secrets);
	}
	fmt = opts_str(&os, "format");
	if (*fmt) {
		struct tmpl *t = tmpl_parse(fmt, TMPL_FN_ALL);
		if (!t) {
			dm_errorf("template parsing error: %s", dm_strerr());
			return dm_finish(DM_EXIT_FAIL);
		}
		if (tmpl_exec(t, view, &out) < 0) {
			dm_errorf("%s", dm_strerr());
			status = DM_EXIT_FAIL;
		} else {
			sb_addc(&out, '\n');
		}
		tmpl_free(t);
	} else {
		dj_encode(view, opts_on(&os, "json") ? 0 : 4, 0, &out);
		sb_addc(&out, '\n');
	}
	if (status == 0)
		fwrite(out.buf, 1, out.len, stdout);
	sb_release(&out);
	json_decref(view);
	json_decref(h);
	sv_clear(&secrets);
	store_free(&st);
	opts_free(&os);
	return dm_finish(status);
}
