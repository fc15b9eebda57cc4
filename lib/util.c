/* util.c - allocation, errors, diagnostics, strbuf, strvec, file helpers. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dm.h"
#include "util.h"

const char strbuf_empty[1];
const char *dm_progname = "dm";
int dm_debug;

static void oom(void)
{
	static const char msg[] = "out of memory\n";
	ssize_t r = write(2, msg, sizeof(msg) - 1);
	(void)r;
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom();
	return p;
}

void *xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
	if (!p)
		oom();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		oom();
	return p;
}

char *xstrdup(const char *s)
{
	char *p = strdup(s);
	if (!p)
		oom();
	return p;
}

char *xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);
	if (!p)
		oom();
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		oom();
	va_end(ap);
	return s;
}

/* ---- errors ---- */

static __thread char errbuf[2048];

int dm_seterr(const char *fmt, ...)
{
	char tmp[sizeof(errbuf)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);  /* tmp: fmt may reference dm_strerr() */
	va_end(ap);
	memcpy(errbuf, tmp, sizeof(errbuf));
	return -1;
}

int dm_seterr_errno(const char *fmt, ...)
{
	char tmp[sizeof(errbuf)];
	int e = errno;
	va_list ap;
	size_t n;
	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	n = strlen(tmp);
	snprintf(tmp + n, sizeof(tmp) - n, ": %s", strerror(e));
	memcpy(errbuf, tmp, sizeof(errbuf));
	errno = e;
	return -1;
}

const char *dm_strerr(void)
{
	return errbuf[0] ? errbuf : "unknown error";
}

/* ---- diagnostics ---- */

void dm_init(int argc, char **argv)
{
	const char *p, *d;
	(void)argc;
	if (argv && argv[0]) {
		p = strrchr(argv[0], '/');
		dm_progname = p ? p + 1 : argv[0];
	}
	d = getenv("MACHINE_DEBUG");
	if (d && *d) {
		int b;
		if (parse_bool(d, &b) == 0)
			dm_debug = b;
	}
}

