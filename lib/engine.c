/* engine.c - talking to Docker engines over TLS with libcurl (see engine.h). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "dm.h"
#include "engine.h"
#include "json.h"

/* ---- process-wide curl state ---- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLSH *share;
static pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];

static void share_lock(CURL *h, curl_lock_data d, curl_lock_access a, void *u)
{
	pthread_mutex_lock(&share_locks[d]);
}

static void share_unlock(CURL *h, curl_lock_data d, void *u)
{
	pthread_mutex_unlock(&share_locks[d]);
}

static void curl_setup(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(share_locks); i++)
		pthread_mutex_init(&share_locks[i], NULL);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	/* DNS answers and TLS sessions are shared by every request of the process. */
	share = curl_share_init();
	if (share) {
		curl_share_setopt(share, CURLSHOPT_LOCKFUNC, share_lock);
		curl_share_setopt(share, CURLSHOPT_UNLOCKFUNC, share_unlock);
		curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
		curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	}
}

/* ---- one transfer ---- */

struct xfer {
	CURL *h;
	struct strbuf body;
	char errbuf[CURL_ERROR_SIZE];
	int overflow;
};

static size_t on_data(char *p, size_t size, size_t n, void *u)
{
	struct xfer *x = u;
	if (sb_add(&x->body, p, size * n) < 0) {
		x->overflow = 1;
		return 0;
	}
	return size * n;
}

/* "tcp://h:p" -> "https://h:p<path>"; NULL with the error set. */
static char *https_url(const char *url, const char *path)
{
	char *hp, *u;
	if (url_hostport(url, &hp) < 0)
		return NULL;
	u = xasprintf("https://%s%s", hp, path);
	free(hp);
	return u;
}

