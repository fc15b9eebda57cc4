/* template.c - a subset of Go's text/template over jansson values; see
 * template.h for the contract.
 *
 * The shape follows Go's implementation so that behaviour and messages
 * match: a lexer that yields tokens (spaces are tokens, they separate
 * arguments), a recursive-descent parser that builds a tree, and a
 * tree-walking executor with a stack of variables.
 *
 * Values are json_t references.  NULL stands for Go's invalid value (a
 * missing map key), which prints "<no value>".  Without TMPL_STRUCTS the
 * data is treated as Go's map[string]interface{}: a value read from a map or
 * array has static type interface {} until a pipeline ends (this only shows
 * in error messages), and a JSON null read that way becomes the invalid
 * value.  With TMPL_STRUCTS objects are structs: fields print in order, a
 * null prints "[]" (an empty slice).
 *
 * Limits against hostile templates: source size, nesting depth of
 * control structures and parentheses, execution steps and output size.
 * Every node and string of a parsed template lives in one arena freed by
 * tmpl_free(), so a parse error needs no unwinding.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "template.h"

#define TMPL_MAX_SOURCE   (256u << 10)   /* bytes of template text */
#define TMPL_MAX_DEPTH    100            /* nested controls / parentheses */
#define TMPL_MAX_STEPS    (10u << 20)    /* nodes evaluated in one exec */
#define TMPL_MAX_OUTPUT   (64u << 20)    /* bytes one exec may append */
#define TMPL_MAX_FMTWIDTH 1000000        /* printf width/precision, as Go */

/* ------------------------------------------------------------------ */
/* Tree                                                                 */

enum node_type {
	N_LIST, N_TEXT, N_ACTION, N_IF, N_RANGE, N_WITH,
	N_PIPE, N_COMMAND,
	/* operands */
	N_FIELD, N_VAR, N_CHAIN, N_DOT, N_NIL, N_BOOL, N_NUMBER, N_STRING, N_IDENT,
	/* markers returned by the list parser only */
	N_END, N_ELSE,
};

struct func;

struct node {
	enum node_type type;
	size_t pos;                 /* byte offset Go reports errors at */
	size_t ctx_start, ctx_end;  /* source span shown as the error context */
	const char *text;           /* N_TEXT, N_STRING: value; N_IDENT, N_VAR: name */
	size_t len;
	const char **fields;        /* N_FIELD, N_VAR, N_CHAIN: field chain */
	size_t nfields;
	struct node *base;          /* N_CHAIN: the operand the fields apply to */
	json_t *lit;                /* N_NUMBER, N_BOOL, N_STRING: the constant */
	const struct func *fn;      /* N_IDENT */
	/* N_PIPE */
	const char *decl[2];
	int ndecl, is_assign;       /* decl[] are "$x" names */
	/* N_PIPE: commands; N_COMMAND: arguments; N_LIST: nodes */
	struct node **kids;
	size_t nkids, akids;
	/* N_ACTION, N_IF, N_RANGE, N_WITH */
	struct node *pipe, *list, *elselist;
};

struct tmpl {
	const char *src;            /* arena copy of the source */
	size_t len;
	unsigned flags;
	struct node *root;
	/* arena: every allocation of the tree, and the literals */
	void **mem;
	size_t nmem, amem;
	json_t **lits;
	size_t nlits, alits;
};

static void *arena_alloc(struct tmpl *t, size_t n)
{
	void *p = xcalloc(1, n ? n : 1);

	if (t->nmem == t->amem) {
		t->amem = t->amem ? 2 * t->amem : 64;
		t->mem = xrealloc(t->mem, t->amem * sizeof(*t->mem));
	}
	t->mem[t->nmem++] = p;
	return p;
}

static char *arena_strndup(struct tmpl *t, const char *s, size_t n)
{
	char *p = arena_alloc(t, n + 1);

	memcpy(p, s, n);
	return p;
}

static json_t *arena_lit(struct tmpl *t, json_t *steal)
{
	if (t->nlits == t->alits) {
		t->alits = t->alits ? 2 * t->alits : 16;
		t->lits = xrealloc(t->lits, t->alits * sizeof(*t->lits));
	}
	t->lits[t->nlits++] = steal;
	return steal;
}

static struct node *new_node(struct tmpl *t, enum node_type type, size_t pos)
{
	struct node *n = arena_alloc(t, sizeof(*n));

	n->type = type;
	n->pos = n->ctx_start = n->ctx_end = pos;
	return n;
}

static void add_kid(struct tmpl *t, struct node *n, struct node *kid)
{
	if (n->nkids == n->akids) {
		struct node **v;
		n->akids = n->akids ? 2 * n->akids : 4;
		v = arena_alloc(t, n->akids * sizeof(*v));
		if (n->nkids)
			memcpy(v, n->kids, n->nkids * sizeof(*v));
		n->kids = v;
	}
	n->kids[n->nkids++] = kid;
}

static void add_field(struct tmpl *t, struct node *n, const char *name, size_t len)
{
	const char **v = arena_alloc(t, (n->nfields + 1) * sizeof(*v));

	if (n->nfields)
		memcpy(v, n->fields, n->nfields * sizeof(*v));
	v[n->nfields++] = arena_strndup(t, name, len);
	n->fields = v;
}

void tmpl_free(struct tmpl *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->nmem; i++)
		free(t->mem[i]);
	for (i = 0; i < t->nlits; i++)
		json_decref(t->lits[i]);
	free(t->mem);
	free(t->lits);
	free(t);
}

/* ------------------------------------------------------------------ */
/* Functions (the table; implementations follow the executor)           */

struct exec;
struct val {
	json_t *j;          /* owned; NULL = invalid ("<no value>") */
	int iface;          /* static type interface {} (map mode) */
};

typedef int (*func_impl)(struct exec *x, struct node *cmd, struct val *args,
                         size_t n, struct val *res);

struct func {
	const char *name;
	unsigned flag;      /* 0: always there (Go's builtins) */
	int min, max;       /* argument count; max -1 = variadic */
	int lazy;           /* and/or: arguments evaluated one by one */
	func_impl impl;
};

static int fn_and(struct exec *, struct node *, struct val *, size_t, struct val *);
static int fn_or(struct exec *, struct node *, struct val *, size_t, struct val *);
static int fn_not(struct exec *, struct node *, struct val *, size_t, struct val *);
static int fn_len(struct exec *, struct node *, struct val *, size_t, struct val *);
static int fn_index(struct exec *, struct node *, struct val *, size_t, struct val *);
static int fn_print(struct exec *, struct node *, struct val *, size_t, struct val *);
static int fn_println(struct exec *, struct node *, struct val *, size_t, struct val *);
static int fn_printf(struct exec *, struct node *, struct val *, size_t, struct val *);
static int fn_eq(struct exec *, struct node *, struct val *, size_t, struct val *);
static int fn_ne(struct exec *, struct node *, struct val *, size_t, struct val *);
static int fn_lt(struct exec *, struct node *, struct val *, size_t, struct val *);
static int fn_le(struct exec *, struct node *, struct val *, size_t, struct val *);
static int fn_gt(struct exec *, struct node *, struct val *, size_t, struct val *);
static int fn_ge(struct exec *, struct node *, struct val *, size_t, struct val *);
static int fn_html(struct exec *, struct node *, struct val *, size_t, struct val *);
static int fn_urlquery(struct exec *, struct node *, struct val *, size_t, struct val *);
static int fn_json(struct exec *, struct node *, struct val *, size_t, struct val *);
static int fn_prettyjson(struct exec *, struct node *, struct val *, size_t, struct val *);
static int fn_upper(struct exec *, struct node *, struct val *, size_t, struct val *);
static int fn_lower(struct exec *, struct node *, struct val *, size_t, struct val *);
static int fn_title(struct exec *, struct node *, struct val *, size_t, struct val *);
static int fn_join(struct exec *, struct node *, struct val *, size_t, struct val *);
static int fn_split(struct exec *, struct node *, struct val *, size_t, struct val *);

static const struct func funcs[] = {
	{ "and", 0, 1, -1, 1, fn_and },
	{ "or", 0, 1, -1, 1, fn_or },
	{ "not", 0, 1, 1, 0, fn_not },
	{ "len", 0, 1, 1, 0, fn_len },
	{ "index", 0, 1, -1, 0, fn_index },
	{ "print", 0, 0, -1, 0, fn_print },
	{ "println", 0, 0, -1, 0, fn_println },
	{ "printf", 0, 1, -1, 0, fn_printf },
	{ "eq", 0, 1, -1, 0, fn_eq },
	{ "ne", 0, 2, 2, 0, fn_ne },
	{ "lt", 0, 2, 2, 0, fn_lt },
	{ "le", 0, 2, 2, 0, fn_le },
	{ "gt", 0, 2, 2, 0, fn_gt },
	{ "ge", 0, 2, 2, 0, fn_ge },
	{ "html", 0, 0, -1, 0, fn_html },
	{ "urlquery", 0, 0, -1, 0, fn_urlquery },
	{ "json", TMPL_FN_JSON, 1, 1, 0, fn_json },
	{ "prettyjson", TMPL_FN_JSON, 1, 1, 0, fn_prettyjson },
	{ "upper", TMPL_FN_TEXT, 1, 1, 0, fn_upper },
	{ "lower", TMPL_FN_TEXT, 1, 1, 0, fn_lower },
	{ "title", TMPL_FN_TEXT, 1, 1, 0, fn_title },
	{ "join", TMPL_FN_TEXT, 2, 2, 0, fn_join },
	{ "split", TMPL_FN_TEXT, 2, 2, 0, fn_split },
};

static const struct func *find_func(const char *name, size_t len, unsigned flags)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(funcs); i++)
		if (strlen(funcs[i].name) == len && !memcmp(funcs[i].name, name, len) &&
		    (!funcs[i].flag || (funcs[i].flag & flags)))
			return &funcs[i];
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Lexer                                                                */

enum tok_type {
	T_ERROR, T_EOF, T_TEXT, T_LDELIM, T_RDELIM, T_SPACE,
	T_FIELD, T_DOT, T_VAR, T_IDENT, T_STRING, T_RAWSTRING, T_CHARCONST,
	T_NUMBER, T_BOOL, T_NIL, T_PIPE, T_LPAREN, T_RPAREN, T_DECLARE, T_ASSIGN,
	T_CHAR,          /* other punctuation, including ',' */
	/* keywords */
	T_IF, T_ELSE, T_END, T_RANGE, T_WITH, T_DEFINE, T_TEMPLATE, T_BLOCK,
};

struct token {
	enum tok_type type;
	size_t pos, len;    /* T_TEXT: the text after trimming */
	int line;
	const char *msg;    /* T_ERROR: arena string */
};

struct parser {
	struct tmpl *t;
	const char *s;
	size_t n, pos;
	int line;           /* line at pos */
	int in_action, parens, done;
	struct token tok[3];
	int peekcount;
	const char **vars;  /* variables in scope (arena) */
	size_t nvars, avars;
	int depth;
	int failed;
};

static int is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int is_alnum(int c)
{
	return c == '_' || isalnum(c) || c >= 0x80;
}

