/* dm-upgrade - upgrade the Docker engine of machines (in parallel) through
 * the OS package manager, reporting the version before and after.  A
 * stopped machine is started first.  An upgrade that changes nothing is
 * reported as such and leaves the engine running untouched. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dm.h"
#include "driver.h"
#include "host.h"
#include "machine.h"
#include "provision.h"

struct ctx {
	struct store st;
	struct provision_opts po;
};

static int one(const char *name, void *arg)
{
	struct ctx *c = arg;
	json_t *h, *ans = NULL;
	char *state;
	int lock, rc;

	if (!(h = machine_load(&c->st, name))) {
		dm_errorf("%s", dm_strerr());
		return DM_EXIT_FAIL;
	}
	state = machine_ask(h, "state", "State", MACHINE_DRIVER_TIMEOUT_MS);
	if (state && !strcmp(state, "Stopped")) {
		printf("Starting machine so machine can be upgraded...\n");
		fflush(stdout);
		if (driver_call(host_driver_name(h), "start", h, NULL, NULL, MACHINE_DRIVER_TIMEOUT_MS,
		                &ans, NULL) < 0) {
			dm_errorf("Error starting machine \"%s\": %s", name, dm_strerr());
			free(state);
			json_decref(h);
			return DM_EXIT_FAIL;
		}
		json_decref(ans);
	}
	free(state);
	if ((lock = store_lock_machine(&c->st, name)) < 0) {
		dm_errorf("%s", dm_strerr());
		json_decref(h);
		return DM_EXIT_FAIL;
	}
	rc = provision_upgrade(&c->st, h, &c->po);
	if (rc < 0)
		dm_errorf("Error upgrading \"%s\": %s", name, dm_strerr());
	store_unlock(lock);
	json_decref(h);
	return rc < 0 ? DM_EXIT_FAIL : 0;
}

int main(int argc, char **argv)
{
	struct cmd_spec spec = { .opts = NULL, .nopts = 0, .args = COMP_MACHINE };
	struct optset os;
	struct strvec names = STRVEC_INIT;
	struct ctx c = { 0 };
	int status = 0;

	dm_init(argc, argv);
	cli_spec(&spec, "upgrade");
	if (cli_parse(&os, &spec, argc, argv, &status) < 0)
		return dm_finish(status);
	if (cli_store(&c.st) < 0 || cli_names(&c.st, &os.args, 1, &names) < 0) {
		dm_errorf("%s", dm_strerr());
		return dm_finish(DM_EXIT_FAIL);
	}
	status = provision_each(&names, one, &c);
	sv_clear(&names);
	store_free(&c.st);
	opts_free(&os);
	return dm_finish(status);
}
