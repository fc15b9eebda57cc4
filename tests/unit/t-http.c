/* t-http.c - http_do / http_json / http_download against a scripted server
 * on 127.0.0.1: retries (429 + Retry-After, 5xx, dropped and hung
 * connections), provider error messages, caps, secret redaction in --debug
 * output, downloads with resume and digests, URL encoding. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "http.h"
#include "json.h"
#include "tap.h"

/* ---- the scripted server: one connection per script entry ----
 * An entry is a raw reply ("200 text" becomes status + body), or
 *   "DROP"        close without a reply
 *   "HANG"        read the request, then say nothing for 3 s
 *   "FILE:text"   serve text with Range support (206 for a range)
 * Every request (head + body) is appended to the log, separated by "\n--\n". */

static pid_t srv_pid;
static char srv_log[512];
static int srv_port;

static void reply(int c, const char *status, const char *extra, const char *body)
{
	struct strbuf sb = STRBUF_INIT;
	sb_addf(&sb, "HTTP/1.1 %s\r\nConnection: close\r\nContent-Length: %zu\r\n%s\r\n%s", status,
	        strlen(body), extra, body);
	write_all(c, sb.buf, sb.len);
	sb_release(&sb);
}

static void serve_one(int c, const char *entry, int logfd)
{
	struct strbuf req = STRBUF_INIT;
	char buf[4096], *hend, *cl, *range;
	size_t want = 0;

	for (;;) {
		ssize_t n = read(c, buf, sizeof(buf));
		if (n <= 0)
			break;
		sb_add(&req, buf, (size_t)n);
		if ((hend = strstr(req.buf, "\r\n\r\n"))) {
			cl = strcasestr(req.buf, "\r\nContent-Length:");
			want = (size_t)(hend - req.buf) + 4 + (cl && cl < hend ? (size_t)atol(cl + 17) : 0);
			if (req.len >= want)
				break;
		}
	}
	sb_adds(&req, "\n--\n");
	write_all(logfd, req.buf, req.len);
	if (!strcmp(entry, "DROP")) {
		/* nothing */
	} else if (!strcmp(entry, "HANG")) {
		sleep(3);
	} else if (str_starts(entry, "FILE:")) {
		const char *text = entry + 5;
		size_t len = strlen(text);
		long from;
		if ((range = strcasestr(req.buf, "\r\nRange: bytes=")) && (from = atol(range + 15)) > 0) {
			char extra[128];
			if ((size_t)from >= len) {
				snprintf(extra, sizeof(extra), "Content-Range: bytes */%zu\r\n", len);
				reply(c, "416 Range Not Satisfiable", extra, "");
			} else {
				snprintf(extra, sizeof(extra), "Content-Range: bytes %ld-%zu/%zu\r\n", from,
				         len - 1, len);
				reply(c, "206 Partial Content", extra, text + from);
			}
		} else {
			reply(c, "200 OK", "", text);
		}
	} else {
		/* "STATUS TEXT\nHeader: v\n\nbody" */
		const char *nl = strchr(entry, '\n');
		const char *sep = strstr(entry, "\n\n");
		char *status = xstrndup(entry, nl ? (size_t)(nl - entry) : strlen(entry));
		struct strbuf extra = STRBUF_INIT;
		if (nl && sep && sep > nl) {
			for (const char *p = nl + 1; p < sep;) {
				const char *e = memchr(p, '\n', (size_t)(sep - p));
				if (!e)
					e = sep;
				sb_add(&extra, p, (size_t)(e - p));
				sb_adds(&extra, "\r\n");
				p = e + 1;
			}
		}
		reply(c, status, extra.buf, sep ? sep + 2 : "");
		sb_release(&extra);
		free(status);
	}
	sb_release(&req);
	close(c);
}

static void server_start(const char *const *script, size_t n)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1, logfd;

	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(s, 16) < 0)
		abort();
	getsockname(s, (struct sockaddr *)&sa, &sl);
	srv_port = ntohs(sa.sin_port);
	snprintf(srv_log, sizeof(srv_log), "%s/server.log", tap_tmpdir());
	logfd = open(srv_log, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
	fflush(stdout);
	srv_pid = fork();
	if (srv_pid == 0) {
		setpgid(0, 0);
		for (size_t i = 0; i < n; i++) {
			int c = accept(s, NULL, NULL);
			if (c < 0)
				_exit(1);
			if (!strcmp(script[i], "HANG")) {   /* hang in a child, keep accepting */
				if (fork() == 0) {
					serve_one(c, script[i], logfd);
					_exit(0);
				}
				close(c);
				continue;
			}
			serve_one(c, script[i], logfd);
		}
		_exit(0);
	}
	setpgid(srv_pid, srv_pid);
	close(s);
	close(logfd);
}

