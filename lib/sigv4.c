/* sigv4.c - AWS Signature Version 4; see sigv4.h. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "sigv4.h"

static const char hexdig[] = "0123456789abcdef";

static void hex(const unsigned char *d, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hexdig[d[i] >> 4];
		out[2 * i + 1] = hexdig[d[i] & 15];
	}
	out[2 * n] = 0;
}

void sigv4_sha256_hex(const void *data, size_t n, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	EVP_Digest(data ? data : "", n, md, &len, EVP_sha256(), NULL);
	hex(md, 32, out);
}

static void hmac(const unsigned char *key, size_t klen, const char *msg, size_t mlen, unsigned char out[32])
{
	unsigned int len = 32;
	HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)msg, mlen, out, &len);
}

static int unreserved(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.' || c == '~';
}

void sigv4_uri_encode(struct strbuf *sb, const char *s, size_t n, int keep_slash)
{
	static const char up[] = "0123456789ABCDEF";
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (unreserved(c) || (keep_slash && c == '/')) {
			sb_addc(sb, c);
		} else {
			sb_addc(sb, '%');
			sb_addc(sb, up[c >> 4]);
			sb_addc(sb, up[c & 15]);
		}
	}
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Percent-decode s[0..n) onto sb (a bad escape is kept literally). */
static void uri_decode(struct strbuf *sb, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int h, l;
		if (s[i] == '%' && i + 2 < n && (h = hexval(s[i + 1])) >= 0 && (l = hexval(s[i + 2])) >= 0) {
			sb_addc(sb, h * 16 + l);
			i += 2;
		} else {
			sb_addc(sb, s[i]);
		}
	}
}

/* Path with dot segments and empty segments removed, then encoded. */
static void canonical_path(struct strbuf *out, const char *path, int normalize)
{
	struct strvec seg = STRVEC_INIT;
	const char *p;
	size_t n;

	if (!path || !*path)
		path = "/";
	if (!normalize) {
		sigv4_uri_encode(out, path, strlen(path), 1);
		return;
	}
	for (p = path; *p;) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		n = strcspn(p, "/");
		if (n == 1 && p[0] == '.') {
			/* nothing */
		} else if (n == 2 && p[0] == '.' && p[1] == '.') {
			if (seg.n) {
				free(seg.v[--seg.n]);
				seg.v[seg.n] = NULL;
			}
		} else {
			sv_push_owned(&seg, xstrndup(p, n));
		}
		p += n;
	}
	sb_addc(out, '/');
	for (size_t i = 0; i < seg.n; i++) {
		if (i)
			sb_addc(out, '/');
		sigv4_uri_encode(out, seg.v[i], strlen(seg.v[i]), 0);
	}
	n = strlen(path);
	if (seg.n && path[n - 1] == '/')
		sb_addc(out, '/');
	sv_clear(&seg);
}

struct qpair {
	char *k, *v;
};

static int qcmp(const void *a, const void *b)
{
	const struct qpair *x = a, *y = b;
	int c = strcmp(x->k, y->k);
	return c ? c : strcmp(x->v, y->v);
}

static void canonical_query(struct strbuf *out, const char *q)
{
	struct qpair *pv = NULL;
	size_t np = 0;

	while (q && *q) {
		size_t n = strcspn(q, "&");
		if (n) {
			const char *eq = memchr(q, '=', n);
			size_t kl = eq ? (size_t)(eq - q) : n;
			struct strbuf raw = STRBUF_INIT, enc = STRBUF_INIT;
			pv = xrealloc(pv, (np + 1) * sizeof(*pv));
			uri_decode(&raw, q, kl);
			sigv4_uri_encode(&enc, raw.buf, raw.len, 0);
			pv[np].k = sb_detach(&enc);
			sb_reset(&raw);
			if (eq)
				uri_decode(&raw, eq + 1, n - kl - 1);
			sigv4_uri_encode(&enc, raw.buf, raw.len, 0);
			pv[np].v = sb_detach(&enc);
			sb_release(&raw);
			np++;
		}
		q += n;
		if (*q == '&')
			q++;
	}
	if (np)
		qsort(pv, np, sizeof(*pv), qcmp);
	for (size_t i = 0; i < np; i++) {
		if (i)
			sb_addc(out, '&');
		sb_adds(out, pv[i].k);
		sb_addc(out, '=');
		sb_adds(out, pv[i].v);
		free(pv[i].k);
		free(pv[i].v);
	}
	free(pv);
}

struct chdr {
	char *name;
	const char *value;
	size_t idx;
};

