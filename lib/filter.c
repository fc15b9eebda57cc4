/* filter.c - `ls --filter` with 0.16.2's semantics; see filter.h.
 *
 * Each spec is "key=value" with the key lower-cased.  Values of one key are
 * alternatives (OR); the keys present must all match (AND).  name values are
 * regular expressions compiled at parse time, so a bad one fails before any
 * machine is listed.
 */
#include <ctype.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"

/* A name pattern longer than this is refused rather than compiled. */
#define FILTER_MAX_PATTERN 4096

struct filter {
	struct strvec names, drivers, states, swarms, labels;
	regex_t *re;            /* one per names.v[i] */
	size_t nre;
};

/*
 * Rewrite the Go (RE2) spellings users write most into POSIX ERE: the
 * classes \d \s \w and their negations, inside or outside brackets, and a
 * leading (?i), which becomes *icase.  Everything else is passed through
 * for regcomp to judge.
 */
static char *go_regex_to_ere(const char *re, int *icase)
{
	struct strbuf sb = STRBUF_INIT;
	int in_bracket = 0;
	const char *p = re;

	*icase = 0;
	if (str_starts(p, "(?i)")) {
		*icase = 1;
		p += 4;
	}
	for (; *p; p++) {
		if (*p == '\\' && p[1]) {
			static const char *const outside[][2] = {
				{ "d", "[0-9]" }, { "D", "[^0-9]" },
				{ "s", "[[:space:]]" }, { "S", "[^[:space:]]" },
				{ "w", "[[:alnum:]_]" }, { "W", "[^[:alnum:]_]" },
			};
			static const char *const inside[][2] = {
				{ "d", "0-9" }, { "s", "[:space:]" }, { "w", "[:alnum:]_" },
			};
			const char *rep = NULL;
			size_t i;

			if (in_bracket) {
				for (i = 0; i < ARRAY_SIZE(inside); i++)
					if (p[1] == inside[i][0][0])
						rep = inside[i][1];
			} else {
				for (i = 0; i < ARRAY_SIZE(outside); i++)
					if (p[1] == outside[i][0][0])
						rep = outside[i][1];
			}
			if (rep) {
				sb_adds(&sb, rep);
				p++;
				continue;
			}
			sb_addc(&sb, *p++);
			sb_addc(&sb, *p);
			continue;
		}
		if (!in_bracket && *p == '[') {
			in_bracket = 1;
			sb_addc(&sb, *p);
			if (p[1] == '^')
				sb_addc(&sb, *++p);
			if (p[1] == ']')          /* a leading ']' is literal */
				sb_addc(&sb, *++p);
			continue;
		}
		if (in_bracket && *p == '[' && (p[1] == ':' || p[1] == '=' || p[1] == '.')) {
			const char *end = strchr(p + 2, p[1]);
			if (end && end[1] == ']') {
				sb_add(&sb, p, (size_t)(end + 2 - p));
				p = end + 1;
				continue;
			}
		}
		if (in_bracket && *p == ']')
			in_bracket = 0;
		sb_addc(&sb, *p);
	}
	return sb_detach(&sb);
}

static int compile_name(const char *pattern, regex_t *re)
{
	char *ere, msg[256];
	int icase, rc;

	if (strlen(pattern) > FILTER_MAX_PATTERN)
		return dm_seterr("error parsing regexp: expression too large: `%.40s...`", pattern);
	ere = go_regex_to_ere(pattern, &icase);
	rc = regcomp(re, ere, REG_EXTENDED | REG_NOSUB | (icase ? REG_ICASE : 0));
	free(ere);
	if (rc) {
		regerror(rc, re, msg, sizeof(msg));
		return dm_seterr("error parsing regexp: %s: `%s`", msg, pattern);
	}
	return 0;
}