/* Go's %#U of the rune at s: U+0023 '#'. */
static char *rune_desc(struct tmpl *t, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned long r = p[0];
	size_t len = 1;
	char buf[32];

	if (p[0] >= 0xc0 && p[0] < 0xf8) {
		len = p[0] < 0xe0 ? 2 : p[0] < 0xf0 ? 3 : 4;
		if (len > n)
			len = 1;
		else {
			r = p[0] & (0x3f >> (len - 1));
			for (size_t i = 1; i < len; i++)
				r = (r << 6) | (p[i] & 0x3f);
		}
	}
	if (r >= 0x20 && r != 0x7f)
		snprintf(buf, sizeof(buf), "U+%04lX '%.*s'", r, (int)len, s);
	else
		snprintf(buf, sizeof(buf), "U+%04lX", r);
	return arena_strndup(t, buf, strlen(buf));
}

static void advance(struct parser *p, size_t k)
{
	while (k-- > 0 && p->pos < p->n)
		if (p->s[p->pos++] == '\n')
			p->line++;
}

static struct token make_tok(struct parser *p, enum tok_type type, size_t start, int line)
{
	struct token tk = { type, start, p->pos - start, line, NULL };
	return tk;
}

static struct token lex_error(struct parser *p, size_t start, int line, const char *fmt, ...)
	ATTR_PRINTF(4, 5);

static struct token lex_error(struct parser *p, size_t start, int line, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	struct token tk = { T_ERROR, start, 0, line, NULL };
	va_list ap;

	va_start(ap, fmt);
	sb_vaddf(&sb, fmt, ap);
	va_end(ap);
	tk.msg = arena_strndup(p->t, sb.buf, sb.len);
	sb_release(&sb);
	p->done = 1;
	return tk;
}

/* Right delimiter at pos: 0 none, 1 "}}", 2 with trim marker " -}}". */
static int at_rdelim(const struct parser *p)
{
	const char *s = p->s + p->pos;
	size_t left = p->n - p->pos;

	if (left >= 4 && is_space((unsigned char)s[0]) && s[1] == '-' && s[2] == '}' && s[3] == '}')
		return 2;
	if (left >= 2 && s[0] == '}' && s[1] == '}')
		return 1;
	return 0;
}

static void skip_leading_space(struct parser *p)
{
	while (p->pos < p->n && is_space((unsigned char)p->s[p->pos]))
		advance(p, 1);
}

static struct token lex_text(struct parser *p)
{
	const char *d;
	size_t start = p->pos, end, tend;
	int line = p->line;

	if (p->pos >= p->n)
		return make_tok(p, T_EOF, p->pos, p->line);
	d = memmem(p->s + p->pos, p->n - p->pos, "{{", 2);
	end = d ? (size_t)(d - p->s) : p->n;
	tend = end;
	if (d && end + 3 < p->n && p->s[end + 2] == '-' && is_space((unsigned char)p->s[end + 3]))
		while (tend > start && is_space((unsigned char)p->s[tend - 1]))
			tend--;
	advance(p, end - start);
	if (tend > start) {
		struct token tk = { T_TEXT, start, tend - start, line, NULL };
		return tk;
	}
	return make_tok(p, T_EOF, p->pos, p->line);   /* caller retries */
}

static struct token lex_comment(struct parser *p, size_t start, int line)
{
	const char *e = memmem(p->s + p->pos, p->n - p->pos, "*/", 2);
	int d;

	if (!e)
		return lex_error(p, start, line, "unclosed comment");
	advance(p, (size_t)(e - (p->s + p->pos)) + 2);
	d = at_rdelim(p);
	if (!d)
		return lex_error(p, start, line, "comment ends before closing delimiter");
	advance(p, d == 2 ? 4 : 2);
	if (d == 2)
		skip_leading_space(p);
	return make_tok(p, T_EOF, p->pos, p->line);   /* nothing: caller retries */
}

static struct token lex_left_delim(struct parser *p)
{
	size_t start = p->pos;
	int line = p->line;

	advance(p, 2);
	if (p->pos + 1 < p->n && p->s[p->pos] == '-' && is_space((unsigned char)p->s[p->pos + 1]))
		advance(p, 2);
	if (p->pos + 1 < p->n && p->s[p->pos] == '/' && p->s[p->pos + 1] == '*')
		return lex_comment(p, start, line);
	p->in_action = 1;
	p->parens = 0;
	return make_tok(p, T_LDELIM, start, line);
}

static int at_terminator(const struct parser *p)
{
	int c;

	if (p->pos >= p->n)
		return 1;
	c = (unsigned char)p->s[p->pos];
	return is_space(c) || strchr(".,|:)(}", c) != NULL;
}

static struct token lex_word(struct parser *p, enum tok_type type, size_t start, int line)
{
	static const struct { const char *kw; enum tok_type type; } kws[] = {
		{ "if", T_IF }, { "else", T_ELSE }, { "end", T_END }, { "range", T_RANGE },
		{ "with", T_WITH }, { "define", T_DEFINE }, { "template", T_TEMPLATE },
		{ "block", T_BLOCK }, { "nil", T_NIL }, { "true", T_BOOL }, { "false", T_BOOL },
	};
	size_t i, len;

	while (p->pos < p->n && is_alnum((unsigned char)p->s[p->pos]))
		advance(p, 1);
	if (!at_terminator(p))
		return lex_error(p, start, line, "bad character %s",
		                 rune_desc(p->t, p->s + p->pos, p->n - p->pos));
	len = p->pos - start;
	if (type == T_IDENT)
		for (i = 0; i < ARRAY_SIZE(kws); i++)
			if (strlen(kws[i].kw) == len && !memcmp(kws[i].kw, p->s + start, len))
				type = kws[i].type;
	return make_tok(p, type, start, line);
}

static int scan_digits(struct parser *p, int hex)
{
	size_t start = p->pos;

	while (p->pos < p->n && (hex ? isxdigit((unsigned char)p->s[p->pos])
	                             : (isdigit((unsigned char)p->s[p->pos]) || p->s[p->pos] == '_')))
		advance(p, 1);
	return p->pos > start;
}

static struct token lex_number(struct parser *p, size_t start, int line)
{
	if (p->pos < p->n && (p->s[p->pos] == '+' || p->s[p->pos] == '-'))
		advance(p, 1);
	if (p->pos + 1 < p->n && p->s[p->pos] == '0' && (p->s[p->pos + 1] == 'x' || p->s[p->pos + 1] == 'X')) {
		advance(p, 2);
		scan_digits(p, 1);
	} else {
		scan_digits(p, 0);
		if (p->pos < p->n && p->s[p->pos] == '.') {
			advance(p, 1);
			scan_digits(p, 0);
		}
		if (p->pos < p->n && (p->s[p->pos] == 'e' || p->s[p->pos] == 'E')) {
			advance(p, 1);
			if (p->pos < p->n && (p->s[p->pos] == '+' || p->s[p->pos] == '-'))
				advance(p, 1);
			scan_digits(p, 0);
		}
	}
	if (p->pos < p->n && is_alnum((unsigned char)p->s[p->pos])) {
		advance(p, 1);
		return lex_error(p, start, line, "bad number syntax: \"%.*s\"",
		                 (int)(p->pos - start), p->s + start);
	}
	return make_tok(p, T_NUMBER, start, line);
}

static struct token lex_quote(struct parser *p, int q, size_t start, int line)
{
	enum tok_type type = q == '"' ? T_STRING : q == '`' ? T_RAWSTRING : T_CHARCONST;
	const char *what = q == '"' ? "unterminated quoted string" :
	                   q == '`' ? "unterminated raw quoted string" :
	                              "unterminated character constant";

	for (;;) {
		int c;
		if (p->pos >= p->n)
			return lex_error(p, start, line, "%s", what);
		c = (unsigned char)p->s[p->pos];
		if (c == '\n' && q != '`')
			return lex_error(p, start, line, "%s", what);
		advance(p, 1);
		if (c == '\\' && q != '`') {
			if (p->pos >= p->n || p->s[p->pos] == '\n')
				return lex_error(p, start, line, "%s", what);
			advance(p, 1);
		} else if (c == q) {
			return make_tok(p, type, start, line);
		}
	}
}

static struct token lex_inside(struct parser *p)
{
	size_t start = p->pos;
	int line = p->line, d, c;

	d = at_rdelim(p);
	if (d) {
		if (p->parens > 0)
			return lex_error(p, start, line, "unclosed left paren");
		advance(p, d == 2 ? 4 : 2);
		if (d == 2)
			skip_leading_space(p);
		p->in_action = 0;
		return make_tok(p, T_RDELIM, start, line);
	}
	if (p->pos >= p->n)
		return lex_error(p, start, line, "unclosed action");
	c = (unsigned char)p->s[p->pos];
	if (is_space(c)) {
		while (p->pos < p->n && is_space((unsigned char)p->s[p->pos]) && at_rdelim(p) != 2)
			advance(p, 1);
		return make_tok(p, T_SPACE, start, line);
	}
	advance(p, 1);
	switch (c) {
	case '=':
		return make_tok(p, T_ASSIGN, start, line);
	case ':':
		if (p->pos >= p->n || p->s[p->pos] != '=')
			return lex_error(p, start, line, "expected :=");
		advance(p, 1);
		return make_tok(p, T_DECLARE, start, line);
	case '|':
		return make_tok(p, T_PIPE, start, line);
	case '"': case '`': case '\'':
		return lex_quote(p, c, start, line);
	case '$':
		return lex_word(p, T_VAR, start, line);
	case '.':
		if (p->pos < p->n && isdigit((unsigned char)p->s[p->pos])) {
			p->pos = start;
			return lex_number(p, start, line);
		}
		if (p->pos < p->n && is_alnum((unsigned char)p->s[p->pos]))
			return lex_word(p, T_FIELD, start, line);
		return make_tok(p, T_DOT, start, line);
	case '(':
		p->parens++;
		return make_tok(p, T_LPAREN, start, line);
	case ')':
		if (--p->parens < 0)
			return lex_error(p, start, line, "unexpected right paren %s",
			                 rune_desc(p->t, p->s + start, p->n - start));
		return make_tok(p, T_RPAREN, start, line);
	}
	if (c == '+' || c == '-' || isdigit(c)) {
		p->pos = start;
		return lex_number(p, start, line);
	}
	if (is_alnum(c))
		return lex_word(p, T_IDENT, start, line);
	if (c < 0x80 && isprint(c))
		return make_tok(p, T_CHAR, start, line);
	return lex_error(p, start, line, "unrecognized character in action: %s",
	                 rune_desc(p->t, p->s + start, p->n - start));
}

static struct token lex(struct parser *p)
{
	struct token tk;

	for (;;) {
		if (p->done)
			return make_tok(p, T_EOF, p->pos, p->line);
		if (p->in_action)
			return lex_inside(p);
		if (p->pos + 1 < p->n && p->s[p->pos] == '{' && p->s[p->pos + 1] == '{') {
			tk = lex_left_delim(p);
			if (tk.type == T_EOF)   /* a comment: go on with the text */
				continue;
			return tk;
		}
		if (p->pos >= p->n)
			return make_tok(p, T_EOF, p->pos, p->line);
		tk = lex_text(p);
		if (tk.type == T_EOF)       /* text trimmed away entirely */
			continue;
		return tk;
	}
}

