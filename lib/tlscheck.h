/* tlscheck.h - the connection check of env/config/create (0.16.2 check.go):
 * a TLS handshake with the client certificate to host:port, verifying the
 * server certificate against the CA and the host (IP SAN or DNS name).
 *
 * On failure the error is the inner text 0.16.2 shows after
 * `There was an error validating certificates for host "H:P": `, e.g.
 *   dial tcp 127.0.0.1:52376: connect: connection refused
 *   context deadline exceeded
 *   x509: certificate is valid for 10.0.0.1, not 127.0.0.1
 */
#ifndef TLSCHECK_H
#define TLSCHECK_H

struct tls_client {
	const char *ca_cert, *client_cert, *client_key;
};

/* hostport "127.0.0.1:2376"; timeout in ms. 0 or -1 with the error set.
 * Other errors: "dial tcp H:P: i/o timeout" (connect deadline),
 * "dial tcp: lookup H: no such host", "x509: certificate signed by unknown
 * authority", "x509: certificate has expired or is not yet valid",
 * "remote error: tls: bad certificate" (the engine refused our client cert),
 * "tls: first record does not look like a TLS handshake", "open PATH: ...".
 * The handshake is TLS 1.2 so that the server's verdict on the client cert
 * is part of it.  The certificates are loaded once per process (per set of
 * paths); thread-safe; SIGPIPE is blocked in the thread during the check. */
int tls_check(const char *hostport, const struct tls_client *tc, int timeout_ms);

/* Split "tcp://h:p" into "h:p"; -1 if not a tcp URL. Caller frees. */
int url_hostport(const char *url, char **hostport);
/* Host part and port of a tcp URL (IPv6 brackets removed). Caller frees host. */
int url_split(const char *url, char **host, int *port);

#endif
