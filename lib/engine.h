/* engine.h - talking to Docker engines over TLS (libcurl).
 *
 * The version query uses GET /version without a version prefix, which every
 * engine answers (API negotiation): 0.16.2 pinned /v1.15, which engines
 * since 20.10 refuse.  Many engines are asked at once (curl multi), each
 * bounded by the deadline.
 */
#ifndef ENGINE_H
#define ENGINE_H

#include "tlscheck.h"
#include "util.h"

struct engine_query {
	const char *url;            /* tcp://host:port */
	struct tls_client tls;
	/* results */
	int ok;                     /* 1 when Version is set */
	char version[64];           /* "19.03.5" */
	char api_version[16];
	long response_ms;
	char error[512];            /* 0.16.2 words, e.g. "Cannot connect to the docker engine endpoint" */
};

/* Query every q[i] concurrently; returns when all are done or deadline_ms
 * (absolute, now_ms() clock) has passed (those get error "timeout").
 * Errors in q[i].error: "Cannot connect to the docker engine endpoint"
 * (refused / unreachable), "timeout", "Error response from daemon: MSG",
 * "Version: missing" (bad reply), "reply exceeds N bytes", else curl's
 * text ("SSL certificate problem: ...").  Peer and host name are verified
 * against tls.ca_cert; no proxy is used (like the TLS check); the CA is
 * parsed once per call, DNS answers and TLS sessions are shared by the
 * process.  Runs in the calling thread. */
void engine_version_many(struct engine_query *q, size_t n, long long deadline_ms);

/* One GET on an engine: path like "/info"; body appended to out (capped at
 * DM_CAP_HTTP).  0 on a 2xx reply, else -1 with the error set as above
 * (the body is still appended). */
int engine_get(const char *url, const struct tls_client *tc, const char *path,
               int timeout_ms, struct strbuf *out);

#endif
