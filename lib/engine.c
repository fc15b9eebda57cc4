/* engine.c - talking to Docker engines: HTTP/1.0 over tls_conn, many at once (see engine.h). */
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dm.h"
#include "engine.h"
#include "json.h"

#define CAP_HEAD  (64u << 10)   /* status line + headers */
#define CAP_LINE  1024u          /* a chunk-size or trailer line */

/* ---- the reply, parsed as it arrives ---- */

enum rx_state {
	RX_HEAD,        /* status line and headers */
	RX_LENGTH,      /* Content-Length body */
	RX_TO_EOF,      /* body up to the end of the connection */
	RX_CHUNK_SIZE,  /* chunked: the size line */
	RX_CHUNK_DATA,
	RX_CHUNK_END,   /* the CRLF after a chunk's data */
	RX_TRAILER,     /* trailer lines up to an empty one */
	RX_DONE,
};

struct http_rx {
	enum rx_state st;
	struct strbuf head;
	struct strbuf line;
	struct strbuf body;          /* decoded; cap DM_CAP_HTTP */
	int status;
	unsigned long long left;     /* RX_LENGTH / RX_CHUNK_DATA: bytes still to come */
	int overflow;                /* the body went over the cap */
};

static void rx_init(struct http_rx *rx)
{
	memset(rx, 0, sizeof *rx);
	sb_init(&rx->head, 0);
	sb_init(&rx->line, CAP_LINE);
	sb_init(&rx->body, DM_CAP_HTTP);
}

static void rx_release(struct http_rx *rx)
{
	sb_release(&rx->head);
	sb_release(&rx->line);
	sb_release(&rx->body);
}

static int rx_overflow(struct http_rx *rx)
{
	rx->overflow = 1;
	return dm_seterr("reply exceeds %u bytes", DM_CAP_HTTP);
}

static int body_add(struct http_rx *rx, const char *p, size_t n)
{
	if (rx->body.len + n > DM_CAP_HTTP)
		return rx_overflow(rx);
	return sb_add(&rx->body, p, n);
}

static int isdigit3(const char *p)
{
	return p[0] >= '0' && p[0] <= '9' && p[1] >= '0' && p[1] <= '9' && p[2] >= '0' && p[2] <= '9';
}

/* Parse the header block in rx->head (ends with CRLF CRLF) and pick the body's framing. */
static int rx_headers(struct http_rx *rx)
{
	char *p = rx->head.buf, *eol;
	int chunked = 0, have_len = 0;
	unsigned long long len = 0;

	if (strncmp(p, "HTTP/1.", 7) || !p[7] || p[8] != ' ' || !isdigit3(p + 9) ||
	    (p[12] != ' ' && p[12] != '\r'))
		return dm_seterr("malformed HTTP response \"%.*s\"", (int)strcspn(p, "\r\n"), p);
	rx->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	if (memchr(p, 0, rx->head.len))
		return dm_seterr("malformed HTTP response: NUL in headers");
	for (p = strstr(p, "\r\n") + 2; (eol = strstr(p, "\r\n")) && eol != p; p = eol + 2) {
		char *colon = memchr(p, ':', (size_t)(eol - p)), *v;
		size_t nlen;
		if (!colon)
			return dm_seterr("malformed HTTP header \"%.*s\"", (int)(eol - p), p);
		nlen = (size_t)(colon - p);
		for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
			;
		if (nlen == 14 && !strncasecmp(p, "Content-Length", 14)) {
			unsigned long long n = 0;
			const char *d = v;
			if (d == eol)
				return dm_seterr("bad Content-Length");
			for (; d < eol && *d >= '0' && *d <= '9'; d++) {
				if (n > (1ULL << 50))
					return dm_seterr("bad Content-Length");
				n = n * 10 + (unsigned)(*d - '0');
			}
			while (d < eol && (*d == ' ' || *d == '\t'))
				d++;
			if (d != eol || (have_len && n != len))
				return dm_seterr("bad Content-Length");
			len = n;
			have_len = 1;
		} else if (nlen == 17 && !strncasecmp(p, "Transfer-Encoding", 17)) {
			/* The last coding decides; only chunked is ever sent to us. */
			const char *e = eol;
			while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
				e--;
			chunked = e - v >= 7 && !strncasecmp(e - 7, "chunked", 7);
			if (!chunked)
				return dm_seterr("unsupported transfer encoding \"%.*s\"", (int)(eol - v), v);
		}
	}
	if (rx->status >= 100 && rx->status < 200) {
		/* An interim reply: the real one follows. */
		sb_reset(&rx->head);
		return 0;
	}
	if (rx->status == 204 || rx->status == 304) {
		rx->st = RX_DONE;
	} else if (chunked) {
		rx->st = RX_CHUNK_SIZE;
	} else if (have_len) {
		if (len > DM_CAP_HTTP)
			return rx_overflow(rx);
		rx->left = len;
		rx->st = len ? RX_LENGTH : RX_DONE;
	} else {
		rx->st = RX_TO_EOF;
	}
	return 0;
}