static int hcmp(const void *a, const void *b)
{
	const struct chdr *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	if (c)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Trimmed value with runs of whitespace (including folded lines) as one space. */
static void add_value(struct strbuf *out, const char *v)
{
	int space = 0, any = 0;
	for (; *v; v++) {
		if (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n') {
			space = any;
			continue;
		}
		if (space)
			sb_addc(out, ' ');
		space = 0;
		any = 1;
		sb_addc(out, *v);
	}
}

int sigv4_canonical_request(const struct sigv4_req *r, struct strbuf *out, struct strbuf *signed_headers)
{
	struct chdr *h = xcalloc(r->nheaders ? r->nheaders : 1, sizeof(*h));
	struct strbuf sh = STRBUF_INIT;
	char bodyhash[65];
	int rc = 0;

	for (size_t i = 0; i < r->nheaders; i++) {
		const char *nm = r->headers[i].name;
		if (!nm || !*nm || strchr(nm, ':')) {
			rc = dm_seterr("sigv4: invalid header name '%s'", nm ? nm : "");
			for (size_t j = 0; j < i; j++)
				free(h[j].name);
			free(h);
			return rc;
		}
		h[i].name = xstrdup(nm);
		for (char *c = h[i].name; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		h[i].value = r->headers[i].value ? r->headers[i].value : "";
		h[i].idx = i;
	}
	if (r->nheaders)
		qsort(h, r->nheaders, sizeof(*h), hcmp);

	sb_adds(out, r->method ? r->method : "GET");
	sb_addc(out, '\n');
	canonical_path(out, r->path, !r->no_normalize);
	sb_addc(out, '\n');
	canonical_query(out, r->query);
	sb_addc(out, '\n');
	for (size_t i = 0; i < r->nheaders; i++) {
		if (i && !strcmp(h[i].name, h[i - 1].name)) {
			sb_addc(out, ',');
		} else {
			if (i) {
				sb_addc(out, '\n');
				sb_addc(&sh, ';');
			}
			sb_adds(out, h[i].name);
			sb_addc(out, ':');
			sb_adds(&sh, h[i].name);
		}
		add_value(out, h[i].value);
	}
	if (r->nheaders)
		sb_addc(out, '\n');
	sb_addc(out, '\n');
	sb_adds(out, sh.buf);
	sb_addc(out, '\n');
	sigv4_sha256_hex(r->body, r->body ? r->bodylen : 0, bodyhash);
	sb_adds(out, bodyhash);
	if (signed_headers)
		sb_adds(signed_headers, sh.buf);
	for (size_t i = 0; i < r->nheaders; i++)
		free(h[i].name);
	free(h);
	sb_release(&sh);
	return 0;
}

void sigv4_scope(const char *amzdate, const char *region, const char *service, struct strbuf *out)
{
	sb_add(out, amzdate, strnlen(amzdate, 8));
	sb_addf(out, "/%s/%s/aws4_request", region, service);
}

void sigv4_string_to_sign(const char *amzdate, const char *scope, const char *creq, struct strbuf *out)
{
	char h[65];
	sigv4_sha256_hex(creq, strlen(creq), h);
	sb_addf(out, "AWS4-HMAC-SHA256\n%s\n%s\n%s", amzdate, scope, h);
}

void sigv4_signature(const struct sigv4_key *k, const char *amzdate, const char *sts, char out[65])
{
	struct strbuf key = STRBUF_INIT;
	unsigned char a[32], b[32];
	char date[9];

	snprintf(date, sizeof date, "%.8s", amzdate);
	sb_adds(&key, "AWS4");
	sb_adds(&key, k->secret_key);
	hmac((unsigned char *)key.buf, key.len, date, strlen(date), a);
	hmac(a, 32, k->region, strlen(k->region), b);
	hmac(b, 32, k->service, strlen(k->service), a);
	hmac(a, 32, "aws4_request", 12, b);
	hmac(b, 32, sts, strlen(sts), a);
	hex(a, 32, out);
	explicit_bzero(key.buf, key.len);
	explicit_bzero(b, sizeof b);
	explicit_bzero(a, sizeof a);
	sb_release(&key);
}

int sigv4_authorization(const struct sigv4_req *r, const struct sigv4_key *k, const char *amzdate,
                        struct strbuf *out)
{
	struct strbuf creq = STRBUF_INIT, sh = STRBUF_INIT, scope = STRBUF_INIT, sts = STRBUF_INIT;
	char sig[65];

	if (sigv4_canonical_request(r, &creq, &sh) < 0) {
		sb_release(&creq);
		sb_release(&sh);
		return -1;
	}
	sigv4_scope(amzdate, k->region, k->service, &scope);
	sigv4_string_to_sign(amzdate, scope.buf, creq.buf, &sts);
	sigv4_signature(k, amzdate, sts.buf, sig);
	sb_addf(out, "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s",
	        k->access_key, scope.buf, sh.buf, sig);
	sb_release(&creq);
	sb_release(&sh);
	sb_release(&scope);
	sb_release(&sts);
	return 0;
}

void sigv4_amzdate(long long t, char out[17])
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}
