/* tap.c - see tap.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "util.h"

static int ntests, nfailed;

void plan_lazy(void) {}

static void vdesc(const char *fmt, va_list ap)
{
	vprintf(fmt, ap);
	putchar('\n');
}

int ok_(int cond, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	ntests++;
	printf("%sok %d - ", cond ? "" : "not ", ntests);
	va_start(ap, fmt);
	vdesc(fmt, ap);
	va_end(ap);
	if (!cond) {
		nfailed++;
		printf("#   Failed at %s line %d\n", file, line);
	}
	fflush(stdout);
	return cond;
}

static void diag_str(const char *label, const char *s)
{
	printf("#   %8s: ", label);
	if (!s) {
		puts("(null)");
		return;
	}
	putchar('\'');
	for (; *s; s++) {
		if (*s == '\n')
			fputs("\\n", stdout);
		else if (*s == '\t')
			fputs("\\t", stdout);
		else
			putchar(*s);
	}
	puts("'");
}

int is_str_(const char *got, const char *want, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	int cond = (got && want) ? !strcmp(got, want) : got == want;
	ntests++;
	printf("%sok %d - ", cond ? "" : "not ", ntests);
	va_start(ap, fmt);
	vdesc(fmt, ap);
	va_end(ap);
	if (!cond) {
		nfailed++;
		printf("#   Failed at %s line %d\n", file, line);
		diag_str("got", got);
		diag_str("expected", want);
	}
	fflush(stdout);
	return cond;
}

int is_int_(long long got, long long want, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	int cond = got == want;
	ntests++;
	printf("%sok %d - ", cond ? "" : "not ", ntests);
	va_start(ap, fmt);
	vdesc(fmt, ap);
	va_end(ap);
	if (!cond) {
		nfailed++;
		printf("#   Failed at %s line %d\n#        got: %lld\n#   expected: %lld\n", file, line,
		       got, want);
	}
	fflush(stdout);
	return cond;
}

static char tmpdir[256];

static void cleanup(void)
{
	if (tmpdir[0])
		rm_rf(tmpdir);
}

const char *tap_tmpdir(void)
{
	if (!tmpdir[0]) {
		snprintf(tmpdir, sizeof(tmpdir), "/tmp/dm-unit.XXXXXX");
		if (!mkdtemp(tmpdir)) {
			perror("mkdtemp");
			exit(1);
		}
		atexit(cleanup);
	}
	return tmpdir;
}

int done_testing(void)
{
	printf("1..%d\n", ntests);
	if (nfailed)
		printf("# failed %d of %d\n", nfailed, ntests);
	return nfailed ? 1 : 0;
}