/* One line (without CRLF) into rx->line from p[0..n); bytes used, or -1. *done when complete. */
static long rx_take_line(struct http_rx *rx, const char *p, size_t n, int *done)
{
	const char *nl = memchr(p, '\n', n);
	size_t k = nl ? (size_t)(nl - p) + 1 : n;
	if (sb_add(&rx->line, p, nl ? k - 1 : k) < 0)
		return dm_seterr("malformed chunked encoding");
	*done = nl != NULL;
	if (*done && rx->line.len && rx->line.buf[rx->line.len - 1] == '\r')
		sb_setlen(&rx->line, rx->line.len - 1);
	return (long)k;
}

static int rx_chunk_size(struct http_rx *rx)
{
	unsigned long long n = 0;
	const char *d = rx->line.buf;
	int digits = 0;
	for (;; d++, digits++) {
		int v = *d >= '0' && *d <= '9' ? *d - '0' : *d >= 'a' && *d <= 'f' ? *d - 'a' + 10
		        : *d >= 'A' && *d <= 'F' ? *d - 'A' + 10 : -1;
		if (v < 0)
			break;
		if (n > (1ULL << 50))
			return rx_overflow(rx);
		n = n * 16 + (unsigned)v;
	}
	while (*d == ' ' || *d == '\t')
		d++;
	if (!digits || (*d && *d != ';'))
		return dm_seterr("malformed chunked encoding");
	if (n > DM_CAP_HTTP - rx->body.len)
		return rx_overflow(rx);
	rx->left = n;
	rx->st = n ? RX_CHUNK_DATA : RX_TRAILER;
	return 0;
}

/* Feed n bytes of the reply: 1 when it is complete, 0 for more, -1 on error. */
static int rx_feed(struct http_rx *rx, const char *p, size_t n)
{
	while (n && rx->st != RX_DONE) {
		size_t k;
		long used;
		int done = 0;
		switch (rx->st) {
		case RX_HEAD: {
			size_t from = rx->head.len > 3 ? rx->head.len - 3 : 0;
			char *end;
			sb_add(&rx->head, p, n);
			end = memmem(rx->head.buf + from, rx->head.len - from, "\r\n\r\n", 4);
			if (!end) {
				if (rx->head.len > CAP_HEAD)
					return dm_seterr("malformed HTTP response: headers exceed %u bytes", CAP_HEAD);
				return 0;
			}
			k = (size_t)(end + 4 - rx->head.buf);
			/* What came after the headers is the body's. */
			p += n - (rx->head.len - k);
			n = rx->head.len - k;
			sb_setlen(&rx->head, k);
			if (k > CAP_HEAD)
				return dm_seterr("malformed HTTP response: headers exceed %u bytes", CAP_HEAD);
			if (rx_headers(rx) < 0)
				return -1;
			continue;
		}
		case RX_LENGTH:
		case RX_CHUNK_DATA:
			k = n < rx->left ? n : (size_t)rx->left;
			if (body_add(rx, p, k) < 0)
				return -1;
			rx->left -= k;
			p += k;
			n -= k;
			if (!rx->left)
				rx->st = rx->st == RX_LENGTH ? RX_DONE : RX_CHUNK_END;
			continue;
		case RX_TO_EOF:
			if (body_add(rx, p, n) < 0)
				return -1;
			return 0;
		case RX_CHUNK_SIZE:
		case RX_CHUNK_END:
		case RX_TRAILER:
			if ((used = rx_take_line(rx, p, n, &done)) < 0)
				return -1;
			p += used;
			n -= (size_t)used;
			if (!done)
				continue;
			if (rx->st == RX_CHUNK_SIZE) {
				if (rx_chunk_size(rx) < 0)
					return -1;
			} else if (rx->st == RX_CHUNK_END) {
				if (rx->line.len)
					return dm_seterr("malformed chunked encoding");
				rx->st = RX_CHUNK_SIZE;
			} else if (!rx->line.len) {
				rx->st = RX_DONE;
			}
			sb_reset(&rx->line);
			continue;
		case RX_DONE:
			break;
		}
	}
	return rx->st == RX_DONE;
}

/* The peer closed: 1 when that completes the reply, else -1. */
static int rx_eof(struct http_rx *rx)
{
	if (rx->st == RX_TO_EOF || rx->st == RX_DONE) {
		rx->st = RX_DONE;
		return 1;
	}
	if (rx->st == RX_HEAD && !rx->head.len)
		return dm_seterr("EOF");
	return dm_seterr("unexpected EOF");
}

