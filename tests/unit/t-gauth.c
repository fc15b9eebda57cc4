/* t-gauth.c - Google OAuth2: base64url, key files, ADC lookup, the RS256 JWT
 * (verified with the public key), the token request form and exchange. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "gauth.h"
#include "json.h"
#include "tap.h"
#include "util.h"

static EVP_PKEY *key;
static char *key_pem;

static void make_key(void)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_id(EVP_PKEY_RSA, NULL);
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	long n;
	EVP_PKEY_keygen_init(c);
	EVP_PKEY_CTX_set_rsa_keygen_bits(c, 2048);
	EVP_PKEY_keygen(c, &key);
	EVP_PKEY_CTX_free(c);
	PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL);   /* PKCS#8, as Google's */
	n = BIO_get_mem_data(b, &p);
	key_pem = xstrndup(p, (size_t)n);
	BIO_free(b);
}

static char *sa_json(const char *omit, const char *token_uri)
{
	json_t *j = json_object();
	dj_set_str(j, "type", "service_account");
	dj_set_str(j, "project_id", "dm-test");
	dj_set_str(j, "private_key_id", "kid-123");
	dj_set_str(j, "private_key", key_pem);
	dj_set_str(j, "client_email", "dm@dm-test.iam.gserviceaccount.com");
	dj_set_str(j, "client_id", "1234");
	if (token_uri)
		dj_set_str(j, "token_uri", token_uri);
	if (omit)
		json_object_del(j, omit);
	char *s = json_dumps(j, 0);
	json_decref(j);
	return s;
}

static void b64url_dec(const char *s, size_t n, struct strbuf *out)
{
	unsigned v = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		const char *t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
		const char *q = strchr(t, s[i]);
		if (!q || !s[i])
			continue;
		v = v << 6 | (unsigned)(q - t);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			sb_addc(out, (int)((v >> bits) & 0xff));
		}
	}
}

static void test_b64url(void)
{
	static const struct { const char *in; size_t n; const char *want; } cases[] = {
		{ "", 0, "" },
		{ "f", 1, "Zg" },
		{ "fo", 2, "Zm8" },
		{ "foo", 3, "Zm9v" },
		{ "foob", 4, "Zm9vYg" },
		{ "fooba", 5, "Zm9vYmE" },
		{ "foobar", 6, "Zm9vYmFy" },
		{ "\xfb\xff\xfe", 3, "-__-" },          /* the url alphabet */
		{ "\x00\x10\x83", 3, "ABCD" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct strbuf sb = STRBUF_INIT;
		gauth_b64url(&sb, cases[i].in, cases[i].n);
		is_str(sb.buf, cases[i].want, "b64url %zu", i);
		sb_release(&sb);
	}
}

static void test_from_json(void)
{
	char *sa = sa_json(NULL, NULL), *noemail = sa_json("client_email", NULL),
	     *nokey = sa_json("private_key", NULL);
	static const char user[] = "{\"type\":\"authorized_user\",\"client_id\":\"cid\","
		"\"client_secret\":\"cs\",\"refresh_token\":\"rt\"}";
	static const char user_bad[] = "{\"type\":\"authorized_user\",\"client_id\":\"cid\"}";
	const struct { const char *name, *text; int rc; int kind; const char *err; } cases[] = {
		{ "service account", sa, 0, GAUTH_SERVICE_ACCOUNT, NULL },
		{ "authorized user", user, 0, GAUTH_AUTHORIZED_USER, NULL },
		{ "no client_email", noemail, -1, 0, "google: k.json: client_email: missing" },
		{ "no private_key", nokey, -1, 0, "google: k.json: private_key: missing" },
		{ "user without secret", user_bad, -1, 0, "google: k.json: client_secret: missing" },
		{ "unknown type", "{\"type\":\"external_account\"}", -1, 0,
		  "google: k.json: unknown credential type: \"external_account\"" },
		{ "not an object", "[1]", -1, 0, "google: k.json: expected a JSON object" },
		{ "not JSON", "{", -1, 0, NULL },
	};
	unsetenv("GOOGLE_OAUTH_TOKEN_URI");
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct gauth a = GAUTH_INIT;
		int rc = gauth_from_json(&a, cases[i].text, strlen(cases[i].text), "k.json", NULL);
		is_int(rc, cases[i].rc, "from_json: %s", cases[i].name);
		if (rc == 0) {
			is_int(a.kind, cases[i].kind, "from_json: %s: kind", cases[i].name);
			is_str(a.token_uri, GAUTH_TOKEN_URI, "from_json: %s: default token URI", cases[i].name);
			is_str(a.scope, GAUTH_SCOPE_COMPUTE, "from_json: %s: default scope", cases[i].name);
		} else if (cases[i].err) {
			is_str(dm_strerr(), cases[i].err, "from_json: %s: message", cases[i].name);
		} else {
			ok(strstr(dm_strerr(), "google: k.json: ") != NULL, "from_json: %s: message names the file (%s)",
			   cases[i].name, dm_strerr());
		}
		gauth_free(&a);
	}
	free(sa);
	free(noemail);
	free(nokey);
}

