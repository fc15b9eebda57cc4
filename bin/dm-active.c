/* dm-active - print the machine DOCKER_HOST points at. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dm.h"
#include "json.h"
#include "probe.h"

static const struct opt active_opts[] = {
	{ "timeout", 't', OPT_INT, "10", NULL, "Timeout in seconds, default to 10s", 0, NULL, 0 },
	{ "json", 0, OPT_BOOL, NULL, NULL, "Print the active machine as a JSON object", 0, NULL, 0 },
};

int main(int argc, char **argv)
{
	struct cmd_spec spec = { .opts = active_opts, .nopts = ARRAY_SIZE(active_opts) };
	struct optset os;
	struct store st;
	struct probe_row *rows = NULL;
	size_t n = 0;
	int status = 0, timed_out = 0;

	dm_init(argc, argv);
	cli_spec(&spec, "active");
	if (cli_parse(&os, &spec, argc, argv, &status) < 0)
		return dm_finish(status);
	if (os.args.n) {
		dm_errorf("Error: Too many arguments given");
		return dm_finish(DM_EXIT_FAIL);
	}
	if (opts_int(&os, "timeout") < 1) {
		dm_errorf("invalid timeout %ld: must be at least 1 second", opts_int(&os, "timeout"));
		return dm_finish(DM_EXIT_USAGE);
	}
	if (cli_store(&st) < 0 || probe_load(&st, &rows, &n) < 0) {
		dm_errorf("%s", dm_strerr());
		return dm_finish(DM_EXIT_FAIL);
	}
	struct probe_opts po = { (int)opts_int(&os, "timeout"), 1, 0 };
	probe_run(&st, rows, n, NULL, &po);
	status = DM_EXIT_FAIL;
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(rows[i].state, "Timeout"))
			timed_out = 1;
		if (rows[i].active_host || rows[i].active_swarm) {
			if (opts_on(&os, "json")) {
				json_t *o = probe_row_json(&rows[i]);
				cli_print_json(o);
				json_decref(o);
			} else {
				printf("%s\n", rows[i].name);
			}
			status = 0;
			break;
		}
	}
	if (status)
		dm_errorf("%s", timed_out ? "Error getting active host: timeout" : "No active host found");
	probe_free(rows, n);
	store_free(&st);
	opts_free(&os);
	return dm_finish(status);
}