/* Go's token lookahead: up to three tokens pushed back. */
static struct token next_tok(struct parser *p)
{
	if (p->peekcount > 0)
		p->peekcount--;
	else
		p->tok[0] = lex(p);
	return p->tok[p->peekcount];
}

static void backup(struct parser *p)
{
	p->peekcount++;
}

static void backup2(struct parser *p, struct token t1)
{
	p->tok[1] = t1;
	p->peekcount = 2;
}

static void backup3(struct parser *p, struct token t2, struct token t1)
{
	p->tok[1] = t1;
	p->tok[2] = t2;
	p->peekcount = 3;
}

static struct token peek_tok(struct parser *p)
{
	if (p->peekcount > 0)
		return p->tok[p->peekcount - 1];
	p->peekcount = 1;
	p->tok[0] = lex(p);
	return p->tok[0];
}

static struct token next_nonspace(struct parser *p)
{
	struct token tk;

	do
		tk = next_tok(p);
	while (tk.type == T_SPACE);
	return tk;
}

static struct token peek_nonspace(struct parser *p)
{
	struct token tk = next_nonspace(p);

	backup(p);
	return tk;
}

/* ------------------------------------------------------------------ */
/* Parser                                                               */

static void *parse_error(struct parser *p, int line, const char *fmt, ...) ATTR_PRINTF(3, 4);

/* Record "template: :LINE: msg" (the first error wins); returns NULL. */
static void *parse_error(struct parser *p, int line, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	if (p->failed)
		return NULL;
	va_start(ap, fmt);
	sb_vaddf(&sb, fmt, ap);
	va_end(ap);
	dm_seterr("template: :%d: %s", line, sb.buf);
	sb_release(&sb);
	p->failed = 1;
	return NULL;
}

/* Go's item.String(): how a token appears in "unexpected X" messages. */
static const char *tok_desc(struct parser *p, struct token tk)
{
	struct strbuf sb = STRBUF_INIT;
	char *r;

	if (tk.type == T_EOF)
		return "EOF";
	if (tk.type == T_ERROR)
		return tk.msg;
	if (tk.type >= T_IF || tk.type == T_DOT || tk.type == T_NIL)   /* Go's keywords */
		sb_addf(&sb, "<%.*s>", (int)tk.len, p->s + tk.pos);
	else if (tk.len > 10)
		sb_addf(&sb, "\"%.10s\"...", p->s + tk.pos);
	else
		sb_addf(&sb, "\"%.*s\"", (int)tk.len, p->s + tk.pos);
	r = arena_strndup(p->t, sb.buf, sb.len);
	sb_release(&sb);
	return r;
}

static void *unexpected(struct parser *p, struct token tk, const char *context)
{
	if (tk.type == T_ERROR)
		return parse_error(p, tk.line, "%s", tk.msg);
	return parse_error(p, tk.line, "unexpected %s in %s", tok_desc(p, tk), context);
}

static int enter(struct parser *p, int line)
{
	if (++p->depth > TMPL_MAX_DEPTH) {
		parse_error(p, line, "max nesting depth exceeded");
		return -1;
	}
	return 0;
}

static void push_var(struct parser *p, const char *name)
{
	if (p->nvars == p->avars) {
		const char **v;
		p->avars = p->avars ? 2 * p->avars : 8;
		v = arena_alloc(p->t, p->avars * sizeof(*v));
		if (p->nvars)
			memcpy(v, p->vars, p->nvars * sizeof(*v));
		p->vars = v;
	}
	p->vars[p->nvars++] = name;
}

static int var_defined(struct parser *p, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < p->nvars; i++)
		if (strlen(p->vars[i]) == len && !memcmp(p->vars[i], name, len))
			return 1;
	return 0;
}

/* Decode a Go string literal (quoted with escapes, or raw). */
static int unquote(struct parser *p, struct token tk, struct strbuf *out)
{
	const char *s = p->s + tk.pos + 1, *e = p->s + tk.pos + tk.len - 1;

	if (tk.type == T_RAWSTRING) {
		for (; s < e; s++)
			if (*s != '\r')
				sb_addc(out, *s);
		return 0;
	}
	while (s < e) {
		static const char esc[] = "a\ab\bf\fn\nr\rt\tv\v\\\\\"\"''";
		const char *m;
		unsigned long r;
		int k, ndig, base;

		if (*s != '\\') {
			sb_addc(out, *s++);
			continue;
		}
		s++;
		m = strchr(esc, *s);
		if (*s && m && (m - esc) % 2 == 0) {
			sb_addc(out, m[1]);
			s++;
			continue;
		}
		switch (*s) {
		case 'x': ndig = 2; base = 16; s++; break;
		case 'u': ndig = 4; base = 16; s++; break;
		case 'U': ndig = 8; base = 16; s++; break;
		default:
			if (*s >= '0' && *s <= '7') {
				ndig = 3;
				base = 8;
				break;
			}
			return -1;
		}
		for (r = 0, k = 0; k < ndig; k++, s++) {
			int c = (unsigned char)*s, v;
			if (s >= e || !isxdigit(c) || (base == 8 && (c < '0' || c > '7')))
				return -1;
			v = isdigit(c) ? c - '0' : tolower(c) - 'a' + 10;
			r = r * (unsigned long)base + (unsigned long)v;
		}
		if (base == 8 || ndig == 2) {
			if (r > 255)
				return -1;
			sb_addc(out, (int)r);
		} else {
			if (r > 0x10ffff || (r >= 0xd800 && r < 0xe000))
				return -1;
			if (r < 0x80) {
				sb_addc(out, (int)r);
			} else if (r < 0x800) {
				sb_addc(out, (int)(0xc0 | (r >> 6)));
				sb_addc(out, (int)(0x80 | (r & 0x3f)));
			} else if (r < 0x10000) {
				sb_addc(out, (int)(0xe0 | (r >> 12)));
				sb_addc(out, (int)(0x80 | ((r >> 6) & 0x3f)));
				sb_addc(out, (int)(0x80 | (r & 0x3f)));
			} else {
				sb_addc(out, (int)(0xf0 | (r >> 18)));
				sb_addc(out, (int)(0x80 | ((r >> 12) & 0x3f)));
				sb_addc(out, (int)(0x80 | ((r >> 6) & 0x3f)));
				sb_addc(out, (int)(0x80 | (r & 0x3f)));
			}
		}
	}
	return 0;
}

static struct node *parse_string(struct parser *p, struct token tk)
{
	struct strbuf sb = STRBUF_INIT;
	struct node *n;

	if (unquote(p, tk, &sb) < 0) {
		sb_release(&sb);
		return parse_error(p, tk.line, "invalid syntax");
	}
	n = new_node(p->t, N_STRING, tk.pos);
	n->text = arena_strndup(p->t, sb.buf, sb.len);
	n->len = sb.len;
	n->lit = arena_lit(p->t, json_stringn_nocheck(sb.buf, sb.len));
	sb_release(&sb);
	return n;
}

static struct node *parse_number(struct parser *p, struct token tk)
{
	char *text = arena_strndup(p->t, p->s + tk.pos, tk.len), *end, *u;
	struct node *n = new_node(p->t, N_NUMBER, tk.pos);
	long long ll;
	double d;

	if (tk.type == T_CHARCONST) {
		struct strbuf sb = STRBUF_INIT;
		const unsigned char *c;
		unsigned long r;

		if (unquote(p, tk, &sb) < 0 || sb.len == 0) {
			sb_release(&sb);
			return parse_error(p, tk.line, "malformed character constant: %s", text);
		}
		c = (const unsigned char *)sb.buf;
		r = c[0];
		if (c[0] >= 0xc0 && sb.len > 1) {
			size_t len = c[0] < 0xe0 ? 2 : c[0] < 0xf0 ? 3 : 4, i;
			r = c[0] & (0x3f >> (len - 1));
			for (i = 1; i < len && i < sb.len; i++)
				r = (r << 6) | (c[i] & 0x3f);
		}
		sb_release(&sb);
		n->lit = arena_lit(p->t, json_integer((json_int_t)r));
		return n;
	}
	for (u = text; (u = strchr(u, '_')); )    /* digit separators */
		memmove(u, u + 1, strlen(u));
	errno = 0;
	ll = strtoll(text, &end, 0);
	if (*end == 0 && errno == 0 && end != text) {
		n->lit = arena_lit(p->t, json_integer(ll));
		return n;
	}
	d = strtod(text, &end);
	if (*end == 0 && end != text && !strpbrk(text, "xX")) {
		n->lit = arena_lit(p->t, json_real(d));
		return n;
	}
	return parse_error(p, tk.line, "illegal number syntax: \"%s\"", text);
}

static struct node *parse_pipeline(struct parser *p, const char *context, int in_parens);
static struct node *parse_term_token(struct parser *p, struct token tk);

/* term: a literal, field, variable, function name or (pipeline). */
static struct node *parse_term(struct parser *p)
{
	struct token tk = next_nonspace(p);
	struct node *n = parse_term_token(p, tk);

	if (n && n->type != N_PIPE)
		n->ctx_end = tk.pos + tk.len;
	return n;
}

static struct node *parse_term_token(struct parser *p, struct token tk)
{
	struct node *n;

	switch (tk.type) {
	case T_ERROR:
		return parse_error(p, tk.line, "%s", tk.msg);
	case T_IDENT:
		n = new_node(p->t, N_IDENT, tk.pos);
		n->fn = find_func(p->s + tk.pos, tk.len, p->t->flags);
		if (!n->fn)
			return parse_error(p, tk.line, "function \"%.*s\" not defined",
			                   (int)tk.len, p->s + tk.pos);
		n->text = arena_strndup(p->t, p->s + tk.pos, tk.len);
		n->len = tk.len;
		return n;
	case T_DOT:
		return new_node(p->t, N_DOT, tk.pos);
	case T_NIL:
		return new_node(p->t, N_NIL, tk.pos);
	case T_VAR:
		if (!var_defined(p, p->s + tk.pos, tk.len))
			return parse_error(p, tk.line, "undefined variable \"%.*s\"",
			                   (int)tk.len, p->s + tk.pos);
		n = new_node(p->t, N_VAR, tk.pos);
		n->text = arena_strndup(p->t, p->s + tk.pos, tk.len);
		return n;
	case T_FIELD:
		n = new_node(p->t, N_FIELD, tk.pos);
		add_field(p->t, n, p->s + tk.pos + 1, tk.len - 1);
		return n;
	case T_BOOL:
		n = new_node(p->t, N_BOOL, tk.pos);
		n->lit = arena_lit(p->t, json_boolean(p->s[tk.pos] == 't'));
		return n;
	case T_NUMBER:
	case T_CHARCONST:
		return parse_number(p, tk);
	case T_STRING:
	case T_RAWSTRING:
		return parse_string(p, tk);
	case T_LPAREN: {
		struct node *pipe;
		struct token close;
		if (enter(p, tk.line) < 0)
			return NULL;
		pipe = parse_pipeline(p, "parenthesized pipeline", 1);
		p->depth--;
		if (!pipe)
			return NULL;
		close = next_tok(p);
		if (close.type != T_RPAREN)
			return parse_error(p, close.line, "unclosed right paren: unexpected %s",
			                   tok_desc(p, close));
		pipe->ctx_start = tk.pos;
		pipe->ctx_end = close.pos + 1;
		return pipe;
	}
	default:
		backup(p);
		return NULL;
	}
}

