/* dm-regenerate-certs - make new server certificates for machines and
 * provision them again (in parallel).
 *
 * --client-certs rotates the store's CA and client certificate first: a new
 * CA key and certificate and a new client certificate signed by it replace
 * the old ones (0.16.2 kept a valid existing pair, so nothing rotated).  The
 * named machines then get server certificates from the new CA and trust
 * only it, so the old client certificate is refused by their engines.
 * Machines not named keep trusting the old CA until they are regenerated
 * too; a warning names them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cert.h"
#include "cli.h"
#include "dm.h"
#include "json.h"
#include "machine.h"
#include "provision.h"

static const struct opt regen_opts[] = {
	{ "force", 'f', OPT_BOOL, NULL, NULL, "Forces the regeneration", 0, NULL, 0 },
	{ "client-certs", 0, OPT_BOOL, NULL, NULL, "Also regenerate client certificates and CA.", 0,
	  NULL, 0 },
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
	if ((lock = store_lock_machine(&c->st, name)) < 0) {
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

static int install(const char *from, const char *to, unsigned mode)
{
	struct strbuf sb = STRBUF_INIT;
	int rc = sb_read_file(&sb, from, 1u << 20);
	if (rc == 0)
		rc = write_file_atomic(to, sb.buf, sb.len, mode);
	sb_release(&sb);
	return rc;
}

/* New CA + client certificate, made aside and then put in place. */
static int rotate(const struct store *st)
{
	char *tmp = xasprintf("%s/.rotate-%ld", st->certs, (long)getpid());
	char *ca = xasprintf("%s/ca.pem", tmp), *cakey = xasprintf("%s/ca-key.pem", tmp);
	char *cert = xasprintf("%s/cert.pem", tmp), *key = xasprintf("%s/key.pem", tmp);
	struct cert_paths cp = { tmp, ca, cakey, cert, key };
	const char *kt_env = getenv("MACHINE_TLS_KEY_TYPE");
	enum cert_keytype kt = CERT_ECDSA;
	json_t *d = NULL;
	FILE *null = fopen("/dev/null", "w");
	int lock, rc = -1;

	if (kt_env && *kt_env)
		kt = strcmp(kt_env, "rsa") ? CERT_ECDSA : CERT_RSA;
	else if (cert_describe(st->ca_cert, &d) == 0 && !strcmp(dj_str(d, "KeyType", ""), "rsa"))
		kt = CERT_RSA;
	json_decref(d);
	if (mkdir_p(st->certs, 0700) < 0 || !null)
		goto out;
	lock = store_lock_certs(st);
	rm_rf(tmp);
	if (mkdir_p(tmp, 0700) == 0 && cert_bootstrap(&cp, kt, null) == 0 &&
	    install(cakey, st->ca_key, 0600) == 0 && install(ca, st->ca_cert, 0644) == 0 &&
	    install(key, st->client_key, 0600) == 0 && install(cert, st->client_cert, 0644) == 0)
		rc = 0;
	rm_rf(tmp);
	if (lock >= 0)
		store_unlock(lock);
out:
	if (null)
		fclose(null);
	free(tmp);
	free(ca);
	free(cakey);
	free(cert);
	free(key);
	return rc;
}

static void warn_stale(const struct store *st, const struct strvec *names)
{
	struct strvec all = STRVEC_INIT;
	struct strbuf sb = STRBUF_INIT;
	if (store_list(st, &all) == 0)
		for (size_t i = 0; i < all.n; i++)
			if (!sv_contains(names, all.v[i]))
				sb_addf(&sb, "%s%s", sb.len ? ", " : "", all.v[i]);
	if (sb.len)
		dm_errorf("Warning: the CA was replaced; these machines still trust the old one and "
		          "refuse the new client certificate until they are regenerated too: %s", sb.buf);
	sv_clear(&all);
	sb_release(&sb);
}

int main(int argc, char **argv)
{
	struct cmd_spec spec = { .opts = regen_opts, .nopts = ARRAY_SIZE(regen_opts),
		                 .args = COMP_MACHINE };
	struct optset os;
	struct strvec names = STRVEC_INIT;
	struct ctx c = { 0 };
	int status = 0;

	dm_init(argc, argv);
	cli_spec(&spec, "regenerate-certs");
	if (cli_parse(&os, &spec, argc, argv, &status) < 0)
		return dm_finish(status);
	if (cli_store(&c.st) < 0 || cli_names(&c.st, &os.args, 1, &names) < 0) {
		dm_errorf("%s", dm_strerr());
		return dm_finish(DM_EXIT_FAIL);
	}
	if (!opts_on(&os, "force")) {
		struct strbuf ans = STRBUF_INIT;
		printf("Regenerate TLS machine certs?  Warning: this is irreversible. (y/n): ");
		fflush(stdout);
		if (sb_getline(&ans, stdin) < 0 || (ans.buf[0] != 'y' && ans.buf[0] != 'Y')) {
			sb_release(&ans);
			return dm_finish(0);
		}
		sb_release(&ans);
	}
	printf("Regenerating TLS certificates\n");
	fflush(stdout);
	if (opts_on(&os, "client-certs")) {
		printf("Regenerating local certificates\n");
		fflush(stdout);
		if (rotate(&c.st) < 0) {
			dm_errorf("Error regenerating the CA and client certificates: %s", dm_strerr());
			return dm_finish(DM_EXIT_FAIL);
		}
		warn_stale(&c.st, &names);
	}
	status = provision_each(&names, one, &c);
	sv_clear(&names);
	store_free(&c.st);
	opts_free(&os);
	return dm_finish(status);
}
