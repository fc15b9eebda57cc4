/* dm-url - get the url of a machine. */
#include "cli.h"
#include "dm.h"
#include "machine.h"

static const struct opt url_opts[] = {
	{ "json", 0, OPT_BOOL, NULL, NULL, "Print {\"Name\",\"URL\"} JSON objects, one per line", 0,
	  NULL, 0 },
};

int main(int argc, char **argv)
{
	struct cmd_spec spec = { .opts = url_opts, .nopts = ARRAY_SIZE(url_opts),
		                 .args = COMP_MACHINE };
	struct optset os;
	struct store st;
	int status = 0;

	dm_init(argc, argv);
	cli_spec(&spec, "url");
	if (cli_parse(&os, &spec, argc, argv, &status) < 0)
		return dm_finish(status);
	if (cli_store(&st) < 0) {
		dm_errorf("%s", dm_strerr());
		return dm_finish(DM_EXIT_FAIL);
	}
	status = machine_print_field(&st, &os.args, 0, "url", "URL", opts_on(&os, "json"));
	store_free(&st);
	opts_free(&os);
	return dm_finish(status);
}
