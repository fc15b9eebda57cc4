/* dm-ssh - log into or run a command on a machine with SSH.
 *
 *   docker-machine ssh [NAME] [--] [COMMAND [ARG...]]
 *
 * Nothing after NAME is parsed as a flag (one leading "--" after NAME is
 * dropped, so `ssh n1 -- -x` runs `-x`).  The machine must be Running (the
 * driver's `state`); `ssh-info` gives host, port, user, key and the
 * machine's known_hosts.  The external ssh is exec'd: with a tty (-t) for a
 * login when stdin is a terminal, BatchMode for a command; the words are
 * joined by ssh with spaces and read by the remote login shell.  Our exit
 * status is the remote command's (ssh's 255 when the connection failed).
 * With --native-ssh / MACHINE_NATIVE_SSH, libssh2 runs the command (no
 * interactive login) and the status is passed through the same way.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "dm.h"
#include "driver.h"
#include "host.h"
#include "json.h"
#include "machine.h"
#include "ssh.h"

#define SSH_DRIVER_TIMEOUT_MS 60000

static const struct opt ssh_opts[] = { { NULL } };

static int run_native(const struct ssh_target *t, char **cmd, size_t ncmd)
{
	struct strbuf line = STRBUF_INIT, in = STRBUF_INIT, out = STRBUF_INIT, err = STRBUF_INIT;
	int rc;

	if (!ncmd) {
		dm_errorf("--native-ssh runs commands only: give a command, or use the external ssh "
		          "for an interactive login");
		return DM_EXIT_FAIL;
	}
	for (size_t i = 0; i < ncmd; i++) {   /* joined as ssh joins them */
		if (i)
			sb_addc(&line, ' ');
		sb_adds(&line, cmd[i]);
	}
	if (!isatty(0) && sb_read_fd(&in, 0, 64u << 20) < 0) {
		dm_errorf("%s", dm_strerr());
		return DM_EXIT_FAIL;
	}
	rc = ssh_run_native(t, line.buf, in.buf, in.len, &out, &err, 0);
	fwrite(out.buf, 1, out.len, stdout);
	fflush(stdout);
	fwrite(err.buf, 1, err.len, stderr);
	if (rc < 0 || rc == 255) {
		dm_errorf("%s", dm_strerr());
		rc = 255;
	}
	sb_release(&line);
	sb_release(&in);
	sb_release(&out);
	sb_release(&err);
	return dm_finish(rc);
}

int main(int argc, char **argv)
{
	struct cmd_spec spec = { .opts = ssh_opts, .nopts = 0, .args = COMP_MACHINE, .raw_args = 1 };
	struct optset os;
	struct store st;
	struct strvec names = STRVEC_INIT, av = STRVEC_INIT, first = STRVEC_INIT;
	struct ssh_target t = { 0 };
	struct machine_ssh ms;
	json_t *h;
	char *state, *kh = NULL;
	char **cmd;
	size_t ncmd, a0 = 0;
	int status = 0;
	struct stat sb;

	dm_init(argc, argv);
	cli_spec(&spec, "ssh");
	if (cli_parse(&os, &spec, argc, argv, &status) < 0)
		return dm_finish(status);
	if (os.args.n && !strcmp(os.args.v[0], "--"))
		a0 = 1;      /* `ssh -- NAME …` */
	if (os.args.n > a0 && (!strcmp(os.args.v[a0], "-h") || !strcmp(os.args.v[a0], "-help") ||
	                       !strcmp(os.args.v[a0], "--help"))) {
		opts_help(&spec, opts_progname(), stdout);
		return dm_finish(DM_EXIT_OK);
	}
	if (cli_store(&st) < 0) {
		dm_errorf("%s", dm_strerr());
		return dm_finish(DM_EXIT_FAIL);
	}
	if (os.args.n > a0)
		sv_push(&first, os.args.v[a0]);
	if (cli_names(&st, &first, 1, &names) < 0 || !names.n) {
		dm_errorf("%s", dm_strerr());
		return dm_finish(DM_EXIT_FAIL);
	}
	cmd = os.args.v + (os.args.n > a0 ? a0 + 1 : os.args.n);
	ncmd = os.args.n > a0 ? os.args.n - a0 - 1 : 0;
	if (ncmd && !strcmp(cmd[0], "--")) {
		cmd++;
		ncmd--;
	}

	if (!(h = machine_load(&st, names.v[0]))) {
		dm_errorf("%s", dm_strerr());
		return dm_finish(DM_EXIT_FAIL);
	}
	if (!(state = machine_ask(h, "state", "State", SSH_DRIVER_TIMEOUT_MS))) {
		dm_errorf("%s", dm_strerr());
		return dm_finish(DM_EXIT_FAIL);
	}
	if (strcmp(state, "Running") != 0) {
		dm_errorf("Error: Cannot run SSH command: Host \"%s\" is not running", host_name(h));
		return dm_finish(DM_EXIT_FAIL);
	}
	free(state);
	if (machine_ssh_info(&st, h, &ms) < 0) {
		dm_errorf("%s", dm_strerr());
		return dm_finish(DM_EXIT_FAIL);
	}
	t = ms.t;
	kh = ms.known_hosts;
	if (stat(kh, &sb) < 0 && errno == ENOENT)
		dm_errorf("Warning: no host key is pinned for \"%s\" yet: trusting the key %s:%d "
		          "offers now and saving it in %s", host_name(h), t.host, t.port ? t.port : 22, kh);

	if (ssh_native_enabled())
		return run_native(&t, cmd, ncmd);

	ssh_argv(&t, ncmd ? SSH_BATCH : (isatty(0) ? SSH_TTY : 0), ncmd ? cmd : NULL, &av);
	dm_debugf("exec: %s", sv_argv(&av)[0]);
	fflush(stdout);
	execvp("ssh", sv_argv(&av));
	dm_errorf("exec ssh: %s", strerror(errno));
	machine_ssh_free(&ms);
	return dm_finish(DM_EXIT_FAIL);
}