/* Split a JWT, check the header and claims, verify the signature with the public key. */
static void check_jwt(const char *jwt, long long iat, int slack, const char *aud)
{
	const char *d1 = strchr(jwt, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
	struct strbuf h = STRBUF_INIT, c = STRBUF_INIT, sig = STRBUF_INIT;
	json_t *hj = NULL, *cj = NULL;

	ok(d1 && d2 && !strchr(d2 + 1, '.'), "jwt: three parts");
	if (!d1 || !d2)
		return;
	ok(!strpbrk(jwt, "+/="), "jwt: base64url without padding");
	b64url_dec(jwt, (size_t)(d1 - jwt), &h);
	b64url_dec(d1 + 1, (size_t)(d2 - d1 - 1), &c);
	b64url_dec(d2 + 1, strlen(d2 + 1), &sig);
	ok(dj_parse(h.buf, h.len, &hj) == 0, "jwt: header is JSON");
	ok(dj_parse(c.buf, c.len, &cj) == 0, "jwt: claims are JSON");
	is_str(dj_str(hj, "alg", ""), "RS256", "jwt: alg");
	is_str(dj_str(hj, "typ", ""), "JWT", "jwt: typ");
	is_str(dj_str(hj, "kid", ""), "kid-123", "jwt: kid is private_key_id");
	is_str(dj_str(cj, "iss", ""), "dm@dm-test.iam.gserviceaccount.com", "jwt: iss");
	is_str(dj_str(cj, "scope", ""), "https://www.googleapis.com/auth/compute", "jwt: scope");
	is_str(dj_str(cj, "aud", ""), aud, "jwt: aud is the token URI");
	long long got = dj_int(cj, "iat", 0);
	ok(got >= iat && got <= iat + slack, "jwt: iat %lld (want %lld)", got, iat);
	is_int(dj_int(cj, "exp", 0), got + 3600, "jwt: exp = iat + 1 h");
	is_int((long long)sig.len, 256, "jwt: 2048-bit signature");

	EVP_MD_CTX *m = EVP_MD_CTX_new();
	int v = EVP_DigestVerifyInit(m, NULL, EVP_sha256(), NULL, key) == 1 &&
	        EVP_DigestVerify(m, (unsigned char *)sig.buf, sig.len, (const unsigned char *)jwt,
	                         (size_t)(d2 - jwt)) == 1;
	ok(v, "jwt: RS256 signature verifies with the public key");
	/* a changed claim does not verify */
	char *bad = xstrdup(jwt);
	bad[(d1 - jwt) + 3] ^= 1;
	EVP_MD_CTX_reset(m);
	v = EVP_DigestVerifyInit(m, NULL, EVP_sha256(), NULL, key) == 1 &&
	    EVP_DigestVerify(m, (unsigned char *)sig.buf, sig.len, (const unsigned char *)bad,
	                     (size_t)(d2 - jwt)) == 1;
	ok(!v, "jwt: a tampered claim does not verify");
	free(bad);
	EVP_MD_CTX_free(m);
	json_decref(hj);
	json_decref(cj);
	sb_release(&h);
	sb_release(&c);
	sb_release(&sig);
}

static void test_jwt(void)
{
	char *sa = sa_json(NULL, "https://oauth2.example.test/token");
	struct gauth a = GAUTH_INIT;
	struct strbuf jwt = STRBUF_INIT;

	unsetenv("GOOGLE_OAUTH_TOKEN_URI");
	ok(gauth_from_json(&a, sa, strlen(sa), "sa.json", NULL) == 0, "jwt: load service account");
	is_str(a.token_uri, "https://oauth2.example.test/token", "jwt: token_uri from the file");
	ok(gauth_jwt(&a, 1700000000, &jwt) == 0, "jwt: signed");
	check_jwt(jwt.buf, 1700000000, 0, "https://oauth2.example.test/token");
	gauth_free(&a);
	sb_release(&jwt);

	setenv("GOOGLE_OAUTH_TOKEN_URI", "http://127.0.0.1:9/token", 1);
	ok(gauth_from_json(&a, sa, strlen(sa), "sa.json", NULL) == 0, "jwt: load with env override");
	is_str(a.token_uri, "http://127.0.0.1:9/token", "jwt: GOOGLE_OAUTH_TOKEN_URI wins over the file");
	ok(gauth_jwt(&a, 1700000100, &jwt) == 0, "jwt: signed again");
	check_jwt(jwt.buf, 1700000100, 0, "http://127.0.0.1:9/token");
	unsetenv("GOOGLE_OAUTH_TOKEN_URI");
	sb_release(&jwt);

	/* the token request form */
	struct strbuf form = STRBUF_INIT;
	ok(gauth_token_form(&a, 1700000200, &form) == 0, "form: built");
	ok(str_starts(form.buf, "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion="),
	   "form: jwt-bearer grant, urlencoded (%.90s)", form.buf);
	const char *as = strstr(form.buf, "&assertion=");
	ok(as && !strchr(as + 11, '&') && !strchr(as + 11, '%'), "form: the assertion is one bare JWT");
	if (as)
		check_jwt(as + 11, 1700000200, 0, "http://127.0.0.1:9/token");
	sb_release(&form);
	gauth_free(&a);

	/* a non-RSA or broken key */
	char *broken = xstrdup(sa);
	char *p = strstr(broken, "MII");
	if (p)
		p[0] = p[1] = p[2] = '!';
	ok(gauth_from_json(&a, broken, strlen(broken), "sa.json", NULL) == 0, "broken key: loads");
	ok(gauth_jwt(&a, 1, &jwt) < 0, "broken key: no JWT");
	is_str(dm_strerr(), "google: private_key: not a PEM private key", "broken key: message");
	is_int((long long)jwt.len, 0, "broken key: nothing written");
	gauth_free(&a);
	free(broken);
	sb_release(&jwt);
	free(sa);

	/* authorized_user form */
	static const char user[] = "{\"type\":\"authorized_user\",\"client_id\":\"c i\","
		"\"client_secret\":\"s&x\",\"refresh_token\":\"1//r=t\"}";
	ok(gauth_from_json(&a, user, strlen(user), "adc.json", NULL) == 0, "user: loads");
	ok(gauth_token_form(&a, 0, &form) == 0, "user: form");
	is_str(form.buf, "client_id=c%20i&client_secret=s%26x&grant_type=refresh_token&refresh_token=1%2F%2Fr%3Dt",
	       "user: refresh_token grant, every value urlencoded");
	ok(gauth_jwt(&a, 1, &jwt) < 0, "user: no JWT for a user");
	sb_release(&form);
	sb_release(&jwt);
	gauth_free(&a);
}

static void write_text(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");
	fputs(s, f);
	fclose(f);
}

static void test_load(void)
{
	char *dir = xasprintf("%s/adc", tap_tmpdir()), *gdir = xasprintf("%s/home/.config/gcloud", tap_tmpdir());
	char *home = xasprintf("%s/home", tap_tmpdir()), *sdk = xasprintf("%s/sdk", tap_tmpdir());
	char *f1 = xasprintf("%s/sa.json", dir), *f2 = xasprintf("%s/application_default_credentials.json", gdir);
	char *f3 = xasprintf("%s/application_default_credentials.json", sdk);
	char *sa = sa_json(NULL, NULL);
	struct gauth a = GAUTH_INIT;
	const char *tok = NULL;

	mkdir_p(dir, 0700);
	mkdir_p(gdir, 0700);
	mkdir_p(sdk, 0700);
	write_text(f1, sa);
	write_text(f2, "{\"type\":\"authorized_user\",\"client_id\":\"a\",\"client_secret\":\"b\",\"refresh_token\":\"c\"}");
	write_text(f3, "{\"type\":\"authorized_user\",\"client_id\":\"sdk\",\"client_secret\":\"b\",\"refresh_token\":\"c\"}");
	setenv("HOME", home, 1);
	unsetenv("CLOUDSDK_CONFIG");

	setenv("GOOGLE_APPLICATION_CREDENTIALS", f1, 1);
	ok(gauth_load(&a, "ya29.static", NULL) == 0, "load: static token first");
	is_int(a.kind, GAUTH_STATIC, "load: static kind");
	ok(gauth_token(&a, &tok) == 0 && tok && !strcmp(tok, "ya29.static"), "load: static token answered as is");

	ok(gauth_load(&a, "", "https://www.googleapis.com/auth/cloud-platform") == 0, "load: GOOGLE_APPLICATION_CREDENTIALS");
	is_int(a.kind, GAUTH_SERVICE_ACCOUNT, "load: env file is a service account");
	is_str(a.source, f1, "load: source is the env file");
	is_str(a.scope, "https://www.googleapis.com/auth/cloud-platform", "load: scope kept");

	setenv("GOOGLE_APPLICATION_CREDENTIALS", "/nonexistent/k.json", 1);
	ok(gauth_load(&a, NULL, NULL) < 0, "load: missing env file fails (no fallback)");
	is_str(dm_strerr(), "google: error getting credentials using GOOGLE_APPLICATION_CREDENTIALS environment "
	       "variable: open /nonexistent/k.json: No such file or directory", "load: missing env file message");

	unsetenv("GOOGLE_APPLICATION_CREDENTIALS");
	ok(gauth_load(&a, NULL, NULL) == 0, "load: well-known gcloud file");
	is_str(a.source, f2, "load: ~/.config/gcloud/application_default_credentials.json");
	is_str(a.client_id, "a", "load: authorized_user read");

	setenv("CLOUDSDK_CONFIG", sdk, 1);
	ok(gauth_load(&a, NULL, NULL) == 0, "load: CLOUDSDK_CONFIG");
	is_str(a.client_id, "sdk", "load: $CLOUDSDK_CONFIG/application_default_credentials.json");
	unsetenv("CLOUDSDK_CONFIG");

	unlink(f2);
	ok(gauth_load(&a, NULL, NULL) < 0, "load: nothing found");
	is_str(dm_strerr(), "google: could not find default credentials. See "
	       "https://developers.google.com/accounts/docs/application-default-credentials for more information.",
	       "load: the ADC message");
	gauth_free(&a);
	free(dir), free(gdir), free(home), free(sdk), free(f1), free(f2), free(f3), free(sa);
}

/* ---- the exchange against a one-shot token server on 127.0.0.1 ---- */

struct server {
	pid_t pid;
	int port;
	char *reqfile;
};

/* Serve one request: save it to reqfile, answer status + body. */
static void serve_once(struct server *s, int status, const char *body)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof sa;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	bind(fd, (struct sockaddr *)&sa, sizeof sa);
	listen(fd, 4);
	getsockname(fd, (struct sockaddr *)&sa, &sl);
	s->port = ntohs(sa.sin_port);
	s->pid = fork();
	if (s->pid == 0) {
		alarm(20);
		int c = accept(fd, NULL, NULL);
		char buf[65536];
		size_t n = 0;
		long want = -1;
		for (;;) {
			ssize_t r = read(c, buf + n, sizeof buf - 1 - n);
			if (r <= 0)
				break;
			n += (size_t)r;
			buf[n] = 0;
			char *e = strstr(buf, "\r\n\r\n");
			if (e && want < 0) {
				char *cl = strcasestr(buf, "\r\nContent-Length:");
				want = (long)(e + 4 - buf) + (cl ? atol(cl + 17) : 0);
			}
			if (want >= 0 && (long)n >= want)
				break;
		}
		FILE *f = fopen(s->reqfile, "w");
		fwrite(buf, 1, n, f);
		fclose(f);
		char out[4096];
		int m = snprintf(out, sizeof out, "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
		                 "Content-Length: %zu\r\nConnection: close\r\n\r\n%s", status, strlen(body), body);
		if (write(c, out, (size_t)m) < 0)
			_exit(1);
		close(c);
		_exit(0);
	}
	close(fd);
}