/* The error of a complete reply in the words users see; 0 when it was a 2xx. */
static int rx_result(struct http_rx *rx)
{
	json_t *j = NULL;
	if (rx->status >= 200 && rx->status < 300)
		return 0;
	/* The engine's error: {"message":"..."}, as the docker client shows it. */
	if (dj_parse(rx->body.buf, rx->body.len, &j) == 0 &&
	    json_is_string(json_object_get(j, "message"))) {
		dm_seterr("Error response from daemon: %s", dj_str(j, "message", ""));
		json_decref(j);
		return -1;
	}
	json_decref(j);
	sb_rtrim(&rx->body);
	if (rx->body.len && rx->body.len < 200)
		return dm_seterr("HTTP %d: %s", rx->status, rx->body.buf);
	return dm_seterr("HTTP %d", rx->status);
}

/* ---- one request on one connection ---- */

enum job_state { JOB_RUNNING, JOB_OK, JOB_FAILED };

struct job {
	enum job_state st;
	struct tls_conn *c;
	char *hostport;
	char op[16];                 /* "Get", "Post": the method as Go's url.Error names it */
	const char *path;
	struct strbuf req;
	size_t sent;
	struct http_rx rx;
	long long t0, t1;
	char error[512];
};

static void job_fail(struct job *j, const char *text)
{
	snprintf(j->error, sizeof j->error, "%s", text);
	j->st = JOB_FAILED;
	j->t1 = now_ms();
	tls_conn_free(j->c);
	j->c = NULL;
}

/* A failed connection in the words of engine.h. */
static void job_conn_failed(struct job *j)
{
	char buf[512];
	switch (tls_conn_failure(j->c)) {
	case TLS_FAIL_CONNECT:
		job_fail(j, "Cannot connect to the docker engine endpoint");
		break;
	case TLS_FAIL_TIMEOUT:
		job_fail(j, "timeout");
		break;
	default:
		/* As the docker client of 0.16.2 wraps it. */
		snprintf(buf, sizeof buf, "%s https://%s%s: %s", j->op, j->hostport, j->path,
		         tls_conn_error(j->c));
		job_fail(j, buf);
	}
}

static void job_done(struct job *j)
{
	j->t1 = now_ms();
	if (rx_result(&j->rx) < 0) {
		job_fail(j, dm_strerr());
		return;
	}
	j->st = JOB_OK;
	tls_conn_free(j->c);
	j->c = NULL;
}

static void job_start(struct job *j, const char *url, const struct tls_client *tc,
                      const char *method, const char *path, const char *body, size_t body_len,
                      long long deadline)
{
	size_t i;
	memset(j, 0, sizeof *j);
	j->path = path;
	j->t0 = now_ms();
	rx_init(&j->rx);
	sb_init(&j->req, 0);
	for (i = 0; method[i] && i < sizeof j->op - 1; i++)
		j->op[i] = (char)(i ? tolower((unsigned char)method[i]) : toupper((unsigned char)method[i]));
	if (url_hostport(url, &j->hostport) < 0) {
		job_fail(j, dm_strerr());
		return;
	}
	if (strpbrk(path, " \r\n") || *path != '/' || strpbrk(method, " \r\n") || !*method) {
		job_fail(j, "bad request path or method");
		return;
	}
	/* HTTP/1.0 and Connection: close, so the engine sends the body plainly and closes. */
	sb_addf(&j->req, "%s %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: docker-machine/%s\r\n"
	                 "Accept: application/json\r\nConnection: close\r\n",
	        method, path, j->hostport, dm_version);
	if (body)
		sb_addf(&j->req, "Content-Type: application/json\r\nContent-Length: %zu\r\n", body_len);
	else if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		sb_adds(&j->req, "Content-Length: 0\r\n");
	sb_adds(&j->req, "\r\n");
	if (body)
		sb_add(&j->req, body, body_len);
	j->c = tls_conn_start(j->hostport, tc, deadline);
}

/* Advance j as far as it goes without blocking; revents from poll (0 if none). */
static void job_step(struct job *j, short revents)
{
	char buf[16384];
	ssize_t n;

	if (j->st != JOB_RUNNING)
		return;
	if (tls_conn_state(j->c) == TLS_BUSY && tls_conn_step(j->c, revents) == TLS_BUSY)
		return;
	if (tls_conn_state(j->c) == TLS_FAILED) {
		job_conn_failed(j);
		return;
	}
	while (j->sent < j->req.len) {
		n = tls_conn_write(j->c, j->req.buf + j->sent, j->req.len - j->sent);
		if (n == TLS_IO_AGAIN)
			return;
		if (n <= 0) {
			job_conn_failed(j);
			return;
		}
		j->sent += (size_t)n;
	}
	for (;;) {
		int r;
		n = tls_conn_read(j->c, buf, sizeof buf);
		if (n == TLS_IO_AGAIN)
			return;
		if (n < 0) {
			job_conn_failed(j);
			return;
		}
		r = n ? rx_feed(&j->rx, buf, (size_t)n) : rx_eof(&j->rx);
		if (r < 0) {
			char e[512];
			if (j->rx.overflow) {
				job_fail(j, dm_strerr());
				return;
			}
			snprintf(e, sizeof e, "%s https://%s%s: %s", j->op, j->hostport, j->path, dm_strerr());
			job_fail(j, e);
			return;
		}
		if (r > 0) {
			job_done(j);
			return;
		}
	}
}

