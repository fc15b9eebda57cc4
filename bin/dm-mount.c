/* dm-mount - mount (or with -u unmount) a machine's directory with sshfs.
 *
 *   docker-machine mount [-u] MACHINE:[PATH] MOUNTPOINT
 *
 * sshfs gets the options every SSH tool shares (lib/ssh.h: the machine's
 * pinned known_hosts, timeouts, no password prompts), then Port and
 * IdentityFile as 0.16.2 passes them; -u runs `fusermount -u MOUNTPOINT`.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "dm.h"
#include "host.h"
#include "machine.h"
#include "ssh.h"

static const struct opt mount_opts[] = {
	{ "unmount", 'u', OPT_BOOL, NULL, NULL, "Unmount instead of mount", 0, NULL, 0 },
};

int main(int argc, char **argv)
{
	struct cmd_spec spec = { .opts = mount_opts, .nopts = ARRAY_SIZE(mount_opts),
		                 .args = COMP_MACHINE };
	struct optset os;
	struct store st;
	struct machine_ssh ms;
	struct strvec av = STRVEC_INIT;
	int status = 0;
	const char *src, *mnt, *colon;
	char *name, *path;
	json_t *h;

	dm_init(argc, argv);
	cli_spec(&spec, "mount");
	if (cli_parse(&os, &spec, argc, argv, &status) < 0)
		return dm_finish(status);
	if (os.args.n != 2) {
		opts_help(&spec, opts_progname(), stdout);
		dm_errorf("Improper number of arguments.");
		return dm_finish(DM_EXIT_FAIL);
	}
	src = os.args.v[0];
	mnt = os.args.v[1];
	if (opts_on(&os, "unmount")) {
		char *fav[] = { (char *)"fusermount", (char *)"-u", (char *)mnt, NULL };
		fflush(stdout);
		execvp(fav[0], fav);
		dm_errorf("exec fusermount: %s", strerror(errno));
		return dm_finish(DM_EXIT_FAIL);
	}
	if (!(colon = strchr(src, ':'))) {
		dm_errorf("Error: the source must be MACHINE:[PATH], not \"%s\"", src);
		return dm_finish(DM_EXIT_FAIL);
	}
	name = xstrndup(src, (size_t)(colon - src));
	path = xstrdup(colon + 1);
	if (cli_store(&st) < 0 || !(h = machine_load(&st, name))) {
		dm_errorf("%s", dm_strerr());
		return dm_finish(DM_EXIT_FAIL);
	}
	if (machine_ssh_info(&st, h, &ms) < 0) {
		dm_errorf("%s", dm_strerr());
		return dm_finish(DM_EXIT_FAIL);
	}
	sv_push(&av, "sshfs");
	ssh_common_opts(&ms.t, 1, &av);
	if (*ms.t.key) {
		sv_push(&av, "-o");
		sv_push(&av, "IdentitiesOnly=yes");
	}
	sv_push(&av, "-o");
	sv_pushf(&av, "Port=%d", ms.t.port ? ms.t.port : 22);
	if (*ms.t.key) {
		sv_push(&av, "-o");
		sv_pushf(&av, "IdentityFile=%s", ms.t.key);
	}
	sv_pushf(&av, "%s@%s:%s", *ms.t.user ? ms.t.user : "root",
	         strchr(ms.t.host, ':') ? xasprintf("[%s]", ms.t.host) : ms.t.host, path);
	sv_push(&av, mnt);
	fflush(stdout);
	execvp("sshfs", sv_argv(&av));
	dm_errorf("exec sshfs: %s (is sshfs installed?)", strerror(errno));
	return dm_finish(DM_EXIT_FAIL);
}
