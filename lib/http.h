/* http.h - HTTP(S) requests for provider APIs and downloads (libcurl).
 *
 * One request at a time per struct http_req; JSON helpers on top.  Every
 * reply body is capped (DM_CAP_HTTP unless the request says otherwise).
 * Retries: 429 (honouring Retry-After) and 5xx / connection failures are
 * retried with bounded exponential backoff (max_retries, default 4, total
 * wait capped at 60 s); anything else is returned as it is.
 *
 * Secrets: header values marked secret (Authorization, X-Auth-Token, any
 * added with http_header_secret) are never printed; --debug logging of
 * requests shows "<redacted>" for them and never logs bodies of requests
 * marked secret.
 *
 * Environment: HTTPS_PROXY/NO_PROXY are honoured for provider APIs (curl's
 * defaults); DM_HTTP_CA_BUNDLE overrides the CA bundle (tests point it at a
 * fake server's CA); DM_HTTP_BACKOFF_MS sets the first retry wait (default
 * 500 ms, doubling per retry up to 8 s; tests set it low).  A zeroed
 * struct http_resp is ready to use; http_resp_free releases it.
 */
#ifndef HTTP_H
#define HTTP_H

#include <jansson.h>

#include "util.h"

struct http_header {
	char *name, *value;
	int secret;
};

struct http_req {
	const char *method;          /* "GET", "POST", … */
	const char *url;
	struct http_header *headers; /* added with http_header*() */
	size_t nheaders;
	const void *body;            /* may be NULL */
	size_t bodylen;
	int body_secret;             /* never log the body */
	long timeout_ms;             /* whole request; 0 = 60 s */
	int max_retries;             /* -1 = none, 0 = default (4) */
	size_t cap;                  /* reply cap; 0 = DM_CAP_HTTP */
	int replies_only;            /* retry only 429/5xx replies, never a lost
	                              * connection or a timeout: for requests that
	                              * create something (the provider may have done
	                              * it; a retry would make a second one) */
};

struct http_resp {
	long status;                 /* HTTP status, 0 when no reply */
	struct strbuf body;
	struct strvec headers;       /* "Name: value" lines of the final reply */
};

void http_header(struct http_req *r, const char *name, const char *value);
void http_header_secret(struct http_req *r, const char *name, const char *value);
const char *http_resp_header(const struct http_resp *resp, const char *name); /* case-insensitive */
void http_req_free(struct http_req *r);    /* frees headers only */
void http_resp_free(struct http_resp *resp);

/* Perform the request (with retries).  Returns 0 when a reply arrived (any
 * status: check resp->status), -1 when none did (error set: curl's text). */
int http_do(const struct http_req *r, struct http_resp *resp);

/* JSON convenience: body = json_dumps(req_json) (may be NULL for GET/DELETE)
 * with Content-Type: application/json; a 2xx reply body parsed into *out
 * (NULL when empty). On a non-2xx reply returns -1 with the error set to
 * the provider's own message when the body has one (DigitalOcean "message",
 * Google error.message, …: tried in that order), else "HTTP <status>".
 * *status (may be NULL) gets the HTTP status. */
int http_json(struct http_req *r, json_t *req_json, json_t **out, long *status);

/* The provider's message in a reply body appended to out (one line):
 * JSON "message", error.message, error_description, "error" (a string),
 * errors[0].message, then XML <Message> (EC2).  Returns 0, or -1 when the
 * body has none: out then gets "HTTP <status>". */
int http_error_message(const struct http_resp *resp, struct strbuf *out);

/* Download url to path (temp + rename), resuming a partial path.part,
 * progress on stderr (a bar on a tty, plain lines otherwise), optional
 * sha256/sha512 check (hex; NULL = none). */
int http_download(const char *url, const char *path, const char *sha_algo, const char *sha_hex);

/* URL-encode s (RFC 3986 unreserved kept) onto sb. */
void http_urlencode(struct strbuf *sb, const char *s);

#endif