/* Stop the server; returns the number of requests it logged; log text in *log. */
static int server_stop(struct strbuf *log)
{
	struct strbuf sb = STRBUF_INIT;
	int n = 0;
	kill(-srv_pid, SIGKILL);
	kill(srv_pid, SIGKILL);
	waitpid(srv_pid, NULL, 0);
	sb_read_file(&sb, srv_log, 1 << 20);
	for (const char *p = sb.buf; (p = strstr(p, "\n--\n")); p += 4)
		n++;
	if (log)
		sb_add(log, sb.buf, sb.len);
	sb_release(&sb);
	return n;
}

static char *url(const char *path)
{
	return xasprintf("http://127.0.0.1:%d%s", srv_port, path);
}

/* ---- tests ---- */

static void test_status_and_retries(void)
{
	static const struct {
		const char *what;
		const char *script[6];
		int max_retries;
		int rc;
		long status;
		int requests;
		const char *body;
		int replies_only;
	} cases[] = {
		{ "plain 200", { "200 OK\n\nhello" }, 0, 0, 200, 1, "hello", 0 },
		{ "404 is not retried", { "404 Not Found\n\nnope", "200 OK\n\nx" }, 0, 0, 404, 1, "nope", 0 },
		{ "500 then 200", { "500 Oops\n\n", "502 Bad\n\n", "200 OK\n\nok" }, 0, 0, 200, 3, "ok", 0 },
		{ "429 Retry-After 0 then 200", { "429 Slow\nRetry-After: 0\n\n", "200 OK\n\nok" }, 0, 0, 200, 2, "ok", 0 },
		{ "429 Retry-After 1 honoured", { "429 Slow\nRetry-After: 1\n\n", "200 OK\n\nok" }, 0, 0, 200, 2, "ok", 0 },
		{ "429 Retry-After beyond the budget", { "429 Slow\nRetry-After: 120\n\n", "200 OK\n\nok" }, 0, 0, 429, 1, "", 0 },
		{ "dropped connection retried", { "DROP", "200 OK\n\nok" }, 0, 0, 200, 2, "ok", 0 },
		{ "retries bounded", { "503 A\n\n", "503 B\n\n", "503 C\n\n", "200 OK\n\n" }, 2, 0, 503, 3, "", 0 },
		{ "no retries", { "500 A\n\n", "200 OK\n\n" }, -1, 0, 500, 1, "", 0 },
		{ "drop without retries fails", { "DROP" }, -1, -1, 0, 1, "", 0 },
		{ "replies_only: a drop is not retried", { "DROP", "200 OK\n\nok" }, 0, -1, 0, 1, "", 1 },
		{ "replies_only: a 503 is retried", { "503 A\n\n", "200 OK\n\nok" }, 0, 0, 200, 2, "ok", 1 },
	};
	setenv("DM_HTTP_BACKOFF_MS", "1", 1);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		size_t n = 0;
		while (n < ARRAY_SIZE(cases[i].script) && cases[i].script[n])
			n++;
		server_start(cases[i].script, n);
		char *u = url("/v2/x");
		struct http_req r = { .method = "GET", .url = u, .max_retries = cases[i].max_retries,
		                      .timeout_ms = 5000, .replies_only = cases[i].replies_only };
		struct http_resp resp = { 0 };
		long long t0 = now_ms();
		int rc = http_do(&r, &resp);
		long long dt = now_ms() - t0;
		is_int(rc, cases[i].rc, "%s: rc", cases[i].what);
		is_int(resp.status, cases[i].status, "%s: status", cases[i].what);
		if (cases[i].rc == 0)
			is_str(resp.body.buf, cases[i].body, "%s: body", cases[i].what);
		else
			ok(strstr(dm_strerr(), "GET http://127.0.0.1:") != NULL, "%s: error names the request (%s)",
			   cases[i].what, dm_strerr());
		is_int(server_stop(NULL), cases[i].requests, "%s: requests", cases[i].what);
		if (strstr(cases[i].what, "Retry-After 1"))
			ok(dt >= 900, "%s: waited %lld ms", cases[i].what, dt);
		http_resp_free(&resp);
		http_req_free(&r);
		free(u);
	}
}

