/* gauth.c - Google OAuth2 access tokens (see gauth.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "gauth.h"
#include "http.h"
#include "json.h"

#define KEYFILE_CAP (256u << 10)
#define TOKEN_REPLY_CAP (64u << 10)
#define NO_ADC "google: could not find default credentials. See " \
	"https://developers.google.com/accounts/docs/application-default-credentials for more information."

void gauth_b64url(struct strbuf *sb, const void *data, size_t n)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	const unsigned char *p = data;
	size_t i;
	for (i = 0; i + 2 < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
		sb_addc(sb, tab[v >> 18]);
		sb_addc(sb, tab[(v >> 12) & 63]);
		sb_addc(sb, tab[(v >> 6) & 63]);
		sb_addc(sb, tab[v & 63]);
	}
	if (n - i == 1) {
		unsigned v = (unsigned)p[i] << 16;
		sb_addc(sb, tab[v >> 18]);
		sb_addc(sb, tab[(v >> 12) & 63]);
	} else if (n - i == 2) {
		unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8;
		sb_addc(sb, tab[v >> 18]);
		sb_addc(sb, tab[(v >> 12) & 63]);
		sb_addc(sb, tab[(v >> 6) & 63]);
	}
}

static void set(char **dst, const char *s)
{
	free(*dst);
	*dst = s ? xstrdup(s) : NULL;
}

void gauth_free(struct gauth *a)
{
	char **fields[] = { &a->source, &a->scope, &a->token_uri, &a->client_email, &a->private_key,
		&a->private_key_id, &a->client_id, &a->client_secret, &a->refresh_token, &a->token };
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
		if (*fields[i])
			memset(*fields[i], 0, strlen(*fields[i]));   /* secrets do not linger */
		free(*fields[i]);
		*fields[i] = NULL;
	}
	a->kind = GAUTH_NONE;
	a->expires = 0;
}

static void set_token_uri(struct gauth *a, const char *from_file)
{
	const char *env = getenv("GOOGLE_OAUTH_TOKEN_URI");
	if (env && *env)
		set(&a->token_uri, env);
	else if (from_file && *from_file)
		set(&a->token_uri, from_file);
	else
		set(&a->token_uri, GAUTH_TOKEN_URI);
}

int gauth_from_json(struct gauth *a, const char *text, size_t len, const char *source, const char *scope)
{
	json_t *j;
	const char *type;
	int rc = -1;

	if (dj_parse(text, len, &j) < 0)
		return dm_seterr("google: %s: %s", source, dm_strerr());
	if (!json_is_object(j)) {
		dm_seterr("google: %s: expected a JSON object", source);
		goto out;
	}
	type = dj_str(j, "type", "");
	gauth_free(a);
	set(&a->source, source);
	set(&a->scope, scope ? scope : GAUTH_SCOPE_COMPUTE);
	if (!strcmp(type, "service_account")) {
		const char *email, *key;
		if (dj_get_str(j, "client_email", &email) < 0 || dj_get_str(j, "private_key", &key) < 0) {
			dm_seterr("google: %s: %s", source, dm_strerr());
			goto out;
		}
		a->kind = GAUTH_SERVICE_ACCOUNT;
		set(&a->client_email, email);
		set(&a->private_key, key);
		set(&a->private_key_id, dj_str(j, "private_key_id", NULL));
		set_token_uri(a, dj_str(j, "token_uri", NULL));
	} else if (!strcmp(type, "authorized_user")) {
		const char *id, *secret, *refresh;
		if (dj_get_str(j, "client_id", &id) < 0 || dj_get_str(j, "client_secret", &secret) < 0 ||
		    dj_get_str(j, "refresh_token", &refresh) < 0) {
			dm_seterr("google: %s: %s", source, dm_strerr());
			goto out;
		}
		a->kind = GAUTH_AUTHORIZED_USER;
		set(&a->client_id, id);
		set(&a->client_secret, secret);
		set(&a->refresh_token, refresh);
		set_token_uri(a, dj_str(j, "token_uri", NULL));
	} else {
		dm_seterr("google: %s: unknown credential type: \"%s\"", source, type);
		goto out;
	}
	rc = 0;
out:;
	/* the parsed copy holds the key too */
	json_t *k = json_object_get(j, "private_key");
	if (json_is_string(k))
		memset((char *)json_string_value(k), 0, json_string_length(k));
	json_decref(j);
	if (rc < 0)
		gauth_free(a);
	return rc;
}

