/* dm-scp - copy files between machines (and this host).
 *
 *   docker-machine scp [-r] [-d|--delta] [-q] [[user@]machine:]path [[user@]machine:]path
 *
 * An argument without ':' is a local path, as is "localhost:path".  For each
 * machine end the driver's `ssh-info` gives host, port, user, key and the
 * machine's known_hosts; scp then runs as 0.16.2 builds it (-3, Port and
 * IdentityFile per end), with host keys checked against those files.
 * --delta runs rsync over the same ssh options instead.  Our exit status is
 * scp's (or rsync's).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "dm.h"
#include "driver.h"
#include "host.h"
#include "json.h"
#include "machine.h"
#include "ssh.h"

#define SCP_DRIVER_TIMEOUT_MS 60000

static const struct opt scp_opts[] = {
	{ "recursive", 'r', OPT_BOOL, NULL, NULL, "Copy files recursively (required to copy directories)",
	  0, NULL, 0 },
	{ "delta", 'd', OPT_BOOL, NULL, NULL,
	  "Reduce amount of data sent over network by sending only the differences (uses rsync)", 0,
	  NULL, 0 },
	{ "quiet", 'q', OPT_BOOL, NULL, NULL,
	  "Disables the progress meter as well as warning and diagnostic messages from ssh", 0, NULL, 0 },
};

struct end {
	struct scp_loc loc;
	struct ssh_target t;
	char *user, *path, *machine;
	struct machine_ssh ms;   /* ssh-info answer (owns the strings t points at) */
	char *kh;                /* = ms.known_hosts */
};

/* Split "[[user@]machine:]path"; loads the machine when there is one.
 * Returns 0, or -1 with the message already printed. */
static int parse_end(const struct store *st, const char *arg, struct end *e)
{
	const char *colon = strchr(arg, ':');
	json_t *h;

	memset(e, 0, sizeof(*e));
	if (!colon) {
		e->loc.path = arg;
		return 0;
	}
	e->machine = xstrndup(arg, (size_t)(colon - arg));
	e->path = xstrdup(colon + 1);
	char *at = strchr(e->machine, '@');
	if (at) {
		*at = 0;
		e->user = xstrdup(e->machine);
		memmove(e->machine, at + 1, strlen(at + 1) + 1);
	}
	e->loc.path = e->path;
	if (!strcmp(e->machine, "localhost"))
		return 0;
	if (!(h = machine_load(st, e->machine))) {
		dm_errorf("Error loading host: %s", dm_strerr());
		return -1;
	}
	if (machine_ssh_info(st, h, &e->ms) < 0) {
		dm_errorf("%s", dm_strerr());
		json_decref(h);
		return -1;
	}
	e->t = e->ms.t;
	e->kh = e->ms.known_hosts;
	if (access(e->kh, F_OK) < 0) {
		/* pin it through this end alone: scp would write every end's new
		 * key into the first UserKnownHostsFile */
		dm_errorf("Warning: no host key is pinned for \"%s\" yet: trusting the key %s offers "
		          "now and saving it in %s", e->machine, e->t.host, e->kh);
		if (ssh_pin_hostkey(&e->t, now_ms() + SCP_DRIVER_TIMEOUT_MS) < 0) {
			dm_errorf("%s", dm_strerr());
			json_decref(h);
			return -1;
		}
	}
	e->loc.t = &e->t;
	e->loc.user = e->user;
	json_decref(h);
	return 0;
}

int main(int argc, char **argv)
{
	struct cmd_spec spec = { .opts = scp_opts, .nopts = ARRAY_SIZE(scp_opts), .args = COMP_FILE };
	struct optset os;
	struct store st;
	struct strvec av = STRVEC_INIT;
	struct end src, dst;
	unsigned flags = 0;
	int status = 0;
	const char *prog;

	dm_init(argc, argv);
	cli_spec(&spec, "scp");
	if (cli_parse(&os, &spec, argc, argv, &status) < 0)
		return dm_finish(status);
	if (os.args.n != 2) {
		opts_help(&spec, opts_progname(), stdout);
		dm_errorf("Improper number of arguments");
		return dm_finish(DM_EXIT_FAIL);
	}
	if (cli_store(&st) < 0) {
		dm_errorf("%s", dm_strerr());
		return dm_finish(DM_EXIT_FAIL);
	}
	if (parse_end(&st, os.args.v[0], &src) < 0 || parse_end(&st, os.args.v[1], &dst) < 0)
		return dm_finish(DM_EXIT_FAIL);
	if (opts_on(&os, "recursive"))
		flags |= SCP_RECURSIVE;
	if (opts_on(&os, "quiet"))
		flags |= SCP_QUIET;
	if (opts_on(&os, "delta")) {
		if (ssh_rsync_argv(&src.loc, &dst.loc, flags, &av) < 0) {
			dm_errorf("%s", dm_strerr());
			return dm_finish(DM_EXIT_FAIL);
		}
		prog = "rsync";
	} else {
		ssh_scp_argv(&src.loc, &dst.loc, flags, &av);
		prog = "scp";
	}
	fflush(stdout);
	execvp(prog, sv_argv(&av));
	dm_errorf("exec %s: %s", prog, strerror(errno));
	return dm_finish(DM_EXIT_FAIL);
}
