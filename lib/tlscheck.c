/* tlscheck.c - the TLS connection check of env/config/create (see tlscheck.h). */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "tlscheck.h"
#include "util.h"

#define CAP_PEM (1u << 20)

/* ---- URLs ---- */

int url_hostport(const char *url, char **hostport)
{
	const char *p, *end;
	if (!str_starts(url, "tcp://"))
		return dm_seterr("%s: not a tcp:// URL", url);
	p = url + 6;
	end = p + strcspn(p, "/?#");
	if (end == p)
		return dm_seterr("%s: no host in URL", url);
	*hostport = xstrndup(p, (size_t)(end - p));
	return 0;
}

/* Split "h:p" / "[v6]:p"; host without brackets. */
static int split_hostport(const char *hp, char **host, int *port)
{
	const char *colon;
	long n;
	if (*hp == '[') {
		const char *rb = strchr(hp, ']');
		if (!rb || rb[1] != ':')
			return dm_seterr("address %s: missing port in address", hp);
		*host = xstrndup(hp + 1, (size_t)(rb - hp - 1));
		colon = rb + 1;
	} else {
		colon = strrchr(hp, ':');
		if (!colon)
			return dm_seterr("address %s: missing port in address", hp);
		if (memchr(hp, ':', (size_t)(colon - hp)))
			return dm_seterr("address %s: too many colons in address", hp);
		*host = xstrndup(hp, (size_t)(colon - hp));
	}
	if (parse_long(colon + 1, 1, 65535, &n, "port") < 0) {
		free(*host);
		*host = NULL;
		return -1;
	}
	*port = (int)n;
	return 0;
}

int url_split(const char *url, char **host, int *port)
{
	char *hp;
	int r;
	if (url_hostport(url, &hp) < 0)
		return -1;
	r = split_hostport(hp, host, port);
	free(hp);
	return r;
}

/* ---- the client context, loaded once per process ---- */

static pthread_mutex_t ctx_lock = PTHREAD_MUTEX_INITIALIZER;
static SSL_CTX *ctx_cached;
static char *ctx_key;   /* "ca\ncert\nkey" of ctx_cached */

/* sb_read_file's error is Go's: "open /p: no such file or directory". */
static int read_pem(const char *path, struct strbuf *sb)
{
	return sb_read_file(sb, path, CAP_PEM);
}

static X509_STORE *load_ca(const char *path)
{
	struct strbuf sb = STRBUF_INIT;
	X509_STORE *st;
	BIO *b;
	X509 *x;
	int n = 0;
	if (read_pem(path, &sb) < 0)
		return NULL;
	st = X509_STORE_new();
	b = BIO_new_mem_buf(sb.buf, (int)sb.len);
	while (b && (x = PEM_read_bio_X509(b, NULL, NULL, NULL))) {
		if (X509_STORE_add_cert(st, x) == 1)
			n++;
		X509_free(x);
	}
	ERR_clear_error();
	BIO_free(b);
	sb_release(&sb);
	if (!n) {
		X509_STORE_free(st);
		dm_seterr("%s: no certificates found", path);
		return NULL;
	}
	return st;
}

static int load_pair(SSL_CTX *ctx, const char *cert, const char *key)
{
	struct strbuf sb = STRBUF_INIT;
	BIO *b;
	X509 *x = NULL;
	EVP_PKEY *k = NULL;
	int r = -1;

	if (read_pem(cert, &sb) < 0)
		return -1;
	b = BIO_new_mem_buf(sb.buf, (int)sb.len);
	if (b)
		x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	if (!x || SSL_CTX_use_certificate(ctx, x) != 1) {
		dm_seterr("tls: failed to find any PEM data in certificate input");
		goto out;
	}
	sb_reset(&sb);
	if (read_pem(key, &sb) < 0)
		goto out;
	b = BIO_new_mem_buf(sb.buf, (int)sb.len);
	if (b)
		k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	OPENSSL_cleanse(sb.buf, sb.len);
	if (!k || SSL_CTX_use_PrivateKey(ctx, k) != 1) {
		dm_seterr("tls: failed to find any PEM data in key input");
		goto out;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		dm_seterr("tls: private key does not match public key");
		goto out;
	}
	r = 0;
out:
	ERR_clear_error();
	X509_free(x);
	EVP_PKEY_free(k);
	sb_release(&sb);
	return r;
}

static SSL_CTX *new_ctx(const struct tls_client *tc)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	X509_STORE *st;
	if (!ctx) {
		dm_seterr("tls: %s", ERR_reason_error_string(ERR_get_error()));
		return NULL;
	}
	/* TLS 1.2: the server judges the client certificate inside the
	 * handshake, so a rejected client cert fails the check (in TLS 1.3 the
	 * client is done before the server has looked at it). */
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	if (!(st = load_ca(tc->ca_cert)))
		goto fail;
	SSL_CTX_set_cert_store(ctx, st);
	if (load_pair(ctx, tc->client_cert, tc->client_key) < 0)
		goto fail;
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