static int load_file(struct gauth *a, const char *path, const char *scope)
{
	struct strbuf sb = STRBUF_INIT;
	int rc;
	if (sb_read_file(&sb, path, KEYFILE_CAP) < 0)
		return dm_seterr("google: error getting credentials using GOOGLE_APPLICATION_CREDENTIALS "
		                 "environment variable: open %s: %s", path, strerror(errno));
	rc = gauth_from_json(a, sb.buf, sb.len, path, scope);
	memset(sb.buf, 0, sb.len);
	sb_release(&sb);
	return rc;
}

int gauth_load(struct gauth *a, const char *static_token, const char *scope)
{
	const char *env = getenv("GOOGLE_APPLICATION_CREDENTIALS");
	const char *cfg = getenv("CLOUDSDK_CONFIG"), *home = getenv("HOME");
	char *wk;

	gauth_free(a);
	if (static_token && *static_token) {
		a->kind = GAUTH_STATIC;
		set(&a->source, "--google-auth-token");
		set(&a->token, static_token);
		return 0;
	}
	if (env && *env)
		return load_file(a, env, scope);
	if (cfg && *cfg)
		wk = xasprintf("%s/application_default_credentials.json", cfg);
	else if (home && *home)
		wk = xasprintf("%s/.config/gcloud/application_default_credentials.json", home);
	else
		return dm_seterr(NO_ADC);
	if (access(wk, F_OK) < 0) {
		free(wk);
		return dm_seterr(NO_ADC);
	}
	int rc = load_file(a, wk, scope);
	free(wk);
	return rc;
}

/* RS256 over data with the PEM key; the signature goes onto sig. */
static int rs256(const char *pem, const char *data, size_t n, struct strbuf *sig)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	EVP_MD_CTX *ctx = NULL;
	unsigned char *buf = NULL;
	size_t len = 0;
	int rc = -1;

	if (!key) {
		dm_seterr("google: private_key: not a PEM private key");
		goto out;
	}
	if (EVP_PKEY_base_id(key) != EVP_PKEY_RSA) {
		dm_seterr("google: private_key: not an RSA key");
		goto out;
	}
	ctx = EVP_MD_CTX_new();
	if (!ctx || EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) != 1 ||
	    EVP_DigestSign(ctx, NULL, &len, (const unsigned char *)data, n) != 1) {
		dm_seterr("google: cannot sign the token request");
		goto out;
	}
	buf = xmalloc(len);
	if (EVP_DigestSign(ctx, buf, &len, (const unsigned char *)data, n) != 1) {
		dm_seterr("google: cannot sign the token request");
		goto out;
	}
	gauth_b64url(sig, buf, len);
	rc = 0;
out:
	free(buf);
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(key);
	BIO_free(bio);
	return rc;
}

static void b64url_json(struct strbuf *sb, json_t *v)
{
	struct strbuf js = STRBUF_INIT;
	dj_encode(v, 0, 0, &js);
	gauth_b64url(sb, js.buf, js.len);
	sb_release(&js);
}

int gauth_jwt(const struct gauth *a, long long iat, struct strbuf *out)
{
	json_t *hdr, *claims;
	size_t start = out->len;

	if (a->kind != GAUTH_SERVICE_ACCOUNT)
		return dm_seterr("google: a JWT needs service account credentials");
	hdr = json_object();
	dj_set_str(hdr, "alg", "RS256");
	dj_set_str(hdr, "typ", "JWT");
	if (a->private_key_id && *a->private_key_id)
		dj_set_str(hdr, "kid", a->private_key_id);
	claims = json_object();
	dj_set_str(claims, "iss", a->client_email);
	dj_set_str(claims, "scope", a->scope ? a->scope : GAUTH_SCOPE_COMPUTE);
	dj_set_str(claims, "aud", a->token_uri ? a->token_uri : GAUTH_TOKEN_URI);
	dj_set_int(claims, "exp", iat + 3600);
	dj_set_int(claims, "iat", iat);
	b64url_json(out, hdr);
	sb_addc(out, '.');
	b64url_json(out, claims);
	json_decref(hdr);
	json_decref(claims);
	char *signing = xstrndup(out->buf + start, out->len - start);
	sb_addc(out, '.');
	int rc = rs256(a->private_key, signing, strlen(signing), out);
	free(signing);
	if (rc < 0)
		sb_setlen(out, start);
	return rc;
}

