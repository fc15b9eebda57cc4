/* http.c - HTTP(S) requests for provider APIs and downloads (libcurl). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "dm.h"
#include "http.h"
#include "json.h"

#define RETRIES_DEFAULT 4
#define BACKOFF_BASE_MS 500
#define BACKOFF_MAX_MS 8000
#define WAIT_TOTAL_MS 60000
#define DEBUG_BODY_MAX 2048

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- headers ---- */

static int secret_name(const char *name)
{
	static const char *const names[] = {
		"Authorization", "Proxy-Authorization", "X-Auth-Token", "X-Amz-Security-Token",
		"Cookie", "X-Api-Key",
	};
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (!strcasecmp(name, names[i]))
			return 1;
	return 0;
}

static void add_header(struct http_req *r, const char *name, const char *value, int secret)
{
	r->headers = xrealloc(r->headers, (r->nheaders + 1) * sizeof(*r->headers));
	r->headers[r->nheaders].name = xstrdup(name);
	r->headers[r->nheaders].value = xstrdup(value);
	r->headers[r->nheaders].secret = secret || secret_name(name);
	r->nheaders++;
}

void http_header(struct http_req *r, const char *name, const char *value)
{
	add_header(r, name, value, 0);
}

void http_header_secret(struct http_req *r, const char *name, const char *value)
{
	add_header(r, name, value, 1);
}

static int req_has_header(const struct http_req *r, const char *name)
{
	for (size_t i = 0; i < r->nheaders; i++)
		if (!strcasecmp(r->headers[i].name, name))
			return 1;
	return 0;
}

const char *http_resp_header(const struct http_resp *resp, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < resp->headers.n; i++) {
		const char *h = resp->headers.v[i];
		if (!strncasecmp(h, name, n) && h[n] == ':') {
			h += n + 1;
			while (*h == ' ' || *h == '\t')
				h++;
			return h;
		}
	}
	return NULL;
}

void http_req_free(struct http_req *r)
{
	for (size_t i = 0; i < r->nheaders; i++) {
		free(r->headers[i].name);
		/* wipe secrets before handing the memory back */
		if (r->headers[i].secret)
			explicit_bzero(r->headers[i].value, strlen(r->headers[i].value));
		free(r->headers[i].value);
	}
	free(r->headers);
	r->headers = NULL;
	r->nheaders = 0;
}

void http_resp_free(struct http_resp *resp)
{
	sb_release(&resp->body);
	sv_clear(&resp->headers);
	resp->status = 0;
}

/* ---- one transfer ---- */

struct xfer {
	struct strbuf *body;
	struct strvec *headers;
	size_t cap;
	int overflow;
	FILE *file;             /* download: write here instead of body */
	/* progress (download) */
	int progress, tty;
	curl_off_t base;        /* bytes already on disk when resuming */
	int last_pct;
	long long last_ms;
};

static size_t on_body(char *p, size_t sz, size_t n, void *ctx)
{
	struct xfer *x = ctx;
	size_t len = sz * n;
	if (x->file)
		return fwrite(p, 1, len, x->file);
	if (x->body->len + len > x->cap) {
		x->overflow = 1;
		return 0;
	}
	sb_add(x->body, p, len);
	return len;
}

static size_t on_header(char *p, size_t sz, size_t n, void *ctx)
{
	struct xfer *x = ctx;
	size_t len = sz * n, l = len;
	while (l && (p[l - 1] == '\r' || p[l - 1] == '\n'))
		l--;
	if (l >= 5 && !strncmp(p, "HTTP/", 5)) {
		sv_clear(x->headers);   /* a new reply (redirect, 100 Continue) */
		return len;
	}
	if (l && x->headers->n < 200)
		sv_push_owned(x->headers, xstrndup(p, l));
	return len;
}

static void debug_request(const struct http_req *r, int attempt)
{
	if (!dm_debug)
		return;
	dm_debugf("http: > %s %s%s", r->method ? r->method : "GET", r->url,
	          attempt ? " (retry)" : "");
	for (size_t i = 0; i < r->nheaders; i++)
		dm_debugf("http: > %s: %s", r->headers[i].name,
		          r->headers[i].secret ? "<redacted>" : r->headers[i].value);
	if (r->body && r->bodylen) {
		if (r->body_secret)
			dm_debugf("http: > (%zu bytes, not shown)", r->bodylen);
		else
			dm_debugf("http: > %.*s%s", (int)(r->bodylen > DEBUG_BODY_MAX ? DEBUG_BODY_MAX : r->bodylen),
			          (const char *)r->body, r->bodylen > DEBUG_BODY_MAX ? "…" : "");
	}
}