/* A reference to the context for tc (made once; reused while the paths are the same). */
static SSL_CTX *get_ctx(const struct tls_client *tc)
{
	char *key = xasprintf("%s\n%s\n%s", tc->ca_cert, tc->client_cert, tc->client_key);
	SSL_CTX *ctx;
	pthread_mutex_lock(&ctx_lock);
	if (ctx_cached && !strcmp(ctx_key, key)) {
		ctx = ctx_cached;
		SSL_CTX_up_ref(ctx);
		free(key);
	} else if ((ctx = new_ctx(tc))) {
		SSL_CTX_free(ctx_cached);
		free(ctx_key);
		ctx_cached = ctx;
		ctx_key = key;
		SSL_CTX_up_ref(ctx);
	} else {
		free(key);
	}
	pthread_mutex_unlock(&ctx_lock);
	return ctx;
}

/* ---- errors in Go's words ---- */

static void errno_text(int e, char *buf, size_t n)
{
	snprintf(buf, n, "%s", strerror(e));
	buf[0] = (char)tolower((unsigned char)buf[0]);
}

static void addr_text(const struct sockaddr *sa, char *buf, size_t n)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	int port = 0;
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;
		inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof ip);
		port = ntohs(s6->sin6_port);
		snprintf(buf, n, "[%s]:%d", ip, port);
	} else {
		const struct sockaddr_in *s4 = (const void *)sa;
		inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof ip);
		port = ntohs(s4->sin_port);
		snprintf(buf, n, "%s:%d", ip, port);
	}
}

static const char *alert_text(int a)
{
	static const struct { int code; const char *text; } t[] = {
		{ 0, "close notify" }, { 10, "unexpected message" }, { 20, "bad record MAC" },
		{ 21, "decryption failed" }, { 22, "record overflow" },
		{ 30, "decompression failure" }, { 40, "handshake failure" },
		{ 42, "bad certificate" }, { 43, "unsupported certificate" },
		{ 44, "revoked certificate" }, { 45, "expired certificate" },
		{ 46, "unknown certificate" }, { 47, "illegal parameter" },
		{ 48, "unknown certificate authority" }, { 49, "access denied" },
		{ 50, "error decoding message" }, { 51, "error decrypting message" },
		{ 70, "protocol version not supported" }, { 71, "insufficient security level" },
		{ 80, "internal error" }, { 86, "inappropriate fallback" }, { 90, "user canceled" },
		{ 100, "no renegotiation" }, { 109, "missing extension" },
		{ 110, "unsupported extension" }, { 112, "unrecognized name" },
		{ 116, "certificate required" }, { 120, "no application protocol" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(t); i++)
		if (t[i].code == a)
			return t[i].text;
	return NULL;
}

/* Go's HostnameError text for the leaf and the host we wanted. */
static void hostname_error(X509 *leaf, const char *host, int is_ip)
{
	GENERAL_NAMES *gens = leaf ? X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL) : NULL;
	struct strbuf valid = STRBUF_INIT;
	int i;
	for (i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		if (is_ip && g->type == GEN_IPADD) {
			char buf[INET6_ADDRSTRLEN];
			int len = ASN1_STRING_length(g->d.iPAddress);
			const unsigned char *ip = ASN1_STRING_get0_data(g->d.iPAddress);
			if (!((len == 4 && inet_ntop(AF_INET, ip, buf, sizeof buf)) ||
			      (len == 16 && inet_ntop(AF_INET6, ip, buf, sizeof buf))))
				continue;
			sb_addf(&valid, "%s%s", valid.len ? ", " : "", buf);
		} else if (!is_ip && g->type == GEN_DNS) {
			sb_addf(&valid, "%s%.*s", valid.len ? ", " : "",
			        ASN1_STRING_length(g->d.dNSName),
			        (const char *)ASN1_STRING_get0_data(g->d.dNSName));
		}
	}
	GENERAL_NAMES_free(gens);
	if (is_ip && !valid.len)
		dm_seterr("x509: cannot validate certificate for %s because it doesn't contain any IP SANs",
		          host);
	else if (!valid.len)
		dm_seterr("x509: certificate is not valid for any names, but wanted to match %s", host);
	else
		dm_seterr("x509: certificate is valid for %s, not %s", valid.buf, host);
	sb_release(&valid);
}