/*
 * operand: a term followed by a field chain (.A.B) without spaces.  As in
 * Go, a chain is reported at the position of its first chained field, and
 * its context is the whole text.
 */
static struct node *parse_operand(struct parser *p)
{
	struct node *n = parse_term(p), *chain;
	struct token tk;

	if (!n || peek_tok(p).type != T_FIELD)
		return n;
	tk = peek_tok(p);
	switch (n->type) {
	case N_FIELD:
	case N_VAR:
		chain = n;
		break;
	case N_BOOL: case N_STRING: case N_NUMBER: case N_NIL: case N_DOT:
		return parse_error(p, tk.line, "unexpected . after term \"%.*s\"",
		                   (int)(n->ctx_end - n->ctx_start), p->s + n->ctx_start);
	default:
		chain = new_node(p->t, N_CHAIN, n->pos);
		chain->base = n;
		chain->ctx_start = n->ctx_start;
		break;
	}
	chain->pos = tk.pos;
	while ((tk = peek_tok(p)).type == T_FIELD) {
		next_tok(p);
		add_field(p->t, chain, p->s + tk.pos + 1, tk.len - 1);
		chain->ctx_end = tk.pos + tk.len;
	}
	return chain;
}

static struct node *parse_command(struct parser *p)
{
	struct node *cmd = new_node(p->t, N_COMMAND, peek_nonspace(p).pos), *op;
	struct token tk;

	for (;;) {
		peek_nonspace(p);
		op = parse_operand(p);
		if (p->failed)
			return NULL;
		if (op)
			add_kid(p->t, cmd, op);
		tk = next_tok(p);
		switch (tk.type) {
		case T_SPACE:
			continue;
		case T_ERROR:
			return parse_error(p, tk.line, "%s", tk.msg);
		case T_RDELIM:
		case T_RPAREN:
			backup(p);
			break;
		case T_PIPE:
			break;
		default:
			return parse_error(p, tk.line, "unexpected %s in operand", tok_desc(p, tk));
		}
		break;
	}
	if (!cmd->nkids)
		return parse_error(p, tk.line, "empty command");
	cmd->ctx_end = cmd->kids[cmd->nkids - 1]->ctx_end;
	return cmd;
}

static int check_pipeline(struct parser *p, struct node *pipe, const char *context, int line)
{
	size_t i;

	if (!pipe->nkids) {
		parse_error(p, line, "missing value for %s", context);
		return -1;
	}
	for (i = 1; i < pipe->nkids; i++) {
		switch (pipe->kids[i]->kids[0]->type) {
		case N_BOOL: case N_DOT: case N_NIL: case N_NUMBER: case N_STRING:
			parse_error(p, line, "non executable command in pipeline stage %zu", i + 1);
			return -1;
		default:
			break;
		}
	}
	return 0;
}

/* Declarations "$x :=", "$x =", and in range "$i, $e :=". */
static int parse_decls(struct parser *p, struct node *pipe, const char *context)
{
	for (;;) {
		struct token v = peek_nonspace(p), after, nx;
		const char *name;

		if (v.type != T_VAR)
			return 0;
		v = next_nonspace(p);
		after = peek_tok(p);
		nx = peek_nonspace(p);
		if (nx.type == T_ASSIGN || nx.type == T_DECLARE ||
		    (nx.type == T_CHAR && p->s[nx.pos] == ',')) {
			next_nonspace(p);
			name = arena_strndup(p->t, p->s + v.pos, v.len);
			if (pipe->ndecl == 2) {
				parse_error(p, v.line, "too many declarations in %s", context);
				return -1;
			}
			pipe->decl[pipe->ndecl++] = name;
			if (nx.type == T_ASSIGN) {
				pipe->is_assign = 1;
				if (!var_defined(p, name, v.len)) {
					parse_error(p, v.line, "undefined variable \"%s\"", name);
					return -1;
				}
			} else {
				push_var(p, name);
			}
			if (nx.type != T_CHAR)
				return 0;
			if (strcmp(context, "range") || pipe->ndecl > 1) {
				parse_error(p, nx.line, "too many declarations in %s", context);
				return -1;
			}
			continue;
		}
		if (after.type == T_SPACE)
			backup3(p, v, after);
		else
			backup2(p, v);
		return 0;
	}
}

static struct node *parse_pipeline(struct parser *p, const char *context, int in_parens)
{
	struct token first = peek_nonspace(p), tk;
	struct node *pipe = new_node(p->t, N_PIPE, first.pos), *cmd;

	if (parse_decls(p, pipe, context) < 0)
		return NULL;
	for (;;) {
		tk = next_nonspace(p);
		switch (tk.type) {
		case T_RDELIM:
		case T_RPAREN:
			if ((tk.type == T_RPAREN) != in_parens)
				return unexpected(p, tk, context);
			if (check_pipeline(p, pipe, context, tk.line) < 0)
				return NULL;
			if (in_parens)
				backup(p);
			pipe->ctx_end = tk.pos;
			return pipe;
		case T_BOOL: case T_CHARCONST: case T_DOT: case T_FIELD: case T_IDENT:
		case T_NUMBER: case T_NIL: case T_RAWSTRING: case T_STRING: case T_VAR:
		case T_LPAREN:
			backup(p);
			cmd = parse_command(p);
			if (!cmd)
				return NULL;
			add_kid(p->t, pipe, cmd);
			break;
		default:
			return unexpected(p, tk, context);
		}
	}
}

static struct node *parse_list(struct parser *p, struct node **term);

/* After {{end}}: expect "}}". */
static struct node *parse_end(struct parser *p, struct token kw)
{
	struct token tk = next_nonspace(p);

	if (tk.type != T_RDELIM)
		return unexpected(p, tk, "end");
	return new_node(p->t, N_END, kw.pos);
}

static struct node *parse_else(struct parser *p, struct token kw)
{
	struct token tk = peek_nonspace(p);

	if (tk.type == T_IF || tk.type == T_WITH)     /* "else if": left pending */
		return new_node(p->t, N_ELSE, kw.pos);
	tk = next_nonspace(p);
	if (tk.type != T_RDELIM)
		return unexpected(p, tk, "else");
	return new_node(p->t, N_ELSE, kw.pos);
}

static struct node *parse_control(struct parser *p, enum node_type type, struct token kw)
{
	static const char *const names[] = { [N_IF] = "if", [N_RANGE] = "range", [N_WITH] = "with" };
	size_t nvars = p->nvars;
	struct node *n = NULL, *pipe, *list, *term = NULL, *elselist = NULL;

	if (enter(p, kw.line) < 0)
		return NULL;
	pipe = parse_pipeline(p, names[type], 0);
	if (!pipe || !(list = parse_list(p, &term)))
		goto out;
	if (term->type == N_ELSE) {
		struct token nx = peek_tok(p);
		if (type != N_RANGE && (nx.type == T_IF || nx.type == T_WITH)) {
			/* {{else if b}} is {{else}}{{if b}}..{{end}} sharing one {{end}} */
			struct node *inner;
			next_tok(p);
			inner = parse_control(p, nx.type == T_IF ? N_IF : N_WITH, nx);
			if (!inner)
				goto out;
			elselist = new_node(p->t, N_LIST, term->pos);
			add_kid(p->t, elselist, inner);
		} else {
			struct token at = peek_tok(p);
			if (!(elselist = parse_list(p, &term)))
				goto out;
			if (term->type != N_END) {
				parse_error(p, at.line, "expected end; found {{else}}");
				goto out;
			}
		}
	}
	n = new_node(p->t, type, pipe->pos);
	n->pipe = pipe;
	n->list = list;
	n->elselist = elselist;
	n->ctx_start = kw.pos;      /* context: "{{" and the text from the keyword on */
	n->ctx_end = p->n;
out:
	p->nvars = nvars;
	p->depth--;
	return n;
}

/* One text or action; N_END / N_ELSE for those keywords; NULL at error. */
static struct node *parse_text_or_action(struct parser *p)
{
	struct token tk = next_nonspace(p), kw;
	struct node *n;

	switch (tk.type) {
	case T_TEXT:
		n = new_node(p->t, N_TEXT, tk.pos);
		n->text = p->s + tk.pos;
		n->len = tk.len;
		return n;
	case T_LDELIM:
		break;
	case T_ERROR:
		return parse_error(p, tk.line, "%s", tk.msg);
	default:
		return unexpected(p, tk, "input");
	}
	kw = next_nonspace(p);
	switch (kw.type) {
	case T_ELSE:
		return parse_else(p, kw);
	case T_END:
		return parse_end(p, kw);
	case T_IF:
		return parse_control(p, N_IF, kw);
	case T_RANGE:
		return parse_control(p, N_RANGE, kw);
	case T_WITH:
		return parse_control(p, N_WITH, kw);
	case T_DEFINE: case T_TEMPLATE: case T_BLOCK:
		return parse_error(p, kw.line, "unsupported action %s", tok_desc(p, kw));
	default:
		break;
	}
	backup(p);
	n = new_node(p->t, N_ACTION, kw.pos);
	if (!(n->pipe = parse_pipeline(p, "command", 0)))
		return NULL;
	return n;
}

/*
 * A list of nodes up to {{end}} or {{else}} (*term), or up to EOF when term
 * is NULL (the top level, where those two are errors).
 */
static struct node *parse_list(struct parser *p, struct node **term)
{
	struct node *list = new_node(p->t, N_LIST, p->pos), *n;
	struct token tk;

	for (;;) {
		tk = peek_nonspace(p);
		if (tk.type == T_EOF) {
			if (term)
				return parse_error(p, tk.line, "unexpected EOF");
			return list;
		}
		if (!(n = parse_text_or_action(p)))
			return NULL;
		if (n->type == N_END || n->type == N_ELSE) {
			if (term) {
				*term = n;
				return list;
			}
			return parse_error(p, tk.line, "unexpected {{%s}}",
			                   n->type == N_END ? "end" : "else");
		}
		add_kid(p->t, list, n);
	}
}

struct tmpl *tmpl_parse(const char *src, unsigned flags)
{
	struct tmpl *t;
	struct parser p = { 0 };
	size_t len = strlen(src);

	if (len > TMPL_MAX_SOURCE) {
		dm_seterr("template: :1: template exceeds %u bytes", TMPL_MAX_SOURCE);
		return NULL;
	}
	t = xcalloc(1, sizeof(*t));
	t->flags = flags;
	t->src = arena_strndup(t, src, len);
	t->len = len;
	p.t = t;
	p.s = t->src;
	p.n = len;
	p.line = 1;
	push_var(&p, "$");
	t->root = parse_list(&p, NULL);
	if (!t->root) {
		tmpl_free(t);
		return NULL;
	}
	return t;
}

