/* template.h - the subset of Go's text/template that users' --format
 * strings use, evaluated over jansson values.
 *
 * Supported: text, {{.}}, {{.A.B}}, {{- trim -}}, comments (a C comment as the whole action),
 * pipelines "x | f", function calls "f a b", (parenthesized pipelines).F,
 * string/raw string/number/char/bool literals, variables ($, $x :=, $x =),
 * {{if}}/{{else if}}/{{else}}/{{end}}, {{range}} (with {{else}}, "$i, $e :="),
 * {{with}}.  Not supported: define, template, block (a parse error).
 *
 * Functions: Go's builtins always exist, as in Go: and or not len index
 * print printf println eq ne lt le gt ge html urlquery.  TMPL_FN_JSON adds
 * json and prettyjson, TMPL_FN_TEXT adds upper lower title join split
 * (0.16.2: inspect has json and prettyjson, ls has neither; we offer all in
 * both).  Deliberately more lenient than Go: numbers compare by value
 * whatever their type, printf %d takes any integral number, a missing value
 * compares equal only to another missing value.
 *
 * Data: without TMPL_STRUCTS objects are Go maps (sorted keys when printed
 * and in json, a null member reads as missing); with it objects are structs
 * (members printed in order, null printed "[]", json in insertion order).
 * Integers print as integers, reals as Go's %v of a float64 (2.5, 1e+06).
 *
 * Limits: source 256 KiB, nesting of controls and parentheses 100, 10M
 * evaluation steps, 64 MiB of output per tmpl_exec (and out's own cap).
 *
 * Errors use Go's words:
 *   parse: `template: :1: unclosed action`, `template: :1: function "x" not defined`
 *   exec:  `template: :1:2: executing "" at <.X.Y>: …`
 * A missing map key prints "<no value>" (Go's map behaviour).
 */
#ifndef TEMPLATE_H
#define TEMPLATE_H

#include <jansson.h>

#include "util.h"

struct tmpl;

enum {
	TMPL_FN_JSON = 1,      /* json, prettyjson */
	TMPL_FN_TEXT = 2,      /* upper lower title join split printf print println len index … */
	TMPL_FN_ALL = 3,
	TMPL_STRUCTS = 4,      /* print objects as Go structs "{v v}" instead of "map[k:v]" */
};

/* Parse src; returns NULL with the error set.  Free with tmpl_free(). */
struct tmpl *tmpl_parse(const char *src, unsigned flags);
/* Execute over data (borrowed; may be run many times), appending to out.
 * 0, or -1 with the error set; out then holds the output made before the
 * error, as Go's writer would. */
int tmpl_exec(struct tmpl *t, json_t *data, struct strbuf *out);
void tmpl_free(struct tmpl *t);   /* NULL is fine */

#endif