void filter_free(struct filter *f)
{
	size_t i;

	if (!f)
		return;
	for (i = 0; i < f->nre; i++)
		regfree(&f->re[i]);
	free(f->re);
	sv_clear(&f->names);
	sv_clear(&f->drivers);
	sv_clear(&f->states);
	sv_clear(&f->swarms);
	sv_clear(&f->labels);
	free(f);
}

/* The value list a lower-cased key selects, or NULL for an unknown key. */
static struct strvec *key_values(struct filter *f, const char *key)
{
	if (!strcmp(key, "name"))
		return &f->names;
	if (!strcmp(key, "driver"))
		return &f->drivers;
	if (!strcmp(key, "state"))
		return &f->states;
	if (!strcmp(key, "swarm"))
		return &f->swarms;
	if (!strcmp(key, "label"))
		return &f->labels;
	return NULL;
}

static int parse_spec(struct filter *f, const char *spec)
{
	const char *eq = strchr(spec, '=');
	struct strvec *values;
	char *key, *k;

	if (!eq)
		return dm_seterr("Unsupported filter syntax");
	key = xstrndup(spec, (size_t)(eq - spec));
	for (k = key; *k; k++)
		*k = (char)tolower((unsigned char)*k);
	values = key_values(f, key);
	if (!values) {
		dm_seterr("Unsupported filter key '%s'", key);
		free(key);
		return -1;
	}
	free(key);
	sv_push(values, eq + 1);
	return 0;
}

struct filter *filter_parse(const struct strvec *specs)
{
	struct filter *f = xcalloc(1, sizeof(*f));
	size_t i;

	for (i = 0; specs && i < specs->n; i++)
		if (parse_spec(f, specs->v[i]) < 0)
			goto fail;
	f->re = xcalloc(f->names.n + 1, sizeof(*f->re));
	for (i = 0; i < f->names.n; i++) {
		if (compile_name(f->names.v[i], &f->re[i]) < 0)
			goto fail;
		f->nre++;
	}
	return f;
fail:
	filter_free(f);
	return NULL;
}

int filter_needs_state(const struct filter *f)
{
	return f && f->states.n > 0;
}

/* Whether s equals one of vals, ignoring case; true when vals is empty. */
static int match_any_casefold(const struct strvec *vals, const char *s)
{
	size_t i;

	if (!vals->n)
		return 1;
	for (i = 0; i < vals->n; i++)
		if (str_casecmp_eq(vals->v[i], s ? s : ""))
			return 1;
	return 0;
}

static int match_name(const struct filter *f, const char *name)
{
	size_t i;

	if (!f->nre)
		return 1;
	for (i = 0; i < f->nre; i++)
		if (regexec(&f->re[i], name ? name : "", 0, NULL, 0) == 0)
			return 1;
	return 0;
}

/*
 * One label filter against one engine label "k=v": the keys must be equal
 * and the values equal ignoring case.  A filter without '=' asks only that
 * the label has key k.
 */
static int label_matches(const char *want, const char *have)
{
	const char *weq = strchr(want, '='), *heq = strchr(have, '=');
	size_t wk = weq ? (size_t)(weq - want) : strlen(want);
	size_t hk = heq ? (size_t)(heq - have) : strlen(have);

	if (wk != hk || strncmp(want, have, wk))
		return 0;
	if (!weq)
		return 1;
	return heq && str_casecmp_eq(weq + 1, heq + 1);
}

static int match_labels(const struct strvec *want, const struct strvec *have)
{
	size_t i, j;

	if (!want->n)
		return 1;
	for (i = 0; have && i < want->n; i++)
		for (j = 0; j < have->n; j++)
			if (label_matches(want->v[i], have->v[j]))
				return 1;
	return 0;
}

int filter_match(const struct filter *f, const struct filter_item *it)
{
	if (!f)
		return 1;
	return match_any_casefold(&f->swarms, it->swarm_master) &&
	       match_any_casefold(&f->drivers, it->driver) &&
	       match_any_casefold(&f->states, it->state) &&
	       match_name(f, it->name) &&
	       match_labels(&f->labels, it->labels);
}