static void form_kv(struct strbuf *sb, const char *k, const char *v)
{
	if (sb->len)
		sb_addc(sb, '&');
	sb_adds(sb, k);
	sb_addc(sb, '=');
	http_urlencode(sb, v);
}

int gauth_token_form(const struct gauth *a, long long now, struct strbuf *out)
{
	if (a->kind == GAUTH_SERVICE_ACCOUNT) {
		struct strbuf jwt = STRBUF_INIT;
		if (gauth_jwt(a, now, &jwt) < 0)
			return -1;
		form_kv(out, "grant_type", GAUTH_JWT_GRANT);
		form_kv(out, "assertion", jwt.buf);
		sb_release(&jwt);
		return 0;
	}
	if (a->kind == GAUTH_AUTHORIZED_USER) {
		form_kv(out, "client_id", a->client_id);
		form_kv(out, "client_secret", a->client_secret);
		form_kv(out, "grant_type", "refresh_token");
		form_kv(out, "refresh_token", a->refresh_token);
		return 0;
	}
	return dm_seterr("google: no credentials to exchange for a token");
}

/* The token endpoint's error ({"error":"x","error_description":"y"}) as one line. */
static int token_error(long status, const struct strbuf *body)
{
	json_t *j = NULL;
	const char *e = NULL, *d = NULL;
	int rc;
	if (dj_parse(body->buf, body->len, &j) == 0 && json_is_object(j)) {
		json_t *ev = json_object_get(j, "error");
		if (json_is_string(ev))
			e = json_string_value(ev);
		else if (json_is_object(ev))
			e = dj_str(ev, "message", NULL);
		d = dj_str(j, "error_description", NULL);
	}
	if (e && d)
		rc = dm_seterr("oauth2: cannot fetch token: HTTP %ld: %s: %s", status, e, d);
	else if (e)
		rc = dm_seterr("oauth2: cannot fetch token: HTTP %ld: %s", status, e);
	else
		rc = dm_seterr("oauth2: cannot fetch token: HTTP %ld", status);
	json_decref(j);
	return rc;
}

int gauth_token(struct gauth *a, const char **token)
{
	struct http_req req = { 0 };
	struct http_resp resp = { 0 };
	struct strbuf form = STRBUF_INIT;
	long long now = (long long)time(NULL);
	json_t *j = NULL;
	const char *tok;
	int rc = -1;

	if (a->kind == GAUTH_STATIC) {
		*token = a->token;
		return 0;
	}
	if (a->token && (a->expires == 0 || a->expires - 60 > now)) {
		*token = a->token;
		return 0;
	}
	if (gauth_token_form(a, now, &form) < 0)
		return -1;
	req.method = "POST";
	req.url = a->token_uri;
	req.body = form.buf;
	req.bodylen = form.len;
	req.body_secret = 1;
	req.cap = TOKEN_REPLY_CAP;
	req.timeout_ms = 30000;
	http_header(&req, "Content-Type", "application/x-www-form-urlencoded");
	http_header(&req, "Accept", "application/json");
	sb_init(&resp.body, TOKEN_REPLY_CAP);
	if (http_do(&req, &resp) < 0) {
		dm_seterr("oauth2: cannot fetch token: %s", dm_strerr());
		goto out;
	}
	if (resp.status < 200 || resp.status > 299) {
		token_error(resp.status, &resp.body);
		goto out;
	}
	if (dj_parse(resp.body.buf, resp.body.len, &j) < 0 || !json_is_object(j)) {
		dm_seterr("oauth2: cannot fetch token: the reply is not a JSON object");
		goto out;
	}
	if (dj_get_str(j, "access_token", &tok) < 0 || !*tok) {
		dm_seterr("oauth2: server response missing access_token");
		goto out;
	}
	set(&a->token, tok);
	long long ttl = dj_int(j, "expires_in", 0);
	a->expires = ttl > 0 ? now + ttl : 0;
	*token = a->token;
	rc = 0;
out:
	if (form.len)
		memset(form.buf, 0, form.len);
	sb_release(&form);
	json_decref(j);
	http_req_free(&req);
	http_resp_free(&resp);
	return rc;
}
