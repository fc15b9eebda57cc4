/* tlscheck.c - TLS client connections and the connection check (see tlscheck.h). */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
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

/* ---- process-wide set-up ---- */

static pthread_once_t tls_once = PTHREAD_ONCE_INIT;
static BIO_METHOD *sock_method;

/* A socket BIO that sends with MSG_NOSIGNAL.  The BIO's data is the fd. */
static int sock_write(BIO *b, const char *buf, int n)
{
	ssize_t r;
	BIO_clear_retry_flags(b);
	do
		r = send((int)(intptr_t)BIO_get_data(b), buf, (size_t)n, MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		BIO_set_retry_write(b);
	return (int)r;
}

static int sock_read(BIO *b, char *buf, int n)
{
	ssize_t r;
	BIO_clear_retry_flags(b);
	do
		r = recv((int)(intptr_t)BIO_get_data(b), buf, (size_t)n, 0);
	while (r < 0 && errno == EINTR);
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		BIO_set_retry_read(b);
	else if (r == 0)
		BIO_set_flags(b, BIO_FLAGS_IN_EOF);
	return (int)r;
}

static int sock_puts(BIO *b, const char *s)
{
	return sock_write(b, s, (int)strlen(s));
}

static long sock_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	switch (cmd) {
	case BIO_CTRL_FLUSH:
		return 1;
	case BIO_CTRL_EOF:
		return BIO_test_flags(b, BIO_FLAGS_IN_EOF) != 0;
	case BIO_C_GET_FD:
		if (ptr)
			*(int *)ptr = (int)(intptr_t)BIO_get_data(b);
		return (long)(intptr_t)BIO_get_data(b);
	default:
		return 0;
	}
}

static int sock_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

static void tls_setup(void)
{
	/* No openssl.cnf (0.16.2's TLS ignores it; it costs a parse per run),
	 * and no atexit clean-up: the process is about to end anyway. */
	OPENSSL_init_ssl(OPENSSL_INIT_NO_LOAD_CONFIG | OPENSSL_INIT_NO_ATEXIT, NULL);
	sock_method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR,
	                           "dm socket");
	if (sock_method) {
		BIO_meth_set_write(sock_method, sock_write);
		BIO_meth_set_read(sock_method, sock_read);
		BIO_meth_set_puts(sock_method, sock_puts);
		BIO_meth_set_ctrl(sock_method, sock_ctrl);
		BIO_meth_set_create(sock_method, sock_create);
	}
}

/* ---- client contexts: one per (CA, cert, key), kept for the process ---- */

struct file_id {
	dev_t dev;
	ino_t ino;
	off_t size;
	long long mtime_ns;
};

struct ctx_entry {
	struct ctx_entry *next;
	char *paths;              /* "ca\ncert\nkey" */
	struct file_id id[3];
	SSL_CTX *ctx;
};

static pthread_mutex_t ctx_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ctx_entry *ctx_list;

static void file_id(const char *path, struct file_id *id)
{
	struct stat st;
	memset(id, 0, sizeof *id);
	if (stat(path, &st) == 0) {
		id->dev = st.st_dev;
		id->ino = st.st_ino;
		id->size = st.st_size;
		id->mtime_ns = (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
	}
}

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

/* The first key of a PEM text.  The common labels are decoded from DER
 * directly (OpenSSL 3's generic decoder costs more than a handshake). */
static EVP_PKEY *read_key(const char *pem, size_t len)
{
	BIO *b = BIO_new_mem_buf(pem, (int)len);
	char *name = NULL, *header = NULL;
	unsigned char *der = NULL;
	const unsigned char *p;
	long dlen = 0;
	EVP_PKEY *k = NULL;

	if (b && PEM_read_bio(b, &name, &header, &der, &dlen) == 1 && !*header) {
		p = der;
		if (!strcmp(name, "EC PRIVATE KEY")) {
			k = d2i_PrivateKey(EVP_PKEY_EC, NULL, &p, dlen);
		} else if (!strcmp(name, "RSA PRIVATE KEY")) {
			k = d2i_PrivateKey(EVP_PKEY_RSA, NULL, &p, dlen);
		} else if (!strcmp(name, "PRIVATE KEY")) {
			PKCS8_PRIV_KEY_INFO *p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, dlen);
			if (p8)
				k = EVP_PKCS82PKEY(p8);
			PKCS8_PRIV_KEY_INFO_free(p8);
		}
	}
	if (der)
		OPENSSL_cleanse(der, (size_t)dlen);
	OPENSSL_free(name);
	OPENSSL_free(header);
	OPENSSL_free(der);
	BIO_free(b);
	if (!k && (b = BIO_new_mem_buf(pem, (int)len))) {
		/* Any other form OpenSSL knows. */
		k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
		BIO_free(b);
	}
	return k;
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
	k = read_key(sb.buf, sb.len);
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
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE);
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

