/* template.h - the subset of Go's text/template that users' --format
 * strings use, evaluated over jansson values.
 *
 * Supported: text, {{.}}, {{.A.B}}, {{- trim -}}, pipelines "x | f",
 * function calls "f a b", string/number/bool literals, variables ($, $x :=),
 * {{if}}/{{else if}}/{{else}}/{{end}}, {{range}} (with {{else}}), {{with}},
 * and functions json prettyjson upper lower printf print println len index
 * join split title not and or eq ne lt le gt ge.  The caller chooses which
 * functions exist (0.16.2: inspect has json and prettyjson, ls has none;
 * we offer all in both).
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

/* Parse src; returns NULL with the error set. */
struct tmpl *tmpl_parse(const char *src, unsigned flags);
/* Execute over data, appending to out. 0 or -1 with the error set. */
int tmpl_exec(struct tmpl *t, json_t *data, struct strbuf *out);
void tmpl_free(struct tmpl *t);

#endif
