/* t-tlscheck.c - the TLS connection check against in-test servers on 127.0.0.1. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <poll.h>

#include "cert.h"
#include "tap.h"
#include "tlscheck.h"
#include "util.h"

/* ---- a one-thread TLS server ---- */

enum srv_mode { SRV_TLS, SRV_PLAIN_HTTP };

struct srv {
	int lfd, port;
	enum srv_mode mode;
	SSL_CTX *ctx;
	pthread_t th;
};

static int listen_any(int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t l = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 16) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &l) < 0) {
		perror("listen");
		exit(1);
	}
	*port = ntohs(a.sin_port);
	return fd;
}

static void *srv_main(void *arg)
{
	struct srv *s = arg;
	for (;;) {
		int fd = accept(s->lfd, NULL, NULL);
		struct timeval tv = { 2, 0 };
		if (fd < 0)
			break;
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		if (s->mode == SRV_PLAIN_HTTP) {
			char buf[512];
			if (read(fd, buf, sizeof buf) > 0) {
				const char *r = "HTTP/1.0 400 Bad Request\r\n\r\n"
				                "Client sent an HTTP request to an HTTPS server.\n";
				if (write(fd, r, strlen(r)) < 0)
					perror("write");
			}
		} else {
			SSL *ssl = SSL_new(s->ctx);
			SSL_set_fd(ssl, fd);
			if (SSL_accept(ssl) == 1)
				SSL_shutdown(ssl);
			SSL_free(ssl);
			ERR_clear_error();
		}
		close(fd);
	}
	return NULL;
}