/* A reference to the context for tc (made once per triple; again when a file changed). */
static SSL_CTX *get_ctx(const struct tls_client *tc)
{
	char *paths;
	struct file_id id[3];
	struct ctx_entry *e;
	SSL_CTX *ctx = NULL;

	pthread_once(&tls_once, tls_setup);
	if (!tc->ca_cert || !tc->client_cert || !tc->client_key) {
		dm_seterr("tls: no CA, certificate or key path");
		return NULL;
	}
	paths = xasprintf("%s\n%s\n%s", tc->ca_cert, tc->client_cert, tc->client_key);
	file_id(tc->ca_cert, &id[0]);
	file_id(tc->client_cert, &id[1]);
	file_id(tc->client_key, &id[2]);
	pthread_mutex_lock(&ctx_lock);
	for (e = ctx_list; e && strcmp(e->paths, paths); e = e->next)
		;
	if (e && !memcmp(e->id, id, sizeof id)) {
		ctx = e->ctx;
		SSL_CTX_up_ref(ctx);
	} else if ((ctx = new_ctx(tc))) {
		if (!e) {
			e = xcalloc(1, sizeof *e);
			e->paths = paths;
			paths = NULL;
			e->next = ctx_list;
			ctx_list = e;
		}
		SSL_CTX_free(e->ctx);
		e->ctx = ctx;
		memcpy(e->id, id, sizeof id);
		SSL_CTX_up_ref(ctx);
	}
	pthread_mutex_unlock(&ctx_lock);
	free(paths);
	return ctx;
}

/* Each of tc's files can be read (Go's "open PATH: ..." otherwise). */
static int files_readable(const struct tls_client *tc)
{
	const char *f[] = { tc->ca_cert, tc->client_cert, tc->client_key };
	struct strbuf sb = STRBUF_INIT;
	for (size_t i = 0; i < ARRAY_SIZE(f); i++) {
		if (!f[i])
			return dm_seterr("tls: no CA, certificate or key path");
		sb_reset(&sb);
		if (read_pem(f[i], &sb) < 0) {
			sb_release(&sb);
			return -1;
		}
	}
	OPENSSL_cleanse(sb.buf, sb.len);
	sb_release(&sb);
	return 0;
}

int tls_client_load(const struct tls_client *tc)
{
	SSL_CTX *ctx = get_ctx(tc);
	if (!ctx)
		return -1;
	SSL_CTX_free(ctx);
	return 0;
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

/* Sets the error of a failed SSL_connect (sys: errno right after it);
 * returns TLS_FAIL_TLS, or TLS_FAIL_IO for a socket error. */
static enum tls_fail handshake_error(SSL *ssl, int ret, int sys, int fd, const char *host, int is_ip)
{
	int e = SSL_get_error(ssl, ret);
	long v = SSL_get_verify_result(ssl);
	unsigned long err;

	if (v != X509_V_OK) {
		ERR_clear_error();
		verify_error(ssl, v, host, is_ip);
		return TLS_FAIL_TLS;
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
		return TLS_FAIL_TLS;
	}
	if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && (sys == 0 || ret == 0)) ||
	    e == SSL_ERROR_SSL) {
		dm_seterr("EOF");
		return TLS_FAIL_TLS;
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
	return TLS_FAIL_IO;
}

/* ---- non-blocking connections ---- */

enum phase { PH_DIAL, PH_HANDSHAKE, PH_OPEN, PH_DONE };

struct tls_conn {
	enum tls_state state;
	enum tls_fail fail;
	enum phase phase;
	int fd;
	short events;
	SSL *ssl;
	struct tls_client tc;
	char *host;
	int is_ip;
	struct sockaddr_storage *addrs;   /* to dial, in order */
	socklen_t *addrlen;
	size_t naddr, next;
	long long deadline;
	char first[256];                  /* the first dial error (several addresses) */
	char error[512];
};

