/* dm-certs - show or create the store's TLS certificates.
 *
 *   dm-certs [show] [--json]     the CA and the client certificate
 *   dm-certs bootstrap [--tls-key-type ecdsa|rsa] [--json]
 *                                make whatever is missing or expired
 */
#include <string.h>

#include "cert.h"
#include "cli.h"
#include "dm.h"
#include "json.h"
#include "tabwriter.h"

static const struct opt certs_opts[] = {
	{ "json", 0, OPT_BOOL, NULL, NULL,
	  "Print one JSON object per certificate (fields of cert_describe plus Name)", 0, NULL, 0 },
	{ "tls-key-type", 0, OPT_STRING, "ecdsa", "MACHINE_TLS_KEY_TYPE",
	  "Key type of new certificates: ecdsa (P-256) or rsa (2048)", COMP_LIST, "ecdsa rsa", 0 },
};

struct row {
	const char *name, *path;
	json_t *d;          /* cert_describe, or {Name,Path,Error} */
};

/* Describe the CA and the client cert; 0, or -1 when one is unreadable
 * (its row then carries "Error"). */
static int describe(const struct store *st, struct row rows[2])
{
	int r = 0;
	rows[0] = (struct row){ "ca", st->ca_cert, NULL };
	rows[1] = (struct row){ "client", st->client_cert, NULL };
	for (int i = 0; i < 2; i++) {
		json_t *d = NULL, *o = json_object();
		dj_set_str(o, "Name", rows[i].name);
		if (cert_describe(rows[i].path, &d) < 0) {
			dj_set_str(o, "Path", rows[i].path);
			dj_set_str(o, "Error", dm_strerr());
			r = -1;
		} else {
			json_object_update(o, d);
			json_decref(d);
		}
		rows[i].d = o;
	}
	return r;
}

static void print_text(struct row rows[2])
{
	struct tabwriter tw;
	struct strbuf out = STRBUF_INIT;
	tw_init(&tw, 5, 1, 3, ' ');
	tw_write(&tw, "NAME\tSUBJECT\tKEY\tNOT AFTER\tDAYS LEFT\tPATH\n");
	for (int i = 0; i < 2; i++) {
		json_t *d = rows[i].d;
		char days[32];
		if (json_object_get(d, "Error")) {
			tw_printf(&tw, "%s\t-\t-\t-\t-\t%s\n", rows[i].name, rows[i].path);
			continue;
		}
		if (dj_bool(d, "Expired", 0))
			snprintf(days, sizeof days, "expired");
		else
			snprintf(days, sizeof days, "%lld", dj_int(d, "DaysLeft", 0));
		tw_printf(&tw, "%s\t%s\t%s-%lld\t%s\t%s\t%s\n", rows[i].name, dj_str(d, "Subject", ""),
		          dj_str(d, "KeyType", ""), dj_int(d, "KeyBits", 0), dj_str(d, "NotAfter", ""),
		          days, rows[i].path);
	}
	tw_flush(&tw, &out);
	fwrite(out.buf, 1, out.len, stdout);
	tw_free(&tw);
	sb_release(&out);
}

/* Print the rows; errors go to stderr too. Returns the exit status. */
static int show(const struct store *st, int json)
{
	struct row rows[2];
	int r = describe(st, rows);
	for (int i = 0; i < 2; i++) {
		if (json)
			cli_print_json(rows[i].d);
		if (json_object_get(rows[i].d, "Error"))
			dm_warnx("%s", dj_str(rows[i].d, "Error", ""));
	}
	if (!json)
		print_text(rows);
	json_decref(rows[0].d);
	json_decref(rows[1].d);
	return r < 0 ? DM_EXIT_FAIL : DM_EXIT_OK;
}

static int bootstrap(const struct store *st, enum cert_keytype kt, int json)
{
	struct cert_paths cp = { st->certs, st->ca_cert, st->ca_key, st->client_cert, st->client_key };
	int lock, r;
	if (mkdir_p(st->certs, 0700) < 0) {
		dm_errorf("%s", dm_strerr());
		return DM_EXIT_FAIL;
	}
	lock = store_lock_certs(st);
	/* The log is the result, as in create; with --json the rows are. */
	r = cert_bootstrap(&cp, kt, json ? stderr : stdout);
	store_unlock(lock);
	if (r < 0) {
		dm_errorf("Error: %s", dm_strerr());
		return DM_EXIT_FAIL;
	}
	return json ? show(st, 1) : DM_EXIT_OK;
}

int main(int argc, char **argv)
{
	struct cmd_spec spec = { .opts = certs_opts, .nopts = ARRAY_SIZE(certs_opts),
		                 .args = COMP_NONE };
	struct optset os;
	struct store st;
	const char *verb, *kt;
	int status = 0;

	dm_init(argc, argv);
	cli_spec(&spec, "certs");
	if (cli_parse(&os, &spec, argc, argv, &status) < 0)
		return dm_finish(status);
	verb = os.args.n ? os.args.v[0] : "show";
	if (os.args.n > 1 || (strcmp(verb, "show") && strcmp(verb, "bootstrap"))) {
		status = opts_usage_error(&spec, opts_progname(),
		                          os.args.n > 1 ? "too many arguments"
		                                        : "unknown subcommand (show, bootstrap)");
		opts_free(&os);
		return dm_finish(status);
	}
	kt = opts_str(&os, "tls-key-type");
	if (strcmp(kt, "ecdsa") && strcmp(kt, "rsa")) {
		dm_errorf("Error: --tls-key-type must be ecdsa or rsa, not \"%s\"", kt);
		opts_free(&os);
		return dm_finish(DM_EXIT_USAGE);
	}
	if (cli_store(&st) < 0) {
		dm_errorf("%s", dm_strerr());
		opts_free(&os);
		return dm_finish(DM_EXIT_FAIL);
	}
	if (!strcmp(verb, "bootstrap"))
		status = bootstrap(&st, !strcmp(kt, "rsa") ? CERT_RSA : CERT_ECDSA, opts_on(&os, "json"));
	else
		status = show(&st, opts_on(&os, "json"));
	store_free(&st);
	opts_free(&os);
	return dm_finish(status);
}