static void debug_reply(const struct http_req *r, const struct http_resp *resp)
{
	if (!dm_debug)
		return;
	dm_debugf("http: < %ld (%zu bytes)", resp->status, resp->body.len);
	if (!r->body_secret && resp->body.len)
		dm_debugf("http: < %.*s%s",
		          (int)(resp->body.len > DEBUG_BODY_MAX ? DEBUG_BODY_MAX : resp->body.len),
		          resp->body.buf, resp->body.len > DEBUG_BODY_MAX ? "…" : "");
}

static void common_opts(CURL *c, char *errbuf)
{
	const char *ca = getenv("DM_HTTP_CA_BUNDLE");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(c, CURLOPT_USERAGENT, "docker-machine/0.16.2 (dm)");
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 15000L);
	if (ca && *ca)
		curl_easy_setopt(c, CURLOPT_CAINFO, ca);
}

/* One attempt. Returns the CURLcode; resp filled when a reply came. */
static CURLcode perform(const struct http_req *r, struct http_resp *resp, char *errbuf,
                        int *overflow)
{
	CURL *c = curl_easy_init();
	struct curl_slist *hl = NULL;
	struct xfer x = { .body = &resp->body, .headers = &resp->headers,
	                  .cap = r->cap ? r->cap : DM_CAP_HTTP };
	const char *method = r->method ? r->method : "GET";
	CURLcode rc;

	if (!c) {
		snprintf(errbuf, CURL_ERROR_SIZE, "cannot initialise libcurl");
		return CURLE_FAILED_INIT;
	}
	common_opts(c, errbuf);
	curl_easy_setopt(c, CURLOPT_URL, r->url);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, r->timeout_ms > 0 ? r->timeout_ms : 60000L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &x);
	for (size_t i = 0; i < r->nheaders; i++) {
		char *h = xasprintf("%s: %s", r->headers[i].name, r->headers[i].value);
		hl = curl_slist_append(hl, h);
		if (r->headers[i].secret)
			explicit_bzero(h, strlen(h));
		free(h);
	}
	/* no "Expect: 100-continue" round trip */
	hl = curl_slist_append(hl, "Expect:");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	if (!strcmp(method, "HEAD")) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (r->body || strcmp(method, "GET")) {
		if (r->body || !strcmp(method, "POST") || !strcmp(method, "PUT") || !strcmp(method, "PATCH")) {
			curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(r->body ? r->bodylen : 0));
			curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->body ? (const char *)r->body : "");
		}
		if (strcmp(method, "POST"))
			curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	}
	sb_reset(&resp->body);
	sv_clear(&resp->headers);
	resp->status = 0;
	rc = curl_easy_perform(c);
	*overflow = x.overflow;
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
	else if (!errbuf[0])
		snprintf(errbuf, CURL_ERROR_SIZE, "%s", curl_easy_strerror(rc));
	curl_slist_free_all(hl);
	curl_easy_cleanup(c);
	return rc;
}

static int transient(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_GOT_NOTHING:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return 1;
	default:
		return 0;
	}
}

static long backoff_base_ms(void)
{
	const char *e = getenv("DM_HTTP_BACKOFF_MS");
	long v;
	if (e && *e && parse_long(e, 0, 60000, &v, "DM_HTTP_BACKOFF_MS") == 0)
		return v;
	return BACKOFF_BASE_MS;
}

/* Retry-After: delta-seconds or an HTTP-date; -1 when absent or unreadable. */
static long long retry_after_ms(const struct http_resp *resp)
{
	const char *h = http_resp_header(resp, "Retry-After");
	char *end;
	long v;
	if (!h || !*h)
		return -1;
	errno = 0;
	v = strtol(h, &end, 10);
	if (end != h && (*end == 0 || *end == ' ') && !errno && v >= 0)
		return v > 3600 ? 3600000LL : v * 1000LL;
	time_t t = curl_getdate(h, NULL);
	if (t == (time_t)-1)
		return -1;
	t -= time(NULL);
	return t <= 0 ? 0 : (long long)t * 1000;
}

