/* t-sigv4 - the official AWS SigV4 test suite (tests/unit/data/aws4_testsuite):
 * for every case, the canonical request (.creq), the string to sign (.sts)
 * and the Authorization header (.authz) computed from the request (.req). */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sigv4.h"
#include "tap.h"

static const struct sigv4_key suite_key = {
	"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "us-east-1", "service"
};
#define SUITE_DATE "20150830T123600Z"

static struct strvec cases = STRVEC_INIT;

static int collect(const char *path, const struct stat *st, int type, struct FTW *f)
{
	(void)st;
	if (type == FTW_F && str_ends(path, ".req"))
		sv_push(&cases, path);
	(void)f;
	return 0;
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *slurp(const char *base, const char *ext)
{
	struct strbuf sb = STRBUF_INIT;
	char *p = xasprintf("%s%s", base, ext);
	if (sb_read_file(&sb, p, 1 << 20) < 0) {
		free(p);
		sb_release(&sb);
		return NULL;
	}
	free(p);
	return sb_detach(&sb);
}

struct parsed {
	char *method, *path, *query;
	struct sigv4_header h[32];
	size_t nh;
	struct strvec own;
	const char *body;
};

/* Parse a .req file: "METHOD TARGET HTTP/1.1", header lines (continuations
 * start with whitespace), a blank line, the body. */
static int parse_req(char *text, struct parsed *p)
{
	char *line = text, *nl, *sp1, *sp2, *q;
	struct strvec names = STRVEC_INIT;
	struct strbuf vals[32];
	size_t n = 0;

	memset(p, 0, sizeof(*p));
	nl = strchr(line, '\n');
	if (nl)
		*nl = 0;
	sp1 = strchr(line, ' ');
	sp2 = strrchr(line, ' ');
	if (!sp1 || sp2 == sp1)
		return -1;
	p->method = xstrndup(line, (size_t)(sp1 - line));
	*sp2 = 0;
	q = strchr(sp1 + 1, '?');
	p->path = q ? xstrndup(sp1 + 1, (size_t)(q - sp1 - 1)) : xstrdup(sp1 + 1);
	p->query = q ? xstrdup(q + 1) : NULL;
	for (line = nl ? nl + 1 : NULL; line; line = nl ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		if (nl)
			*nl = 0;
		if (!*line) {
			p->body = nl ? nl + 1 : "";
			break;
		}
		if ((*line == ' ' || *line == '\t') && n) {
			sb_addc(&vals[n - 1], ' ');
			sb_adds(&vals[n - 1], line);
			continue;
		}
		char *colon = strchr(line, ':');
		if (!colon || n == ARRAY_SIZE(vals))
			return -1;
		sv_push_owned(&names, xstrndup(line, (size_t)(colon - line)));
		sb_init(&vals[n], 0);
		sb_adds(&vals[n], colon + 1);
		n++;
	}
	for (size_t i = 0; i < n; i++) {
		sv_push(&p->own, names.v[i]);
		sv_push_owned(&p->own, sb_detach(&vals[i]));
	}
	for (size_t i = 0; i < n; i++) {
		p->h[i].name = p->own.v[2 * i];
		p->h[i].value = p->own.v[2 * i + 1];
	}
	p->nh = n;
	sv_clear(&names);
	return 0;
}

static void parsed_free(struct parsed *p)
{
	free(p->method);
	free(p->path);
	free(p->query);
	sv_clear(&p->own);
}

/* .sreq headers that the signer added besides Authorization (the session
 * token of get-vanilla-with-session-token, signed there). */
static const char *sreq_token(char *sreq)
{
	char *t = sreq ? strstr(sreq, "X-Amz-Security-Token:") : NULL;
	if (!t)
		return NULL;
	t += strlen("X-Amz-Security-Token:");
	t[strcspn(t, "\n")] = 0;
	return t;
}

static void run_case(const char *reqpath)
{
	char *base = xstrndup(reqpath, strlen(reqpath) - 4);
	const char *name = strrchr(base, '/') ? strrchr(base, '/') + 1 : base;
	char *req = slurp(base, ".req"), *creq = slurp(base, ".creq"), *sts = slurp(base, ".sts");
	char *authz = slurp(base, ".authz"), *sreq = slurp(base, ".sreq");
	struct strbuf got = STRBUF_INIT, gsts = STRBUF_INIT, gauth = STRBUF_INIT, scope = STRBUF_INIT;
	struct parsed p;

	if (!req || !creq || !sts || !authz || parse_req(req, &p) < 0) {
		ok(0, "%s: readable case", name);
		goto out;
	}
	/* The suite's readme: a token header "before" is signed, "after" is not. */
	const char *tok = strcmp(name, "get-vanilla-with-session-token") ? NULL : sreq_token(sreq);
	if (tok && p.nh < ARRAY_SIZE(p.h)) {
		p.h[p.nh].name = "X-Amz-Security-Token";
		p.h[p.nh].value = tok;
		p.nh++;
	}
	struct sigv4_req r = { p.method, p.path, p.query, p.h, p.nh, p.body, p.body ? strlen(p.body) : 0, 0 };
	ok(sigv4_canonical_request(&r, &got, NULL) == 0, "%s: canonical request built", name);
	is_str(got.buf, creq, "%s: creq", name);
	sigv4_scope(SUITE_DATE, suite_key.region, suite_key.service, &scope);
	sigv4_string_to_sign(SUITE_DATE, scope.buf, got.buf, &gsts);
	is_str(gsts.buf, sts, "%s: sts", name);
	ok(sigv4_authorization(&r, &suite_key, SUITE_DATE, &gauth) == 0, "%s: signed", name);
	is_str(gauth.buf, authz, "%s: authz", name);
	parsed_free(&p);
out:
	sb_release(&got);
	sb_release(&gsts);
	sb_release(&gauth);
	sb_release(&scope);
	free(base);
	free(req);
	free(creq);
	free(sts);
	free(authz);
	free(sreq);
}

static void unit_cases(void)
{
	static const struct { const char *in, *want; } enc[] = {
		{ "abc-._~XYZ09", "abc-._~XYZ09" },
		{ "a b", "a%20b" },
		{ "a/b", "a%2Fb" },
		{ "ssh-ed25519 AAAA+/=", "ssh-ed25519%20AAAA%2B%2F%3D" },
		{ "\xe1\x88\xb4", "%E1%88%B4" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(enc); i++) {
		struct strbuf sb = STRBUF_INIT;
		sigv4_uri_encode(&sb, enc[i].in, strlen(enc[i].in), 0);
		is_str(sb.buf, enc[i].want, "uri_encode %s", enc[i].want);
		sb_release(&sb);
	}
	char d[17];
	sigv4_amzdate(1440938160, d);
	is_str(d, SUITE_DATE, "amzdate of the suite's time");

	/* a bad header name is refused */
	struct sigv4_header bad[] = { { "Bad:Name", "x" } };
	struct sigv4_req r = { "GET", "/", NULL, bad, 1, NULL, 0, 0 };
	struct strbuf sb = STRBUF_INIT;
	ok(sigv4_canonical_request(&r, &sb, NULL) < 0, "header name with ':' refused");
	sb_release(&sb);

	/* EC2 shape: a POST form body, the signature changes with the body */
	struct sigv4_header hh[] = { { "Host", "ec2.us-east-1.amazonaws.com" },
	                             { "Content-Type", "application/x-www-form-urlencoded; charset=utf-8" },
	                             { "X-Amz-Date", SUITE_DATE } };
	const char *b1 = "Action=DescribeInstances&Version=2016-11-15";
	const char *b2 = "Action=DescribeInstances&Version=2016-11-16";
	struct sigv4_key k = { "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "us-east-1", "ec2" };
	struct sigv4_req r1 = { "POST", "/", NULL, hh, 3, b1, strlen(b1), 0 };
	struct sigv4_req r2 = { "POST", "/", NULL, hh, 3, b2, strlen(b2), 0 };
	struct strbuf a1 = STRBUF_INIT, a2 = STRBUF_INIT;
	sigv4_authorization(&r1, &k, SUITE_DATE, &a1);
	sigv4_authorization(&r2, &k, SUITE_DATE, &a2);
	ok(str_starts(a1.buf, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/ec2/aws4_request, "
	              "SignedHeaders=content-type;host;x-amz-date, Signature="), "ec2 authorization shape");
	ok(strcmp(a1.buf, a2.buf) != 0, "body is covered by the signature");
	sb_release(&a1);
	sb_release(&a2);
}

int main(int argc, char **argv)
{
	const char *dir = "tests/unit/data/aws4_testsuite";
	char *alt = NULL;
	(void)argc;
	plan_lazy();
	if (access(dir, F_OK) < 0) {
		char *a0 = xstrdup(argv[0]);
		alt = xasprintf("%s/data/aws4_testsuite", dirname(a0));
		free(a0);
		dir = alt;
	}
	nftw(dir, collect, 16, FTW_PHYS);
	qsort(cases.v, cases.n, sizeof(char *), cmp);
	is_int((long long)cases.n, 34, "34 cases in the official suite");
	for (size_t i = 0; i < cases.n; i++)
		run_case(cases.v[i]);
	unit_cases();
	sv_clear(&cases);
	free(alt);
	return done_testing();
}
