/* tap.h - a minimal TAP producer for the C unit tests. */
#ifndef TAP_H
#define TAP_H

#include <stddef.h>

void plan_lazy(void);                 /* "1..N" printed by done_testing */
int ok_(int cond, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
int is_str_(const char *got, const char *want, const char *file, int line,
            const char *fmt, ...) __attribute__((format(printf, 5, 6)));
int is_int_(long long got, long long want, const char *file, int line,
            const char *fmt, ...) __attribute__((format(printf, 5, 6)));
int done_testing(void);               /* returns the exit status for main */

#define ok(c, ...) ok_(!!(c), __FILE__, __LINE__, __VA_ARGS__)
#define is_str(g, w, ...) is_str_((g), (w), __FILE__, __LINE__, __VA_ARGS__)
#define is_int(g, w, ...) is_int_((g), (w), __FILE__, __LINE__, __VA_ARGS__)

/* A fresh temporary directory (removed at exit); the path is static. */
const char *tap_tmpdir(void);

#endif
