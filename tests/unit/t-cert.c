/* t-cert.c - CA, client and server certificates. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cert.h"
#include "json.h"
#include "tap.h"
#include "util.h"

struct store_paths {
	char *dir, *ca, *cakey, *cert, *key;
	struct cert_paths p;
};

static void paths_init(struct store_paths *s, const char *name)
{
	s->dir = xasprintf("%s/%s/certs", tap_tmpdir(), name);
	s->ca = xasprintf("%s/ca.pem", s->dir);
	s->cakey = xasprintf("%s/ca-key.pem", s->dir);
	s->cert = xasprintf("%s/cert.pem", s->dir);
	s->key = xasprintf("%s/key.pem", s->dir);
	s->p = (struct cert_paths){ s->dir, s->ca, s->cakey, s->cert, s->key };
}

static unsigned mode_of(const char *path)
{
	struct stat st;
	return stat(path, &st) < 0 ? 0 : (unsigned)(st.st_mode & 07777);
}

static char *slurp(const char *path)
{
	struct strbuf sb = STRBUF_INIT;
	if (sb_read_file(&sb, path, 1 << 20) < 0)
		return xstrdup("");
	return sb_detach(&sb);
}

/* Run bootstrap with its log captured. */
static int bootstrap(struct store_paths *s, enum cert_keytype kt, struct strbuf *log)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int r = cert_bootstrap(&s->p, kt, f);
	fclose(f);
	sb_reset(log);
	sb_add(log, buf, len);
	free(buf);
	return r;
}

static X509 *read_cert(const char *path)
{
	FILE *f = fopen(path, "r");
	X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	if (f)
		fclose(f);
	return x;
}

/* 1 when leaf verifies against the CA file for purpose (e.g. X509_PURPOSE_SSL_CLIENT). */
static int verifies(const char *ca_path, const char *leaf_path, int purpose)
{
	X509_STORE *st = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	X509 *leaf = read_cert(leaf_path);
	int r = 0;
	if (leaf && X509_STORE_load_file(st, ca_path) == 1 &&
	    X509_STORE_CTX_init(ctx, st, leaf, NULL) == 1) {
		X509_STORE_CTX_set_purpose(ctx, purpose);
		r = X509_verify_cert(ctx) == 1;
	}
	X509_free(leaf);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	return r;
}

static int org_type(const char *path)
{
	X509 *x = read_cert(path);
	int t = -1;
	if (x) {
		X509_NAME *n = X509_get_subject_name(x);
		int i = X509_NAME_get_index_by_NID(n, NID_organizationName, -1);
		if (i >= 0)
			t = ASN1_STRING_type(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i)));
		X509_free(x);
	}
	return t;
}

/* Write an expired self-signed CA (and its key) the way an old store has it. */
static void write_expired_ca(const char *cert_path, const char *key_path)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	X509V3_CTX ctx;
	X509_EXTENSION *e;
	time_t now = time(NULL);
	FILE *f;

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
	ASN1_TIME_set(X509_getm_notBefore(x), now - 2000L * 86400);
	ASN1_TIME_set(X509_getm_notAfter(x), now - 920L * 86400);
	X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC, (const unsigned char *)"old", -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, n);
	X509_set_pubkey(x, k);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	e = X509V3_EXT_nconf_nid(NULL, &ctx, NID_basic_constraints, "critical,CA:TRUE");
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	X509_sign(x, k, EVP_sha256());
	f = fopen(cert_path, "w");
	PEM_write_X509(f, x);
	fclose(f);
	f = fopen(key_path, "w");
	PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
	fclose(f);
	chmod(key_path, 0600);
	X509_NAME_free(n);
	X509_free(x);
	EVP_PKEY_free(k);
}

