/* cert.c - the CA, client and server certificates (see cert.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/encoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cert.h"
#include "json.h"

#define CERT_DAYS 1080

/* The innermost OpenSSL reason, for messages ("..: bad decrypt"). */
static const char *ossl_reason(void)
{
	static __thread char buf[256];
	unsigned long e, last = 0;
	while ((e = ERR_get_error()))
		last = e;
	if (!last)
		return "unknown error";
	ERR_error_string_n(last, buf, sizeof buf);
	const char *r = ERR_reason_error_string(last);
	return r ? r : buf;
}

char *cert_org(const char *suffix)
{
	const char *user = getenv("USER");
	if (!user || !*user)
		user = "unknown";
	return suffix ? xasprintf("%s.%s", user, suffix) : xstrdup(user);
}

static EVP_PKEY *new_key(enum cert_keytype kt)
{
	EVP_PKEY *k = kt == CERT_RSA ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048)
	                             : EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (!k)
		dm_seterr("generating %s key: %s", kt == CERT_RSA ? "RSA" : "ECDSA", ossl_reason());
	return k;
}

/* PEM in the key type's own structure: "RSA PRIVATE KEY" (PKCS#1) as
 * 0.16.2 writes, "EC PRIVATE KEY" (SEC1) for ECDSA. */
static int key_pem(EVP_PKEY *k, struct strbuf *out)
{
	OSSL_ENCODER_CTX *ec;
	unsigned char *data = NULL;
	size_t len = 0;
	int r = -1;

	ec = OSSL_ENCODER_CTX_new_for_pkey(k, OSSL_KEYMGMT_SELECT_KEYPAIR |
	                                      OSSL_KEYMGMT_SELECT_DOMAIN_PARAMETERS,
	                                   "PEM", "type-specific", NULL);
	if (ec && OSSL_ENCODER_CTX_get_num_encoders(ec) > 0 &&
	    OSSL_ENCODER_to_data(ec, &data, &len) == 1) {
		r = sb_add(out, data, len);
		OPENSSL_clear_free(data, len);
	} else {
		dm_seterr("encoding key: %s", ossl_reason());
	}
	OSSL_ENCODER_CTX_free(ec);
	return r;
}

static int cert_pem(X509 *x, struct strbuf *out)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	long n;
	int r = -1;
	if (b && PEM_write_bio_X509(b, x) == 1 && (n = BIO_get_mem_data(b, &p)) > 0)
		r = sb_add(out, p, (size_t)n);
	else
		dm_seterr("encoding certificate: %s", ossl_reason());
	BIO_free(b);
	return r;
}

static X509 *load_cert(const char *path)
{
	struct strbuf sb = STRBUF_INIT;
	X509 *x = NULL;
	BIO *b;
	if (sb_read_file(&sb, path, 1u << 20) < 0)
		return NULL;
	b = BIO_new_mem_buf(sb.buf, (int)sb.len);
	if (b)
		x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	if (!x)
		dm_seterr("%s: not a PEM certificate: %s", path, ossl_reason());
	BIO_free(b);
	sb_release(&sb);
	return x;
}

static EVP_PKEY *load_key(const char *path)
{
	struct strbuf sb = STRBUF_INIT;
	EVP_PKEY *k = NULL;
	BIO *b;
	if (sb_read_file(&sb, path, 1u << 20) < 0)
		return NULL;
	b = BIO_new_mem_buf(sb.buf, (int)sb.len);
	if (b)
		k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	if (!k)
		dm_seterr("%s: not a PEM private key: %s", path, ossl_reason());
	BIO_free(b);
	OPENSSL_cleanse(sb.buf, sb.len);
	sb_release(&sb);
	return k;
}

/* Go's pkix encoding: PrintableString when every byte allows it, else UTF8String. */
static int printable(const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      strchr(" '()+,-./:=?", c)))
			return 0;
	}
	return 1;
}

static int set_subject(X509 *x, const char *org)
{
	X509_NAME *n = X509_NAME_new();
	int ok = n && X509_NAME_add_entry_by_NID(n, NID_organizationName,
	                                         printable(org) ? V_ASN1_PRINTABLESTRING
	                                                        : V_ASN1_UTF8STRING,
	                                         (const unsigned char *)org, -1, -1, 0) == 1 &&
	         X509_set_subject_name(x, n) == 1;
	X509_NAME_free(n);
	return ok ? 0 : -1;
}

static int add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *e = X509V3_EXT_nconf_nid(NULL, ctx, nid, value);
	int ok = e && X509_add_ext(x, e, -1) == 1;
	X509_EXTENSION_free(e);
	return ok ? 0 : -1;
}