static int xfer_init(struct xfer *x, const char *url, const struct tls_client *tc,
                     const char *path, long timeout_ms)
{
	char *u;
	memset(x, 0, sizeof *x);
	sb_init(&x->body, DM_CAP_HTTP);
	if (!(u = https_url(url, path)))
		return -1;
	pthread_once(&curl_once, curl_setup);
	if (!(x->h = curl_easy_init())) {
		free(u);
		return dm_seterr("curl: cannot make a handle");
	}
	if (timeout_ms < 1)
		timeout_ms = 1;
	curl_easy_setopt(x->h, CURLOPT_URL, u);
	free(u);
	curl_easy_setopt(x->h, CURLOPT_PRIVATE, x);
	curl_easy_setopt(x->h, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(x->h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(x->h, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(x->h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(x->h, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(x->h, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
	curl_easy_setopt(x->h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(x->h, CURLOPT_USERAGENT, "docker-machine/0.16.2");
	/* Engines are reached directly, as the TLS check does: no proxy. */
	curl_easy_setopt(x->h, CURLOPT_PROXY, "");
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(x->h, CURLOPT_PROTOCOLS_STR, "https");
#endif
	curl_easy_setopt(x->h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(x->h, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(x->h, CURLOPT_CAINFO, tc->ca_cert);
	curl_easy_setopt(x->h, CURLOPT_CAPATH, NULL);
#if LIBCURL_VERSION_NUM >= 0x075700
	/* The CA is parsed once per multi handle, not once per engine. */
	curl_easy_setopt(x->h, CURLOPT_CA_CACHE_TIMEOUT, 60L);
#endif
	curl_easy_setopt(x->h, CURLOPT_SSLCERT, tc->client_cert);
	curl_easy_setopt(x->h, CURLOPT_SSLCERTTYPE, "PEM");
	curl_easy_setopt(x->h, CURLOPT_SSLKEY, tc->client_key);
	curl_easy_setopt(x->h, CURLOPT_SSLKEYTYPE, "PEM");
	if (share)
		curl_easy_setopt(x->h, CURLOPT_SHARE, share);
	return 0;
}

static void xfer_free(struct xfer *x)
{
	if (x->h)
		curl_easy_cleanup(x->h);
	x->h = NULL;
	sb_release(&x->body);
}

/* The error of a finished transfer in the words users see; 0 when the
 * reply was a 2xx. */
static int xfer_result(struct xfer *x, CURLcode rc)
{
	long status = 0;
	json_t *j = NULL;
	if (rc == CURLE_COULDNT_CONNECT)
		return dm_seterr("Cannot connect to the docker engine endpoint");
	if (rc == CURLE_OPERATION_TIMEDOUT)
		return dm_seterr("timeout");
	if (rc == CURLE_WRITE_ERROR && x->overflow)
		return dm_seterr("reply exceeds %u bytes", DM_CAP_HTTP);
	if (rc != CURLE_OK)
		return dm_seterr("%s", x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc));
	curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &status);
	if (status >= 200 && status < 300)
		return 0;
	/* The engine's error: {"message":"..."}, as the docker client shows it. */
	if (dj_parse(x->body.buf, x->body.len, &j) == 0 && json_is_string(json_object_get(j, "message"))) {
		dm_seterr("Error response from daemon: %s", dj_str(j, "message", ""));
		json_decref(j);
		return -1;
	}
	json_decref(j);
	sb_rtrim(&x->body);
	if (x->body.len && x->body.len < 200)
		return dm_seterr("HTTP %ld: %s", status, x->body.buf);
	return dm_seterr("HTTP %ld", status);
}

static int copy_field(json_t *j, const char *key, char *dst, size_t n)
{
	const char *s;
	if (dj_get_str(j, key, &s) < 0)
		return -1;
	if ((size_t)snprintf(dst, n, "%s", s) >= n)
		return dm_seterr("%s: too long", key);
	return 0;
}

static void query_done(struct engine_query *q, struct xfer *x, CURLcode rc)
{
	curl_off_t us = 0;
	json_t *j = NULL;
	curl_easy_getinfo(x->h, CURLINFO_TOTAL_TIME_T, &us);
	q->response_ms = (long)(us / 1000);
	if (xfer_result(x, rc) < 0 || dj_parse(x->body.buf, x->body.len, &j) < 0 ||
	    copy_field(j, "Version", q->version, sizeof q->version) < 0 ||
	    copy_field(j, "ApiVersion", q->api_version, sizeof q->api_version) < 0) {
		snprintf(q->error, sizeof q->error, "%s", dm_strerr());
		q->version[0] = q->api_version[0] = 0;
	} else {
		q->ok = 1;
	}
	json_decref(j);
}

void engine_version_many(struct engine_query *q, size_t n, long long deadline_ms)
{
	struct xfer *x = xcalloc(n ? n : 1, sizeof *x);
	CURLM *m;
	CURLMsg *msg;
	int running = 0, left;
	size_t i;

	for (i = 0; i < n; i++) {
		q[i].ok = 0;
		q[i].version[0] = q[i].api_version[0] = q[i].error[0] = 0;
		q[i].response_ms = 0;
	}
	pthread_once(&curl_once, curl_setup);
	m = curl_multi_init();
	for (i = 0; i < n; i++) {
		if (xfer_init(&x[i], q[i].url, &q[i].tls, "/version", (long)(deadline_ms - now_ms())) < 0 ||
		    curl_multi_add_handle(m, x[i].h) != CURLM_OK) {
			snprintf(q[i].error, sizeof q[i].error, "%s", dm_strerr());
			xfer_free(&x[i]);
		}
	}
	for (;;) {
		long long rem;
		curl_multi_perform(m, &running);
		while ((msg = curl_multi_info_read(m, &left))) {
			struct xfer *xp = NULL;
			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&xp);
			i = (size_t)(xp - x);
			query_done(&q[i], xp, msg->data.result);
			curl_multi_remove_handle(m, xp->h);
			xfer_free(xp);
		}
		rem = deadline_ms - now_ms();
		if (!running || rem <= 0)
			break;
		curl_multi_poll(m, NULL, 0, rem > 1000 ? 1000 : (int)rem, NULL);
	}
	for (i = 0; i < n; i++) {
		if (x[i].h) {
			curl_multi_remove_handle(m, x[i].h);
			xfer_free(&x[i]);
			snprintf(q[i].error, sizeof q[i].error, "timeout");
		}
	}
	curl_multi_cleanup(m);
	free(x);
}

int engine_get(const char *url, const struct tls_client *tc, const char *path, int timeout_ms,
               struct strbuf *out)
{
	struct xfer x;
	CURLcode rc;
	int r;
	if (xfer_init(&x, url, tc, path, timeout_ms) < 0) {
		xfer_free(&x);
		return -1;
	}
	rc = curl_easy_perform(x.h);
	r = xfer_result(&x, rc);
	if (sb_add(out, x.body.buf, x.body.len) < 0)
		r = -1;
	xfer_free(&x);
	return r;
}