/* Serve with cert/key; client certs are checked against client_ca. */
static void srv_start(struct srv *s, enum srv_mode mode, const char *cert, const char *key,
                      const char *client_ca)
{
	memset(s, 0, sizeof *s);
	s->mode = mode;
	s->lfd = listen_any(&s->port);
	if (mode == SRV_TLS) {
		s->ctx = SSL_CTX_new(TLS_server_method());
		if (SSL_CTX_use_certificate_file(s->ctx, cert, SSL_FILETYPE_PEM) != 1 ||
		    SSL_CTX_use_PrivateKey_file(s->ctx, key, SSL_FILETYPE_PEM) != 1 ||
		    SSL_CTX_load_verify_locations(s->ctx, client_ca, NULL) != 1) {
			ERR_print_errors_fp(stderr);
			exit(1);
		}
		SSL_CTX_set_verify(s->ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	}
	pthread_create(&s->th, NULL, srv_main, s);
}

static void srv_stop(struct srv *s)
{
	shutdown(s->lfd, SHUT_RDWR);
	pthread_join(s->th, NULL);
	close(s->lfd);
	SSL_CTX_free(s->ctx);
}

/* A port on which nothing listens. */
static int refused_port(void)
{
	int port, fd = listen_any(&port);
	close(fd);
	return port;
}

/* ---- certificates ---- */

struct pki {
	char *dir, *ca, *cakey, *cert, *key;
};

static void pki_make(struct pki *p, const char *name, enum cert_keytype kt)
{
	FILE *devnull = fopen("/dev/null", "w");
	p->dir = xasprintf("%s/%s", tap_tmpdir(), name);
	p->ca = xasprintf("%s/ca.pem", p->dir);
	p->cakey = xasprintf("%s/ca-key.pem", p->dir);
	p->cert = xasprintf("%s/cert.pem", p->dir);
	p->key = xasprintf("%s/key.pem", p->dir);
	struct cert_paths cp = { p->dir, p->ca, p->cakey, p->cert, p->key };
	if (cert_bootstrap(&cp, kt, devnull) < 0) {
		fprintf(stderr, "bootstrap: %s\n", dm_strerr());
		exit(1);
	}
	fclose(devnull);
}

static char *server_cert(struct pki *p, const char *name, const char *const *sans, size_t n,
                         enum cert_keytype kt, char **keyout)
{
	char *c = xasprintf("%s/%s.pem", p->dir, name);
	*keyout = xasprintf("%s/%s-key.pem", p->dir, name);
	if (cert_make_server(p->ca, p->cakey, "tester.srv", sans, n, 0, kt, c, *keyout) < 0) {
		fprintf(stderr, "server cert: %s\n", dm_strerr());
		exit(1);
	}
	return c;
}

/* An expired server certificate signed by p's CA. */
static char *expired_server_cert(struct pki *p, char **keyout)
{
	FILE *f = fopen(p->ca, "r");
	X509 *ca = PEM_read_X509(f, NULL, NULL, NULL), *x = X509_new();
	EVP_PKEY *cak, *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509V3_CTX ctx;
	X509_EXTENSION *e;
	time_t now = time(NULL);
	char *c = xasprintf("%s/expired.pem", p->dir);

	fclose(f);
	f = fopen(p->cakey, "r");
	cak = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 99);
	ASN1_TIME_set(X509_getm_notBefore(x), now - 10 * 86400);
	ASN1_TIME_set(X509_getm_notAfter(x), now - 86400);
	X509_NAME *n = X509_NAME_new();
	X509_NAME_add_entry_by_txt(n, "O", MBSTRING_ASC, (const unsigned char *)"tester.old", -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_NAME_free(n);
	X509_set_issuer_name(x, X509_get_subject_name(ca));
	X509_set_pubkey(x, k);
	X509V3_set_ctx(&ctx, ca, x, NULL, NULL, 0);
	e = X509V3_EXT_nconf_nid(NULL, &ctx, NID_subject_alt_name, "IP:127.0.0.1");
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	X509_sign(x, cak, EVP_sha256());
	f = fopen(c, "w");
	PEM_write_X509(f, x);
	fclose(f);
	*keyout = xasprintf("%s/expired-key.pem", p->dir);
	f = fopen(*keyout, "w");
	PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
	fclose(f);
	X509_free(x);
	X509_free(ca);
	EVP_PKEY_free(k);
	EVP_PKEY_free(cak);
	return c;
}

/* Copy p's CA, cert and key to tc's paths (temp file + rename: new inodes). */
static void install_pki(const struct tls_client *tc, const struct pki *p)
{
	const char *from[] = { p->ca, p->cert, p->key }, *to[] = { tc->ca_cert, tc->client_cert, tc->client_key };
	for (int i = 0; i < 3; i++) {
		struct strbuf sb = STRBUF_INIT;
		if (sb_read_file(&sb, from[i], 1 << 20) < 0 ||
		    write_file_atomic(to[i], sb.buf, sb.len, 0600) < 0) {
			fprintf(stderr, "install_pki: %s\n", dm_strerr());
			exit(1);
		}
		sb_release(&sb);
	}
}

/* Poll c until it is open or failed. */
static void conn_run(struct tls_conn *c)
{
	short revents = 0;
	while (tls_conn_step(c, revents) == TLS_BUSY) {
		struct pollfd p;
		tls_conn_pollfd(c, &p);
		revents = poll(&p, 1, tls_conn_wait_ms(c)) > 0 ? p.revents : 0;
	}
}

/* ---- tests ---- */

static void test_urls(void)
{
	static const struct {
		const char *url, *hostport, *host;
		int port;
	} t[] = {
		{ "tcp://127.0.0.1:2376", "127.0.0.1:2376", "127.0.0.1", 2376 },
		{ "tcp://dev.example:12376/", "dev.example:12376", "dev.example", 12376 },
		{ "tcp://[::1]:2376", "[::1]:2376", "::1", 2376 },
		{ "tcp://10.0.0.1", "10.0.0.1", NULL, 0 },
		{ "https://10.0.0.1:2376", NULL, NULL, 0 },
		{ "tcp://", NULL, NULL, 0 },
		{ "tcp://h:99999", "h:99999", NULL, 0 },
		{ "tcp://a:b:1", "a:b:1", NULL, 0 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		char *hp = NULL, *host = NULL;
		int port = 0;
		int r = url_hostport(t[i].url, &hp);
		if (t[i].hostport)
			is_str(r == 0 ? hp : dm_strerr(), t[i].hostport, "url_hostport %s", t[i].url);
		else
			ok(r < 0, "url_hostport %s fails: %s", t[i].url, dm_strerr());
		r = url_split(t[i].url, &host, &port);
		if (t[i].host) {
			is_str(r == 0 ? host : dm_strerr(), t[i].host, "url_split host %s", t[i].url);
			is_int(port, t[i].port, "url_split port %s", t[i].url);
		} else {
			ok(r < 0, "url_split %s fails: %s", t[i].url, dm_strerr());
		}
		free(hp);
		free(host);
	}
}

struct tcase {
	const char *name;
	const char *host;      /* "127.0.0.1" or "localhost" */
	int which;             /* server cert to use, see below */
	int client_ca_other;   /* server checks client certs against another CA */
	const char *want;      /* NULL: success */
};

enum { C_OK, C_OTHER_CA, C_WRONG_IP, C_WRONG_DNS, C_NO_IP, C_EXPIRED, C_RSA, C_PLAIN };

static void test_checks(void)
{
	struct pki ec, rsa, other;
	const char *ok_sans[] = { "127.0.0.1", "localhost" };
	const char *wrong_ip[] = { "10.0.0.1", "10.0.0.2" };
	const char *wrong_dns[] = { "other.example", "10.0.0.1" };
	const char *dns_only[] = { "localhost" };
	char *keys[8], *certs[8];

	pki_make(&ec, "ec", CERT_ECDSA);
	pki_make(&rsa, "rsa", CERT_RSA);
	pki_make(&other, "other", CERT_ECDSA);
	certs[C_OK] = server_cert(&ec, "ok", ok_sans, 2, CERT_ECDSA, &keys[C_OK]);
	certs[C_OTHER_CA] = server_cert(&other, "otherca", ok_sans, 2, CERT_ECDSA, &keys[C_OTHER_CA]);
	certs[C_WRONG_IP] = server_cert(&ec, "wrongip", wrong_ip, 2, CERT_ECDSA, &keys[C_WRONG_IP]);
	certs[C_WRONG_DNS] = server_cert(&ec, "wrongdns", wrong_dns, 2, CERT_ECDSA, &keys[C_WRONG_DNS]);
	certs[C_NO_IP] = server_cert(&ec, "noip", dns_only, 1, CERT_ECDSA, &keys[C_NO_IP]);
	certs[C_EXPIRED] = expired_server_cert(&ec, &keys[C_EXPIRED]);
	certs[C_RSA] = server_cert(&rsa, "rsa", ok_sans, 2, CERT_RSA, &keys[C_RSA]);
	certs[C_PLAIN] = keys[C_PLAIN] = NULL;

	static const struct tcase t[] = {
		{ "valid ECDSA chain, IP SAN", "127.0.0.1", C_OK, 0, NULL },
		{ "valid chain, DNS SAN", "localhost", C_OK, 0, NULL },
		{ "RSA CA, RSA keys", "127.0.0.1", C_RSA, 0, NULL },
		{ "server cert from another CA", "127.0.0.1", C_OTHER_CA, 0,
		  "x509: certificate signed by unknown authority" },
		{ "IP not in the SANs", "127.0.0.1", C_WRONG_IP, 0,
		  "x509: certificate is valid for 10.0.0.1, 10.0.0.2, not 127.0.0.1" },
		{ "DNS name not in the SANs", "localhost", C_WRONG_DNS, 0,
		  "x509: certificate is valid for other.example, not localhost" },
		{ "no IP SANs", "127.0.0.1", C_NO_IP, 0,
		  "x509: cannot validate certificate for 127.0.0.1 because it doesn't contain any IP SANs" },
		{ "expired server cert", "127.0.0.1", C_EXPIRED, 0,
		  "x509: certificate has expired or is not yet valid" },
		{ "server rejects our client cert", "127.0.0.1", C_OK, 1,
		  "remote error: tls: unknown certificate authority" },
		{ "plain HTTP server", "127.0.0.1", C_PLAIN, 0,
		  "tls: first record does not look like a TLS handshake" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		struct srv s;
		struct pki *client = t[i].which == C_RSA ? &rsa : &ec;
		struct tls_client tc = { client->ca, client->cert, client->key };
		char hp[64];
		int r;
		srv_start(&s, t[i].which == C_PLAIN ? SRV_PLAIN_HTTP : SRV_TLS, certs[t[i].which],
		          keys[t[i].which], t[i].client_ca_other ? other.ca : client->ca);
		snprintf(hp, sizeof hp, "%s:%d", t[i].host, s.port);
		r = tls_check(hp, &tc, 2000);
		if (t[i].want)
			is_str(r < 0 ? dm_strerr() : "(success)", t[i].want, "%s", t[i].name);
		else
			ok(r == 0, "%s: %s", t[i].name, r < 0 ? dm_strerr() : "ok");
		srv_stop(&s);
	}

	/* Refused, hang, missing files. */
	struct tls_client tc = { ec.ca, ec.cert, ec.key };
	char hp[64], want[128];
	int port = refused_port();
	snprintf(hp, sizeof hp, "127.0.0.1:%d", port);
	snprintf(want, sizeof want, "dial tcp 127.0.0.1:%d: connect: connection refused", port);
	ok(tls_check(hp, &tc, 2000) < 0, "refused");
	is_str(dm_strerr(), want, "refused: Go's words");

	int hport, hfd = listen_any(&hport);   /* accepts (backlog), never answers */
	snprintf(hp, sizeof hp, "127.0.0.1:%d", hport);
	long long t0 = now_ms();
	int r = tls_check(hp, &tc, 300);
	long long took = now_ms() - t0;
	ok(r < 0, "hanging peer fails");
	is_str(dm_strerr(), "context deadline exceeded", "hang: context deadline exceeded");
	ok(took >= 300 && took < 400, "deadline honoured within 100 ms (%lld ms for 300)", took);
	close(hfd);

	ok(tls_check("nosuch.invalid:2376", &tc, 2000) < 0, "unknown host");
	is_str(dm_strerr(), "dial tcp: lookup nosuch.invalid: no such host", "lookup error");

	struct tls_client bad = { "/nonexistent/ca.pem", ec.cert, ec.key };
	ok(tls_check(hp, &bad, 2000) < 0, "missing CA file");
	is_str(dm_strerr(), "open /nonexistent/ca.pem: no such file or directory", "missing CA text");
	/* Files are parsed once TCP is up: a refused engine costs no certificate work. */
	struct tls_client mism = { ec.ca, ec.cert, rsa.key };
	ok(tls_check(hp, &mism, 2000) < 0, "key does not match cert, engine refuses");
	ok(str_starts(dm_strerr(), "dial tcp 127.0.0.1:"), "... the dial error comes first: %s", dm_strerr());
	ok(tls_client_load(&mism) < 0, "tls_client_load parses now");
	is_str(dm_strerr(), "tls: private key does not match public key", "mismatch text");
	ok(tls_check("127.0.0.1", &tc, 2000) < 0, "no port");

	/* Cost of one check against a live local server (context loaded once). */
	struct srv s;
	srv_start(&s, SRV_TLS, certs[C_OK], keys[C_OK], ec.ca);
	snprintf(hp, sizeof hp, "127.0.0.1:%d", s.port);
	ok(tls_check(hp, &mism, 2000) < 0, "key does not match cert, engine answers");
	is_str(dm_strerr(), "tls: private key does not match public key", "mismatch text, live engine");
	struct tls_client garbage = { ec.ca, ec.cert, ec.ca };
	ok(tls_check(hp, &garbage, 2000) < 0, "a key file without a key");
	is_str(dm_strerr(), "tls: failed to find any PEM data in key input", "no key text");
	long long best = 1 << 30, first;
	t0 = now_ms();
	r = tls_check(hp, &tc, 2000);
	first = now_ms() - t0;
	for (int i = 0; i < 20 && r == 0; i++) {
		struct timespec a, b;
		clock_gettime(CLOCK_MONOTONIC, &a);
		r = tls_check(hp, &tc, 2000);
		clock_gettime(CLOCK_MONOTONIC, &b);
		long long us = (b.tv_sec - a.tv_sec) * 1000000LL + (b.tv_nsec - a.tv_nsec) / 1000;
		if (us < best)
			best = us;
	}
	ok(r == 0, "repeated checks succeed");
	ok(first < 50, "first check (loads certs) %lld ms (budget: well under 10 ms idle)", first);
	printf("# tls_check: first %lld ms, then best %lld us\n", first, best);

	/* New files at the same paths are loaded again (regenerate-certs). */
	char *d = xasprintf("%s/rot", tap_tmpdir());
	struct tls_client rot = { xasprintf("%s/ca.pem", d), xasprintf("%s/cert.pem", d),
	                          xasprintf("%s/key.pem", d) };
	mkdir_p(d, 0700);
	install_pki(&rot, &ec);
	ok(tls_check(hp, &rot, 2000) == 0, "copied certs: %s", dm_strerr());
	install_pki(&rot, &other);
	ok(tls_check(hp, &rot, 2000) < 0, "replaced certs are used");
	is_str(dm_strerr(), "x509: certificate signed by unknown authority", "replaced certs: their CA");
	install_pki(&rot, &ec);
	ok(tls_check(hp, &rot, 2000) == 0, "restored certs: %s", dm_strerr());

	/* Many connections in one poll loop, and one refused among them. */
	enum { NC = 30 };
	struct tls_conn *c[NC + 1];
	char rhp[64];
	snprintf(rhp, sizeof rhp, "127.0.0.1:%d", refused_port());
	long long deadline = now_ms() + 3000;
	for (int i = 0; i < NC; i++)
		c[i] = tls_conn_start(hp, &tc, deadline);
	c[NC] = tls_conn_start(rhp, &tc, deadline);
	for (;;) {
		struct pollfd p[NC + 1];
		int idx[NC + 1], np = 0;
		for (int i = 0; i <= NC; i++)
			if (tls_conn_state(c[i]) == TLS_BUSY && tls_conn_pollfd(c[i], &p[np]) == 0)
				idx[np++] = i;
		if (!np)
			break;
		if (poll(p, (nfds_t)np, tls_conn_wait_ms(c[0])) < 0)
			break;
		for (int k = 0; k < np; k++)
			tls_conn_step(c[idx[k]], p[k].revents);
	}
	int nopen = 0;
	for (int i = 0; i < NC; i++)
		nopen += tls_conn_state(c[i]) == TLS_OPEN;
	is_int(nopen, NC, "%d handshakes in one poll loop", NC);
	ok(tls_conn_state(c[NC]) == TLS_FAILED && tls_conn_failure(c[NC]) == TLS_FAIL_CONNECT,
	   "refused: TLS_FAIL_CONNECT");
	snprintf(want, sizeof want, "dial tcp %s: connect: connection refused", rhp);
	is_str(tls_conn_error(c[NC]), want, "refused: Go's words from tls_conn");
	for (int i = 0; i <= NC; i++)
		tls_conn_free(c[i]);

	/* The context is made when TCP is up: a refused endpoint costs no certificate work. */
	struct tls_conn *lazy = tls_conn_start(rhp, &bad, now_ms() + 1000);
	conn_run(lazy);
	ok(tls_conn_failure(lazy) == TLS_FAIL_CONNECT, "refused before the (missing) CA is read");
	tls_conn_free(lazy);
	lazy = tls_conn_start(hp, &bad, now_ms() + 1000);
	conn_run(lazy);
	ok(tls_conn_failure(lazy) == TLS_FAIL_SETUP, "reachable: the missing CA is reported");
	is_str(tls_conn_error(lazy), "open /nonexistent/ca.pem: no such file or directory", "... in Go's words");
	tls_conn_free(lazy);
	free(d);
	free((char *)rot.ca_cert);
	free((char *)rot.client_cert);
	free((char *)rot.client_key);
	srv_stop(&s);
	for (int i = 0; i < C_PLAIN; i++) {
		free(certs[i]);
		free(keys[i]);
	}
}

int main(void)
{
	test_urls();
	test_checks();
	return done_testing();
}