static int add_sans(X509 *x, const char *const *sans, size_t n)
{
	GENERAL_NAMES *gens;
	size_t i;
	int ok = 1;
	if (!n)
		return 0;
	gens = sk_GENERAL_NAME_new_null();
	for (i = 0; ok && i < n; i++) {
		GENERAL_NAME *g = GENERAL_NAME_new();
		ASN1_OCTET_STRING *ip = a2i_IPADDRESS(sans[i]);
		if (!g) {
			ok = 0;
		} else if (ip) {
			GENERAL_NAME_set0_value(g, GEN_IPADD, ip);
		} else {
			ASN1_IA5STRING *s = ASN1_IA5STRING_new();
			ERR_clear_error();
			if (!s || ASN1_STRING_set(s, sans[i], -1) != 1) {
				ASN1_IA5STRING_free(s);
				ok = 0;
			} else {
				GENERAL_NAME_set0_value(g, GEN_DNS, s);
			}
		}
		if (ok && sk_GENERAL_NAME_push(gens, g) > 0)
			g = NULL;
		else
			ok = 0;
		GENERAL_NAME_free(g);
	}
	if (ok)
		ok = X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT) == 1;
	GENERAL_NAMES_free(gens);
	return ok ? 0 : -1;
}

enum cert_kind { KIND_CA, KIND_CLIENT, KIND_SERVER };

/* Build and sign one certificate.  issuer/ikey NULL: self-signed CA. */
static X509 *make_cert(enum cert_kind kind, const char *org, EVP_PKEY *key,
                       X509 *issuer, EVP_PKEY *ikey, const char *const *sans, size_t nsans,
                       int client_auth)
{
	X509 *x = X509_new();
	X509V3_CTX ctx;
	unsigned char serial[16];
	BIGNUM *bn = NULL;
	time_t now = time(NULL), nb;
	struct tm tm;
	char ku[128];
	int rsa = EVP_PKEY_is_a(key, "RSA"), ok;

	/* NotBefore = the minute, 5 min ago (local time; minutes do not depend on zone). */
	localtime_r(&now, &tm);
	tm.tm_sec = 0;
	tm.tm_min -= 5;
	tm.tm_isdst = -1;
	nb = mktime(&tm);

	ok = x && X509_set_version(x, 2) == 1 && RAND_bytes(serial, sizeof serial) == 1 &&
	     (bn = BN_bin2bn(serial, sizeof serial, NULL)) &&
	     BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) &&
	     ASN1_TIME_set(X509_getm_notBefore(x), nb) &&
	     ASN1_TIME_set(X509_getm_notAfter(x), nb + (time_t)CERT_DAYS * 86400) &&
	     set_subject(x, org) == 0 && X509_set_pubkey(x, key) == 1;
	BN_free(bn);
	if (ok)
		ok = X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer)
		                                    : X509_get_subject_name(x)) == 1;
	if (!ok)
		goto fail;

	X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
	/* KeyEncipherment only means something for RSA keys. */
	if (kind == KIND_CLIENT)
		snprintf(ku, sizeof ku, "critical,digitalSignature");
	else
		snprintf(ku, sizeof ku, "critical,digitalSignature,%skeyAgreement%s",
		         rsa ? "keyEncipherment," : "", kind == KIND_CA ? ",keyCertSign" : "");
	if (add_ext(x, &ctx, NID_key_usage, ku) < 0)
		goto fail;
	if (kind == KIND_CLIENT && add_ext(x, &ctx, NID_ext_key_usage, "clientAuth") < 0)
		goto fail;
	if (kind == KIND_SERVER &&
	    add_ext(x, &ctx, NID_ext_key_usage, client_auth ? "serverAuth,clientAuth" : "serverAuth") < 0)
		goto fail;
	if (add_ext(x, &ctx, NID_basic_constraints, kind == KIND_CA ? "critical,CA:TRUE"
	                                                             : "critical,CA:FALSE") < 0)
		goto fail;
	if (kind == KIND_CA && add_ext(x, &ctx, NID_subject_key_identifier, "hash") < 0)
		goto fail;
	if (kind != KIND_CA && X509_get_ext_by_NID(issuer, NID_subject_key_identifier, -1) >= 0 &&
	    add_ext(x, &ctx, NID_authority_key_identifier, "keyid") < 0)
		goto fail;
	if (kind == KIND_SERVER && add_sans(x, sans, nsans) < 0)
		goto fail;
	if (X509_sign(x, ikey ? ikey : key, EVP_sha256()) <= 0)
		goto fail;
	return x;
