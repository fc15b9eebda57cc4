/* dm-provision - re-provision machines (in parallel): wait for SSH, detect
 * the OS, set the hostname, install Docker when missing, make and install
 * the TLS certificates and the daemon options, restart the engine and wait
 * until its TLS port answers.
 *
 * `dm-provision --create NAME` is the variant dm-create runs after the
 * driver made the machine: it also waits for the Running state, prints the
 * detecting messages and ends with the connection check.  Its errors carry
 * "Error creating machine: …" (dm-create prints nothing more and rolls back).
 */
#include <stdio.h>

#include "cli.h"
#include "dm.h"
#include "machine.h"
#include "provision.h"

static const struct opt provision_opts[] = {
	{ "create", 0, OPT_BOOL, NULL, NULL, "Provision a machine dm-create has just made", 0, NULL,
	  OPTF_HIDDEN },
};

struct ctx {
	struct store st;
	struct provision_opts po;
};

static int one(const char *name, void *arg)
{
	struct ctx *c = arg;
	json_t *h;
	int lock, rc;

	if (!(h = machine_load(&c->st, name))) {
		dm_errorf("%s", dm_strerr());
		return DM_EXIT_FAIL;
	}
	lock = store_lock_machine(&c->st, name);
	if (lock < 0) {
		dm_errorf("%s", dm_strerr());
		json_decref(h);
		return DM_EXIT_FAIL;
	}
	rc = provision_host(&c->st, h, &c->po);
	if (rc < 0)
		dm_errorf("%s", dm_strerr());
	store_unlock(lock);
	json_decref(h);
	return rc < 0 ? DM_EXIT_FAIL : 0;
}

int main(int argc, char **argv)
{
	struct cmd_spec spec = { .opts = provision_opts, .nopts = ARRAY_SIZE(provision_opts),
		                 .args = COMP_MACHINE };
	struct optset os;
	struct strvec names = STRVEC_INIT;
	struct ctx c = { 0 };
	int status = 0;

	dm_init(argc, argv);
	cli_spec(&spec, "provision");
	if (cli_parse(&os, &spec, argc, argv, &status) < 0)
		return dm_finish(status);
	if (cli_store(&c.st) < 0 || cli_names(&c.st, &os.args, 1, &names) < 0) {
		dm_errorf("%s", dm_strerr());
		return dm_finish(DM_EXIT_FAIL);
	}
	if (opts_on(&os, "create")) {
		if (names.n != 1) {
			dm_errorf("Error: --create provisions exactly one machine");
			return dm_finish(DM_EXIT_USAGE);
		}
		c.po.flags |= PROV_CREATE;
	}
	status = provision_each(&names, one, &c);
	sv_clear(&names);
	store_free(&c.st);
	opts_free(&os);
	return dm_finish(status);
}