static void test_bootstrap_ecdsa(void)
{
	struct store_paths s;
	struct strbuf log = STRBUF_INIT, want = STRBUF_INIT;
	json_t *d = NULL;
	char *ca1, *cert1, *key;

	paths_init(&s, "ecdsa");
	ok(bootstrap(&s, CERT_ECDSA, &log) == 0, "bootstrap (ecdsa): %s", dm_strerr());
	sb_addf(&want, "Creating CA: %s\nCreating client certificate: %s\n", s.ca, s.cert);
	is_str(log.buf, want.buf, "bootstrap logs 0.16.2's lines");
	is_int(mode_of(s.dir), 0700, "certs dir 0700");
	is_int(mode_of(s.ca), 0644, "ca.pem 0644");
	is_int(mode_of(s.cert), 0644, "cert.pem 0644");
	is_int(mode_of(s.cakey), 0600, "ca-key.pem 0600");
	is_int(mode_of(s.key), 0600, "key.pem 0600");
	key = slurp(s.key);
	ok(str_starts(key, "-----BEGIN EC PRIVATE KEY-----\n"), "ECDSA key is SEC1 PEM");
	free(key);

	ok(cert_describe(s.ca, &d) == 0, "describe ca");
	char *user = cert_org(NULL), *subj = xasprintf("O=%s", user);
	char *csubj = xasprintf("O=%s.<bootstrap>", user);
	is_str(dj_str(d, "Subject", ""), subj, "CA subject O=$USER");
	is_str(dj_str(d, "Issuer", ""), subj, "CA self-signed");
	is_str(dj_str(d, "KeyType", ""), "ecdsa", "CA key ecdsa");
	is_int(dj_int(d, "KeyBits", 0), 256, "P-256");
	ok(dj_bool(d, "IsCA", 0), "IsCA");
	ok(!dj_bool(d, "Expired", 1), "not expired");
	is_int(dj_int(d, "DaysLeft", 0), 1079, "1080 days from 5 min ago: 1079 whole days left");
	is_int(json_array_size(json_object_get(d, "SANs")), 0, "CA has no SANs");
	json_decref(d);

	ok(cert_describe(s.cert, &d) == 0, "describe client");
	is_str(dj_str(d, "Subject", ""), csubj, "client subject O=$USER.<bootstrap>");
	is_str(dj_str(d, "Issuer", ""), subj, "client issued by the CA");
	ok(!dj_bool(d, "IsCA", 1), "client is not a CA");
	json_decref(d);
	is_int(org_type(s.ca), V_ASN1_PRINTABLESTRING,
	       "plain org is a PrintableString (as Go)");
	is_int(org_type(s.cert), V_ASN1_UTF8STRING, "org with <> is a UTF8String (as Go)");
	ok(verifies(s.ca, s.cert, X509_PURPOSE_SSL_CLIENT), "client cert verifies for clientAuth");
	ok(!verifies(s.ca, s.cert, X509_PURPOSE_SSL_SERVER), "client cert is not a server cert");
	free(user);
	free(subj);
	free(csubj);

	/* NotBefore: the minute, five minutes ago. */
	X509 *x = read_cert(s.ca);
	struct tm tm;
	ASN1_TIME_to_tm(X509_get0_notBefore(x), &tm);
	time_t nb = timegm(&tm), now = time(NULL);
	is_int(tm.tm_sec, 0, "NotBefore on a whole minute");
	ok(nb <= now - 240 && nb > now - 361, "NotBefore 5 min back (%ld s)", (long)(now - nb));
	ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm);
	is_int(timegm(&tm) - nb, 1080L * 86400, "valid 1080 days");
	ok(X509_get_ext_by_NID(x, NID_subject_key_identifier, -1) >= 0, "CA has SubjectKeyId");
	ok(X509_get_key_usage(x) & KU_KEY_CERT_SIGN, "CA KeyUsage CertSign");
	ok(!(X509_get_key_usage(x) & KU_KEY_ENCIPHERMENT), "no KeyEncipherment on an EC key");
	X509_free(x);
	x = read_cert(s.cert);
	ok(X509_get_ext_by_NID(x, NID_authority_key_identifier, -1) >= 0, "client has AuthorityKeyId");
	ok(X509_get_ext_by_NID(x, NID_subject_key_identifier, -1) < 0, "client has no SubjectKeyId");
	is_int(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE, "client KeyUsage DigitalSignature");
	ok(X509_get_extended_key_usage(x) == XKU_SSL_CLIENT, "client EKU clientAuth");
	X509_free(x);

	/* A second run changes nothing and says nothing. */
	ca1 = slurp(s.ca);
	cert1 = slurp(s.cert);
	ok(bootstrap(&s, CERT_RSA, &log) == 0, "bootstrap again");
	is_str(log.buf, "", "nothing to log");
	char *ca2 = slurp(s.ca), *cert2 = slurp(s.cert);
	is_str(ca2, ca1, "CA kept");
	is_str(cert2, cert1, "client cert kept");
	free(ca1);
	free(ca2);
	free(cert1);
	free(cert2);

	/* Missing certs with keys present: 0.16.2's errors. */
	unlink(s.cert);
	ok(bootstrap(&s, CERT_ECDSA, &log) < 0, "client key present, cert missing");
	is_str(dm_strerr(), "client key already exists", "error text");
	unlink(s.ca);
	ok(bootstrap(&s, CERT_ECDSA, &log) < 0, "CA key present, cert missing");
	is_str(dm_strerr(), "certificate authority key already exists", "error text");
	sb_release(&log);
	sb_release(&want);
}