fail:
	dm_seterr("making certificate for %s: %s", org, ossl_reason());
	X509_free(x);
	return NULL;
}

/* Write key (0600) and cert (0644).  excl: the key must not exist yet
 * (O_EXCL); else both are replaced through a temp file and rename. */
static int write_pair(X509 *x, EVP_PKEY *k, const char *cert_out, const char *key_out, int excl)
{
	struct strbuf kp = STRBUF_INIT, cp = STRBUF_INIT;
	int r = -1;
	if (key_pem(k, &kp) < 0 || cert_pem(x, &cp) < 0)
		goto out;
	if (excl) {
		if (write_file_excl(key_out, kp.buf, kp.len, 0600) < 0)
			goto out;
	} else if (write_file_atomic(key_out, kp.buf, kp.len, 0600) < 0) {
		goto out;
	}
	if (write_file_atomic(cert_out, cp.buf, cp.len, 0644) < 0) {
		if (excl)
			unlink(key_out);
		goto out;
	}
	r = 0;
out:
	OPENSSL_cleanse(kp.buf, kp.len);
	sb_release(&kp);
	sb_release(&cp);
	return r;
}

static int gen_ca(const char *cert_out, const char *key_out, enum cert_keytype kt, int excl)
{
	char *org = cert_org(NULL);
	EVP_PKEY *k = new_key(kt);
	X509 *x = k ? make_cert(KIND_CA, org, k, NULL, NULL, NULL, 0, 0) : NULL;
	int r = x ? write_pair(x, k, cert_out, key_out, excl) : -1;
	X509_free(x);
	EVP_PKEY_free(k);
	free(org);
	return r;
}

/* A certificate signed by the CA at ca_cert/ca_key. */
static int gen_signed(enum cert_kind kind, const char *ca_cert, const char *ca_key,
                      const char *org, const char *const *sans, size_t nsans, int client_auth,
                      enum cert_keytype kt, const char *cert_out, const char *key_out, int excl)
{
	X509 *ca = load_cert(ca_cert), *x = NULL;
	EVP_PKEY *cak = ca ? load_key(ca_key) : NULL, *k = NULL;
	int r = -1;
	if (!cak)
		goto out;
	if (X509_check_private_key(ca, cak) != 1) {
		dm_seterr("%s does not match the key %s", ca_cert, ca_key);
		goto out;
	}
	if (!(k = new_key(kt)))
		goto out;
	if (!(x = make_cert(kind, org, k, ca, cak, sans, nsans, client_auth)))
		goto out;
	r = write_pair(x, k, cert_out, key_out, excl);
out:
	X509_free(x);
	EVP_PKEY_free(k);
	EVP_PKEY_free(cak);
	X509_free(ca);
	return r;
}

int cert_make_server(const char *ca_cert, const char *ca_key, const char *org,
                     const char *const *sans, size_t nsans, int client_auth,
                     enum cert_keytype kt, const char *cert_out, const char *key_out)
{
	return gen_signed(KIND_SERVER, ca_cert, ca_key, org, sans, nsans, client_auth, kt,
	                  cert_out, key_out, 0);
}

static int path_exists(const char *p)
{
	struct stat st;
	return lstat(p, &st) == 0;
}

/* 1 when the certificate at path has expired (or cannot be read: -1). */
static int cert_outdated(const char *path)
{
	X509 *x = load_cert(path);
	int r;
	if (!x)
		return -1;
	r = X509_cmp_current_time(X509_get0_notAfter(x)) < 0;
	X509_free(x);
	return r;
}

