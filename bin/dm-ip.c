/* dm-ip - get the ip address of a machine. */
#include "cli.h"
#include "dm.h"
#include "machine.h"

static const struct opt ip_opts[] = {
	{ "json", 0, OPT_BOOL, NULL, NULL, "Print {\"Name\",\"IP\"} JSON objects, one per line", 0,
	  NULL, 0 },
};

int main(int argc, char **argv)
{
	struct cmd_spec spec = { .opts = ip_opts, .nopts = ARRAY_SIZE(ip_opts),
		                 .args = COMP_MACHINE };
	struct optset os;
	struct store st;
	int status = 0;

	dm_init(argc, argv);
	cli_spec(&spec, "ip");
	if (cli_parse(&os, &spec, argc, argv, &status) < 0)
		return dm_finish(status);
	if (cli_store(&st) < 0) {
		dm_errorf("%s", dm_strerr());
		return dm_finish(DM_EXIT_FAIL);
	}
	status = machine_print_field(&st, &os.args, 1, "ip", "IP", opts_on(&os, "json"));
	store_free(&st);
	opts_free(&os);
	return dm_finish(status);
}