/* ------------------------------------------------------------------ */
/* Values                                                               */

struct var {
	const char *name;
	struct val v;
};

struct exec {
	struct tmpl *t;
	struct strbuf *out;
	size_t out_start;
	struct var *vars;
	size_t nvars, avars;
	unsigned long steps;
	int structs;
};

static struct val val_take(json_t *steal, int iface)
{
	struct val v = { steal, iface };
	return v;
}

static struct val val_ref(json_t *borrowed, int iface)
{
	return val_take(json_incref(borrowed), iface);
}

static void val_drop(struct val *v)
{
	json_decref(v->j);
	v->j = NULL;
}

/* Go's name for the type of a value, as errors show it. */
static const char *go_type(const struct exec *x, const struct val *v)
{
	if (v->iface)
		return "interface {}";
	if (!v->j)
		return "<nil>";
	switch (json_typeof(v->j)) {
	case JSON_OBJECT:
		return x->structs ? "struct" : "map[string]interface {}";
	case JSON_ARRAY:
		return "[]interface {}";
	case JSON_STRING:
		return "string";
	case JSON_INTEGER:
		return x->structs ? "int" : "float64";
	case JSON_REAL:
		return "float64";
	case JSON_TRUE:
	case JSON_FALSE:
		return "bool";
	default:
		return "interface {}";
	}
}

/* Go's %v of a float64 (strconv 'g', shortest, exponent from 1e+06 and below 1e-04). */
static void go_float(double d, struct strbuf *out)
{
	char buf[64];
	int prec, exp;
	const char *e;

	if (isnan(d)) {
		sb_adds(out, "NaN");
		return;
	}
	if (isinf(d)) {
		sb_adds(out, d > 0 ? "+Inf" : "-Inf");
		return;
	}
	if (d == 0) {
		sb_adds(out, signbit(d) ? "-0" : "0");
		return;
	}
	for (prec = 0; prec < 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*e", prec, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	e = strchr(buf, 'e');
	exp = atoi(e + 1);
	if (exp < -4 || exp >= 6) {
		sb_adds(out, buf);
		return;
	}
	snprintf(buf, sizeof(buf), "%.*f", prec - exp > 0 ? prec - exp : 0, d);
	sb_adds(out, buf);
}

/* Go's fmt %v of a value (fmt.Sprint of one operand). */
static void format_value(const struct exec *x, json_t *j, struct strbuf *out)
{
	if (!j) {
		sb_adds(out, "<nil>");
		return;
	}
	switch (json_typeof(j)) {
	case JSON_REAL:
		go_float(json_real_value(j), out);
		return;
	case JSON_INTEGER:
		sb_addf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(j));
		return;
	case JSON_NULL:
		sb_adds(out, x->structs ? "[]" : "<nil>");
		return;
	default:
		dj_format_go(j, x->structs, out);
	}
}

/*
 * Go's truth: false, 0, "", empty maps and slices, nil and the invalid
 * value are false; a struct is always true.
 */
static int truth(const struct exec *x, const struct val *v)
{
	json_t *j = v->j;

	if (!j)
		return 0;
	switch (json_typeof(j)) {
	case JSON_OBJECT:
		return x->structs || json_object_size(j) > 0;
	case JSON_ARRAY:
		return json_array_size(j) > 0;
	case JSON_STRING:
		return json_string_length(j) > 0;
	case JSON_INTEGER:
		return json_integer_value(j) != 0;
	case JSON_REAL:
		return json_real_value(j) != 0;
	case JSON_TRUE:
		return 1;
	default:
		return 0;
	}
}

/* ------------------------------------------------------------------ */
/* Executor                                                             */

static int exec_error(struct exec *x, const struct node *at, const char *fmt, ...) ATTR_PRINTF(3, 4);

/* "template: :LINE:COL: executing "" at <context>: msg"; returns -1. */
static int exec_error(struct exec *x, const struct node *at, const char *fmt, ...)
{
	struct strbuf msg = STRBUF_INIT, ctx = STRBUF_INIT;
	const char *src = x->t->src;
	size_t i, col = 0;
	int line = 1;
	va_list ap;

	va_start(ap, fmt);
	sb_vaddf(&msg, fmt, ap);
	va_end(ap);
	for (i = 0; i < at->pos; i++, col++)
		if (src[i] == '\n') {
			line++;
			col = (size_t)-1;
		}
	if (at->type == N_IF || at->type == N_RANGE || at->type == N_WITH)
		sb_adds(&ctx, "{{");
	if (at->ctx_end > at->ctx_start)
		sb_add(&ctx, src + at->ctx_start, at->ctx_end - at->ctx_start);
	if (ctx.len > 20) {
		sb_setlen(&ctx, 20);
		sb_adds(&ctx, "...");
	}
	dm_seterr("template: :%d:%zu: executing \"\" at <%s>: %s", line, col, ctx.buf, msg.buf);
	sb_release(&msg);
	sb_release(&ctx);
	return -1;
}

static int step(struct exec *x, const struct node *at)
{
	if (++x->steps > TMPL_MAX_STEPS)
		return exec_error(x, at, "execution exceeds %u steps", TMPL_MAX_STEPS);
	return 0;
}

static int emit(struct exec *x, const struct node *at, const char *s, size_t n)
{
	if (x->out->len - x->out_start + n > TMPL_MAX_OUTPUT)
		return exec_error(x, at, "output exceeds %u bytes", TMPL_MAX_OUTPUT);
	if (sb_add(x->out, s, n) < 0)
		return exec_error(x, at, "%s", dm_strerr());
	return 0;
}

static void push_val(struct exec *x, const char *name, struct val v)
{
	if (x->nvars == x->avars) {
		x->avars = x->avars ? 2 * x->avars : 16;
		x->vars = xrealloc(x->vars, x->avars * sizeof(*x->vars));
	}
	x->vars[x->nvars].name = name;
	x->vars[x->nvars].v = v;
	x->nvars++;
}

static void pop_vars(struct exec *x, size_t mark)
{
	while (x->nvars > mark)
		val_drop(&x->vars[--x->nvars].v);
}

static struct var *find_var(struct exec *x, const char *name)
{
	size_t i = x->nvars;

	while (i-- > 0)
		if (!strcmp(x->vars[i].name, name))
			return &x->vars[i];
	return NULL;
}

static int eval_pipeline(struct exec *x, struct val *dot, struct node *pipe, struct val *res);

/*
 * Field name of receiver (steals recv): the map entry, or "<no value>" for
 * a missing key or an invalid receiver.
 */
static int eval_field(struct exec *x, struct node *at, const char *name, struct val recv,
                      int has_args, struct val *res)
{
	json_t *j = recv.j, *m;

	if (!j) {
		*res = val_take(NULL, 0);
		return 0;
	}
	if (json_is_object(j)) {
		if (has_args) {
			val_drop(&recv);
			return exec_error(x, at, "%s is not a method but has arguments", name);
		}
		m = json_object_get(j, name);
		*res = val_ref(m, !x->structs);
		val_drop(&recv);
		return 0;
	}
	if (json_is_null(j) && x->structs) {
		val_drop(&recv);
		return exec_error(x, at, "nil pointer evaluating %s.%s", "interface {}", name);
	}
	exec_error(x, at, "can't evaluate field %s in type %s", name, go_type(x, &recv));
	val_drop(&recv);
	return -1;
}

/* Apply a field chain to recv (stolen). */
static int eval_chain(struct exec *x, struct node *at, struct val recv, const char **fields,
                      size_t n, int has_args, struct val *res)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (step(x, at) < 0) {
			val_drop(&recv);
			return -1;
		}
		if (eval_field(x, at, fields[i], recv, has_args && i + 1 == n, &recv) < 0)
			return -1;
	}
	*res = recv;
	return 0;
}

static int eval_command(struct exec *x, struct val *dot, struct node *cmd, struct val *final, struct val *res);

/* An argument of a function: any operand. */
static int eval_arg(struct exec *x, struct val *dot, struct node *n, struct val *res)
{
	struct var *v;

	if (step(x, n) < 0)
		return -1;
	switch (n->type) {
	case N_DOT:
		*res = val_ref(dot->j, dot->iface);
		return 0;
	case N_NIL:
		*res = val_take(NULL, 0);
		return 0;
	case N_FIELD:
		return eval_chain(x, n, val_ref(dot->j, dot->iface), n->fields, n->nfields, 0, res);
	case N_VAR:
		v = find_var(x, n->text);
		if (!v)
			return exec_error(x, n, "undefined variable: %s", n->text);
		return eval_chain(x, n, val_ref(v->v.j, v->v.iface), n->fields, n->nfields, 0, res);
	case N_PIPE:
		return eval_pipeline(x, dot, n, res);
	case N_CHAIN: {
		struct val base;
		if (eval_arg(x, dot, n->base, &base) < 0)
			return -1;
		return eval_chain(x, n, base, n->fields, n->nfields, 0, res);
	}
	case N_IDENT: {
		/* a function as an argument is called without arguments */
		struct node cmd = *n, *kids[1] = { n };
		cmd.type = N_COMMAND;
		cmd.kids = kids;
		cmd.nkids = 1;
		return eval_command(x, dot, &cmd, NULL, res);
	}
	case N_BOOL: case N_NUMBER: case N_STRING:
		*res = val_ref(n->lit, 0);
		return 0;
	default:
		return exec_error(x, n, "can't evaluate this argument");
	}
}

static int eval_function(struct exec *x, struct val *dot, struct node *cmd, struct val *final,
                         struct val *res)
{
	const struct func *fn = cmd->kids[0]->fn;
	size_t nargs = cmd->nkids - 1 + (final != NULL), i, got = 0;
	struct val *args;
	int rc = -1;

	if ((int)nargs < fn->min || (fn->max >= 0 && (int)nargs > fn->max)) {
		if (fn->max < 0)
			return exec_error(x, cmd->kids[0], "wrong number of args for %s: want at least %d got %zu",
			                  fn->name, fn->min, nargs);
		return exec_error(x, cmd->kids[0], "wrong number of args for %s: want %d got %zu",
		                  fn->name, fn->min, nargs);
	}
	args = xcalloc(nargs + 1, sizeof(*args));
	for (i = 1; i < cmd->nkids; i++, got++) {
		if (eval_arg(x, dot, cmd->kids[i], &args[got]) < 0)
			goto out;
		if (fn->lazy && got + 1 < nargs && truth(x, &args[got]) == (fn->impl == fn_or)) {
			*res = args[got];
			args[got++] = val_take(NULL, 0);
			rc = 0;
			goto out;
		}
	}
	if (final)
		args[got++] = val_ref(final->j, final->iface);
	rc = fn->impl(x, cmd, args, nargs, res);
out:
	for (i = 0; i < got; i++)
		val_drop(&args[i]);
	free(args);
	return rc;
}

static int not_a_function(struct exec *x, struct node *cmd, struct val *final)
{
	if (cmd->nkids > 1 || final)
		return exec_error(x, cmd->kids[0], "can't give argument to non-function %.*s",
		                  (int)(cmd->kids[0]->ctx_end - cmd->kids[0]->ctx_start),
		                  x->t->src + cmd->kids[0]->ctx_start);
	return 0;
}