static char *reap(struct server *s)
{
	struct strbuf sb = STRBUF_INIT;
	int st;
	waitpid(s->pid, &st, 0);
	sb_read_file(&sb, s->reqfile, 1 << 20);
	return sb_detach(&sb);
}

static void test_exchange(void)
{
	char *sa = sa_json(NULL, NULL);
	struct server s = { .reqfile = xasprintf("%s/req.txt", tap_tmpdir()) };
	struct gauth a = GAUTH_INIT;
	const char *tok = NULL;
	char *uri, *req;

	serve_once(&s, 200, "{\"access_token\":\"ya29.fake\",\"expires_in\":3599,\"token_type\":\"Bearer\"}");
	uri = xasprintf("http://127.0.0.1:%d/token", s.port);
	setenv("GOOGLE_OAUTH_TOKEN_URI", uri, 1);
	gauth_from_json(&a, sa, strlen(sa), "sa.json", NULL);
	long long t0 = (long long)time(NULL);
	ok(gauth_token(&a, &tok) == 0, "exchange: token fetched (%s)", dm_strerr());
	is_str(tok, "ya29.fake", "exchange: access_token");
	ok(a.expires >= t0 + 3599 && a.expires <= t0 + 3605, "exchange: expiry from expires_in");
	req = reap(&s);
	ok(str_starts(req, "POST /token HTTP/1.1\r\n"), "exchange: POST to the token path");
	ok(strcasestr(req, "\r\nContent-Type: application/x-www-form-urlencoded\r\n") != NULL, "exchange: form content type");
	char *body = strstr(req, "\r\n\r\n");
	ok(body && str_starts(body + 4, "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion="),
	   "exchange: the form on the wire");
	if (body && strstr(body, "&assertion="))
		check_jwt(strstr(body, "&assertion=") + 11, t0, 2, uri);
	free(req);
	const char *again = NULL;
	ok(gauth_token(&a, &again) == 0 && again == tok, "exchange: cached token reused (no request)");
	gauth_free(&a);

	serve_once(&s, 400, "{\"error\":\"invalid_grant\",\"error_description\":\"Invalid JWT Signature.\"}");
	free(uri);
	uri = xasprintf("http://127.0.0.1:%d/token", s.port);
	setenv("GOOGLE_OAUTH_TOKEN_URI", uri, 1);
	gauth_from_json(&a, sa, strlen(sa), "sa.json", NULL);
	ok(gauth_token(&a, &tok) < 0, "exchange: 400 fails");
	is_str(dm_strerr(), "oauth2: cannot fetch token: HTTP 400: invalid_grant: Invalid JWT Signature.",
	       "exchange: the token endpoint's message");
	free(reap(&s));
	gauth_free(&a);

	serve_once(&s, 200, "{\"token_type\":\"Bearer\"}");
	free(uri);
	uri = xasprintf("http://127.0.0.1:%d/token", s.port);
	setenv("GOOGLE_OAUTH_TOKEN_URI", uri, 1);
	gauth_from_json(&a, sa, strlen(sa), "sa.json", NULL);
	ok(gauth_token(&a, &tok) < 0, "exchange: reply without a token fails");
	is_str(dm_strerr(), "oauth2: server response missing access_token", "exchange: missing token message");
	free(reap(&s));
	gauth_free(&a);
	unsetenv("GOOGLE_OAUTH_TOKEN_URI");
	free(uri);
	free(sa);
	free(s.reqfile);
}

int main(void)
{
	plan_lazy();
	make_key();
	test_b64url();
	test_from_json();
	test_jwt();
	test_load();
	test_exchange();
	EVP_PKEY_free(key);
	free(key_pem);
	return done_testing();
}
