/* tlscheck.h - TLS client connections to Docker engines (OpenSSL), and the
 * connection check of env/config/create (0.16.2 check.go) built on them.
 *
 * The check is a TLS handshake with the client certificate to host:port,
 * verifying the server certificate against the CA and the host (IP SAN or
 * DNS name).  On failure the error is the inner text 0.16.2 shows after
 * `There was an error validating certificates for host "H:P": `, e.g.
 *   dial tcp 127.0.0.1:52376: connect: connection refused
 *   context deadline exceeded
 *   x509: certificate is valid for 10.0.0.1, not 127.0.0.1
 *
 * The handshake is TLS 1.2 so that the server's verdict on the client cert
 * is part of it (in TLS 1.3 the client is done before the server has looked
 * at it).  One SSL_CTX is made per distinct (CA, client cert, client key)
 * triple and kept for the process; it is made again when one of the three
 * files changes (inode, size or mtime).  The system OpenSSL configuration
 * is not read (as 0.16.2, whose TLS stack ignores it).  Sockets are written
 * with MSG_NOSIGNAL: a peer that went away is an error, never a SIGPIPE.
 * Everything here is thread-safe.
 */
#ifndef TLSCHECK_H
#define TLSCHECK_H

#include <poll.h>
#include <sys/types.h>

struct tls_client {
	const char *ca_cert, *client_cert, *client_key;
};

/* hostport "127.0.0.1:2376"; timeout in ms. 0 or -1 with the error set.
 * Other errors: "dial tcp H:P: i/o timeout" (connect deadline),
 * "dial tcp: lookup H: no such host", "x509: certificate signed by unknown
 * authority", "x509: certificate has expired or is not yet valid",
 * "remote error: tls: bad certificate" (the engine refused our client cert),
 * "tls: first record does not look like a TLS handshake", "open PATH: ...".
 * The three files are read before dialling (an unreadable one is the
 * error); they are parsed once TCP is up, so an engine that refuses costs
 * no certificate work, and a file that does not parse ("tls: private key
 * does not match public key") is reported for a reachable engine only. */
int tls_check(const char *hostport, const struct tls_client *tc, int timeout_ms);

/* Load (or find loaded) the context for tc now: 0, or -1 with the error set
 * ("open PATH: ...", "PATH: no certificates found", "tls: private key does
 * not match public key", ...). */
int tls_client_load(const struct tls_client *tc);

/* Split "tcp://h:p" into "h:p"; -1 if not a tcp URL. Caller frees. */
int url_hostport(const char *url, char **hostport);
/* Host part and port of a tcp URL (IPv6 brackets removed). Caller frees host. */
int url_split(const char *url, char **host, int *port);

/* ---- non-blocking connections ----
 *
 * A tls_conn dials host:port and does the handshake without ever blocking
 * (except getaddrinfo for a host name: a numeric address is not looked up),
 * so that many run in one thread under one poll(2):
 *
 *	c = tls_conn_start(hp, &tc, deadline);
 *	while (tls_conn_step(c, revents) == TLS_BUSY) {
 *		tls_conn_pollfd(c, &p);
 *		poll(&p, 1, tls_conn_wait_ms(c));  revents = p.revents;
 *	}
 *	then tls_conn_write() / tls_conn_read() while TLS_OPEN.
 *
 * The deadline is absolute (now_ms() clock) and covers everything: a step,
 * read or write at or after it fails with TLS_FAIL_TIMEOUT.  The SSL_CTX is
 * fetched when the TCP connection is up, so endpoints that refuse cost no
 * certificate parsing (call tls_client_load() first to report certificate
 * problems before any dial).
 */
struct tls_conn;

enum tls_state { TLS_BUSY, TLS_OPEN, TLS_FAILED };

enum tls_fail {
	TLS_FAIL_NONE,
	TLS_FAIL_SETUP,     /* bad host:port, certificate files, out of sockets */
	TLS_FAIL_LOOKUP,    /* "dial tcp: lookup H: no such host" */
	TLS_FAIL_CONNECT,   /* connect(2) failed: refused, unreachable ... */
	TLS_FAIL_TIMEOUT,   /* the deadline passed */
	TLS_FAIL_TLS,       /* handshake or verification failed */
	TLS_FAIL_IO,        /* read/write error on the open connection */
};

/* Start dialling; never NULL (a connection that cannot start is TLS_FAILED
 * at once).  tc's strings must outlive the connection's handshake. */
struct tls_conn *tls_conn_start(const char *hostport, const struct tls_client *tc,
                                long long deadline_ms);
/* Make progress; revents is what poll(2) reported for tls_conn_pollfd()'s
 * fd (0 when it timed out or was not polled).  Returns the state. */
enum tls_state tls_conn_step(struct tls_conn *c, short revents);
/* The fd and events to poll for; 0, or -1 when there is nothing to wait on
 * (failed). After tls_conn_read/write return TLS_IO_AGAIN the events say
 * which direction OpenSSL is waiting for. */
int tls_conn_pollfd(const struct tls_conn *c, struct pollfd *p);
/* Milliseconds until the deadline (0 when past), for poll's timeout. */
int tls_conn_wait_ms(const struct tls_conn *c);

#define TLS_IO_AGAIN (-2)
/* On an open connection: bytes moved (> 0); 0 at EOF (read only; a peer
 * that closes without close_notify is an EOF too: the HTTP framing tells
 * a truncated reply); TLS_IO_AGAIN when it would block; -1 when it failed
 * (state TLS_FAILED, see tls_conn_error). */
ssize_t tls_conn_read(struct tls_conn *c, void *buf, size_t n);
ssize_t tls_conn_write(struct tls_conn *c, const void *buf, size_t n);

enum tls_state tls_conn_state(const struct tls_conn *c);
enum tls_fail tls_conn_failure(const struct tls_conn *c);
/* The failure in tls_check's words ("" while none). Valid until freed. */
const char *tls_conn_error(const struct tls_conn *c);
/* Sends close_notify if open (without waiting), closes the socket, frees. NULL is ok. */
void tls_conn_free(struct tls_conn *c);

#endif