static int eval_command(struct exec *x, struct val *dot, struct node *cmd, struct val *final, struct val *res)
{
	struct node *first = cmd->kids[0];
	int has_args = cmd->nkids > 1 || final;
	struct var *v;

	if (step(x, cmd) < 0)
		return -1;
	switch (first->type) {
	case N_FIELD:
		return eval_chain(x, first, val_ref(dot->j, dot->iface), first->fields,
		                  first->nfields, has_args, res);
	case N_VAR:
		v = find_var(x, first->text);
		if (!v)
			return exec_error(x, first, "undefined variable: %s", first->text);
		if (!first->nfields && not_a_function(x, cmd, final) < 0)
			return -1;
		return eval_chain(x, first, val_ref(v->v.j, v->v.iface), first->fields,
		                  first->nfields, has_args, res);
	case N_CHAIN: {
		struct val base;
		if (eval_arg(x, dot, first->base, &base) < 0)
			return -1;
		return eval_chain(x, first, base, first->fields, first->nfields, has_args, res);
	}
	case N_IDENT:
		return eval_function(x, dot, cmd, final, res);
	case N_PIPE:
		if (not_a_function(x, cmd, final) < 0)
			return -1;
		return eval_pipeline(x, dot, first, res);
	default:
		if (not_a_function(x, cmd, final) < 0)
			return -1;
		return eval_arg(x, dot, first, res);
	}
}

/*
 * Run a pipeline; declarations push (or, with "=", set) variables.  The
 * result is concrete: a value read from a map loses its interface {} type,
 * and (without TMPL_STRUCTS) a null becomes the invalid value.
 */
static int eval_pipeline(struct exec *x, struct val *dot, struct node *pipe, struct val *res)
{
	struct val v = { NULL, 0 }, prev;
	size_t i;
	int d;

	for (i = 0; i < pipe->nkids; i++) {
		prev = v;
		if (eval_command(x, dot, pipe->kids[i], i ? &prev : NULL, &v) < 0) {
			if (i)
				val_drop(&prev);
			return -1;
		}
		if (i)
			val_drop(&prev);
		v.iface = 0;
		if (!x->structs && v.j && json_is_null(v.j))
			val_drop(&v);
	}
	for (d = 0; d < pipe->ndecl; d++) {
		if (pipe->is_assign) {
			struct var *var = find_var(x, pipe->decl[d]);
			if (!var) {
				val_drop(&v);
				return exec_error(x, pipe, "undefined variable: %s", pipe->decl[d]);
			}
			val_drop(&var->v);
			var->v = val_ref(v.j, 0);
		} else {
			push_val(x, pipe->decl[d], val_ref(v.j, 0));
		}
	}
	*res = v;
	return 0;
}

static int walk_list(struct exec *x, struct val *dot, struct node *list);

static int print_value(struct exec *x, struct node *at, struct val *v)
{
	struct strbuf sb = STRBUF_INIT;
	int rc;

	if (!v->j)
		sb_adds(&sb, "<no value>");
	else
		format_value(x, v->j, &sb);
	rc = emit(x, at, sb.buf, sb.len);
	sb_release(&sb);
	return rc;
}

static int walk_if_with(struct exec *x, struct val *dot, struct node *n)
{
	size_t mark = x->nvars;
	struct val v;
	int rc;

	if (eval_pipeline(x, dot, n->pipe, &v) < 0)
		return -1;
	if (truth(x, &v)) {
		if (n->type == N_WITH)
			rc = walk_list(x, &v, n->list);
		else
			rc = walk_list(x, dot, n->list);
	} else {
		rc = n->elselist ? walk_list(x, dot, n->elselist) : 0;
	}
	val_drop(&v);
	pop_vars(x, mark);
	return rc;
}

/* Set a range variable: declared ones are on top of the stack (the last
 * declared topmost), assigned ones are found by name. */
static void set_range_var(struct exec *x, struct node *pipe, int d, size_t mark, struct val v)
{
	struct var *var = pipe->is_assign ? find_var(x, pipe->decl[d])
	                                  : &x->vars[mark - (size_t)(pipe->ndecl - d)];
	if (!var)
		return;
	val_drop(&var->v);
	var->v = val_ref(v.j, v.iface);
}

/* One range iteration: the declared variables get index and element
 * (elem is borrowed); variables declared in the body die with it. */