static void test_hang_timeout(void)
{
	const char *script[] = { "HANG", "HANG" };
	server_start(script, 2);
	char *u = url("/hang");
	struct http_req r = { .method = "GET", .url = u, .timeout_ms = 300, .max_retries = 1 };
	struct http_resp resp = { 0 };
	long long t0 = now_ms();
	int rc = http_do(&r, &resp);
	long long dt = now_ms() - t0;
	is_int(rc, -1, "hang: fails");
	ok(strstr(dm_strerr(), "imed out") != NULL, "hang: timeout message (%s)", dm_strerr());
	ok(dt >= 550 && dt < 2500, "hang: bounded by timeout x attempts (%lld ms)", dt);
	is_int(server_stop(NULL), 2, "hang: retried once");
	http_resp_free(&resp);
	free(u);
}

static void test_refused(void)
{
	/* a port nothing listens on: start and stop a server to get one */
	const char *script[] = { "200 OK\n\n" };
	server_start(script, 1);
	server_stop(NULL);
	char *u = url("/");
	struct http_req r = { .method = "GET", .url = u, .max_retries = 2 };
	struct http_resp resp = { 0 };
	is_int(http_do(&r, &resp), -1, "refused: fails");
	ok(strstr(dm_strerr(), "onnect") != NULL, "refused: curl's text (%s)", dm_strerr());
	is_int(resp.status, 0, "refused: no status");
	http_resp_free(&resp);
	free(u);
}

