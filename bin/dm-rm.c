/* dm-rm - remove machines: the provider's resources, then the store entry. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "dm.h"
#include "driver.h"
#include "host.h"
#include "machine.h"
#include "swarm.h"

static const struct opt rm_opts[] = {
	{ "force", 'f', OPT_BOOL, NULL, NULL,
	  "Remove local configuration even if machine cannot be removed, also implies an automatic yes (`-y`)",
	  0, NULL, 0 },
	{ "y", 0, OPT_BOOL, NULL, NULL,
	  "Assumes automatic yes to proceed with remove, without prompting further user confirmation", 0,
	  NULL, 0 },
};

static void log_cb(void *ctx, const char *text)
{
	(void)ctx;
	printf("%s\n", text);
	fflush(stdout);
}

/* Ask the driver to remove what it made. */
static int remove_remote(const struct store *st, const char *name)
{
	json_t *h = machine_load(st, name), *ans = NULL;
	struct driver_cb cb = { log_cb, NULL, NULL };
	int r;
	if (!h)
		return -1;
	r = driver_call(host_driver_name(h), "remove", h, NULL, &cb, MACHINE_DRIVER_TIMEOUT_MS, &ans,
	                NULL);
	json_decref(ans);
	json_decref(h);
	return r;
}

int main(int argc, char **argv)
{
	struct cmd_spec spec = { .opts = rm_opts, .nopts = ARRAY_SIZE(rm_opts), .args = COMP_MACHINE };
	struct optset os;
	struct store st;
	struct strvec names = STRVEC_INIT;
	struct strbuf sb = STRBUF_INIT;
	int status = 0, force, yes;

	dm_init(argc, argv);
	cli_spec(&spec, "rm");
	if (cli_parse(&os, &spec, argc, argv, &status) < 0)
		return dm_finish(status);
	force = opts_on(&os, "force");
	yes = force || opts_on(&os, "y");
	if (os.args.n == 0) {
		opts_help(&spec, opts_progname(), stdout);
		dm_errorf("Error: Expected to get one or more machine names as arguments");
		return dm_finish(DM_EXIT_FAIL);
	}
	if (cli_store(&st) < 0 || cli_names(&st, &os.args, 0, &names) < 0) {
		dm_errorf("%s", dm_strerr());
		return dm_finish(DM_EXIT_FAIL);
	}
	if (names.n == 0)
		return dm_finish(0);
	for (size_t i = 0; i < names.n; i++)
		sb_addf(&sb, "%s%s", i ? ", " : "", names.v[i]);
	printf("About to remove %s\n", sb.buf);
	printf("WARNING: This action will delete both local reference and remote instance.\n");
	if (!yes) {
		struct strbuf ans = STRBUF_INIT;
		if (sv_contains(&os.args, "-")) {
			dm_errorf("Error: machine names were read from stdin: give -y to confirm the removal");
			return dm_finish(DM_EXIT_FAIL);
		}
		printf("Are you sure? (y/n): ");
		fflush(stdout);
		if (sb_getline(&ans, stdin) < 0 || (ans.buf[0] != 'y' && ans.buf[0] != 'Y')) {
			sb_release(&ans);
			return dm_finish(0);
		}
		sb_release(&ans);
	}
	for (size_t i = 0; i < names.n; i++) {
		const char *n = names.v[i];
		int lock = -1;
		if (!store_valid_name(n) || !store_exists(&st, n)) {
			json_t *h = machine_load(&st, n);   /* for 0.16.2's message */
			json_decref(h);
			dm_errorf("Error removing host \"%s\": %s", n,
			          h ? "Invalid machine name" : dm_strerr());
			status = DM_EXIT_FAIL;
			continue;
		}
		lock = store_lock_machine(&st, n);
		{
			/* Out of its swarm first (best effort, bounded). */
			json_t *h = machine_load(&st, n);
			if (h && swarm_leave(&st, h, 30000) < 0)
				dm_errorf("Warning: \"%s\" did not leave its swarm: %s", n, dm_strerr());
			json_decref(h);
		}
		if (remove_remote(&st, n) < 0) {
			dm_errorf("Error removing host \"%s\": %s", n, dm_strerr());
			if (!force) {
				status = DM_EXIT_FAIL;
				if (lock >= 0)
					store_unlock(lock);
				continue;
			}
		}
		if (store_remove(&st, n) < 0) {
			dm_errorf("Error removing host \"%s\": %s", n, dm_strerr());
			status = DM_EXIT_FAIL;
		} else {
			printf("Successfully removed %s\n", n);
		}
		if (lock >= 0)
			store_unlock(lock);
	}
	sb_release(&sb);
	sv_clear(&names);
	store_free(&st);
	opts_free(&os);
	return dm_finish(status);
}
