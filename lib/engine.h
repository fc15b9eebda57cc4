/* engine.h - talking to Docker engines: HTTP/1.0 over TLS (tls_conn, OpenSSL).
 *
 * The version query uses GET /version without a version prefix, which every
 * engine answers (API negotiation): 0.16.2 pinned /v1.15, which engines
 * since 20.10 refuse.  Many engines are asked at once from the calling
 * thread (one poll loop, non-blocking sockets), all bounded by one absolute
 * deadline.  Requests are HTTP/1.0 with `Connection: close`, so the reply
 * needs no chunked decoding (it is decoded anyway, as is Content-Length);
 * a reply body is capped at DM_CAP_HTTP.  TLS as tlscheck.h: the server
 * certificate is verified against tls.ca_cert and the host (IP SAN or DNS
 * name), one SSL_CTX per (CA, cert, key) triple is loaded once per process,
 * lazily: an engine that refuses the connection costs no certificate work.
 * No proxy is used (like the TLS check).
 *
 * Errors, in the words users see (ls prefixes "Unable to query docker
 * version: "):
 *   "Cannot connect to the docker engine endpoint"  connect(2) failed: refused, unreachable
 *   "timeout"                                       the deadline passed (ls: a Timeout row)
 *   "Error response from daemon: MSG"               non-2xx with the engine's {"message":…}
 *   "HTTP 404: text" / "HTTP 500"                   other non-2xx replies
 *   "reply exceeds 8388608 bytes"                   body over DM_CAP_HTTP
 *   "Version: missing"                              2xx without the field
 *   "Get https://H:P/version: TEXT"                 anything else, as the docker client of
 *                                                   0.16.2 wraps it; TEXT is tls_check's
 *                                                   ("x509: certificate signed by unknown
 *                                                   authority", "remote error: tls: bad
 *                                                   certificate", "dial tcp: lookup H: no such
 *                                                   host", "open PATH: …") or the reply's
 *                                                   ("EOF", "unexpected EOF", "malformed …")
 */
#ifndef ENGINE_H
#define ENGINE_H

#include <stddef.h>

#include "tlscheck.h"
#include "util.h"

struct engine_query {
	const char *url;            /* tcp://host:port */
	struct tls_client tls;
	/* results */
	int ok;                     /* 1 when Version is set */
	char version[64];           /* "19.03.5" */
	char api_version[16];
	long response_ms;           /* start to reply (or failure) */
	char error[512];            /* see above */
};

/* Query every q[i] concurrently; returns when all are done or deadline_ms
 * (absolute, now_ms() clock) has passed (those get error "timeout"). */
void engine_version_many(struct engine_query *q, size_t n, long long deadline_ms);

/* One GET on an engine: path like "/info"; body appended to out (capped at
 * DM_CAP_HTTP).  0 on a 2xx reply, else -1 with the error set as above
 * (the body is still appended). */
int engine_get(const char *url, const struct tls_client *tc, const char *path,
               int timeout_ms, struct strbuf *out);

/* One request: method "GET", "POST", "DELETE" …; body (NULL = none) sent
 * as Content-Type: application/json; reply body appended to out as
 * engine_get; *status (may be NULL) gets the HTTP status, 0 when no reply
 * came.  0 on a 2xx reply, else -1 with the error set as above ("Post
 * https://…: …" for a POST). */
int engine_request(const char *url, const struct tls_client *tc, const char *method,
                   const char *path, const char *body, size_t body_len, int timeout_ms,
                   struct strbuf *out, int *status);

#endif