int cert_bootstrap(const struct cert_paths *p, enum cert_keytype kt, FILE *log)
{
	int out, remade_ca = 0;
	char *org;

	if (mkdir_p(p->cert_dir, 0700) < 0)
		return dm_seterr("Creating machine certificate dir failed: %s", dm_strerr());

	if (!path_exists(p->ca_cert)) {
		fprintf(log, "Creating CA: %s\n", p->ca_cert);
		fflush(log);
		if (path_exists(p->ca_key))
			return dm_seterr("certificate authority key already exists");
		if (gen_ca(p->ca_cert, p->ca_key, kt, 1) < 0)
			return dm_seterr("Generating CA certificate failed: %s", dm_strerr());
		remade_ca = 1;
	} else {
		if ((out = cert_outdated(p->ca_cert)) < 0)
			return -1;
		if (out) {
			fprintf(log, "CA certificate is outdated and needs to be regenerated\n");
			fflush(log);
			if (gen_ca(p->ca_cert, p->ca_key, kt, 0) < 0)
				return dm_seterr("Generating CA certificate failed: %s", dm_strerr());
			remade_ca = 1;
		}
	}

	org = cert_org("<bootstrap>");
	if (!path_exists(p->client_cert)) {
		fprintf(log, "Creating client certificate: %s\n", p->client_cert);
		fflush(log);
		if (path_exists(p->client_key)) {
			free(org);
			return dm_seterr("client key already exists");
		}
		out = gen_signed(KIND_CLIENT, p->ca_cert, p->ca_key, org, NULL, 0, 0, kt,
		                 p->client_cert, p->client_key, 1);
	} else {
		/* A client cert signed by a CA that was just replaced is useless:
		 * it is made again with the CA (0.16.2 kept the stale one). */
		out = remade_ca ? 1 : cert_outdated(p->client_cert);
		if (out < 0) {
			free(org);
			return -1;
		}
		if (out) {
			fprintf(log, "Client certificate is outdated and needs to be regenerated\n");
			fflush(log);
			out = gen_signed(KIND_CLIENT, p->ca_cert, p->ca_key, org, NULL, 0, 0, kt,
			                 p->client_cert, p->client_key, 0);
		}
	}
	free(org);
	if (out < 0)
		return dm_seterr("Generating client certificate failed: %s", dm_strerr());
	return 0;
}

/* ---- describe ---- */

static void json_time(json_t *o, const char *key, const ASN1_TIME *t, time_t *out)
{
	struct tm tm;
	char buf[32];
	memset(&tm, 0, sizeof tm);
	if (ASN1_TIME_to_tm(t, &tm) != 1) {
		dj_set(o, key, json_null());
		*out = 0;
		return;
	}
	*out = timegm(&tm);
	strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
	dj_set_str(o, key, buf);
}

static void json_name(json_t *o, const char *key, const X509_NAME *n)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	long len;
	/* RFC 2253 order and separators, without its escaping: "O=user.<bootstrap>". */
	if (b && X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_2253) >= 0 &&
	    (len = BIO_get_mem_data(b, &p)) >= 0)
		dj_set(o, key, json_stringn(p, (size_t)len));
	else
		dj_set_str(o, key, "");
	BIO_free(b);
}

static void json_sans(json_t *o, X509 *x)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	json_t *arr = json_array();
	int i;
	for (i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		if (g->type == GEN_DNS) {
			json_array_append_new(arr, json_stringn((const char *)ASN1_STRING_get0_data(g->d.dNSName),
			                                        (size_t)ASN1_STRING_length(g->d.dNSName)));
		} else if (g->type == GEN_IPADD) {
			char buf[INET6_ADDRSTRLEN];
			int len = ASN1_STRING_length(g->d.iPAddress);
			const unsigned char *ip = ASN1_STRING_get0_data(g->d.iPAddress);
			if ((len == 4 && inet_ntop(AF_INET, ip, buf, sizeof buf)) ||
			    (len == 16 && inet_ntop(AF_INET6, ip, buf, sizeof buf)))
				json_array_append_new(arr, json_string(buf));
		}
	}
	GENERAL_NAMES_free(gens);
	dj_set(o, "SANs", arr);
}

int cert_describe(const char *path, json_t **out)
{
	X509 *x = load_cert(path);
	EVP_PKEY *pk;
	json_t *o;
	time_t nb, na;
	long long secs;

	if (!x)
		return -1;
	o = json_object();
	dj_set_str(o, "Path", path);
	json_name(o, "Subject", X509_get_subject_name(x));
	json_name(o, "Issuer", X509_get_issuer_name(x));
	json_time(o, "NotBefore", X509_get0_notBefore(x), &nb);
	json_time(o, "NotAfter", X509_get0_notAfter(x), &na);
	pk = X509_get0_pubkey(x);
	if (pk && EVP_PKEY_is_a(pk, "RSA"))
		dj_set_str(o, "KeyType", "rsa");
	else if (pk && EVP_PKEY_is_a(pk, "EC"))
		dj_set_str(o, "KeyType", "ecdsa");
	else
		dj_set_str(o, "KeyType", pk ? EVP_PKEY_get0_type_name(pk) : "unknown");
	dj_set_int(o, "KeyBits", pk ? EVP_PKEY_get_bits(pk) : 0);
	dj_set_bool(o, "IsCA", X509_check_ca(x) > 0);
	json_sans(o, x);
	dj_set_bool(o, "Expired", X509_cmp_current_time(X509_get0_notAfter(x)) < 0);
	/* Whole days, rounded down: -1 on the first day after expiry. */
	secs = (long long)na - (long long)time(NULL);
	dj_set_int(o, "DaysLeft", secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400));
	X509_free(x);
	*out = o;
	return 0;
}
