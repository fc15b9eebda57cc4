/* t-engine.c - engine queries against an in-test TLS HTTP server on 127.0.0.1. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "cert.h"
#include "dm.h"
#include "engine.h"
#include "tap.h"
#include "util.h"

/* ---- a one-thread TLS HTTP server ---- */

enum reply { R_VERSION, R_ERROR, R_BADJSON, R_BIG };

struct srv {
	int lfd, port;
	enum reply reply;
	SSL_CTX *ctx;
	pthread_t th;
	char request[256];   /* the last request line */
};

static int listen_any(int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t l = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 128) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &l) < 0) {
		perror("listen");
		exit(1);
	}
	*port = ntohs(a.sin_port);
	return fd;
}

static void serve(struct srv *s, SSL *ssl)
{
	char req[4096];
	size_t n = 0;
	struct strbuf body = STRBUF_INIT, head = STRBUF_INIT;
	int status = 200;

	while (n < sizeof req - 1) {
		int r = SSL_read(ssl, req + n, (int)(sizeof req - 1 - n));
		if (r <= 0)
			return;
		n += (size_t)r;
		req[n] = 0;
		if (strstr(req, "\r\n\r\n"))
			break;
	}
	snprintf(s->request, sizeof s->request, "%.*s", (int)strcspn(req, "\r\n"), req);
	switch (s->reply) {
	case R_VERSION:
		sb_adds(&body, "{\"Platform\":{\"Name\":\"\"},\"Version\":\"28.0.1\",\"ApiVersion\":\"1.48\","
		               "\"MinAPIVersion\":\"1.24\",\"Os\":\"linux\",\"Arch\":\"amd64\"}\n");
		break;
	case R_ERROR:
		status = 500;
		sb_adds(&body, "{\"message\":\"boom\"}\n");
		break;
	case R_BADJSON:
		sb_adds(&body, "{\"ApiVersion\":\"1.48\"}");
		break;
	case R_BIG:
		for (size_t i = 0; i < DM_CAP_HTTP / 4096 + 2; i++) {
			char chunk[4096];
			memset(chunk, 'x', sizeof chunk);
			sb_add(&body, chunk, sizeof chunk);
		}
		break;
	}
	sb_addf(&head, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
	               "Connection: close\r\n\r\n", status, status == 200 ? "OK" : "Error", body.len);
	SSL_write(ssl, head.buf, (int)head.len);
	for (size_t off = 0; off < body.len;) {
		int w = SSL_write(ssl, body.buf + off, (int)(body.len - off > 65536 ? 65536 : body.len - off));
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	sb_release(&body);
	sb_release(&head);
}

static void *srv_main(void *arg)
{
	struct srv *s = arg;
	for (;;) {
		int fd = accept(s->lfd, NULL, NULL);
		struct timeval tv = { 2, 0 };
		SSL *ssl;
		if (fd < 0)
			break;
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
		ssl = SSL_new(s->ctx);
		SSL_set_fd(ssl, fd);
		if (SSL_accept(ssl) == 1) {
			serve(s, ssl);
			SSL_shutdown(ssl);
		}
		SSL_free(ssl);
		ERR_clear_error();
		close(fd);
	}
	return NULL;
}

static void srv_start(struct srv *s, enum reply reply, const char *cert, const char *key,
                      const char *client_ca)
{
	memset(s, 0, sizeof *s);
	s->reply = reply;
	s->lfd = listen_any(&s->port);
	s->ctx = SSL_CTX_new(TLS_server_method());
	if (SSL_CTX_use_certificate_file(s->ctx, cert, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_use_PrivateKey_file(s->ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_load_verify_locations(s->ctx, client_ca, NULL) != 1) {
		ERR_print_errors_fp(stderr);
		exit(1);
	}
	SSL_CTX_set_verify(s->ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	/* Clients resume TLS sessions (curl's shared session cache). */
	SSL_CTX_set_session_id_context(s->ctx, (const unsigned char *)"t-engine", 8);
	pthread_create(&s->th, NULL, srv_main, s);
}

static void srv_stop(struct srv *s)
{
	shutdown(s->lfd, SHUT_RDWR);
	pthread_join(s->th, NULL);
	close(s->lfd);
	SSL_CTX_free(s->ctx);
}

static int refused_port(void)
{
	int port, fd = listen_any(&port);
	close(fd);
	return port;
}

/* ---- certificates ---- */

struct pki {
	char *dir, *ca, *cakey, *cert, *key, *srv, *srvkey;
};

static void pki_make(struct pki *p, const char *name, enum cert_keytype kt, const char *san)
{
	FILE *devnull = fopen("/dev/null", "w");
	const char *sans[] = { san, "localhost" };
	p->dir = xasprintf("%s/%s", tap_tmpdir(), name);
	p->ca = xasprintf("%s/ca.pem", p->dir);
	p->cakey = xasprintf("%s/ca-key.pem", p->dir);
	p->cert = xasprintf("%s/cert.pem", p->dir);
	p->key = xasprintf("%s/key.pem", p->dir);
	p->srv = xasprintf("%s/server.pem", p->dir);
	p->srvkey = xasprintf("%s/server-key.pem", p->dir);
	struct cert_paths cp = { p->dir, p->ca, p->cakey, p->cert, p->key };
	if (cert_bootstrap(&cp, kt, devnull) < 0 ||
	    cert_make_server(p->ca, p->cakey, "tester.e", sans, 2, 0, kt, p->srv, p->srvkey) < 0) {
		fprintf(stderr, "certs: %s\n", dm_strerr());
		exit(1);
	}
	fclose(devnull);
}

static void query_init(struct engine_query *q, const struct pki *p, int port)
{
	memset(q, 0, sizeof *q);
	q->url = xasprintf("tcp://127.0.0.1:%d", port);
	q->tls = (struct tls_client){ p->ca, p->cert, p->key };
}

static void test_single(struct pki *ec, struct pki *rsa, struct pki *wrongsan)
{
	static const struct {
		const char *name;
		struct pki **pki;
		enum reply reply;
		const char *version, *error;
	} t[] = {
		{ "ECDSA keys", NULL, R_VERSION, "28.0.1", NULL },
		{ "RSA keys", NULL, R_VERSION, "28.0.1", NULL },
		{ "engine error", NULL, R_ERROR, NULL, "Error response from daemon: boom" },
		{ "no Version in reply", NULL, R_BADJSON, NULL, "Version: missing" },
		{ "oversized reply", NULL, R_BIG, NULL, "reply exceeds 8388608 bytes" },
		{ "server cert without the IP", NULL, R_VERSION, NULL, "" },
	};
	struct pki *which[] = { ec, rsa, ec, ec, ec, wrongsan };
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		struct srv s;
		struct engine_query q;
		srv_start(&s, t[i].reply, which[i]->srv, which[i]->srvkey, which[i]->ca);
		query_init(&q, which[i], s.port);
		engine_version_many(&q, 1, now_ms() + 5000);
		if (t[i].version) {
			ok(q.ok, "%s: ok (%s)", t[i].name, q.error);
			is_str(q.version, t[i].version, "%s: Version", t[i].name);
			is_str(q.api_version, "1.48", "%s: ApiVersion", t[i].name);
			is_str(s.request, "GET /version HTTP/1.1", "%s: unversioned /version", t[i].name);
			ok(q.response_ms >= 0 && q.response_ms < 5000, "%s: response %ld ms", t[i].name,
			   q.response_ms);
		} else if (*t[i].error) {
			ok(!q.ok, "%s: fails", t[i].name);
			is_str(q.error, t[i].error, "%s: error", t[i].name);
		} else {
			ok(!q.ok && *q.error, "%s: fails with curl's text: %s", t[i].name, q.error);
		}
		srv_stop(&s);
		free((char *)q.url);
	}
}

static void test_batch(struct pki *ec, struct pki *rsa)
{
	struct srv s1, s2;
	struct engine_query q[4];
	int hport, hfd = listen_any(&hport);   /* accepts, never answers */
	long long t0;

	srv_start(&s1, R_VERSION, ec->srv, ec->srvkey, ec->ca);
	srv_start(&s2, R_VERSION, rsa->srv, rsa->srvkey, rsa->ca);
	query_init(&q[0], ec, s1.port);
	query_init(&q[1], ec, refused_port());
	query_init(&q[2], ec, hport);
	query_init(&q[3], rsa, s2.port);
	t0 = now_ms();
	engine_version_many(q, 4, t0 + 400);
	long long took = now_ms() - t0;
	ok(q[0].ok && !strcmp(q[0].version, "28.0.1"), "batch: engine 1 answers");
	is_str(q[1].error, "Cannot connect to the docker engine endpoint", "batch: refused, 0.16.2's words");
	ok(!q[2].ok, "batch: hanging engine fails");
	is_str(q[2].error, "timeout", "batch: hang is a timeout");
	ok(q[3].ok, "batch: RSA engine answers (%s)", q[3].error);
	ok(took >= 390 && took < 550, "batch bounded by the deadline (%lld ms for 400)", took);
	for (int i = 0; i < 4; i++)
		free((char *)q[i].url);

	/* A deadline already past. */
	query_init(&q[0], ec, s1.port);
	engine_version_many(q, 1, now_ms() - 1);
	is_str(q[0].error, "timeout", "past deadline: timeout");
	free((char *)q[0].url);

	/* Bad URL. */
	memset(&q[0], 0, sizeof q[0]);
	q[0].url = "unix:///var/run/docker.sock";
	q[0].tls = (struct tls_client){ ec->ca, ec->cert, ec->key };
	engine_version_many(q, 1, now_ms() + 1000);
	ok(!q[0].ok && strstr(q[0].error, "not a tcp:// URL"), "non-tcp URL: %s", q[0].error);
	engine_version_many(NULL, 0, now_ms() + 1000);
	ok(1, "empty batch");

	/* engine_get. */
	struct strbuf out = STRBUF_INIT;
	char *url = xasprintf("tcp://127.0.0.1:%d", s1.port);
	struct tls_client tc = { ec->ca, ec->cert, ec->key };
	ok(engine_get(url, &tc, "/info", 2000, &out) == 0, "engine_get: %s", dm_strerr());
	ok(strstr(out.buf, "\"Version\":\"28.0.1\"") != NULL, "engine_get body");
	is_str(s1.request, "GET /info HTTP/1.1", "engine_get path");
	free(url);
	url = xasprintf("tcp://127.0.0.1:%d", hport);
	t0 = now_ms();
	ok(engine_get(url, &tc, "/info", 200, &out) < 0, "engine_get to a hanging engine");
	is_str(dm_strerr(), "timeout", "engine_get timeout");
	ok(now_ms() - t0 < 300, "engine_get deadline honoured");
	free(url);
	sb_release(&out);
	close(hfd);
	srv_stop(&s1);
	srv_stop(&s2);

	/* Cost of 100 refused endpoints. */
	struct engine_query *many = xcalloc(100, sizeof *many);
	for (int i = 0; i < 100; i++)
		query_init(&many[i], ec, refused_port());
	t0 = now_ms();
	engine_version_many(many, 100, t0 + 5000);
	took = now_ms() - t0;
	int nref = 0;
	for (int i = 0; i < 100; i++) {
		nref += !strcmp(many[i].error, "Cannot connect to the docker engine endpoint");
		free((char *)many[i].url);
	}
	is_int(nref, 100, "100 refused endpoints");
	ok(took < 500, "100 refused endpoints in %lld ms", took);
	printf("# engine_version_many: 100 refused endpoints in %lld ms\n", took);
	free(many);
}

int main(void)
{
	struct pki ec, rsa, wrongsan;
	signal(SIGPIPE, SIG_IGN);   /* the test server writes to clients that gave up */
	pki_make(&ec, "ec", CERT_ECDSA, "127.0.0.1");
	pki_make(&rsa, "rsa", CERT_RSA, "127.0.0.1");
	pki_make(&wrongsan, "wrongsan", CERT_ECDSA, "10.9.9.9");
	test_single(&ec, &rsa, &wrongsan);
	test_batch(&ec, &rsa);
	return done_testing();
}