static void test_rsa_and_server(void)
{
	struct store_paths s;
	struct strbuf log = STRBUF_INIT;
	json_t *d = NULL, *sans;
	char *key, *srv, *srvkey;
	const char *names[] = { "10.0.0.5", "dev.example", "localhost", "::1", "127.0.0.1" };

	paths_init(&s, "rsa");
	ok(bootstrap(&s, CERT_RSA, &log) == 0, "bootstrap (rsa): %s", dm_strerr());
	key = slurp(s.cakey);
	ok(str_starts(key, "-----BEGIN RSA PRIVATE KEY-----\n"), "RSA CA key is PKCS#1 like 0.16.2");
	free(key);
	ok(cert_describe(s.cert, &d) == 0, "describe rsa client");
	is_str(dj_str(d, "KeyType", ""), "rsa", "rsa");
	is_int(dj_int(d, "KeyBits", 0), 2048, "2048 bits");
	json_decref(d);
	X509 *x = read_cert(s.ca);
	ok(X509_get_key_usage(x) & KU_KEY_ENCIPHERMENT, "RSA CA has KeyEncipherment (as 0.16.2)");
	X509_free(x);

	/* ECDSA server cert signed by an RSA CA. */
	srv = xasprintf("%s/server.pem", s.dir);
	srvkey = xasprintf("%s/server-key.pem", s.dir);
	ok(cert_make_server(s.ca, s.cakey, "user.dev", names, ARRAY_SIZE(names), 0, CERT_ECDSA,
	                    srv, srvkey) == 0, "server cert: %s", dm_strerr());
	is_int(mode_of(srv), 0644, "server.pem 0644");
	is_int(mode_of(srvkey), 0600, "server-key.pem 0600");
	ok(verifies(s.ca, srv, X509_PURPOSE_SSL_SERVER), "server cert verifies for serverAuth");
	ok(!verifies(s.ca, srv, X509_PURPOSE_SSL_CLIENT), "no clientAuth without swarm master");
	ok(cert_describe(srv, &d) == 0, "describe server");
	is_str(dj_str(d, "Subject", ""), "O=user.dev", "server subject");
	sans = json_object_get(d, "SANs");
	is_int(json_array_size(sans), 5, "5 SANs");
	/* In the order given, each as IP or DNS. */
	const char *want[] = { "10.0.0.5", "dev.example", "localhost", "::1", "127.0.0.1" };
	for (size_t i = 0; i < ARRAY_SIZE(want); i++)
		is_str(json_string_value(json_array_get(sans, i)), want[i], "SAN %zu", i);
	json_decref(d);
	x = read_cert(srv);
	ok(X509_check_ip_asc(x, "10.0.0.5", 0) == 1, "IP SAN 10.0.0.5");
	ok(X509_check_ip_asc(x, "::1", 0) == 1, "IP SAN ::1");
	ok(X509_check_host(x, "dev.example", 0, 0, NULL) == 1, "DNS SAN dev.example");
	ok(X509_check_host(x, "10.0.0.5", 0, X509_CHECK_FLAG_NEVER_CHECK_SUBJECT, NULL) != 1,
	   "an IP is not a DNS SAN");
	ok(X509_get_signature_nid(x) == NID_sha256WithRSAEncryption, "signed by the RSA CA key");
	X509_free(x);

	/* Made again (every provision): replaced, swarm master gets clientAuth. */
	char *old = slurp(srvkey);
	ok(cert_make_server(s.ca, s.cakey, "user.dev", names, 1, 1, CERT_RSA, srv, srvkey) == 0,
	   "server cert replaced: %s", dm_strerr());
	char *nk = slurp(srvkey);
	ok(strcmp(old, nk) != 0 && str_starts(nk, "-----BEGIN RSA PRIVATE KEY-----"), "new RSA key");
	is_int(mode_of(srvkey), 0600, "replaced key still 0600");
	ok(verifies(s.ca, srv, X509_PURPOSE_SSL_CLIENT), "swarm master cert has clientAuth");
	free(old);
	free(nk);

	/* Wrong CA key. */
	struct store_paths e;
	paths_init(&e, "ecdsa");
	ok(cert_make_server(s.ca, e.cakey, "x", names, 1, 0, CERT_ECDSA, srv, srvkey) < 0,
	   "CA cert and key that do not match");
	ok(strstr(dm_strerr(), "does not match") != NULL, "says so: %s", dm_strerr());
	ok(cert_make_server("/nonexistent/ca.pem", s.cakey, "x", names, 1, 0, CERT_ECDSA, srv,
	                    srvkey) < 0, "missing CA");
	free(srv);
	free(srvkey);
	sb_release(&log);
}