static int range_one(struct exec *x, struct node *n, size_t mark, json_t *index, struct val elem)
{
	struct val idx = { index, 0 };
	int rc;

	if (n->pipe->ndecl == 1)
		set_range_var(x, n->pipe, 0, mark, elem);
	if (n->pipe->ndecl == 2) {
		set_range_var(x, n->pipe, 0, mark, idx);
		set_range_var(x, n->pipe, 1, mark, elem);
	}
	rc = walk_list(x, &elem, n->list);
	pop_vars(x, mark);
	return rc;
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int walk_range(struct exec *x, struct val *dot, struct node *n)
{
	size_t outer = x->nvars, mark, i, cnt = 0;
	struct val v;
	int rc = 0;

	if (eval_pipeline(x, dot, n->pipe, &v) < 0)
		return -1;
	mark = x->nvars;
	if (v.j && json_is_array(v.j)) {
		cnt = json_array_size(v.j);
		for (i = 0; i < cnt && rc == 0; i++) {
			json_t *idx = json_integer((json_int_t)i);
			rc = range_one(x, n, mark, idx, val_take(json_array_get(v.j, i), !x->structs));
			json_decref(idx);
		}
	} else if (v.j && json_is_object(v.j)) {
		const char **keys, *k;
		json_t *m;
		cnt = json_object_size(v.j);
		keys = xcalloc(cnt + 1, sizeof(*keys));
		i = 0;
		json_object_foreach(v.j, k, m)
			keys[i++] = k;
		if (!x->structs)
			qsort(keys, cnt, sizeof(*keys), key_cmp);
		for (i = 0; i < cnt && rc == 0; i++) {
			json_t *idx = json_string(keys[i]);
			rc = range_one(x, n, mark, idx, val_take(json_object_get(v.j, keys[i]), !x->structs));
			json_decref(idx);
		}
		free(keys);
	} else if (v.j && !json_is_null(v.j)) {
		struct strbuf sb = STRBUF_INIT;
		format_value(x, v.j, &sb);
		exec_error(x, n, "range can't iterate over %s", sb.buf);
		sb_release(&sb);
		rc = -1;
	}
	if (rc == 0 && cnt == 0 && n->elselist)
		rc = walk_list(x, dot, n->elselist);
	val_drop(&v);
	pop_vars(x, outer);
	return rc;
}

static int walk_node(struct exec *x, struct val *dot, struct node *n)
{
	struct val v;
	int rc;

	if (step(x, n) < 0)
		return -1;
	switch (n->type) {
	case N_TEXT:
		return emit(x, n, n->text, n->len);
	case N_ACTION:
		/* variables declared here live until the enclosing {{end}} */
		if (eval_pipeline(x, dot, n->pipe, &v) < 0)
			return -1;
		rc = n->pipe->ndecl ? 0 : print_value(x, n, &v);
		val_drop(&v);
		return rc;
	case N_IF:
	case N_WITH:
		return walk_if_with(x, dot, n);
	case N_RANGE:
		return walk_range(x, dot, n);
	case N_LIST:
		return walk_list(x, dot, n);
	default:
		return exec_error(x, n, "unknown node");
	}
}

static int walk_list(struct exec *x, struct val *dot, struct node *list)
{
	size_t i;

	for (i = 0; i < list->nkids; i++)
		if (walk_node(x, dot, list->kids[i]) < 0)
			return -1;
	return 0;
}

int tmpl_exec(struct tmpl *t, json_t *data, struct strbuf *out)
{
	struct exec x = { 0 };
	struct val dot = { data, 0 };
	int rc;

	x.t = t;
	x.out = out;
	x.out_start = out->len;
	x.structs = !!(t->flags & TMPL_STRUCTS);
	push_val(&x, "$", val_ref(data, 0));
	rc = walk_list(&x, &dot, t->root);
	pop_vars(&x, 0);
	free(x.vars);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Functions                                                            */

static int set_str(struct val *res, const char *s, size_t n)
{
	*res = val_take(json_stringn_nocheck(s, n), 0);
	return 0;
}

/* A string argument, or an error in Go's words. */
static int want_string(struct exec *x, struct node *cmd, struct val *v, const char **s, size_t *n)
{
	if (!v->j || json_is_null(v->j))
		return exec_error(x, cmd, "invalid value; expected string");
	if (!json_is_string(v->j)) {
		struct val c = { v->j, 0 };
		return exec_error(x, cmd, "wrong type for value; expected string; got %s", go_type(x, &c));
	}
	*s = json_string_value(v->j);
	*n = json_string_length(v->j);
	return 0;
}

static int fn_and(struct exec *x, struct node *cmd, struct val *a, size_t n, struct val *res)
{
	size_t i;

	for (i = 0; i + 1 < n && truth(x, &a[i]); i++)
		;
	*res = val_ref(a[i].j, 0);
	return 0;
}

static int fn_or(struct exec *x, struct node *cmd, struct val *a, size_t n, struct val *res)
{
	size_t i;

	for (i = 0; i + 1 < n && !truth(x, &a[i]); i++)
		;
	*res = val_ref(a[i].j, 0);
	return 0;
}

static int fn_not(struct exec *x, struct node *cmd, struct val *a, size_t n, struct val *res)
{
	*res = val_take(json_boolean(!truth(x, &a[0])), 0);
	return 0;
}

static int fn_len(struct exec *x, struct node *cmd, struct val *a, size_t n, struct val *res)
{
	json_t *j = a[0].j;
	size_t len;

	if (!j || json_is_null(j))
		return exec_error(x, cmd, "error calling len: len of nil pointer");
	if (json_is_string(j))
		len = json_string_length(j);
	else if (json_is_array(j))
		len = json_array_size(j);
	else if (json_is_object(j))
		len = json_object_size(j);
	else {
		struct val c = { j, 0 };
		return exec_error(x, cmd, "error calling len: len of type %s", go_type(x, &c));
	}
	*res = val_take(json_integer((json_int_t)len), 0);
	return 0;
}

/* An integral number as an index; -1 if v is not one. */
static int as_index(json_t *v, long long *out)
{
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return 0;
	}
	if (json_is_real(v) && json_real_value(v) == floor(json_real_value(v)) &&
	    fabs(json_real_value(v)) < 9e18) {
		*out = (long long)json_real_value(v);
		return 0;
	}
	return -1;
}

static int fn_index(struct exec *x, struct node *cmd, struct val *a, size_t n, struct val *res)
{
	json_t *item = a[0].j;
	size_t i;

	if (!item || json_is_null(item))
		return exec_error(x, cmd, "error calling index: index of untyped nil");
	json_incref(item);
	for (i = 1; i < n; i++) {
		json_t *key = a[i].j, *next = NULL;
		long long k;
		struct val c = { key, 0 };

		if (json_is_array(item)) {
			if (!key || as_index(key, &k) < 0) {
				json_decref(item);
				return exec_error(x, cmd, "error calling index: cannot index slice/array with type %s",
				                  go_type(x, &c));
			}
			if (k < 0 || (size_t)k >= json_array_size(item)) {
				json_decref(item);
				return exec_error(x, cmd, "error calling index: index out of range: %lld", k);
			}
			next = json_array_get(item, (size_t)k);
		} else if (json_is_object(item)) {
			if (!key || !json_is_string(key)) {
				json_decref(item);
				return exec_error(x, cmd, "error calling index: value has type %s; should be string",
				                  go_type(x, &c));
			}
			next = json_object_get(item, json_string_value(key));
		} else {
			struct val ci = { item, 0 };
			exec_error(x, cmd, "error calling index: can't index item of type %s", go_type(x, &ci));
			json_decref(item);
			return -1;
		}
		json_decref(item);
		item = json_incref(next);
		if (!item && i + 1 < n)
			return exec_error(x, cmd, "error calling index: index of untyped nil");
	}
	*res = val_take(item, 0);
	return 0;
}

/* fmt.Sprint / Sprintln: operands' %v, spaces between non-strings (always for ln). */
static int sprint(struct exec *x, struct val *a, size_t n, int ln, struct val *res)
{
	struct strbuf sb = STRBUF_INIT;
	size_t i;

	for (i = 0; i < n; i++) {
		int str = a[i].j && json_is_string(a[i].j);
		int prevstr = i && a[i - 1].j && json_is_string(a[i - 1].j);
		if (i && (ln || (!str && !prevstr)))
			sb_addc(&sb, ' ');
		format_value(x, a[i].j, &sb);
	}
	if (ln)
		sb_addc(&sb, '\n');
	set_str(res, sb.buf, sb.len);
	sb_release(&sb);
	return 0;
}

static int fn_print(struct exec *x, struct node *cmd, struct val *a, size_t n, struct val *res)
{
	return sprint(x, a, n, 0, res);
}

static int fn_println(struct exec *x, struct node *cmd, struct val *a, size_t n, struct val *res)
{
	return sprint(x, a, n, 1, res);
}

/* ---- printf ---- */

struct fmtspec {
	int minus, plus, space, zero, sharp;
	int width, prec;        /* -1 when absent */
	char verb;
};

static size_t utf8_len(const char *s, size_t n)
{
	size_t i, count = 0;

	for (i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			count++;
	return count;
}

/* Append s padded to the width (in runes), as fmt's pad does. */
static void pad(struct strbuf *out, const struct fmtspec *f, const char *s, size_t n)
{
	size_t w = utf8_len(s, n), i;
	int padn = f->width > 0 && (size_t)f->width > w ? f->width - (int)w : 0;

	if (!f->minus)
		for (i = 0; i < (size_t)padn; i++)
			sb_addc(out, f->zero ? '0' : ' ');
	sb_add(out, s, n);
	if (f->minus)
		for (i = 0; i < (size_t)padn; i++)
			sb_addc(out, ' ');
}

/* strconv.Quote: printable runes as is, the rest escaped. */
static void go_quote(const char *s, size_t n, struct strbuf *out)
{
	size_t i;

	sb_addc(out, '"');
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *e = NULL;
		switch (c) {
		case '\a': e = "\\a"; break;
		case '\b': e = "\\b"; break;
		case '\f': e = "\\f"; break;
		case '\n': e = "\\n"; break;
		case '\r': e = "\\r"; break;
		case '\t': e = "\\t"; break;
		case '\v': e = "\\v"; break;
		case '\\': e = "\\\\"; break;
		case '"': e = "\\\""; break;
		}
		if (e)
			sb_adds(out, e);
		else if (c < 0x20 || c == 0x7f)
			sb_addf(out, "\\x%02x", c);
		else
			sb_addc(out, c);
	}
	sb_addc(out, '"');
}

static void bad_verb(const struct exec *x, const struct fmtspec *f, json_t *j, struct strbuf *out)
{
	struct val v = { j, 0 };

	sb_addf(out, "%%!%c(", f->verb);
	if (!j || json_is_null(j)) {
		sb_adds(out, "<nil>");
	} else {
		sb_addf(out, "%s=", go_type(x, &v));
		format_value(x, j, out);
	}
	sb_addc(out, ')');
}

/* Build a C conversion for an integer or float verb from the Go flags. */
static void c_format(const struct fmtspec *f, const char *len, char verb, char *buf, size_t size)
{
	snprintf(buf, size, "%%%s%s%s%s%s*.*%s%c", f->minus ? "-" : "", f->plus ? "+" : "",
	         f->space ? " " : "", f->zero && !f->minus ? "0" : "", f->sharp ? "#" : "",
	         len, verb);
}

static void fmt_number(const struct exec *x, const struct fmtspec *f, json_t *j, struct strbuf *out)
{
	char cf[32];
	long long ll;
	double d = json_is_integer(j) ? (double)json_integer_value(j) : json_real_value(j);

	switch (f->verb) {
	case 'd': case 'x': case 'X': case 'o': case 'b': case 'c':
		if (as_index(j, &ll) < 0) {
			bad_verb(x, f, j, out);
			return;
		}
		if (f->verb == 'b') {
			char bits[70];
			int i = 0;
			unsigned long long u = ll < 0 ? 0 - (unsigned long long)ll : (unsigned long long)ll;
			do
				bits[i++] = (char)('0' + (u & 1));
			while ((u >>= 1) && i < 68);
			struct strbuf sb = STRBUF_INIT;
			if (ll < 0)
				sb_addc(&sb, '-');
			while (i--)
				sb_addc(&sb, bits[i]);
			pad(out, f, sb.buf, sb.len);
			sb_release(&sb);
			return;
		}
		if (f->verb == 'c') {
			char ch = (char)ll;
			pad(out, f, &ch, 1);
			return;
		}
		c_format(f, "ll", f->verb, cf, sizeof(cf));
		sb_addf(out, cf, f->width < 0 ? 0 : f->width, f->prec, ll);
		return;
	case 'e': case 'E': case 'f': case 'F':
		c_format(f, "", f->verb, cf, sizeof(cf));
		sb_addf(out, cf, f->width < 0 ? 0 : f->width, f->prec < 0 ? 6 : f->prec, d);
		return;
	case 'g': case 'G':
		if (f->prec < 0) {
			struct strbuf sb = STRBUF_INIT;
			if (f->plus && d >= 0)
				sb_addc(&sb, '+');
			go_float(d, &sb);
			pad(out, f, sb.buf, sb.len);
			sb_release(&sb);
			return;
		}
		c_format(f, "", f->verb, cf, sizeof(cf));
		sb_addf(out, cf, f->width < 0 ? 0 : f->width, f->prec, d);
		return;
	default:
		bad_verb(x, f, j, out);
	}
}

static void fmt_one(const struct exec *x, const struct fmtspec *f, json_t *j, struct strbuf *out)
{
	struct strbuf sb = STRBUF_INIT;

	if (f->verb == 'v' || (f->verb == 's' && j && (json_is_object(j) || json_is_array(j)))) {
		if (j && json_is_number(j) && f->verb == 'v' && (f->plus || f->zero)) {
			struct fmtspec g = *f;
			g.verb = json_is_integer(j) ? 'd' : 'g';
			fmt_number(x, &g, j, out);
			return;
		}
		format_value(x, j && !json_is_null(j) ? j : NULL, &sb);
		pad(out, f, sb.buf, sb.len);
	} else if (!j || json_is_null(j)) {
		bad_verb(x, f, NULL, out);
	} else if (json_is_string(j)) {
		const char *s = json_string_value(j);
		size_t n = json_string_length(j), i;
		switch (f->verb) {
		case 's':
			if (f->prec >= 0) {     /* precision counts runes */
				size_t runes = 0;
				for (i = 0; i < n; i++)
					if (((unsigned char)s[i] & 0xc0) != 0x80 && runes++ == (size_t)f->prec)
						break;
				n = i;
			}
			pad(out, f, s, n);
			break;
		case 'q':
			go_quote(s, n, &sb);
			pad(out, f, sb.buf, sb.len);
			break;
		case 'x': case 'X':
			for (i = 0; i < n; i++)
				sb_addf(&sb, f->verb == 'x' ? "%02x" : "%02X", (unsigned char)s[i]);
			pad(out, f, sb.buf, sb.len);
			break;
		default:
			bad_verb(x, f, j, out);
		}
	} else if (json_is_boolean(j)) {
		if (f->verb == 't')
			pad(out, f, json_is_true(j) ? "true" : "false", json_is_true(j) ? 4 : 5);
		else
			bad_verb(x, f, j, out);
	} else if (json_is_number(j)) {
		fmt_number(x, f, j, out);
	} else {
		bad_verb(x, f, j, out);
	}
	sb_release(&sb);
}

/* Parse a width or precision; -2 when it exceeds Go's limit. */
static int fmt_num(const char **p)
{
	long v = 0;

	while (isdigit((unsigned char)**p)) {
		v = v * 10 + (**p - '0');
		if (v > TMPL_MAX_FMTWIDTH)
			v = TMPL_MAX_FMTWIDTH + 1;
		(*p)++;
	}
	return v > TMPL_MAX_FMTWIDTH ? -2 : (int)v;
}

static int fn_printf(struct exec *x, struct node *cmd, struct val *a, size_t n, struct val *res)
{
	struct strbuf sb = STRBUF_INIT;
	const char *p, *fmt;
	size_t flen, argi = 1;

	if (want_string(x, cmd, &a[0], &fmt, &flen) < 0)
		return -1;
	for (p = fmt; p < fmt + flen; ) {
		struct fmtspec f = { 0, 0, 0, 0, 0, -1, -1, 0 };
		if (*p != '%') {
			sb_addc(&sb, *p++);
			continue;
		}
		p++;
		for (;; p++) {
			if (*p == '-') f.minus = 1;
			else if (*p == '+') f.plus = 1;
			else if (*p == ' ') f.space = 1;
			else if (*p == '0') f.zero = 1;
			else if (*p == '#') f.sharp = 1;
			else break;
		}
		if (isdigit((unsigned char)*p) && (f.width = fmt_num(&p)) == -2) {
			sb_adds(&sb, "%!(BADWIDTH)");
			f.width = -1;
		}
		if (*p == '.') {
			p++;
			if ((f.prec = fmt_num(&p)) == -2) {
				sb_adds(&sb, "%!(BADPREC)");
				f.prec = -1;
			}
		}
		if (p >= fmt + flen) {
			sb_adds(&sb, "%!(NOVERB)");
			break;
		}
		f.verb = *p++;
		if (f.verb == '%') {
			sb_addc(&sb, '%');
			continue;
		}
		if (argi >= n) {
			sb_addf(&sb, "%%!%c(MISSING)", f.verb);
			continue;
		}
		fmt_one(x, &f, a[argi++].j, &sb);
	}
	if (argi < n) {
		sb_adds(&sb, "%!(EXTRA ");
		for (; argi < n; argi++) {
			struct val c = { a[argi].j, 0 };
			if (!c.j || json_is_null(c.j)) {
				sb_adds(&sb, "<nil>");
			} else {
				sb_addf(&sb, "%s=", go_type(x, &c));
				format_value(x, c.j, &sb);
			}
			if (argi + 1 < n)
				sb_adds(&sb, ", ");
		}
		sb_addc(&sb, ')');
	}
	set_str(res, sb.buf, sb.len);
	sb_release(&sb);
	return 0;
}

/* ---- comparisons ---- */

enum { K_INVALID, K_BOOL, K_NUMBER, K_STRING, K_OTHER };

static int basic_kind(json_t *j)
{
	if (!j || json_is_null(j))
		return K_INVALID;
	if (json_is_boolean(j))
		return K_BOOL;
	if (json_is_number(j))
		return K_NUMBER;
	if (json_is_string(j))
		return K_STRING;
	return K_OTHER;
}

/*
 * a == b for basic values: 0 or 1, or -1 with an error for incomparable
 * kinds.  Numbers compare by value whatever their JSON type, and a missing
 * value equals only another missing value.
 */
static int equal(struct exec *x, struct node *cmd, const char *name, json_t *a, json_t *b)
{
	int ka = basic_kind(a), kb = basic_kind(b);

	if (ka == K_OTHER || kb == K_OTHER)
		return exec_error(x, cmd, "error calling %s: invalid type for comparison", name);
	if (ka == K_INVALID || kb == K_INVALID)
		return ka == kb;
	if (ka != kb)
		return exec_error(x, cmd, "error calling %s: incompatible types for comparison", name);
	switch (ka) {
	case K_BOOL:
		return json_is_true(a) == json_is_true(b);
	case K_NUMBER:
		return json_number_value(a) == json_number_value(b);
	default:
		return json_string_length(a) == json_string_length(b) &&
		       !memcmp(json_string_value(a), json_string_value(b), json_string_length(a));
	}
}

static int fn_eq(struct exec *x, struct node *cmd, struct val *a, size_t n, struct val *res)
{
	size_t i;
	int r = 0;

	if (n < 2)
		return exec_error(x, cmd, "error calling eq: missing argument for comparison");
	for (i = 1; i < n && !r; i++)
		if ((r = equal(x, cmd, "eq", a[0].j, a[i].j)) < 0)
			return -1;
	*res = val_take(json_boolean(r), 0);
	return 0;
}

static int fn_ne(struct exec *x, struct node *cmd, struct val *a, size_t n, struct val *res)
{
	int r = equal(x, cmd, "ne", a[0].j, a[1].j);

	if (r < 0)
		return -1;
	*res = val_take(json_boolean(!r), 0);
	return 0;
}

/* a < b: -1 error, else 0/1. */
static int less(struct exec *x, struct node *cmd, const char *name, json_t *a, json_t *b)
{
	int ka = basic_kind(a), kb = basic_kind(b);
	size_t la, lb;
	int c;

	if (ka == K_OTHER || kb == K_OTHER || ka == K_INVALID || kb == K_INVALID)
		return exec_error(x, cmd, "error calling %s: invalid type for comparison", name);
	if (ka != kb)
		return exec_error(x, cmd, "error calling %s: incompatible types for comparison", name);
	switch (ka) {
	case K_NUMBER:
		return json_number_value(a) < json_number_value(b);
	case K_STRING:
		la = json_string_length(a);
		lb = json_string_length(b);
		c = memcmp(json_string_value(a), json_string_value(b), la < lb ? la : lb);
		return c < 0 || (c == 0 && la < lb);
	default:
		return exec_error(x, cmd, "error calling %s: invalid type for comparison", name);
	}
}

/* lt le gt ge in terms of less(): op 0 lt, 1 le, 2 gt, 3 ge. */
static int compare(struct exec *x, struct node *cmd, struct val *a, int op, struct val *res)
{
	static const char *const names[] = { "lt", "le", "gt", "ge" };
	int r;

	if (op == 0 || op == 3)
		r = less(x, cmd, names[op], a[0].j, a[1].j);
	else
		r = less(x, cmd, names[op], a[1].j, a[0].j);
	if (r < 0)
		return -1;
	if (op == 1 || op == 3)
		r = !r;
	*res = val_take(json_boolean(r), 0);
	return 0;
}

static int fn_lt(struct exec *x, struct node *c, struct val *a, size_t n, struct val *r) { return compare(x, c, a, 0, r); }
static int fn_le(struct exec *x, struct node *c, struct val *a, size_t n, struct val *r) { return compare(x, c, a, 1, r); }
static int fn_gt(struct exec *x, struct node *c, struct val *a, size_t n, struct val *r) { return compare(x, c, a, 2, r); }
static int fn_ge(struct exec *x, struct node *c, struct val *a, size_t n, struct val *r) { return compare(x, c, a, 3, r); }

/* ---- escaping (Go's html and urlquery builtins) ---- */

/* The text the escapers work on: one string as is, else fmt.Sprint of all. */
static void args_text(struct exec *x, struct val *a, size_t n, struct strbuf *s)
{
	struct val r;

	if (n == 1 && a[0].j && json_is_string(a[0].j)) {
		sb_add(s, json_string_value(a[0].j), json_string_length(a[0].j));
		return;
	}
	sprint(x, a, n, 0, &r);
	sb_add(s, json_string_value(r.j), json_string_length(r.j));
	val_drop(&r);
}

static int fn_html(struct exec *x, struct node *cmd, struct val *a, size_t n, struct val *res)
{
	struct strbuf s = STRBUF_INIT, sb = STRBUF_INIT;
	size_t i;

	args_text(x, a, n, &s);
	for (i = 0; i < s.len; i++) {
		switch (s.buf[i]) {
		case '<': sb_adds(&sb, "&lt;"); break;
		case '>': sb_adds(&sb, "&gt;"); break;
		case '&': sb_adds(&sb, "&amp;"); break;
		case '\'': sb_adds(&sb, "&#39;"); break;
		case '"': sb_adds(&sb, "&#34;"); break;
		case 0: sb_adds(&sb, "\xef\xbf\xbd"); break;
		default: sb_addc(&sb, s.buf[i]);
		}
	}
	set_str(res, sb.buf, sb.len);
	sb_release(&s);
	sb_release(&sb);
	return 0;
}

static int fn_urlquery(struct exec *x, struct node *cmd, struct val *a, size_t n, struct val *res)
{
	struct strbuf s = STRBUF_INIT, sb = STRBUF_INIT;
	size_t i;

	args_text(x, a, n, &s);
	for (i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.buf[i];
		if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~')
			sb_addc(&sb, c);
		else if (c == ' ')
			sb_addc(&sb, '+');
		else
			sb_addf(&sb, "%%%02X", c);
	}
	set_str(res, sb.buf, sb.len);
	sb_release(&s);
	sb_release(&sb);
	return 0;
}

/* ---- json, prettyjson (0.16.2's inspect functions) ---- */

static int encode(struct exec *x, struct val *a, int indent, struct val *res)
{
	struct strbuf sb = STRBUF_INIT;

	if (!a[0].j)
		sb_adds(&sb, "null");
	else
		dj_encode(a[0].j, indent, x->structs ? 0 : DJ_SORT, &sb);
	set_str(res, sb.buf, sb.len);
	sb_release(&sb);
	return 0;
}

static int fn_json(struct exec *x, struct node *cmd, struct val *a, size_t n, struct val *res)
{
	return encode(x, a, 0, res);
}

static int fn_prettyjson(struct exec *x, struct node *cmd, struct val *a, size_t n, struct val *res)
{
	return encode(x, a, 4, res);
}

/* ---- text functions ---- */

static int map_case(struct exec *x, struct node *cmd, struct val *a, int (*conv)(int), struct val *res)
{
	const char *s;
	size_t n, i;
	char *buf;

	if (want_string(x, cmd, &a[0], &s, &n) < 0)
		return -1;
	buf = xmalloc(n + 1);
	for (i = 0; i < n; i++)
		buf[i] = (unsigned char)s[i] < 0x80 ? (char)conv((unsigned char)s[i]) : s[i];
	set_str(res, buf, n);
	free(buf);
	return 0;
}

static int fn_upper(struct exec *x, struct node *cmd, struct val *a, size_t n, struct val *res)
{
	return map_case(x, cmd, a, toupper, res);
}

static int fn_lower(struct exec *x, struct node *cmd, struct val *a, size_t n, struct val *res)
{
	return map_case(x, cmd, a, tolower, res);
}

/* strings.Title: upper-case the first letter of each word. */
static int fn_title(struct exec *x, struct node *cmd, struct val *a, size_t n, struct val *res)
{
	const char *s;
	size_t len, i;
	char *buf;
	int prev_sep = 1;

	if (want_string(x, cmd, &a[0], &s, &len) < 0)
		return -1;
	buf = xmalloc(len + 1);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		buf[i] = prev_sep && c < 0x80 ? (char)toupper(c) : (char)c;
		prev_sep = c < 0x80 && !isalnum(c) && c != '_';
	}
	set_str(res, buf, len);
	free(buf);
	return 0;
}