static void verify_error(SSL *ssl, long v, const char *host, int is_ip)
{
	STACK_OF(X509) *chain;
	switch (v) {
	case X509_V_ERR_HOSTNAME_MISMATCH:
	case X509_V_ERR_IP_ADDRESS_MISMATCH:
		chain = SSL_get_peer_cert_chain(ssl);
		hostname_error(chain && sk_X509_num(chain) > 0 ? sk_X509_value(chain, 0) : NULL,
		               host, is_ip);
		return;
	case X509_V_ERR_CERT_HAS_EXPIRED:
	case X509_V_ERR_CERT_NOT_YET_VALID:
		dm_seterr("x509: certificate has expired or is not yet valid");
		return;
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_CERT_SIGNATURE_FAILURE:
		dm_seterr("x509: certificate signed by unknown authority");
		return;
	case X509_V_ERR_INVALID_PURPOSE:
		dm_seterr("x509: certificate specifies an incompatible key usage");
		return;
	default:
		dm_seterr("x509: %s", X509_verify_cert_error_string(v));
	}
}

static void handshake_error(SSL *ssl, int ret, int fd, const char *host, int is_ip)
{
	int e = SSL_get_error(ssl, ret), sys = errno;
	long v = SSL_get_verify_result(ssl);
	unsigned long err;

	if (v != X509_V_OK) {
		ERR_clear_error();
		verify_error(ssl, v, host, is_ip);
		return;
	}
	err = ERR_peek_last_error();
	ERR_clear_error();
	if (e == SSL_ERROR_SSL && err && ERR_GET_LIB(err) == ERR_LIB_SSL) {
		int reason = ERR_GET_REASON(err);
		const char *a = reason >= SSL_AD_REASON_OFFSET
		                ? alert_text(reason - SSL_AD_REASON_OFFSET) : NULL;
		if (a)
			dm_seterr("remote error: tls: %s", a);
		else if (reason == SSL_R_WRONG_VERSION_NUMBER || reason == SSL_R_PACKET_LENGTH_TOO_LONG ||
		         reason == SSL_R_UNKNOWN_PROTOCOL)
			dm_seterr("tls: first record does not look like a TLS handshake");
		else
			dm_seterr("tls: %s", ERR_reason_error_string(err) ? ERR_reason_error_string(err)
			                                                   : "handshake failed");
		return;
	}
	if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && (sys == 0 || ret == 0)) ||
	    e == SSL_ERROR_SSL) {
		dm_seterr("EOF");
		return;
	}
	{
		struct sockaddr_storage la, ra;
		socklen_t ll = sizeof la, rl = sizeof ra;
		char l[64] = "?", r[64] = "?", m[128];
		if (getsockname(fd, (struct sockaddr *)&la, &ll) == 0)
			addr_text((struct sockaddr *)&la, l, sizeof l);
		if (getpeername(fd, (struct sockaddr *)&ra, &rl) == 0)
			addr_text((struct sockaddr *)&ra, r, sizeof r);
		errno_text(sys, m, sizeof m);
		dm_seterr("read tcp %s->%s: read: %s", l, r, m);
	}
}

/* ---- connecting ---- */

static int remaining(long long deadline)
{
	long long left = deadline - now_ms();
	return left < 0 ? 0 : left > 1000000000 ? 1000000000 : (int)left;
}

/* Non-blocking connect to one address; fd, or -1 with the error set.
 * *timed_out is set when the deadline passed. */
static int dial_one(const struct sockaddr *sa, socklen_t len, long long deadline, int *timed_out)
{
	char at[64], m[128];
	int fd, err = 0;
	socklen_t el = sizeof err;

	addr_text(sa, at, sizeof at);
	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		errno_text(errno, m, sizeof m);
		return dm_seterr("dial tcp %s: socket: %s", at, m);
	}
	if (connect(fd, sa, len) == 0)
		return fd;
	if (errno != EINPROGRESS) {
		err = errno;
	} else {
		struct pollfd p = { fd, POLLOUT, 0 };
		int n;
		do
			n = poll(&p, 1, remaining(deadline));
		while (n < 0 && errno == EINTR);
		if (n == 0) {
			*timed_out = 1;
			close(fd);
			return dm_seterr("dial tcp %s: i/o timeout", at);
		}
		if (n < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
			err = errno;
	}
	if (!err)
		return fd;
	close(fd);
	errno_text(err, m, sizeof m);
	return dm_seterr("dial tcp %s: connect: %s", at, m);
}

