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

enum reply {
	R_VERSION,      /* Content-Length */
	R_ERROR,        /* 500 with the engine's JSON message */
	R_ERROR_TEXT,   /* 404 with a text body */
	R_BADJSON,
	R_BIG,          /* Content-Length over the cap */
	R_CHUNKED,      /* the version in chunks, with extensions and a trailer */
	R_CHUNKED_BIG,  /* chunks adding up to more than the cap */
	R_EOF,          /* no framing: the body ends with the connection */
	R_EOF_BIG,      /* ... and goes over the cap */
	R_CONTINUE,     /* a 100 Continue before the reply */
	R_TRUNCATED,    /* Content-Length 1000, 20 bytes, close */
	R_NOTHING,      /* handshake, then close without a reply */
	R_TRICKLE,      /* headers, then one byte every 20 ms */
	R_BADCHUNK,     /* a chunk size that is not hex */
	R_ECHO,         /* 201 with the request's body as the reply */
};

static const char version_json[] =
	"{\"Platform\":{\"Name\":\"\"},\"Version\":\"28.0.1\",\"ApiVersion\":\"1.48\","
	"\"MinAPIVersion\":\"1.24\",\"Os\":\"linux\",\"Arch\":\"amd64\"}\n";

struct srv {
	int lfd, port;
	enum reply reply;
	SSL_CTX *ctx;
	pthread_t th;
	char request[4096];  /* the last request, whole */
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

static int send_all(SSL *ssl, const char *p, size_t n)
{
	for (size_t off = 0; off < n;) {
		int w = SSL_write(ssl, p + off, (int)(n - off > 65536 ? 65536 : n - off));
		if (w <= 0)
			return -1;
		off += (size_t)w;
	}
	return 0;
}

static void add_x(struct strbuf *sb, size_t n)
{
	char chunk[4096];
	memset(chunk, 'x', sizeof chunk);
	while (n) {
		size_t k = n < sizeof chunk ? n : sizeof chunk;
		sb_add(sb, chunk, k);
		n -= k;
	}
}

static void serve(struct srv *s, SSL *ssl)
{
	char req[4096];
	size_t n = 0;
	struct strbuf out = STRBUF_INIT;
	const char *vj = version_json;
	size_t vl = sizeof version_json - 1;

	while (n < sizeof req - 1) {
		int r = SSL_read(ssl, req + n, (int)(sizeof req - 1 - n));
		if (r <= 0)
			return;
		n += (size_t)r;
		req[n] = 0;
		if (strstr(req, "\r\n\r\n"))
			break;
	}
	snprintf(s->request, sizeof s->request, "%s", req);
	switch (s->reply) {
	case R_VERSION:
		sb_addf(&out, "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
		        vl, vj);
		break;
	case R_ERROR:
		sb_adds(&out, "HTTP/1.0 500 Internal Server Error\r\nContent-Length: 19\r\n\r\n"
		              "{\"message\":\"boom\"}\n");
		break;
	case R_ERROR_TEXT:
		sb_adds(&out, "HTTP/1.0 404 Not Found\r\n\r\npage not found\n");
		break;
	case R_BADJSON:
		sb_adds(&out, "HTTP/1.0 200 OK\r\nContent-Length: 21\r\n\r\n{\"ApiVersion\":\"1.48\"}");
		break;
	case R_BIG:
		sb_addf(&out, "HTTP/1.0 200 OK\r\nContent-Length: %u\r\n\r\n", DM_CAP_HTTP + 1);
		add_x(&out, DM_CAP_HTTP + 1);
		break;
	case R_CHUNKED:
		sb_adds(&out, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
		sb_addf(&out, "a;name=value\r\n%.10s\r\n", vj);
		sb_addf(&out, "%zX\r\n%s\r\n0\r\nX-Trailer: yes\r\n\r\n", vl - 10, vj + 10);
		break;
	case R_CHUNKED_BIG:
		sb_adds(&out, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
		for (size_t i = 0; i <= DM_CAP_HTTP / 65536; i++) {
			sb_adds(&out, "10000\r\n");
			add_x(&out, 65536);
			sb_adds(&out, "\r\n");
		}
		sb_adds(&out, "0\r\n\r\n");
		break;
	case R_EOF:
		sb_addf(&out, "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n%s", vj);
		break;
	case R_EOF_BIG:
		sb_adds(&out, "HTTP/1.0 200 OK\r\n\r\n");
		add_x(&out, DM_CAP_HTTP + 4096);
		break;
	case R_CONTINUE:
		sb_addf(&out, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 200 OK\r\nContent-Length: %zu\r\n\r\n%s",
		        vl, vj);
		break;
	case R_TRUNCATED:
		sb_adds(&out, "HTTP/1.0 200 OK\r\nContent-Length: 1000\r\n\r\n{\"Version\":\"28.0.1\",");
		break;
	case R_NOTHING:
		break;
	case R_ECHO: {
		const char *cl = strstr(req, "Content-Length: "), *b = strstr(req, "\r\n\r\n") + 4;
		size_t want = cl ? strtoul(cl + 16, NULL, 10) : 0, have = n - (size_t)(b - req);
		while (have < want && n < sizeof req - 1) {
			int r = SSL_read(ssl, req + n, (int)(sizeof req - 1 - n));
			if (r <= 0)
				break;
			n += (size_t)r;
			have += (size_t)r;
			req[n] = 0;
		}
		snprintf(s->request, sizeof s->request, "%s", req);
		sb_addf(&out, "HTTP/1.0 201 Created\r\nContent-Length: %zu\r\n\r\n%.*s", have, (int)have, b);
		break;
	}
	case R_BADCHUNK:
		sb_adds(&out, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n");
		break;
	case R_TRICKLE:
		sb_adds(&out, "HTTP/1.0 200 OK\r\nContent-Length: 100000\r\n\r\n");
		if (send_all(ssl, out.buf, out.len) == 0)
			for (int i = 0; i < 250 && SSL_write(ssl, " ", 1) == 1; i++)
				usleep(20000);
		sb_release(&out);
		return;
	}
	send_all(ssl, out.buf, out.len);
	sb_release(&out);
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

/* Expected results: version set, or the error (with %d for the port where "Get https://..." names it). */
struct scase {
	const char *name;
	enum reply reply;
	int server_pki;       /* 0 ec, 1 rsa, 2 wrong SAN, 3 another CA */
	int client_ca_other;  /* the server checks client certs against another CA */
	const char *version;
	const char *error;
};

static void test_single(struct pki **pk)
{
	static const struct scase t[] = {
		{ "ECDSA keys", R_VERSION, 0, 0, "28.0.1", NULL },
		{ "RSA keys", R_VERSION, 1, 0, "28.0.1", NULL },
		{ "chunked reply", R_CHUNKED, 0, 0, "28.0.1", NULL },
		{ "reply up to EOF", R_EOF, 0, 0, "28.0.1", NULL },
		{ "100 Continue first", R_CONTINUE, 0, 0, "28.0.1", NULL },
		{ "engine error", R_ERROR, 0, 0, NULL, "Error response from daemon: boom" },
		{ "text error", R_ERROR_TEXT, 0, 0, NULL, "HTTP 404: page not found" },
		{ "no Version in reply", R_BADJSON, 0, 0, NULL, "Version: missing" },
		{ "Content-Length over the cap", R_BIG, 0, 0, NULL, "reply exceeds 8388608 bytes" },
		{ "chunks over the cap", R_CHUNKED_BIG, 0, 0, NULL, "reply exceeds 8388608 bytes" },
		{ "unframed body over the cap", R_EOF_BIG, 0, 0, NULL, "reply exceeds 8388608 bytes" },
		{ "truncated reply", R_TRUNCATED, 0, 0, NULL,
		  "Get https://127.0.0.1:%d/version: unexpected EOF" },
		{ "closed without a reply", R_NOTHING, 0, 0, NULL, "Get https://127.0.0.1:%d/version: EOF" },
		{ "bad chunk size", R_BADCHUNK, 0, 0, NULL,
		  "Get https://127.0.0.1:%d/version: malformed chunked encoding" },
		{ "server cert without the IP", R_VERSION, 2, 0, NULL,
		  "Get https://127.0.0.1:%d/version: x509: certificate is valid for 10.9.9.9, not 127.0.0.1" },
		{ "server cert from another CA", R_VERSION, 3, 0, NULL,
		  "Get https://127.0.0.1:%d/version: x509: certificate signed by unknown authority" },
		{ "engine rejects our client cert", R_VERSION, 0, 1, NULL,
		  "Get https://127.0.0.1:%d/version: remote error: tls: unknown certificate authority" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		struct srv s;
		struct engine_query q;
		struct pki *sp = pk[t[i].server_pki], *cp = t[i].server_pki == 3 ? pk[0] : sp;
		char want[512];
		srv_start(&s, t[i].reply, sp->srv, sp->srvkey, t[i].client_ca_other ? pk[3]->ca : cp->ca);
		query_init(&q, cp, s.port);
		engine_version_many(&q, 1, now_ms() + 5000);
		if (t[i].version) {
			ok(q.ok, "%s: ok (%s)", t[i].name, q.error);
			is_str(q.version, t[i].version, "%s: Version", t[i].name);
			is_str(q.api_version, "1.48", "%s: ApiVersion", t[i].name);
			ok(q.response_ms >= 0 && q.response_ms < 5000, "%s: response %ld ms", t[i].name,
			   q.response_ms);
		} else {
			snprintf(want, sizeof want, t[i].error, s.port);
			ok(!q.ok, "%s: fails", t[i].name);
			is_str(q.error, want, "%s: error", t[i].name);
		}
		srv_stop(&s);
		if (i == 0) {
			char host[64];
			snprintf(host, sizeof host, "\r\nHost: 127.0.0.1:%d\r\n", s.port);
			ok(str_starts(s.request, "GET /version HTTP/1.0\r\n"), "unversioned /version, HTTP/1.0");
			ok(strstr(s.request, host) != NULL, "Host header");
			ok(strstr(s.request, "\r\nConnection: close\r\n") != NULL, "Connection: close");
		}
		free((char *)q.url);
	}
}

static void test_batch(struct pki *ec, struct pki *rsa)
{
	struct srv s1, s2, st;
	struct engine_query q[5];
	int hport, hfd = listen_any(&hport);   /* accepts, never answers */
	long long t0;

	srv_start(&s1, R_VERSION, ec->srv, ec->srvkey, ec->ca);
	srv_start(&s2, R_VERSION, rsa->srv, rsa->srvkey, rsa->ca);
	srv_start(&st, R_TRICKLE, ec->srv, ec->srvkey, ec->ca);
	query_init(&q[0], ec, s1.port);
	query_init(&q[1], ec, refused_port());
	query_init(&q[2], ec, hport);
	query_init(&q[3], rsa, s2.port);
	query_init(&q[4], ec, st.port);
	t0 = now_ms();
	engine_version_many(q, 5, t0 + 400);
	long long took = now_ms() - t0;
	ok(q[0].ok && !strcmp(q[0].version, "28.0.1"), "batch: engine 1 answers");
	is_str(q[1].error, "Cannot connect to the docker engine endpoint", "batch: refused, 0.16.2's words");
	ok(!q[2].ok, "batch: hanging engine fails");
	is_str(q[2].error, "timeout", "batch: hang is a timeout");
	ok(q[3].ok, "batch: RSA engine answers (%s)", q[3].error);
	ok(!q[4].ok, "batch: trickling engine fails");
	is_str(q[4].error, "timeout", "batch: trickle is a timeout at the deadline");
	ok(took >= 390 && took < 550, "batch bounded by the deadline (%lld ms for 400)", took);
	ok(q[0].response_ms < 390, "batch: a fast engine's response time is its own (%ld ms)",
	   q[0].response_ms);
	for (int i = 0; i < 5; i++)
		free((char *)q[i].url);
	srv_stop(&st);

	/* Many at once against one engine (which answers one by one). */
	struct engine_query many20[20];
	for (int i = 0; i < 20; i++)
		query_init(&many20[i], ec, s1.port);
	engine_version_many(many20, 20, now_ms() + 5000);
	int nok = 0;
	for (int i = 0; i < 20; i++) {
		nok += many20[i].ok;
		free((char *)many20[i].url);
	}
	is_int(nok, 20, "20 queries at once to one engine");

	/* A deadline already past. */
	query_init(&q[0], ec, s1.port);
	engine_version_many(q, 1, now_ms() - 1);
	is_str(q[0].error, "timeout", "past deadline: timeout");
	free((char *)q[0].url);

	/* Bad URL, missing certificates. */
	memset(&q[0], 0, sizeof q[0]);
	q[0].url = "unix:///var/run/docker.sock";
	q[0].tls = (struct tls_client){ ec->ca, ec->cert, ec->key };
	engine_version_many(q, 1, now_ms() + 1000);
	ok(!q[0].ok && strstr(q[0].error, "not a tcp:// URL"), "non-tcp URL: %s", q[0].error);
	query_init(&q[0], ec, s1.port);
	q[0].tls.ca_cert = "/nonexistent/ca.pem";
	engine_version_many(q, 1, now_ms() + 1000);
	char want[256];
	snprintf(want, sizeof want, "Get https://127.0.0.1:%d/version: open /nonexistent/ca.pem: "
	         "no such file or directory", s1.port);
	is_str(q[0].error, want, "missing CA file");
	free((char *)q[0].url);
	engine_version_many(NULL, 0, now_ms() + 1000);
	ok(1, "empty batch");

	/* engine_get. */
	struct strbuf out = STRBUF_INIT;
	char *url = xasprintf("tcp://127.0.0.1:%d", s1.port);
	struct tls_client tc = { ec->ca, ec->cert, ec->key };
	ok(engine_get(url, &tc, "/info", 2000, &out) == 0, "engine_get: %s", dm_strerr());
	ok(strstr(out.buf, "\"Version\":\"28.0.1\"") != NULL, "engine_get body");
	ok(str_starts(s1.request, "GET /info HTTP/1.0\r\n"), "engine_get path");
	free(url);
	url = xasprintf("tcp://127.0.0.1:%d", hport);
	t0 = now_ms();
	ok(engine_get(url, &tc, "/info", 200, &out) < 0, "engine_get to a hanging engine");
	is_str(dm_strerr(), "timeout", "engine_get timeout");
	ok(now_ms() - t0 < 300, "engine_get deadline honoured");
	free(url);
	srv_stop(&s1);
	srv_start(&s1, R_ERROR, ec->srv, ec->srvkey, ec->ca);
	url = xasprintf("tcp://127.0.0.1:%d", s1.port);
	sb_reset(&out);
	ok(engine_get(url, &tc, "/containers/x/json", 2000, &out) < 0, "engine_get: error reply");
	is_str(dm_strerr(), "Error response from daemon: boom", "engine_get: the engine's message");
	is_str(out.buf, "{\"message\":\"boom\"}\n", "engine_get: the error body is kept");
	free(url);
	srv_stop(&s1);

	/* engine_request: a POST with a JSON body. */
	srv_start(&s1, R_ECHO, ec->srv, ec->srvkey, ec->ca);
	url = xasprintf("tcp://127.0.0.1:%d", s1.port);
	sb_reset(&out);
	int status = 0;
	const char *body = "{\"ListenAddr\":\"0.0.0.0:2377\"}";
	ok(engine_request(url, &tc, "POST", "/swarm/init", body, strlen(body), 2000, &out, &status) == 0,
	   "engine_request POST: %s", dm_strerr());
	is_int(status, 201, "engine_request: status");
	is_str(out.buf, body, "engine_request: the body went out whole");
	ok(str_starts(s1.request, "POST /swarm/init HTTP/1.0\r\n"), "engine_request: request line");
	ok(strstr(s1.request, "\r\nContent-Type: application/json\r\n") != NULL, "engine_request: JSON type");
	free(url);
	url = xasprintf("tcp://127.0.0.1:%d", refused_port());
	status = -1;
	ok(engine_request(url, &tc, "DELETE", "/nodes/x", NULL, 0, 2000, &out, &status) < 0 && status == 0,
	   "engine_request to a refused port: no status");
	is_str(dm_strerr(), "Cannot connect to the docker engine endpoint", "engine_request: refused");
	ok(engine_request(url, &tc, "GET", "/x y", NULL, 0, 2000, &out, NULL) < 0, "a path with a space is refused");
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
	ok(took < 100, "100 refused endpoints in %lld ms", took);
	printf("# engine_version_many: 100 refused endpoints in %lld ms\n", took);
	free(many);

	/* 100 endpoints that accept and never answer: all bounded by one deadline. */
	int hfds[100];
	many = xcalloc(100, sizeof *many);
	for (int i = 0; i < 100; i++) {
		int p;
		hfds[i] = listen_any(&p);
		query_init(&many[i], ec, p);
	}
	t0 = now_ms();
	engine_version_many(many, 100, t0 + 300);
	took = now_ms() - t0;
	int nto = 0;
	for (int i = 0; i < 100; i++) {
		nto += !strcmp(many[i].error, "timeout");
		free((char *)many[i].url);
		close(hfds[i]);
	}
	is_int(nto, 100, "100 hanging endpoints time out");
	ok(took >= 290 && took < 450, "100 hanging endpoints bounded by the deadline (%lld ms for 300)",
	   took);
	free(many);
}

int main(void)
{
	struct pki ec, rsa, wrongsan, other;
	struct pki *pk[] = { &ec, &rsa, &wrongsan, &other };
	signal(SIGPIPE, SIG_IGN);   /* the test server writes to clients that gave up */
	pki_make(&ec, "ec", CERT_ECDSA, "127.0.0.1");
	pki_make(&rsa, "rsa", CERT_RSA, "127.0.0.1");
	pki_make(&wrongsan, "wrongsan", CERT_ECDSA, "10.9.9.9");
	pki_make(&other, "other", CERT_ECDSA, "127.0.0.1");
	test_single(pk);
	test_batch(&ec, &rsa);
	return done_testing();
}