/* strings.Join; elements that are not strings are printed with %v. */
static int fn_join(struct exec *x, struct node *cmd, struct val *a, size_t n, struct val *res)
{
	struct strbuf sb = STRBUF_INIT;
	const char *sep;
	size_t seplen, i;

	if (!a[0].j || !json_is_array(a[0].j)) {
		struct val c = { a[0].j, 0 };
		return exec_error(x, cmd, "wrong type for value; expected []string; got %s", go_type(x, &c));
	}
	if (want_string(x, cmd, &a[1], &sep, &seplen) < 0)
		return -1;
	for (i = 0; i < json_array_size(a[0].j); i++) {
		if (i)
			sb_add(&sb, sep, seplen);
		format_value(x, json_array_get(a[0].j, i), &sb);
	}
	set_str(res, sb.buf, sb.len);
	sb_release(&sb);
	return 0;
}

/* strings.Split; an empty separator splits after each UTF-8 sequence. */
static int fn_split(struct exec *x, struct node *cmd, struct val *a, size_t n, struct val *res)
{
	const char *s, *sep, *hit;
	size_t len, seplen, i;
	json_t *arr;

	if (want_string(x, cmd, &a[0], &s, &len) < 0 || want_string(x, cmd, &a[1], &sep, &seplen) < 0)
		return -1;
	arr = json_array();
	if (!seplen) {
		for (i = 0; i < len; ) {
			size_t k = 1;
			while (i + k < len && ((unsigned char)s[i + k] & 0xc0) == 0x80)
				k++;
			json_array_append_new(arr, json_stringn_nocheck(s + i, k));
			i += k;
		}
	} else {
		const char *end = s + len;
		while ((hit = memmem(s, (size_t)(end - s), sep, seplen))) {
			json_array_append_new(arr, json_stringn_nocheck(s, (size_t)(hit - s)));
			s = hit + seplen;
		}
		json_array_append_new(arr, json_stringn_nocheck(s, (size_t)(end - s)));
	}
	*res = val_take(arr, 0);
	return 0;
}