static void test_error_messages(void)
{
	static const struct {
		const char *reply, *msg;
		long status;
	} cases[] = {
		{ "404 Not Found\n\n{\"id\":\"not_found\",\"message\":\"The resource you were accessing could not be found.\"}",
		  "The resource you were accessing could not be found.", 404 },
		{ "401 Unauthorized\n\n{\"id\":\"Unauthorized\",\"message\":\"Unable to authenticate you\"}",
		  "Unable to authenticate you", 401 },
		{ "400 Bad\n\n{\"error\":{\"code\":400,\"message\":\"Invalid value for field 'resource.name'\",\"errors\":[]}}",
		  "Invalid value for field 'resource.name'", 400 },
		{ "400 Bad\n\n{\"error\":\"invalid_grant\",\"error_description\":\"Invalid JWT Signature.\"}",
		  "Invalid JWT Signature.", 400 },
		{ "403 Forbidden\n\n{\"error\":\"forbidden\"}", "forbidden", 403 },
		{ "422 Unprocessable\n\n{\"errors\":[{\"message\":\"size is invalid\"}]}", "size is invalid", 422 },
		{ "400 Bad\n\n<?xml version=\"1.0\"?><Response><Errors><Error><Code>AuthFailure</Code><Message>AWS was not able to validate the provided access credentials &amp; more</Message></Error></Errors></Response>",
		  "AWS was not able to validate the provided access credentials & more", 400 },
		{ "400 Bad\n\nnot json at all", "HTTP 400", 400 },
		{ "409 Conflict\n\n{\"message\":\"line one\\nline two\"}", "line one", 409 },
		{ "404 Not Found\n\n", "HTTP 404", 404 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *script[] = { cases[i].reply };
		server_start(script, 1);
		char *u = url("/v2/account");
		struct http_req r = { .method = "GET", .url = u };
		json_t *out = (json_t *)1;
		long status = 0;
		is_int(http_json(&r, NULL, &out, &status), -1, "error %zu: fails", i);
		is_str(dm_strerr(), cases[i].msg, "error %zu: provider message", i);
		is_int(status, cases[i].status, "error %zu: status", i);
		ok(out == NULL, "error %zu: no reply object", i);
		server_stop(NULL);
		http_req_free(&r);
		free(u);
	}
}

static void test_json(void)
{
	const char *script[] = {
		"202 Accepted\nContent-Type: application/json\n\n{\"droplet\":{\"id\":42,\"name\":\"a\"}}",
		"204 No Content\n\n",
		"200 OK\n\n{broken",
	};
	struct strbuf log = STRBUF_INIT;
	json_t *req = json_pack("{s:s,s:[s]}", "name", "dm<1>", "tags", "x");
	json_t *out = NULL;
	long status = 0;
	server_start(script, 3);
	char *u = url("/v2/droplets");
	struct http_req r = { .method = "POST", .url = u };
	http_header_secret(&r, "Authorization", "Bearer s3cr3t");
	is_int(http_json(&r, req, &out, &status), 0, "json: POST ok");
	is_int(status, 202, "json: status");
	is_int(dj_int(json_object_get(out, "droplet"), "id", 0), 42, "json: reply parsed");
	json_decref(out);
	ok(r.body == NULL, "json: request body pointer cleared");

	struct http_req d = { .method = "DELETE", .url = u };
	out = (json_t *)1;
	is_int(http_json(&d, NULL, &out, &status), 0, "json: DELETE 204 ok");
	ok(out == NULL, "json: empty reply is NULL");
	is_int(status, 204, "json: 204");

	struct http_req g = { .method = "GET", .url = u };
	is_int(http_json(&g, NULL, &out, NULL), -1, "json: invalid JSON fails");
	ok(strstr(dm_strerr(), "invalid JSON") != NULL, "json: says why (%s)", dm_strerr());

	server_stop(&log);
	ok(strstr(log.buf, "POST /v2/droplets HTTP/1.1\r\n") != NULL, "json: request line");
	ok(strstr(log.buf, "Content-Type: application/json\r\n") != NULL, "json: content type");
	ok(strstr(log.buf, "Authorization: Bearer s3cr3t\r\n") != NULL, "json: secret header sent");
	ok(strstr(log.buf, "{\"name\":\"dm\\u003c1\\u003e\",\"tags\":[\"x\"]}") != NULL, "json: body sent");
	ok(strstr(log.buf, "DELETE /v2/droplets HTTP/1.1\r\n") != NULL, "json: DELETE sent");
	ok(strstr(log.buf, "Expect:") == NULL, "json: no Expect: 100-continue");
	json_decref(req);
	http_req_free(&r);
	http_req_free(&d);
	http_req_free(&g);
	sb_release(&log);
	free(u);
}

static void test_headers_and_cap(void)
{
	const char *script[] = { "200 OK\nX-Request-Id: abc\nlink: <next>\n\n0123456789", "200 OK\n\n0123456789" };
	server_start(script, 2);
	char *u = url("/");
	struct http_req r = { .url = u };
	struct http_resp resp = { 0 };
	is_int(http_do(&r, &resp), 0, "headers: ok");
	is_str(http_resp_header(&resp, "x-request-id"), "abc", "headers: case-insensitive");
	is_str(http_resp_header(&resp, "Link"), "<next>", "headers: lower-case name");
	ok(http_resp_header(&resp, "X-Missing") == NULL, "headers: missing is NULL");
	struct http_req c = { .url = u, .cap = 5 };
	is_int(http_do(&c, &resp), -1, "cap: reply over the cap fails");
	ok(strstr(dm_strerr(), "exceeds 5 bytes") != NULL, "cap: message (%s)", dm_strerr());
	server_stop(NULL);
	http_resp_free(&resp);
	free(u);
}

static void test_debug_redaction(void)
{
	const char *script[] = { "200 OK\n\n{\"ok\":true}", "200 OK\n\n{\"access_token\":\"tok-reply\"}" };
	char path[600];
	struct strbuf err = STRBUF_INIT;
	int saved = dup(2), fd;

	snprintf(path, sizeof(path), "%s/debug.txt", tap_tmpdir());
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	server_start(script, 2);
	char *u = url("/v2/account");
	fflush(stderr);
	dup2(fd, 2);
	dm_debug = 1;
	struct http_req r = { .method = "POST", .url = u, .body = "{\"visible\":1}", .bodylen = 13 };
	struct http_resp resp = { 0 };
	http_header(&r, "Authorization", "Bearer tok-secret-1");      /* secret by name */
	http_header_secret(&r, "X-Custom", "tok-secret-2");
	http_header(&r, "X-Plain", "plain-value");
	http_do(&r, &resp);
	struct http_req s = { .method = "POST", .url = u, .body = "assertion=tok-secret-3",
	                      .bodylen = 22, .body_secret = 1 };
	http_do(&s, &resp);
	dm_debug = 0;
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(fd);
	server_stop(NULL);
	sb_read_file(&err, path, 1 << 20);
	ok(strstr(err.buf, "tok-secret") == NULL, "debug: no secret header or body value logged");
	ok(strstr(err.buf, "tok-reply") == NULL, "debug: reply of a secret request not logged");
	ok(strstr(err.buf, "Authorization: <redacted>") != NULL, "debug: Authorization redacted");
	ok(strstr(err.buf, "X-Custom: <redacted>") != NULL, "debug: secret header redacted");
	ok(strstr(err.buf, "X-Plain: plain-value") != NULL, "debug: plain header shown");
	ok(strstr(err.buf, "{\"visible\":1}") != NULL, "debug: plain body shown");
	ok(strstr(err.buf, "> POST http://127.0.0.1:") != NULL, "debug: request line shown");
	http_resp_free(&resp);
	http_req_free(&r);
	http_req_free(&s);
	sb_release(&err);
	free(u);
}

static void test_download(void)
{
	/* sha256("hello world\n") */
	const char *sha = "a948904f2f0f479b8f8197694b30184b0d2ed1c1cd2a1ec0fb85d299a192a447";
	const char *script[] = { "FILE:hello world\n", "FILE:hello world\n", "FILE:hello world\n",
	                         "404 Not Found\n\n" };
	char dst[600], part[700];
	struct strbuf got = STRBUF_INIT;

	setenv("DM_HTTP_BACKOFF_MS", "1", 1);
	server_start(script, 4);
	char *u = url("/img");
	snprintf(dst, sizeof(dst), "%s/img", tap_tmpdir());
	snprintf(part, sizeof(part), "%s.part", dst);
	is_int(http_download(u, dst, "sha256", sha), 0, "download: ok with digest");
	sb_read_file(&got, dst, 1024);
	is_str(got.buf, "hello world\n", "download: content");
	ok(access(part, F_OK) < 0, "download: no .part left");

	/* resume: a partial file is continued with a range request */
	unlink(dst);
	write_file_atomic(part, "hello ", 6, 0600);
	is_int(http_download(u, dst, "sha256", sha), 0, "download: resumed");
	sb_reset(&got);
	sb_read_file(&got, dst, 1024);
	is_str(got.buf, "hello world\n", "download: resumed content");

	unlink(dst);
	is_int(http_download(u, dst, "sha256", "00"), -1, "download: digest mismatch fails");
	ok(strstr(dm_strerr(), "sha256 mismatch") != NULL, "download: mismatch message (%s)", dm_strerr());
	ok(access(dst, F_OK) < 0 && access(part, F_OK) < 0, "download: nothing kept on mismatch");

	is_int(http_download(u, dst, NULL, NULL), -1, "download: 404 fails");
	ok(strstr(dm_strerr(), "HTTP 404") != NULL, "download: 404 message (%s)", dm_strerr());
	struct strbuf log = STRBUF_INIT;
	server_stop(&log);
	ok(strstr(log.buf, "Range: bytes=6-") != NULL, "download: range request sent");
	sb_release(&log);
	sb_release(&got);
	free(u);
}

static void test_urlencode(void)
{
	static const struct { const char *in, *out; } cases[] = {
		{ "abc-XYZ_0.9~", "abc-XYZ_0.9~" },
		{ "a b", "a%20b" },
		{ "dm:host/1?&=", "dm%3Ahost%2F1%3F%26%3D" },
		{ "é", "%C3%A9" },
		{ "", "" },
		{ "100%", "100%25" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct strbuf sb = STRBUF_INIT;
		http_urlencode(&sb, cases[i].in);
		is_str(sb.buf, cases[i].out, "urlencode '%s'", cases[i].in);
		sb_release(&sb);
	}
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	plan_lazy();
	test_urlencode();
	test_status_and_retries();
	test_hang_timeout();
	test_refused();
	test_error_messages();
	test_json();
	test_headers_and_cap();
	test_debug_redaction();
	test_download();
	return done_testing();
}
