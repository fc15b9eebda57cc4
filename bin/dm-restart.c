/* dm-restart - restart machines (in parallel). */
#include "cli.h"
#include "dm.h"
#include "machine.h"

int main(int argc, char **argv)
{
	struct cmd_spec spec = { .opts = NULL, .nopts = 0, .args = COMP_MACHINE };
	struct optset os;
	struct store st;
	struct strvec names = STRVEC_INIT;
	int status = 0;

	dm_init(argc, argv);
	cli_spec(&spec, "restart");
	if (cli_parse(&os, &spec, argc, argv, &status) < 0)
		return dm_finish(status);
	if (cli_store(&st) < 0 || cli_names(&st, &os.args, 1, &names) < 0) {
		dm_errorf("%s", dm_strerr());
		return dm_finish(DM_EXIT_FAIL);
	}
	status = machine_lifecycle(&st, &names, "restart");
	sv_clear(&names);
	store_free(&st);
	opts_free(&os);
	return dm_finish(status);
}
