/* dm-env - print the commands that point the docker client at a machine. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dm.h"
#include "host.h"
#include "json.h"
#include "machine.h"
#include "shellenv.h"

static const struct opt env_opts[] = {
	{ "swarm", 0, OPT_BOOL, NULL, NULL, "Display the Swarm config instead of the Docker daemon", 0,
	  NULL, 0 },
	{ "shell", 0, OPT_STRING, NULL, NULL,
	  "Force environment to be configured for a specified shell: [fish, cmd, powershell, tcsh, emacs], default is auto-detect",
	  COMP_SHELL, NULL, 0 },
	{ "unset", 'u', OPT_BOOL, NULL, NULL, "Unset variables instead of setting them", 0, NULL, 0 },
	{ "no-proxy", 0, OPT_BOOL, NULL, NULL, "Add machine IP to NO_PROXY environment variable", 0,
	  NULL, 0 },
	{ "json", 0, OPT_BOOL, NULL, NULL, "Print the variables as one JSON object", 0, NULL,
	  0 },
};

static const char *const vars[] = { "DOCKER_TLS_VERIFY", "DOCKER_HOST", "DOCKER_CERT_PATH",
	                            "DOCKER_MACHINE_NAME" };

static const char *proxy_var(const char **cur)
{
	const char *lower = getenv("no_proxy");
	if (lower && *lower) {
		*cur = lower;
		return "no_proxy";
	}
	*cur = getenv("NO_PROXY");
	if (!*cur)
		*cur = "";
	return "NO_PROXY";
}

int main(int argc, char **argv)
{
	struct cmd_spec spec = { .opts = env_opts, .nopts = ARRAY_SIZE(env_opts), .args = COMP_MACHINE };
	struct optset os;
	struct store st;
	struct strbuf out = STRBUF_INIT;
	enum shell_kind sk;
	int status = 0;
	json_t *h;
	char *url = NULL, *certdir, *noproxy = NULL;
	const char *pvar = NULL, *pcur = "";

	dm_init(argc, argv);
	cli_spec(&spec, "env");
	if (cli_parse(&os, &spec, argc, argv, &status) < 0)
		return dm_finish(status);
	sk = shell_kind(shell_detect(opts_str(&os, "shell")));
	if (opts_on(&os, "no-proxy"))
		pvar = proxy_var(&pcur);

	if (opts_on(&os, "unset")) {
		if (os.args.n) {
			dm_errorf("Error: Expected no machine name when the -u flag is present");
			return dm_finish(DM_EXIT_FAIL);
		}
		for (size_t i = 0; i < ARRAY_SIZE(vars); i++)
			shellenv_unset(sk, vars[i], &out);
		if (pvar)
			shellenv_unset(sk, pvar, &out);
		shellenv_hint(sk, cli_cmdline(), &out);
		fwrite(out.buf, 1, out.len, stdout);
		sb_release(&out);
		return dm_finish(0);
	}
	if (cli_store(&st) < 0) {
		dm_errorf("%s", dm_strerr());
		return dm_finish(DM_EXIT_FAIL);
	}
	if (!(h = machine_load_one(&st, &os.args))) {
		dm_errorf("%s", dm_strerr());
		return dm_finish(DM_EXIT_FAIL);
	}
	if (machine_check_connection(&st, h, opts_on(&os, "swarm"), &url) < 0) {
		dm_errorf("Error checking TLS connection: %s", dm_strerr());
		return dm_finish(DM_EXIT_FAIL);
	}
	certdir = store_machine_dir(&st, host_name(h));
	if (pvar) {
		char *ip = machine_ask(h, "ip", "IP", MACHINE_DRIVER_TIMEOUT_MS);
		if (!ip) {
			dm_errorf("Error getting host IP: %s", dm_strerr());
			return dm_finish(DM_EXIT_FAIL);
		}
		if (strstr(pcur, ip))
			noproxy = xstrdup(pcur);
		else if (*pcur)
			noproxy = xasprintf("%s,%s", pcur, ip);
		else
			noproxy = xstrdup(ip);
		free(ip);
	}
	if (opts_on(&os, "json")) {
		json_t *o = json_object();
		dj_set_str(o, "DOCKER_TLS_VERIFY", "1");
		dj_set_str(o, "DOCKER_HOST", url);
		dj_set_str(o, "DOCKER_CERT_PATH", certdir);
		dj_set_str(o, "DOCKER_MACHINE_NAME", host_name(h));
		if (pvar)
			dj_set_str(o, pvar, noproxy);
		cli_print_json(o);
		json_decref(o);
	} else {
		shellenv_set(sk, "DOCKER_TLS_VERIFY", "1", &out);
		shellenv_set(sk, "DOCKER_HOST", url, &out);
		shellenv_set(sk, "DOCKER_CERT_PATH", certdir, &out);
		shellenv_set(sk, "DOCKER_MACHINE_NAME", host_name(h), &out);
		if (pvar)
			shellenv_set(sk, pvar, noproxy, &out);
		shellenv_hint(sk, cli_cmdline(), &out);
		fwrite(out.buf, 1, out.len, stdout);
	}
	sb_release(&out);
	free(noproxy);
	free(certdir);
	free(url);
	json_decref(h);
	store_free(&st);
	opts_free(&os);
	return dm_finish(0);
}