static void job_release(struct job *j)
{
	tls_conn_free(j->c);
	j->c = NULL;
	free(j->hostport);
	sb_release(&j->req);
	rx_release(&j->rx);
}

/* Run every job to completion or the deadline, in this thread. */
static void run_jobs(struct job *jobs, size_t n, long long deadline)
{
	struct pollfd *p = xcalloc(n ? n : 1, sizeof *p);
	size_t *idx = xcalloc(n ? n : 1, sizeof *idx);

	for (size_t i = 0; i < n; i++)
		job_step(&jobs[i], 0);
	for (;;) {
		size_t np = 0;
		long long left;
		int r;
		for (size_t i = 0; i < n; i++) {
			if (jobs[i].st != JOB_RUNNING)
				continue;
			if (tls_conn_pollfd(jobs[i].c, &p[np]) < 0) {
				job_step(&jobs[i], 0);
				continue;
			}
			idx[np++] = i;
		}
		if (!np)
			break;
		left = deadline - now_ms();
		if (left <= 0)
			break;
		do
			r = poll(p, (nfds_t)np, left > 1000000 ? 1000000 : (int)left);
		while (r < 0 && errno == EINTR);
		if (r < 0)
			break;
		for (size_t k = 0; k < np; k++)
			if (p[k].revents || r == 0)
				job_step(&jobs[idx[k]], p[k].revents);
	}
	for (size_t i = 0; i < n; i++)
		if (jobs[i].st == JOB_RUNNING)
			job_fail(&jobs[i], "timeout");
	free(p);
	free(idx);
}

/* ---- the API ---- */

static int copy_field(json_t *j, const char *key, char *dst, size_t n)
{
	const char *s;
	if (dj_get_str(j, key, &s) < 0)
		return -1;
	if ((size_t)snprintf(dst, n, "%s", s) >= n)
		return dm_seterr("%s: too long", key);
	return 0;
}

void engine_version_many(struct engine_query *q, size_t n, long long deadline_ms)
{
	struct job *jobs = xcalloc(n ? n : 1, sizeof *jobs);

	for (size_t i = 0; i < n; i++) {
		q[i].ok = 0;
		q[i].version[0] = q[i].api_version[0] = q[i].error[0] = 0;
		q[i].response_ms = 0;
		job_start(&jobs[i], q[i].url, &q[i].tls, "GET", "/version", NULL, 0, deadline_ms);
	}
	run_jobs(jobs, n, deadline_ms);
	for (size_t i = 0; i < n; i++) {
		struct job *j = &jobs[i];
		json_t *v = NULL;
		q[i].response_ms = (long)(j->t1 - j->t0);
		if (j->st != JOB_OK) {
			snprintf(q[i].error, sizeof q[i].error, "%s", j->error);
		} else if (dj_parse(j->rx.body.buf, j->rx.body.len, &v) < 0 ||
		           copy_field(v, "Version", q[i].version, sizeof q[i].version) < 0 ||
		           copy_field(v, "ApiVersion", q[i].api_version, sizeof q[i].api_version) < 0) {
			snprintf(q[i].error, sizeof q[i].error, "%s", dm_strerr());
			q[i].version[0] = q[i].api_version[0] = 0;
		} else {
			q[i].ok = 1;
		}
		json_decref(v);
		job_release(j);
	}
	free(jobs);
}

int engine_request(const char *url, const struct tls_client *tc, const char *method,
                   const char *path, const char *body, size_t body_len, int timeout_ms,
                   struct strbuf *out, int *status)
{
	struct job j;
	long long deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	int r = 0;

	job_start(&j, url, tc, method, path, body, body_len, deadline);
	run_jobs(&j, 1, deadline);
	if (status)
		*status = j.rx.st == RX_HEAD ? 0 : j.rx.status;
	if (j.st != JOB_OK)
		r = dm_seterr("%s", j.error);
	if (sb_add(out, j.rx.body.buf, j.rx.body.len) < 0)
		r = -1;
	job_release(&j);
	return r;
}

int engine_get(const char *url, const struct tls_client *tc, const char *path, int timeout_ms,
               struct strbuf *out)
{
	return engine_request(url, tc, "GET", path, NULL, 0, timeout_ms, out, NULL);
}