static int dial(const char *host, int port, long long deadline)
{
	struct sockaddr_in s4;
	struct sockaddr_in6 s6;
	struct addrinfo hints, *res = NULL, *ai;
	char portstr[8], first[512] = "";
	int fd = -1, timed_out = 0, rc;

	memset(&s4, 0, sizeof s4);
	memset(&s6, 0, sizeof s6);
	if (inet_pton(AF_INET, host, &s4.sin_addr) == 1) {
		s4.sin_family = AF_INET;
		s4.sin_port = htons((unsigned short)port);
		return dial_one((struct sockaddr *)&s4, sizeof s4, deadline, &timed_out);
	}
	if (inet_pton(AF_INET6, host, &s6.sin6_addr) == 1) {
		s6.sin6_family = AF_INET6;
		s6.sin6_port = htons((unsigned short)port);
		return dial_one((struct sockaddr *)&s6, sizeof s6, deadline, &timed_out);
	}
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(portstr, sizeof portstr, "%d", port);
	rc = getaddrinfo(host, portstr, &hints, &res);
	if (rc != 0) {
		if (rc == EAI_NONAME || rc == EAI_NODATA)
			return dm_seterr("dial tcp: lookup %s: no such host", host);
		return dm_seterr("dial tcp: lookup %s: %s", host, gai_strerror(rc));
	}
	/* Each address in turn, as Go does; the first error is reported. */
	for (ai = res; ai && !timed_out; ai = ai->ai_next) {
		fd = dial_one(ai->ai_addr, ai->ai_addrlen, deadline, &timed_out);
		if (fd >= 0)
			break;
		if (!*first)
			snprintf(first, sizeof first, "%s", dm_strerr());
	}
	freeaddrinfo(res);
	if (fd < 0)
		dm_seterr("%s", *first ? first : "dial tcp: no address");
	return fd;
}

static int handshake(SSL *ssl, int fd, long long deadline, const char *host, int is_ip)
{
	for (;;) {
		int r = SSL_connect(ssl), e, n;
		struct pollfd p = { fd, 0, 0 };
		if (r == 1)
			return 0;
		e = SSL_get_error(ssl, r);
		if (e == SSL_ERROR_WANT_READ)
			p.events = POLLIN;
		else if (e == SSL_ERROR_WANT_WRITE)
			p.events = POLLOUT;
		else {
			handshake_error(ssl, r, fd, host, is_ip);
			return -1;
		}
		do
			n = poll(&p, 1, remaining(deadline));
		while (n < 0 && errno == EINTR);
		if (n == 0)
			return dm_seterr("context deadline exceeded");
		if (n < 0)
			return dm_seterr_errno("poll");
	}
}

/* OpenSSL writes to the socket with write(2): a peer that has gone away
 * would kill us with SIGPIPE.  It is blocked in this thread for the check,
 * and one raised by the check is consumed. */
struct sigpipe_guard {
	sigset_t old;
	int was_pending;
};

static void sigpipe_block(struct sigpipe_guard *g)
{
	sigset_t set, pending;
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	sigpending(&pending);
	g->was_pending = sigismember(&pending, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, &g->old);
}

static void sigpipe_restore(struct sigpipe_guard *g)
{
	sigset_t set, pending;
	struct timespec zero = { 0, 0 };
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	sigpending(&pending);
	if (!g->was_pending && sigismember(&pending, SIGPIPE))
		while (sigtimedwait(&set, NULL, &zero) < 0 && errno == EINTR)
			;
	pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

static int tls_check_guarded(const char *hostport, const struct tls_client *tc, int timeout_ms);

int tls_check(const char *hostport, const struct tls_client *tc, int timeout_ms)
{
	struct sigpipe_guard g;
	int r;
	sigpipe_block(&g);
	r = tls_check_guarded(hostport, tc, timeout_ms);
	sigpipe_restore(&g);
	return r;
}

static int tls_check_guarded(const char *hostport, const struct tls_client *tc, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	char *host = NULL;
	int port, fd = -1, r = -1, is_ip;
	unsigned char buf[16];
	SSL_CTX *ctx = NULL;
	SSL *ssl = NULL;

	if (split_hostport(hostport, &host, &port) < 0)
		return -1;
	if (!(ctx = get_ctx(tc)))
		goto out;
	if ((fd = dial(host, port, deadline)) < 0)
		goto out;
	if (!(ssl = SSL_new(ctx)) || SSL_set_fd(ssl, fd) != 1) {
		dm_seterr("tls: %s", ERR_reason_error_string(ERR_get_error()));
		goto out;
	}
	/* Like Go: verify the IP SAN for an address, else the DNS name (+SNI). */
	is_ip = inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
	if (is_ip) {
		X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host);
	} else {
		SSL_set_tlsext_host_name(ssl, host);
		SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		SSL_set1_host(ssl, host);
	}
	if (handshake(ssl, fd, deadline, host, is_ip) < 0)
		goto out;
	SSL_shutdown(ssl);
	r = 0;
out:
	ERR_clear_error();
	SSL_free(ssl);
	if (fd >= 0)
		close(fd);
	SSL_CTX_free(ctx);
	free(host);
	return r;
}