static void conn_fail(struct tls_conn *c, enum tls_fail why, const char *text)
{
	snprintf(c->error, sizeof c->error, "%s", text);
	c->state = TLS_FAILED;
	c->fail = why;
	c->phase = PH_DONE;
	c->events = 0;
	if (c->ssl) {
		SSL_free(c->ssl);   /* frees the BIO */
		c->ssl = NULL;
		ERR_clear_error();
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static void conn_failf(struct tls_conn *c, enum tls_fail why, const char *fmt, ...) ATTR_PRINTF(3, 4);
static void conn_failf(struct tls_conn *c, enum tls_fail why, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	conn_fail(c, why, buf);
}

/* Go's text for an I/O error on the connection: "read tcp L->R: read: ...". */
static void conn_io_fail(struct tls_conn *c, const char *op, int sys)
{
	struct sockaddr_storage la, ra;
	socklen_t ll = sizeof la, rl = sizeof ra;
	char l[64] = "?", r[64] = "?", m[128];
	if (getsockname(c->fd, (struct sockaddr *)&la, &ll) == 0)
		addr_text((struct sockaddr *)&la, l, sizeof l);
	if (getpeername(c->fd, (struct sockaddr *)&ra, &rl) == 0)
		addr_text((struct sockaddr *)&ra, r, sizeof r);
	errno_text(sys, m, sizeof m);
	conn_failf(c, TLS_FAIL_IO, "%s tcp %s->%s: %s: %s", op, l, r, op, m);
}

static void add_addr(struct tls_conn *c, const struct sockaddr *sa, socklen_t len)
{
	c->addrs = xrealloc(c->addrs, (c->naddr + 1) * sizeof *c->addrs);
	c->addrlen = xrealloc(c->addrlen, (c->naddr + 1) * sizeof *c->addrlen);
	memset(&c->addrs[c->naddr], 0, sizeof c->addrs[0]);
	memcpy(&c->addrs[c->naddr], sa, len);
	c->addrlen[c->naddr++] = len;
}

/* The addresses of host:port: a numeric address as is, else getaddrinfo's. */
static int resolve(struct tls_conn *c, int port)
{
	struct sockaddr_in s4;
	struct sockaddr_in6 s6;
	struct addrinfo hints, *res = NULL, *ai;
	char portstr[8];
	int rc;

	memset(&s4, 0, sizeof s4);
	memset(&s6, 0, sizeof s6);
	if (inet_pton(AF_INET, c->host, &s4.sin_addr) == 1) {
		s4.sin_family = AF_INET;
		s4.sin_port = htons((unsigned short)port);
		add_addr(c, (struct sockaddr *)&s4, sizeof s4);
		c->is_ip = 1;
		return 0;
	}
	if (inet_pton(AF_INET6, c->host, &s6.sin6_addr) == 1) {
		s6.sin6_family = AF_INET6;
		s6.sin6_port = htons((unsigned short)port);
		add_addr(c, (struct sockaddr *)&s6, sizeof s6);
		c->is_ip = 1;
		return 0;
	}
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(portstr, sizeof portstr, "%d", port);
	rc = getaddrinfo(c->host, portstr, &hints, &res);
	if (rc != 0) {
		if (rc == EAI_NONAME || rc == EAI_NODATA)
			conn_failf(c, TLS_FAIL_LOOKUP, "dial tcp: lookup %s: no such host", c->host);
		else
			conn_failf(c, TLS_FAIL_LOOKUP, "dial tcp: lookup %s: %s", c->host, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next)
		if (ai->ai_addrlen <= sizeof(struct sockaddr_storage))
			add_addr(c, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(res);
	if (!c->naddr) {
		conn_failf(c, TLS_FAIL_LOOKUP, "dial tcp: lookup %s: no such host", c->host);
		return -1;
	}
	return 0;
}

static void handshake(struct tls_conn *c)
{
	int r, e, sys;
	ERR_clear_error();
	errno = 0;
	r = SSL_connect(c->ssl);
	sys = errno;
	if (r == 1) {
		c->phase = PH_OPEN;
		c->state = TLS_OPEN;
		c->events = 0;
		return;
	}
	e = SSL_get_error(c->ssl, r);
	if (e == SSL_ERROR_WANT_READ) {
		c->events = POLLIN;
	} else if (e == SSL_ERROR_WANT_WRITE) {
		c->events = POLLOUT;
	} else {
		enum tls_fail why = handshake_error(c->ssl, r, sys, c->fd, c->host, c->is_ip);
		conn_fail(c, why, dm_strerr());
	}
}

/* TCP is up: the context (loaded now if it was not), SSL, verification, handshake. */
static void start_tls(struct tls_conn *c)
{
	SSL_CTX *ctx = get_ctx(&c->tc);
	BIO *b;
	if (!ctx) {
		conn_fail(c, TLS_FAIL_SETUP, dm_strerr());
		return;
	}
	c->ssl = SSL_new(ctx);
	SSL_CTX_free(ctx);   /* the SSL holds its own reference */
	if (!c->ssl || !sock_method || !(b = BIO_new(sock_method))) {
		conn_failf(c, TLS_FAIL_SETUP, "tls: %s", ERR_reason_error_string(ERR_get_error()));
		return;
	}
	BIO_set_data(b, (void *)(intptr_t)c->fd);
	SSL_set_bio(c->ssl, b, b);
	/* Like Go: verify the IP SAN for an address, else the DNS name (+SNI). */
	if (c->is_ip) {
		X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), c->host);
	} else {
		SSL_set_tlsext_host_name(c->ssl, c->host);
		SSL_set_hostflags(c->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		SSL_set1_host(c->ssl, c->host);
	}
	c->phase = PH_HANDSHAKE;
	handshake(c);
}

/* One dial failed with errno err on address i: remember it, try the next. */
static void dial_next(struct tls_conn *c);

static void dial_failed(struct tls_conn *c, int err)
{
	char at[64], m[128];
	addr_text((struct sockaddr *)&c->addrs[c->next - 1], at, sizeof at);
	errno_text(err, m, sizeof m);
	if (!*c->first)
		snprintf(c->first, sizeof c->first, "dial tcp %s: connect: %s", at, m);
	close(c->fd);
	c->fd = -1;
	dial_next(c);
}

static void dial_next(struct tls_conn *c)
{
	while (c->next < c->naddr) {
		const struct sockaddr *sa = (const struct sockaddr *)&c->addrs[c->next];
		c->next++;
		c->fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (c->fd < 0) {
			char at[64], m[128];
			addr_text(sa, at, sizeof at);
			errno_text(errno, m, sizeof m);
			conn_failf(c, TLS_FAIL_SETUP, "dial tcp %s: socket: %s", at, m);
			return;
		}
		if (connect(c->fd, sa, c->addrlen[c->next - 1]) == 0) {
			start_tls(c);
			return;
		}
		if (errno == EINPROGRESS || errno == EINTR) {
			c->events = POLLOUT;
			return;
		}
		dial_failed(c, errno);
		return;
	}
	conn_fail(c, TLS_FAIL_CONNECT, *c->first ? c->first : "dial tcp: no address");
}

struct tls_conn *tls_conn_start(const char *hostport, const struct tls_client *tc,
                                long long deadline_ms)
{
	struct tls_conn *c = xcalloc(1, sizeof *c);
	int port;
	c->fd = -1;
	c->state = TLS_BUSY;
	c->phase = PH_DIAL;
	c->deadline = deadline_ms;
	c->tc = *tc;   /* OpenSSL is set up by get_ctx, once a dial succeeds */
	if (split_hostport(hostport, &c->host, &port) < 0) {
		conn_fail(c, TLS_FAIL_SETUP, dm_strerr());
		return c;
	}
	if (resolve(c, port) < 0)
		return c;
	if (now_ms() >= c->deadline) {
		char at[64];
		addr_text((struct sockaddr *)&c->addrs[0], at, sizeof at);
		conn_failf(c, TLS_FAIL_TIMEOUT, "dial tcp %s: i/o timeout", at);
		return c;
	}
	dial_next(c);
	return c;
}

static int past_deadline(struct tls_conn *c)
{
	char at[64];
	if (now_ms() < c->deadline)
		return 0;
	switch (c->phase) {
	case PH_DIAL:
		addr_text((struct sockaddr *)&c->addrs[c->next ? c->next - 1 : 0], at, sizeof at);
		conn_failf(c, TLS_FAIL_TIMEOUT, "dial tcp %s: i/o timeout", at);
		break;
	case PH_HANDSHAKE:
		conn_fail(c, TLS_FAIL_TIMEOUT, "context deadline exceeded");
		break;
	default:
		conn_fail(c, TLS_FAIL_TIMEOUT, "i/o timeout");
	}
	return 1;
}

enum tls_state tls_conn_step(struct tls_conn *c, short revents)
{
	if (c->state != TLS_BUSY)
		return c->state;
	if (c->phase == PH_DIAL && (revents & (POLLOUT | POLLERR | POLLHUP))) {
		int err = 0;
		socklen_t el = sizeof err;
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
			err = errno;
		if (err)
			dial_failed(c, err);
		else
			start_tls(c);
	} else if (c->phase == PH_HANDSHAKE && revents) {
		handshake(c);
	}
	if (c->state == TLS_BUSY)
		past_deadline(c);
	return c->state;
}

int tls_conn_pollfd(const struct tls_conn *c, struct pollfd *p)
{
	p->fd = c->fd;
	p->events = c->events;
	p->revents = 0;
	return c->fd >= 0 ? 0 : -1;
}

int tls_conn_wait_ms(const struct tls_conn *c)
{
	long long left = c->deadline - now_ms();
	return left < 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
}

/* SSL_read/SSL_write's result r as tls_conn_read/write return it. */
static ssize_t io_result(struct tls_conn *c, int r, int sys, const char *op)
{
	int e;
	unsigned long err;
	if (r > 0) {
		c->events = 0;
		return r;
	}
	e = SSL_get_error(c->ssl, r);
	switch (e) {
	case SSL_ERROR_WANT_READ:
		c->events = POLLIN;
		return TLS_IO_AGAIN;
	case SSL_ERROR_WANT_WRITE:
		c->events = POLLOUT;
		return TLS_IO_AGAIN;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL:
		if (!sys && *op == 'r') {
			ERR_clear_error();
			return 0;
		}
		conn_io_fail(c, op, sys ? sys : EPIPE);
		return -1;
	default:
		err = ERR_peek_last_error();
		conn_failf(c, TLS_FAIL_IO, "%s: tls: %s", op,
		           err && ERR_reason_error_string(err) ? ERR_reason_error_string(err) : "error");
		return -1;
	}
}

ssize_t tls_conn_read(struct tls_conn *c, void *buf, size_t n)
{
	int r, sys;
	if (c->state != TLS_OPEN)
		return -1;
	if (past_deadline(c))
		return -1;
	ERR_clear_error();
	errno = 0;
	r = SSL_read(c->ssl, buf, n > INT_MAX ? INT_MAX : (int)n);
	sys = errno;
	return io_result(c, r, sys, "read");
}

ssize_t tls_conn_write(struct tls_conn *c, const void *buf, size_t n)
{
	int r, sys;
	if (c->state != TLS_OPEN)
		return -1;
	if (past_deadline(c))
		return -1;
	if (!n)
		return 0;
	ERR_clear_error();
	errno = 0;
	r = SSL_write(c->ssl, buf, n > INT_MAX ? INT_MAX : (int)n);
	sys = errno;
	return io_result(c, r, sys, "write");
}

enum tls_state tls_conn_state(const struct tls_conn *c)
{
	return c->state;
}

enum tls_fail tls_conn_failure(const struct tls_conn *c)
{
	return c->fail;
}

const char *tls_conn_error(const struct tls_conn *c)
{
	return c->error;
}

void tls_conn_free(struct tls_conn *c)
{
	if (!c)
		return;
	if (c->ssl) {
		if (c->state == TLS_OPEN)
			SSL_shutdown(c->ssl);   /* close_notify, not waiting for the peer's */
		SSL_free(c->ssl);
		ERR_clear_error();   /* only where OpenSSL was used: it sets itself up on first call */
	}
	if (c->fd >= 0)
		close(c->fd);
	free(c->host);
	free(c->addrs);
	free(c->addrlen);
	free(c);
}

/* ---- the check ---- */

int tls_check(const char *hostport, const struct tls_client *tc, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	struct tls_conn *c;
	short revents = 0;
	int r;
	char *host = NULL;
	int port;

	/* Address syntax, then the files, before any dial; parsing them waits
	 * for a TCP connection (get_ctx in start_tls). */
	if (split_hostport(hostport, &host, &port) < 0)
		return -1;
	free(host);
	if (files_readable(tc) < 0)
		return -1;
	c = tls_conn_start(hostport, tc, deadline);
	while (tls_conn_step(c, revents) == TLS_BUSY) {
		struct pollfd p;
		int n;
		tls_conn_pollfd(c, &p);
		do
			n = poll(&p, 1, tls_conn_wait_ms(c));
		while (n < 0 && errno == EINTR);
		if (n < 0) {
			dm_seterr_errno("poll");
			tls_conn_free(c);
			return -1;
		}
		revents = n > 0 ? p.revents : 0;
	}
	if (tls_conn_state(c) == TLS_OPEN)
		r = 0;
	else
		r = dm_seterr("%s", tls_conn_error(c));
	tls_conn_free(c);
	return r;
}