void dm_errorf(const char *fmt, ...)
{
	va_list ap;
	fflush(stdout);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void dm_warnx(const char *fmt, ...)
{
	va_list ap;
	fflush(stdout);
	fprintf(stderr, "%s: ", dm_progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void dm_debugf(const char *fmt, ...)
{
	va_list ap;
	if (!dm_debug)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int dm_finish(int status)
{
	int bad = ferror(stdout);
	if (fclose(stdout) != 0)
		bad = 1;
	if (bad && errno != EPIPE) {
		dm_warnx("write error: %s", strerror(errno ? errno : EIO));
		return status ? status : DM_EXIT_FAIL;
	}
	if (bad)
		return status ? status : DM_EXIT_FAIL;
	return status;
}

/* ---- strbuf ---- */

void sb_init(struct strbuf *sb, size_t cap)
{
	sb->buf = (char *)strbuf_empty;
	sb->len = 0;
	sb->alloc = 0;
	sb->cap = cap;
}

void sb_release(struct strbuf *sb)
{
	if (sb->alloc)
		free(sb->buf);
	sb->buf = (char *)strbuf_empty;
	sb->len = sb->alloc = 0;
}

char *sb_detach(struct strbuf *sb)
{
	char *s = sb->alloc ? sb->buf : xstrdup("");
	sb->buf = (char *)strbuf_empty;
	sb->len = sb->alloc = 0;
	return s;
}

void sb_reset(struct strbuf *sb)
{
	sb->len = 0;
	if (sb->alloc)
		sb->buf[0] = 0;
}

static int sb_grow(struct strbuf *sb, size_t extra)
{
	size_t want;
	if (extra > SIZE_MAX - sb->len - 1)
		oom();
	want = sb->len + extra + 1;
	if (sb->cap && sb->len + extra > sb->cap)
		return dm_seterr("data exceeds %zu bytes", sb->cap);
	if (want <= sb->alloc)
		return 0;
	size_t na = sb->alloc ? sb->alloc : 64;
	while (na < want)
		na = na < SIZE_MAX / 2 ? na * 2 : want;
	if (sb->alloc) {
		sb->buf = xrealloc(sb->buf, na);
	} else {
		sb->buf = xmalloc(na);
		sb->buf[0] = 0;
	}
	sb->alloc = na;
	return 0;
}

int sb_add(struct strbuf *sb, const void *data, size_t n)
{
	if (sb_grow(sb, n) < 0)
		return -1;
	memcpy(sb->buf + sb->len, data, n);
	sb->len += n;
	sb->buf[sb->len] = 0;
	return 0;
}

int sb_adds(struct strbuf *sb, const char *s)
{
	return sb_add(sb, s, strlen(s));
}

int sb_addc(struct strbuf *sb, int c)
{
	char ch = (char)c;
	return sb_add(sb, &ch, 1);
}

int sb_vaddf(struct strbuf *sb, const char *fmt, va_list ap)
{
	va_list cp;
	int n;
	char small[256];
	va_copy(cp, ap);
	n = vsnprintf(small, sizeof(small), fmt, cp);
	va_end(cp);
	if (n < 0)
		return dm_seterr("format error");
	if ((size_t)n < sizeof(small))
		return sb_add(sb, small, (size_t)n);
	if (sb_grow(sb, (size_t)n) < 0)
		return -1;
	vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
	sb->len += (size_t)n;
	return 0;
}

int sb_addf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int r;
	va_start(ap, fmt);
	r = sb_vaddf(sb, fmt, ap);
	va_end(ap);
	return r;
}

void sb_setlen(struct strbuf *sb, size_t len)
{
	if (len > sb->len)
		abort();
	sb->len = len;
	if (sb->alloc)
		sb->buf[len] = 0;
}

void sb_rtrim(struct strbuf *sb)
{
	while (sb->len && isspace((unsigned char)sb->buf[sb->len - 1]))
		sb->len--;
	if (sb->alloc)
		sb->buf[sb->len] = 0;
}

int sb_read_fd(struct strbuf *sb, int fd, size_t cap)
{
	char tmp[8192];
	for (;;) {
		ssize_t r = read(fd, tmp, sizeof(tmp));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return dm_seterr_errno("read");
		}
		if (r == 0)
			return 0;
		if (cap && sb->len + (size_t)r > cap)
			return dm_seterr("input exceeds %zu bytes", cap);
		if (sb_add(sb, tmp, (size_t)r) < 0)
			return -1;
	}
}

int sb_read_file(struct strbuf *sb, const char *path, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int r;
	if (fd < 0)
		return dm_seterr("open %s: %s", path,
		                 errno == ENOENT ? "no such file or directory" : strerror(errno));
	r = sb_read_fd(sb, fd, cap);
	close(fd);
	if (r < 0)
		return dm_seterr("read %s: %s", path, dm_strerr());
	return 0;
}

int sb_getline(struct strbuf *sb, FILE *f)
{
	int c;
	sb_reset(sb);
	c = getc(f);
	if (c == EOF)
		return -1;
	while (c != EOF && c != '\n') {
		if (sb_addc(sb, c) < 0)
			return -1;
		c = getc(f);
	}
	return 0;
}

/* ---- strvec ---- */

void sv_push_owned(struct strvec *sv, char *s)
{
	if (sv->n + 2 > sv->alloc) {
		sv->alloc = sv->alloc ? sv->alloc * 2 : 8;
		sv->v = xrealloc(sv->v, sv->alloc * sizeof(*sv->v));
	}
	sv->v[sv->n++] = s;
	sv->v[sv->n] = NULL;
}

void sv_push(struct strvec *sv, const char *s)
{
	sv_push_owned(sv, xstrdup(s));
}

void sv_pushf(struct strvec *sv, const char *fmt, ...)
{
	va_list ap;
	char *s;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		oom();
	va_end(ap);
	sv_push_owned(sv, s);
}

void sv_clear(struct strvec *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = sv->alloc = 0;
}

int sv_contains(const struct strvec *sv, const char *s)
{
	for (size_t i = 0; i < sv->n; i++)
		if (!strcmp(sv->v[i], s))
			return 1;
	return 0;
}

char **sv_argv(struct strvec *sv)
{
	static char *empty[1];
	return sv->v ? sv->v : empty;
}

/* ---- small helpers ---- */

int str_starts(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

int str_ends(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && !strcmp(s + a - b, suffix);
}

int str_casecmp_eq(const char *a, const char *b)
{
	return !strcasecmp(a, b);
}

int str_natcmp(const char *a, const char *b)
{
	while (*a && *b) {
		if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
			const char *ea, *eb;
			while (*a == '0' && isdigit((unsigned char)a[1]))
				a++;
			while (*b == '0' && isdigit((unsigned char)b[1]))
				b++;
			for (ea = a; isdigit((unsigned char)*ea); ea++)
				;
			for (eb = b; isdigit((unsigned char)*eb); eb++)
				;
			if (ea - a != eb - b)
				return (ea - a) < (eb - b) ? -1 : 1;
			int c = strncmp(a, b, (size_t)(ea - a));
			if (c)
				return c < 0 ? -1 : 1;
			a = ea;
			b = eb;
			continue;
		}
		int ca = tolower((unsigned char)*a), cb = tolower((unsigned char)*b);
		if (ca != cb)
			return ca < cb ? -1 : 1;
		a++;
		b++;
	}
	if (*a || *b)
		return *a ? 1 : -1;
	return 0;
}

int parse_long(const char *s, long min, long max, long *out, const char *what)
{
	char *end;
	long v;
	errno = 0;
	if (!s || !*s)
		return dm_seterr("invalid value \"\" for %s", what);
	v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return dm_seterr("invalid value \"%s\" for %s", s, what);
	*out = v;
	return 0;
}

int parse_bool(const char *s, int *out)
{
	static const char *const yes[] = { "1", "t", "T", "TRUE", "true", "True" };
	static const char *const no[] = { "0", "f", "F", "FALSE", "false", "False" };
	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (!strcmp(s, yes[i])) {
			*out = 1;
			return 0;
		}
		if (!strcmp(s, no[i])) {
			*out = 0;
			return 0;
		}
	}
	return dm_seterr("strconv.ParseBool: parsing \"%s\": invalid syntax", s);
}

long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int mkdir_p(const char *path, unsigned mode)
{
	char *p = xstrdup(path), *s;
	int r = 0;
	for (s = p + 1; ; s++) {
		if (*s == '/' || *s == 0) {
			char c = *s;
			*s = 0;
			if (mkdir(p, mode) < 0 && errno != EEXIST) {
				r = dm_seterr_errno("mkdir %s", p);
				break;
			}
			*s = c;
			if (!c)
				break;
		}
	}
	free(p);
	return r;
}

static int fsync_dir_of(const char *path)
{
	char *d = xstrdup(path), *slash = strrchr(d, '/');
	int fd;
	if (slash)
		*(slash == d ? slash + 1 : slash) = 0;
	else {
		free(d);
		d = xstrdup(".");
	}
	fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(d);
	if (fd < 0)
		return 0;
	fsync(fd);
	close(fd);
	return 0;
}

int write_all(int fd, const void *data, size_t n)
{
	const char *p = data;
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int write_file_atomic(const char *path, const void *data, size_t n, unsigned mode)
{
	char *tmp = xasprintf("%s.tmp%ld", path, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0 && errno == EEXIST) {
		unlink(tmp);
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	}
	if (fd < 0) {
		dm_seterr_errno("open %s", tmp);
		free(tmp);
		return -1;
	}
	if (fchmod(fd, mode) < 0 || write_all(fd, data, n) < 0 || fsync(fd) < 0) {
		dm_seterr_errno("write %s", tmp);
		close(fd);
		unlink(tmp);
		free(tmp);
		return -1;
	}
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		dm_seterr_errno("write %s", path);
		unlink(tmp);
		free(tmp);
		return -1;
	}
	free(tmp);
	return fsync_dir_of(path);
}

int write_file_excl(const char *path, const void *data, size_t n, unsigned mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return dm_seterr_errno("create %s", path);
	if (write_all(fd, data, n) < 0 || fsync(fd) < 0) {
		dm_seterr_errno("write %s", path);
		close(fd);
		unlink(path);
		return -1;
	}
	if (close(fd) < 0) {
		dm_seterr_errno("write %s", path);
		unlink(path);
		return -1;
	}
	return 0;
}

int rm_rf(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	int r = 0;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : dm_seterr_errno("stat %s", path);
	if (!S_ISDIR(st.st_mode)) {
		if (unlink(path) < 0)
			return dm_seterr_errno("remove %s", path);
		return 0;
	}
	d = opendir(path);
	if (!d)
		return dm_seterr_errno("open %s", path);
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char *sub = xasprintf("%s/%s", path, e->d_name);
		if (rm_rf(sub) < 0)
			r = -1;
		free(sub);
	}
	closedir(d);
	if (r == 0 && rmdir(path) < 0)
		return dm_seterr_errno("remove %s", path);
	return r;
}
