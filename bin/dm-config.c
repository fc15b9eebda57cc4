/* dm-config - print the docker client flags for a machine. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dm.h"
#include "host.h"
#include "json.h"
#include "machine.h"

static const struct opt config_opts[] = {
	{ "swarm", 0, OPT_BOOL, NULL, NULL, "Display the Swarm config instead of the Docker daemon", 0,
	  NULL, 0 },
	{ "json", 0, OPT_BOOL, NULL, NULL, "Print the settings as one JSON object", 0, NULL,
	  0 },
};

/* Go's %q for the paths 0.16.2 prints. */
static void add_quoted(struct strbuf *sb, const char *s)
{
	sb_addc(sb, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			sb_addf(sb, "\\%c", c);
		else if (c == '\n')
			sb_adds(sb, "\\n");
		else if (c == '\t')
			sb_adds(sb, "\\t");
		else if (c < 0x20 || c == 0x7f)
			sb_addf(sb, "\\x%02x", c);
		else
			sb_addc(sb, c);
	}
	sb_addc(sb, '"');
}

int main(int argc, char **argv)
{
	struct cmd_spec spec = { .opts = config_opts, .nopts = ARRAY_SIZE(config_opts),
		                 .args = COMP_MACHINE };
	struct optset os;
	struct store st;
	struct strbuf out = STRBUF_INIT;
	int status = 0;
	json_t *h;
	char *url = NULL, *dir, *ca, *cert, *key;

	dm_init(argc, argv);
	cli_spec(&spec, "config");
	if (cli_parse(&os, &spec, argc, argv, &status) < 0)
		return dm_finish(status);
	if (cli_store(&st) < 0) {
		dm_errorf("%s", dm_strerr());
		return dm_finish(DM_EXIT_FAIL);
	}
	if (!(h = machine_load_one(&st, &os.args))) {
		dm_errorf("%s", dm_strerr());
		return dm_finish(DM_EXIT_FAIL);
	}
	if (machine_check_connection(&st, h, opts_on(&os, "swarm"), &url) < 0) {
		dm_errorf("Error running connection boilerplate: %s", dm_strerr());
		return dm_finish(DM_EXIT_FAIL);
	}
	dir = store_machine_dir(&st, host_name(h));
	ca = xasprintf("%s/ca.pem", dir);
	cert = xasprintf("%s/cert.pem", dir);
	key = xasprintf("%s/key.pem", dir);
	if (opts_on(&os, "json")) {
		json_t *o = json_object();
		dj_set_bool(o, "TLSVerify", 1);
		dj_set_str(o, "TLSCACert", ca);
		dj_set_str(o, "TLSCert", cert);
		dj_set_str(o, "TLSKey", key);
		dj_set_str(o, "Host", url);
		cli_print_json(o);
		json_decref(o);
	} else {
		sb_adds(&out, "--tlsverify\n--tlscacert=");
		add_quoted(&out, ca);
		sb_adds(&out, "\n--tlscert=");
		add_quoted(&out, cert);
		sb_adds(&out, "\n--tlskey=");
		add_quoted(&out, key);
		sb_addf(&out, "\n-H=%s\n", url);
		fwrite(out.buf, 1, out.len, stdout);
	}
	sb_release(&out);
	free(ca);
	free(cert);
	free(key);
	free(dir);
	free(url);
	json_decref(h);
	store_free(&st);
	opts_free(&os);
	return dm_finish(0);
}
