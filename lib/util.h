/* util.h - allocation, the string buffer, string vectors, errors and diagnostics.
 *
 * Allocation failure aborts (x* functions); nothing else in the library exits.
 *
 * Errors: a library function that fails returns -1 (or NULL) after calling
 * dm_seterr(), which records a one-line message in a thread-local buffer;
 * dm_strerr() returns the last message of the calling thread.  The message is
 * meant for the user as is (no program prefix): where Docker Machine 0.16.2
 * printed a message, the same words are used.
 */
#ifndef UTIL_H
#define UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include "banned.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ATTR_PRINTF(f, a) __attribute__((format(printf, f, a)))

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) ATTR_PRINTF(1, 2);

/* ---- errors ---- */
int dm_seterr(const char *fmt, ...) ATTR_PRINTF(1, 2);   /* always returns -1 */
int dm_seterr_errno(const char *fmt, ...) ATTR_PRINTF(1, 2); /* appends ": strerror(errno)" */
const char *dm_strerr(void);

/* ---- diagnostics (stderr) ---- */
extern const char *dm_progname;    /* set by dm_init() from argv[0] */
extern int dm_debug;               /* MACHINE_DEBUG / -D */
void dm_init(int argc, char **argv);  /* progname, debug flag, stdio modes */
void dm_errorf(const char *fmt, ...) ATTR_PRINTF(1, 2); /* "text\n" verbatim */
void dm_warnx(const char *fmt, ...) ATTR_PRINTF(1, 2);  /* "progname: text\n" */
void dm_debugf(const char *fmt, ...) ATTR_PRINTF(1, 2); /* only with dm_debug */
/* Flush and close stdout; returns DM_EXIT_FAIL with a message if a write was lost. */
int dm_finish(int status);

/* ---- strbuf ----
 * Invariants: buf is never NULL and always NUL-terminated; buf[len] == 0;
 * len < alloc (or alloc == 0 and buf points at a static empty string).
 * cap: if non-zero, appends that would make len exceed cap fail (return -1,
 * error set, contents unchanged); 0 means no cap beyond memory. */
struct strbuf {
	char *buf;
	size_t len;
	size_t alloc;
	size_t cap;
};
#define STRBUF_INIT { (char *)strbuf_empty, 0, 0, 0 }
extern const char strbuf_empty[];

void sb_init(struct strbuf *sb, size_t cap);
void sb_release(struct strbuf *sb);
char *sb_detach(struct strbuf *sb);       /* caller frees; sb is reset */
void sb_reset(struct strbuf *sb);         /* len = 0, memory kept */
int sb_add(struct strbuf *sb, const void *data, size_t n);
int sb_adds(struct strbuf *sb, const char *s);
int sb_addc(struct strbuf *sb, int c);
int sb_addf(struct strbuf *sb, const char *fmt, ...) ATTR_PRINTF(2, 3);
int sb_vaddf(struct strbuf *sb, const char *fmt, va_list ap);
void sb_setlen(struct strbuf *sb, size_t len);   /* len <= current len */
void sb_rtrim(struct strbuf *sb);                /* strip trailing whitespace */
/* Read a whole file / fd; -1 with error set (including "exceeds N bytes"). */
int sb_read_file(struct strbuf *sb, const char *path, size_t cap);
int sb_read_fd(struct strbuf *sb, int fd, size_t cap);

/* ---- strvec: a NULL-terminated vector of owned strings ---- */
struct strvec {
	char **v;
	size_t n;
	size_t alloc;
};
#define STRVEC_INIT { NULL, 0, 0 }
void sv_push(struct strvec *sv, const char *s);          /* copies s */
void sv_pushf(struct strvec *sv, const char *fmt, ...) ATTR_PRINTF(2, 3);
void sv_push_owned(struct strvec *sv, char *s);          /* takes s */
void sv_clear(struct strvec *sv);
int sv_contains(const struct strvec *sv, const char *s);
/* v is always NULL-terminated after the first push; sv_argv() never returns NULL. */
char **sv_argv(struct strvec *sv);

/* ---- small helpers ---- */
int str_starts(const char *s, const char *prefix);
int str_ends(const char *s, const char *suffix);
int str_casecmp_eq(const char *a, const char *b);
/* Natural order ("n2" < "n10"), comparing lower-cased text as 0.16.2 does. */
int str_natcmp(const char *a, const char *b);
/* Parse a decimal integer in [min,max]; -1 on error (message set, naming what). */
int parse_long(const char *s, long min, long max, long *out, const char *what);
/* Go-style boolean: 1 t T TRUE true True / 0 f F FALSE false False. */
int parse_bool(const char *s, int *out);
/* Monotonic clock in milliseconds. */
long long now_ms(void);
/* Writes and mkdir with the store's rules. */
int mkdir_p(const char *path, unsigned mode);
/* Write all n bytes of p to fd, retrying after EINTR and short writes;
 * 0, or -1 with errno set (no error message: callers name the file). */
int write_all(int fd, const void *p, size_t n);
/* Atomically replace path with data: temp file in the same dir, fsync, rename,
 * fsync dir. The file gets mode `mode`. */
int write_file_atomic(const char *path, const void *data, size_t n, unsigned mode);
/* Create a new secret file: O_CREAT|O_EXCL|O_NOFOLLOW, 0600. */
int write_file_excl(const char *path, const void *data, size_t n, unsigned mode);
/* Remove a directory tree (does not follow symlinks). */
int rm_rf(const char *path);
/* Read one line from stdin-like FILE into sb (without newline); 0, or -1 at EOF. */
int sb_getline(struct strbuf *sb, FILE *f);

#endif