static void test_expired(void)
{
	struct store_paths s;
	struct strbuf log = STRBUF_INIT, want = STRBUF_INIT;
	json_t *d = NULL;

	paths_init(&s, "expired");
	mkdir_p(s.dir, 0700);
	write_expired_ca(s.ca, s.cakey);
	ok(cert_describe(s.ca, &d) == 0, "describe expired CA");
	ok(dj_bool(d, "Expired", 0), "Expired");
	is_int(dj_int(d, "DaysLeft", 0), -920, "DaysLeft negative");
	is_str(dj_str(d, "Subject", ""), "O=old", "subject");
	json_decref(d);

	/* An existing RSA CA that is still valid is used as it is. */
	ok(bootstrap(&s, CERT_ECDSA, &log) == 0, "bootstrap with expired CA: %s", dm_strerr());
	sb_addf(&want, "CA certificate is outdated and needs to be regenerated\n"
	               "Creating client certificate: %s\n", s.cert);
	is_str(log.buf, want.buf, "CA regenerated, client made");
	ok(cert_describe(s.ca, &d) == 0, "describe new CA");
	ok(!dj_bool(d, "Expired", 1), "new CA valid");
	is_str(dj_str(d, "KeyType", ""), "ecdsa", "new CA has the asked key type");
	json_decref(d);
	is_int(mode_of(s.cakey), 0600, "replaced CA key 0600");
	ok(verifies(s.ca, s.cert, X509_PURPOSE_SSL_CLIENT), "client signed by the new CA");

	/* Expire the CA again while a client cert exists: both are remade. */
	write_expired_ca(s.ca, s.cakey);
	ok(bootstrap(&s, CERT_RSA, &log) == 0, "bootstrap again");
	is_str(log.buf, "CA certificate is outdated and needs to be regenerated\n"
	                "Client certificate is outdated and needs to be regenerated\n",
	       "both regenerated");
	ok(verifies(s.ca, s.cert, X509_PURPOSE_SSL_CLIENT), "client matches the new CA");

	/* A valid RSA CA made elsewhere keeps signing ECDSA certs. */
	unlink(s.cert);
	unlink(s.key);
	ok(bootstrap(&s, CERT_ECDSA, &log) == 0, "client from existing RSA CA");
	X509 *x = read_cert(s.cert);
	ok(x && X509_get_signature_nid(x) == NID_sha256WithRSAEncryption, "sha256WithRSA");
	X509_free(x);
	ok(cert_describe(s.cert, &d) == 0 && !strcmp(dj_str(d, "KeyType", ""), "ecdsa"),
	   "client key ecdsa under the RSA CA");
	json_decref(d);

	/* Not a certificate. */
	write_file_atomic(s.cert, "garbage\n", 8, 0644);
	ok(cert_describe(s.cert, &d) < 0, "describe garbage fails");
	ok(bootstrap(&s, CERT_ECDSA, &log) < 0, "bootstrap with an unreadable client cert fails");
	sb_release(&log);
	sb_release(&want);
}

static void test_org(void)
{
	char *o;
	unsetenv("USER");
	o = cert_org(NULL);
	is_str(o, "unknown", "no $USER: unknown");
	free(o);
	setenv("USER", "bob", 1);
	o = cert_org("<bootstrap>");
	is_str(o, "bob.<bootstrap>", "bootstrap org");
	free(o);
	o = cert_org("dev");
	is_str(o, "bob.dev", "machine org");
	free(o);
}

static void test_symlink_key(void)
{
	struct store_paths s;
	struct strbuf log = STRBUF_INIT;
	char *target;

	paths_init(&s, "symlink");
	mkdir_p(s.dir, 0700);
	target = xasprintf("%s/symlink/victim", tap_tmpdir());
	ok(symlink(target, s.cakey) == 0, "dangling symlink at ca-key.pem");
	ok(bootstrap(&s, CERT_ECDSA, &log) < 0, "bootstrap refuses");
	ok(access(target, F_OK) != 0, "nothing written through the link");
	free(target);
	sb_release(&log);
}

int main(void)
{
	setenv("USER", "tester", 1);
	test_bootstrap_ecdsa();
	test_rsa_and_server();
	test_expired();
	test_symlink_key();
	test_org();
	return done_testing();
}