static void sleep_ms(long long ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
	while (ms > 0 && nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int http_do(const struct http_req *r, struct http_resp *resp)
{
	int max = r->max_retries < 0 ? 0 : r->max_retries ? r->max_retries : RETRIES_DEFAULT;
	long long waited = 0, base = backoff_base_ms();
	char errbuf[CURL_ERROR_SIZE];
	CURLcode rc = CURLE_OK;

	pthread_once(&curl_once, curl_init_once);
	if (!r->url || !*r->url)
		return dm_seterr("http: no URL");
	if (!resp->body.buf)
		sb_init(&resp->body, resp->body.cap);   /* a zeroed struct http_resp */
	for (int attempt = 0;; attempt++) {
		int overflow = 0;
		errbuf[0] = 0;
		debug_request(r, attempt);
		rc = perform(r, resp, errbuf, &overflow);
		long long wait;

		if (overflow)
			return dm_seterr("%s %s: reply exceeds %zu bytes", r->method ? r->method : "GET",
			                 r->url, r->cap ? r->cap : (size_t)DM_CAP_HTTP);
		if (rc == CURLE_OK)
			debug_reply(r, resp);
		else
			dm_debugf("http: < %s", errbuf);
		if (rc == CURLE_OK && resp->status != 429 && resp->status < 500)
			return 0;
		if (rc != CURLE_OK && (!transient(rc) || r->replies_only))
			break;
		if (attempt >= max)
			break;
		wait = base << (attempt > 10 ? 10 : attempt);
		if (wait > BACKOFF_MAX_MS)
			wait = BACKOFF_MAX_MS;
		if (rc == CURLE_OK) {
			long long ra = retry_after_ms(resp);
			if (ra >= 0)
				wait = ra;
		}
		if (waited + wait > WAIT_TOTAL_MS)
			break;   /* the provider asks for more than we wait in total */
		dm_debugf("http: retrying in %lld ms", wait);
		sleep_ms(wait);
		waited += wait;
	}
	if (rc == CURLE_OK)
		return 0;   /* a reply, even if a 429 or 5xx: the caller reads it */
	return dm_seterr("%s %s: %s", r->method ? r->method : "GET", r->url, errbuf);
}

/* ---- provider error messages ---- */

static const char *json_msg(json_t *v)
{
	json_t *e;
	const char *s;
	if (!json_is_object(v))
		return NULL;
	if ((s = dj_str(v, "message", NULL)) && *s)              /* DigitalOcean, many */
		return s;
	e = json_object_get(v, "error");
	if (json_is_object(e) && (s = dj_str(e, "message", NULL)) && *s)  /* Google, Azure */
		return s;
	if ((s = dj_str(v, "error_description", NULL)) && *s)    /* OAuth 2 */
		return s;
	if (json_is_string(e) && *json_string_value(e))
		return json_string_value(e);
	e = json_object_get(v, "errors");
	if (json_is_array(e) && json_array_size(e) &&
	    (s = dj_str(json_array_get(e, 0), "message", NULL)) && *s)
		return s;
	return NULL;
}

/* <Message>text</Message> of an XML error (EC2, S3), entities decoded. */
static int xml_msg(const char *body, struct strbuf *out)
{
	const char *a = strstr(body, "<Message>"), *b;
	if (!a)
		return -1;
	a += strlen("<Message>");
	if (!(b = strstr(a, "</Message>")) || b == a)
		return -1;
	static const struct { const char *ent; char c; } ents[] = {
		{ "&lt;", '<' }, { "&gt;", '>' }, { "&amp;", '&' }, { "&quot;", '"' }, { "&apos;", '\'' },
	};
	while (a < b) {
		size_t i;
		for (i = 0; i < ARRAY_SIZE(ents); i++)
			if (!strncmp(a, ents[i].ent, strlen(ents[i].ent)))
				break;
		if (i < ARRAY_SIZE(ents)) {
			sb_addc(out, ents[i].c);
			a += strlen(ents[i].ent);
		} else {
			sb_addc(out, *a++);
		}
	}
	return 0;
}

int http_error_message(const struct http_resp *resp, struct strbuf *out)
{
	json_t *v = NULL;
	const char *m;
	size_t len0 = out->len;
	if (resp->body.len && dj_parse(resp->body.buf, resp->body.len, &v) == 0 && (m = json_msg(v))) {
		/* one line, bounded: it ends up in a terminal */
		size_t n = strcspn(m, "\r\n");
		sb_add(out, m, n > 1000 ? 1000 : n);
		json_decref(v);
		return 0;
	}
	json_decref(v);
	if (resp->body.len && xml_msg(resp->body.buf, out) == 0)
		return 0;
	sb_setlen(out, len0);
	sb_addf(out, "HTTP %ld", resp->status);
	return -1;
}

/* ---- JSON ---- */

int http_json(struct http_req *r, json_t *req_json, json_t **out, long *status)
{
	struct http_resp resp = { 0, STRBUF_INIT, STRVEC_INIT };
	struct strbuf body = STRBUF_INIT;
	int rc = -1;

	if (out)
		*out = NULL;
	if (status)
		*status = 0;
	if (req_json) {
		if (dj_encode(req_json, 0, 0, &body) < 0)
			return -1;
		r->body = body.buf;
		r->bodylen = body.len;
		if (!req_has_header(r, "Content-Type"))
			http_header(r, "Content-Type", "application/json");
	}
	if (!req_has_header(r, "Accept"))
		http_header(r, "Accept", "application/json");
	if (http_do(r, &resp) < 0)
		goto out;
	if (status)
		*status = resp.status;
	if (resp.status < 200 || resp.status > 299) {
		struct strbuf m = STRBUF_INIT;
		http_error_message(&resp, &m);
		dm_seterr("%s", m.buf);
		sb_release(&m);
		goto out;
	}
	if (resp.body.len && strspn(resp.body.buf, " \t\r\n") < resp.body.len) {
		json_t *v;
		if (dj_parse(resp.body.buf, resp.body.len, &v) < 0) {
			dm_seterr("%s %s: invalid JSON in the reply: %s", r->method ? r->method : "GET",
			          r->url, dm_strerr());
			goto out;
		}
		if (out)
			*out = v;
		else
			json_decref(v);
	}
	rc = 0;
out:
	if (req_json) {
		r->body = NULL;
		r->bodylen = 0;
	}
	sb_release(&body);
	http_resp_free(&resp);
	return rc;
}

/* ---- downloads ---- */

static int on_progress(void *ctx, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
	struct xfer *x = ctx;
	curl_off_t total = dltotal ? dltotal + x->base : 0, now = dlnow + x->base;
	long long t = now_ms();
	int pct;
	(void)ultotal;
	(void)ulnow;
	if (!x->progress || !total)
		return 0;
	pct = (int)(now * 100 / total);
	if (x->tty) {
		if (pct == x->last_pct && t - x->last_ms < 200)
			return 0;
		int bars = pct / 5;
		fprintf(stderr, "\r[%-20.*s] %3d%% %lld/%lld", bars, "====================", pct,
		        (long long)now, (long long)total);
		if (pct == 100)
			fputc('\n', stderr);
	} else {
		if (pct / 10 == x->last_pct / 10)
			return 0;
		fprintf(stderr, "%d%%\n", pct / 10 * 10);
	}
	x->last_pct = pct;
	x->last_ms = t;
	return 0;
}

static int file_digest(const char *path, const char *algo, struct strbuf *hex)
{
	const EVP_MD *md = !strcmp(algo, "sha256") ? EVP_sha256() :
	                   !strcmp(algo, "sha512") ? EVP_sha512() : NULL;
	unsigned char buf[65536], dig[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;
	EVP_MD_CTX *ctx;
	ssize_t n;
	int fd, rc = 0;

	if (!md)
		return dm_seterr("unknown digest %s", algo);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return dm_seterr_errno("%s", path);
	ctx = EVP_MD_CTX_new();
	EVP_DigestInit_ex(ctx, md, NULL);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		EVP_DigestUpdate(ctx, buf, (size_t)n);
	if (n < 0)
		rc = dm_seterr_errno("read %s", path);
	EVP_DigestFinal_ex(ctx, dig, &dlen);
	EVP_MD_CTX_free(ctx);
	close(fd);
	for (unsigned i = 0; i < dlen; i++)
		sb_addf(hex, "%02x", dig[i]);
	return rc;
}

int http_download(const char *url, const char *path, const char *sha_algo, const char *sha_hex)
{
	char *part = xasprintf("%s.part", path);
	char errbuf[CURL_ERROR_SIZE];
	long long waited = 0, base = backoff_base_ms();
	int rc = -1;

	pthread_once(&curl_once, curl_init_once);
	for (int attempt = 0;; attempt++) {
		struct strbuf dummy = STRBUF_INIT;
		struct strvec hdrs = STRVEC_INIT;
		struct xfer x = { .body = &dummy, .headers = &hdrs, .cap = 0,
		                  .progress = 1, .tty = isatty(2), .last_pct = -1 };
		struct stat st;
		long status = 0;
		CURL *c;
		CURLcode cr;

		x.base = stat(part, &st) == 0 ? (curl_off_t)st.st_size : 0;
		if (!(x.file = fopen(part, x.base ? "ab" : "wb"))) {
			dm_seterr_errno("%s", part);
			break;
		}
		if (!(c = curl_easy_init())) {
			fclose(x.file);
			dm_seterr("cannot initialise libcurl");
			break;
		}
		errbuf[0] = 0;
		common_opts(c, errbuf);
		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
		curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
		curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
		curl_easy_setopt(c, CURLOPT_HEADERDATA, &x);
		curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
		curl_easy_setopt(c, CURLOPT_XFERINFODATA, &x);
		if (x.base)
			curl_easy_setopt(c, CURLOPT_RESUME_FROM_LARGE, x.base);
		dm_debugf("http: > GET %s%s", url, x.base ? " (resuming)" : "");
		cr = curl_easy_perform(c);
		if (cr == CURLE_OK)
			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		else if (!errbuf[0])
			snprintf(errbuf, sizeof(errbuf), "%s", curl_easy_strerror(cr));
		curl_easy_cleanup(c);
		if (fclose(x.file) != 0 && cr == CURLE_OK) {
			dm_seterr_errno("write %s", part);
			sv_clear(&hdrs);
			break;
		}
		sv_clear(&hdrs);
		if (cr == CURLE_OK && status == 416 && x.base) {
			/* the server has no more: the part is complete (checked below) */
			status = 206;
		}
		if (cr == CURLE_OK && x.base && status == 200) {
			/* the server ignored the range and sent the whole file after
			 * the part: start over without resuming */
			unlink(part);
			if (attempt < RETRIES_DEFAULT)
				continue;
		}
		if (cr == CURLE_OK && status >= 200 && status < 300) {
			rc = 0;
			break;
		}
		if (cr == CURLE_OK && status != 429 && status < 500) {
			dm_seterr("GET %s: HTTP %ld", url, status);
			unlink(part);
			break;
		}
		if (cr != CURLE_OK && !transient(cr)) {
			dm_seterr("GET %s: %s", url, errbuf);
			break;
		}
		long long wait = base << (attempt > 10 ? 10 : attempt);
		if (wait > BACKOFF_MAX_MS)
			wait = BACKOFF_MAX_MS;
		if (attempt >= RETRIES_DEFAULT || waited + wait > WAIT_TOTAL_MS) {
			if (cr == CURLE_OK)
				dm_seterr("GET %s: HTTP %ld", url, status);
			else
				dm_seterr("GET %s: %s", url, errbuf);
			break;
		}
		sleep_ms(wait);
		waited += wait;
	}
	if (rc == 0 && sha_algo && sha_hex) {
		struct strbuf got = STRBUF_INIT;
		if (file_digest(part, sha_algo, &got) < 0)
			rc = -1;
		else if (strcasecmp(got.buf, sha_hex)) {
			rc = dm_seterr("%s: %s mismatch: got %s, want %s", url, sha_algo, got.buf, sha_hex);
			unlink(part);
		}
		sb_release(&got);
	}
	if (rc == 0 && rename(part, path) < 0)
		rc = dm_seterr_errno("rename %s", part);
	free(part);
	return rc;
}

/* ---- URLs ---- */

void http_urlencode(struct strbuf *sb, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '.' || *p == '_' || *p == '~') {
			sb_addc(sb, *p);
		} else {
			sb_addc(sb, '%');
			sb_addc(sb, hex[*p >> 4]);
			sb_addc(sb, hex[*p & 15]);
		}
	}
}
