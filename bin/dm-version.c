/* dm-version - the version of dm, or of a machine's Docker engine. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dm.h"
#include "engine.h"
#include "host.h"
#include "json.h"
#include "machine.h"

static const struct opt version_opts[] = {
	{ "json", 0, OPT_BOOL, NULL, NULL, "Print the version as a JSON object", 0, NULL, 0 },
};

int main(int argc, char **argv)
{
	struct cmd_spec spec = { .opts = version_opts, .nopts = ARRAY_SIZE(version_opts),
		                 .args = COMP_MACHINE };
	struct optset os;
	struct store st;
	struct engine_query q;
	json_t *h;
	char *url;
	int status = 0, json;
	const char *a0, *base;

	dm_init(argc, argv);
	cli_spec(&spec, "version");
	if (cli_parse(&os, &spec, argc, argv, &status) < 0)
		return dm_finish(status);
	json = opts_on(&os, "json");
	if (os.args.n == 0) {
		a0 = cli_argv0();
		base = strrchr(a0, '/');
		if (json) {
			json_t *o = json_object();
			dj_set_str(o, "Version", dm_version);
			dj_set_str(o, "Build", dm_build);
			cli_print_json(o);
			json_decref(o);
		} else {
			printf("%s version %s, build %s\n", base ? base + 1 : a0, dm_version, dm_build);
		}
		return dm_finish(0);
	}
	if (os.args.n > 1) {
		dm_errorf("Error: Expected one machine name as an argument");
		return dm_finish(DM_EXIT_FAIL);
	}
	if (cli_store(&st) < 0 || !(h = machine_load(&st, os.args.v[0]))) {
		dm_errorf("%s", dm_strerr());
		return dm_finish(DM_EXIT_FAIL);
	}
	if (!(url = machine_ask(h, "url", "URL", MACHINE_DRIVER_TIMEOUT_MS))) {
		dm_errorf("%s", dm_strerr());
		return dm_finish(DM_EXIT_FAIL);
	}
	memset(&q, 0, sizeof(q));
	q.url = url;
	machine_tls(h, &q.tls);
	engine_version_many(&q, 1, now_ms() + 20000);
	if (!q.ok) {
		dm_errorf("Unable to query docker version: %s", q.error);
		return dm_finish(DM_EXIT_FAIL);
	}
	if (json) {
		json_t *o = json_object();
		dj_set_str(o, "Name", host_name(h));
		dj_set_str(o, "Version", q.version);
		dj_set_str(o, "ApiVersion", q.api_version);
		cli_print_json(o);
		json_decref(o);
	} else {
		printf("%s\n", q.version);
	}
	free(url);
	json_decref(h);
	store_free(&st);
	opts_free(&os);
	return dm_finish(0);
}
