/* sigv4.h - AWS Signature Version 4 (header form, AWS4-HMAC-SHA256).
 *
 * The steps of the AWS documentation, each one callable so that the unit
 * test can check them against the official test suite (creq, sts, authz):
 *
 *   canonical request  METHOD \n path \n query \n headers \n signed \n sha256(body)
 *   string to sign     AWS4-HMAC-SHA256 \n AMZDATE \n SCOPE \n sha256(creq)
 *   signature          HMAC chain over "AWS4"+secret, date, region, service, "aws4_request"
 *
 * Canonicalisation: the path is taken raw (not yet percent-encoded), dot
 * segments and repeated slashes are removed (normalize = 1; every service but
 * S3) and each byte outside RFC 3986's unreserved set and '/' is encoded;
 * the query string is split on '&', each name/value percent-decoded, encoded
 * again and sorted by name then value; header names are lower-cased and
 * sorted, values trimmed with inner runs of spaces folded to one, repeated
 * headers joined with ','.  Every header passed in is signed.
 *
 * Secrets: the secret key and derived keys live only on the stack and are
 * wiped before return.  Nothing here logs.
 */
#ifndef SIGV4_H
#define SIGV4_H

#include <stddef.h>

#include "util.h"

struct sigv4_header {
	const char *name, *value;
};

struct sigv4_req {
	const char *method;                 /* "POST" */
	const char *path;                   /* raw path, "/" when NULL or empty */
	const char *query;                  /* raw query after '?', may be NULL */
	const struct sigv4_header *headers; /* every one is signed; must hold host and x-amz-date */
	size_t nheaders;
	const void *body;                   /* may be NULL */
	size_t bodylen;
	int no_normalize;                   /* 1 for S3: keep the path as it is */
};

struct sigv4_key {
	const char *access_key, *secret_key;
	const char *region, *service;       /* "us-east-1", "ec2" */
};

/* Lower-case hex SHA-256 of data (65 bytes with the NUL). */
void sigv4_sha256_hex(const void *data, size_t n, char out[65]);

/* Canonical request onto out; the signed header list ("host;x-amz-date")
 * onto signed_headers (may be NULL).  -1 with the error set when a header
 * name is empty or holds a ':' (nothing else can fail). */
int sigv4_canonical_request(const struct sigv4_req *r, struct strbuf *out, struct strbuf *signed_headers);

/* "20150830/us-east-1/service/aws4_request" for amzdate "20150830T123600Z". */
void sigv4_scope(const char *amzdate, const char *region, const char *service, struct strbuf *out);

/* String to sign for a canonical request. */
void sigv4_string_to_sign(const char *amzdate, const char *scope, const char *creq, struct strbuf *out);

/* Hex signature of a string to sign. */
void sigv4_signature(const struct sigv4_key *k, const char *amzdate, const char *sts, char out[65]);

/* The Authorization header value for r, signed at amzdate ("YYYYMMDDTHHMMSSZ").
 * -1 as sigv4_canonical_request. */
int sigv4_authorization(const struct sigv4_req *r, const struct sigv4_key *k, const char *amzdate,
                        struct strbuf *out);

/* amzdate for time t (UTC) into out[17]. */
void sigv4_amzdate(long long t, char out[17]);

/* RFC 3986 percent-encoding (unreserved kept, upper-case hex); keep_slash
 * leaves '/' as it is (paths). */
void sigv4_uri_encode(struct strbuf *sb, const char *s, size_t n, int keep_slash);

#endif
