/* json.c - jansson helpers and a Go-compatible encoder. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

static json_t *member(json_t *obj, const char *key)
{
	return json_is_object(obj) ? json_object_get(obj, key) : NULL;
}

int dj_get_str(json_t *obj, const char *key, const char **out)
{
	json_t *v = member(obj, key);
	if (!v)
		return dm_seterr("%s: missing", key);
	if (!json_is_string(v))
		return dm_seterr("%s: expected string", key);
	*out = json_string_value(v);
	return 0;
}

int dj_get_int(json_t *obj, const char *key, long long *out)
{
	json_t *v = member(obj, key);
	if (!v)
		return dm_seterr("%s: missing", key);
	if (json_is_integer(v))
		*out = json_integer_value(v);
	else if (json_is_real(v) && floor(json_real_value(v)) == json_real_value(v))
		*out = (long long)json_real_value(v);
	else
		return dm_seterr("%s: expected integer", key);
	return 0;
}

int dj_get_bool(json_t *obj, const char *key, int *out)
{
	json_t *v = member(obj, key);
	if (!v)
		return dm_seterr("%s: missing", key);
	if (!json_is_boolean(v))
		return dm_seterr("%s: expected boolean", key);
	*out = json_is_true(v);
	return 0;
}

int dj_get_obj(json_t *obj, const char *key, json_t **out)
{
	json_t *v = member(obj, key);
	if (!v)
		return dm_seterr("%s: missing", key);
	if (!json_is_object(v))
		return dm_seterr("%s: expected object", key);
	*out = v;
	return 0;
}

int dj_get_arr(json_t *obj, const char *key, json_t **out)
{
	json_t *v = member(obj, key);
	if (!v)
		return dm_seterr("%s: missing", key);
	if (!json_is_array(v))
		return dm_seterr("%s: expected array", key);
	*out = v;
	return 0;
}

const char *dj_str(json_t *obj, const char *key, const char *def)
{
	json_t *v = member(obj, key);
	return json_is_string(v) ? json_string_value(v) : def;
}

long long dj_int(json_t *obj, const char *key, long long def)
{
	long long n;
	json_t *v = member(obj, key);
	if (!v || json_is_null(v))
		return def;
	return dj_get_int(obj, key, &n) == 0 ? n : def;
}

int dj_bool(json_t *obj, const char *key, int def)
{
	json_t *v = member(obj, key);
	return json_is_boolean(v) ? json_is_true(v) : def;
}

json_t *dj_path(json_t *root, const char *dotted)
{
	char key[256];
	const char *p = dotted;
	json_t *cur = root;
	while (cur && *p) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		if (n >= sizeof(key))
			return NULL;
		memcpy(key, p, n);
		key[n] = 0;
		cur = member(cur, key);
		p += n + (dot ? 1 : 0);
	}
	return cur;
}

void dj_set(json_t *obj, const char *key, json_t *steal)
{
	if (!steal || json_object_set_new(obj, key, steal) < 0)
		abort();
}

void dj_set_str(json_t *obj, const char *key, const char *s)
{
	dj_set(obj, key, json_string(s ? s : ""));
}

void dj_set_int(json_t *obj, const char *key, long long v)
{
	dj_set(obj, key, json_integer(v));
}

void dj_set_bool(json_t *obj, const char *key, int v)
{
	dj_set(obj, key, json_boolean(v));
}

int dj_parse(const char *text, size_t len, json_t **out)
{
	json_error_t e;
	json_t *v = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
	if (!v) {
		if (len == 0 || e.position >= (int)len)
			return dm_seterr("unexpected end of JSON input");
		return dm_seterr("invalid JSON: %s", e.text);
	}
	*out = v;
	return 0;
}

/* ---- Go-compatible encoder ---- */

static const char hexd[] = "0123456789abcdef";

static int enc_string(const char *s, size_t n, struct strbuf *out)
{
	size_t i = 0, run = 0;   /* s[run..i) is a run of bytes copied as they are */
	sb_addc(out, '"');
	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		const char *esc = NULL;
		char u[7];
		if (c >= 0x80) {
			/* U+2028 and U+2029 are escaped; other UTF-8 passes (jansson validated it). */
			if (c == 0xe2 && i + 2 < n && (unsigned char)s[i + 1] == 0x80 &&
			    ((unsigned char)s[i + 2] & 0xfe) == 0xa8) {
				sb_add(out, s + run, i - run);
				sb_adds(out, (unsigned char)s[i + 2] == 0xa8 ? "\\u2028" : "\\u2029");
				i += 3;
				run = i;
				continue;
			}
			i++;
			continue;
		}
		if (c == '"')
			esc = "\\\"";
		else if (c == '\\')
			esc = "\\\\";
		else if (c == '\n')
			esc = "\\n";
		else if (c == '\r')
			esc = "\\r";
		else if (c == '\t')
			esc = "\\t";
		else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
			u[0] = '\\', u[1] = 'u', u[2] = '0', u[3] = '0';
			u[4] = hexd[c >> 4], u[5] = hexd[c & 15], u[6] = 0;
			esc = u;
		}
		if (esc) {
			sb_add(out, s + run, i - run);
			sb_adds(out, esc);
			run = i + 1;
		}
		i++;
	}
	sb_add(out, s + run, i - run);
	return sb_addc(out, '"');
}

static void enc_real(double d, struct strbuf *out)
{
	/* Go: %f-like for 1e-6 <= |d| < 1e21, else exponent form, shortest repr. */
	char buf[64];
	double a = fabs(d);
	if (d == floor(d) && a < 1e21) {
		snprintf(buf, sizeof(buf), "%.0f", d);
	} else {
		int prec;
		for (prec = 1; prec <= 17; prec++) {
			snprintf(buf, sizeof(buf), "%.*g", prec, d);
			if (strtod(buf, NULL) == d)
				break;
		}
		if (a >= 1e-6 && a < 1e21 && strchr(buf, 'e')) {
			/* expand to fixed notation */
			for (prec = 0; prec <= 30; prec++) {
				snprintf(buf, sizeof(buf), "%.*f", prec, d);
				if (strtod(buf, NULL) == d)
					break;
			}
		} else if (strchr(buf, 'e')) {
			/* Go writes e-07 as e-07 and e+21 as e+21: same as C */
		}
	}
	sb_adds(out, buf);
}

struct kv {
	const char *k;
	json_t *v;
};

static int kvcmp(const void *a, const void *b)
{
	return strcmp(((const struct kv *)a)->k, ((const struct kv *)b)->k);
}

static void newline(struct strbuf *out, int indent, int depth)
{
	sb_addc(out, '\n');
	for (int i = 0; i < indent * depth; i++)
		sb_addc(out, ' ');
}

static struct kv *object_items(json_t *v, int sort, size_t *n)
{
	const char *k;
	json_t *x;
	size_t i = 0;
	struct kv *kv = xcalloc(json_object_size(v) + 1, sizeof(*kv));
	json_object_foreach(v, k, x) {
		kv[i].k = k;
		kv[i].v = x;
		i++;
	}
	if (sort)
		qsort(kv, i, sizeof(*kv), kvcmp);
	*n = i;
	return kv;
}

static int enc_value(json_t *v, int indent, int flags, int depth, struct strbuf *out)
{
	size_t i, n;
	switch (json_typeof(v)) {
	case JSON_NULL:
		return sb_adds(out, "null");
	case JSON_TRUE:
		return sb_adds(out, "true");
	case JSON_FALSE:
		return sb_adds(out, "false");
	case JSON_INTEGER:
		return sb_addf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	case JSON_REAL:
		enc_real(json_real_value(v), out);
		return 0;
	case JSON_STRING:
		return enc_string(json_string_value(v), json_string_length(v), out);
	case JSON_ARRAY:
		n = json_array_size(v);
		if (!n)
			return sb_adds(out, "[]");
		sb_addc(out, '[');
		for (i = 0; i < n; i++) {
			if (i)
				sb_addc(out, ',');
			if (indent)
				newline(out, indent, depth + 1);
			enc_value(json_array_get(v, i), indent, flags, depth + 1, out);
		}
		if (indent)
			newline(out, indent, depth);
		return sb_addc(out, ']');
	case JSON_OBJECT: {
		struct kv *kv = object_items(v, flags & DJ_SORT, &n);
		if (!n) {
			free(kv);
			return sb_adds(out, "{}");
		}
		sb_addc(out, '{');
		for (i = 0; i < n; i++) {
			if (i)
				sb_addc(out, ',');
			if (indent)
				newline(out, indent, depth + 1);
			enc_string(kv[i].k, strlen(kv[i].k), out);
			sb_adds(out, indent ? ": " : ":");
			enc_value(kv[i].v, indent, flags, depth + 1, out);
		}
		free(kv);
		if (indent)
			newline(out, indent, depth);
		return sb_addc(out, '}');
	}
	}
	return 0;
}

int dj_encode(json_t *v, int indent, int flags, struct strbuf *out)
{
	size_t cap = out->cap;
	out->cap = 0;     /* encoding is bounded by the input, which was capped */
	enc_value(v, indent, flags, 0, out);
	out->cap = cap;
	return 0;
}

int dj_format_go(json_t *v, int structs, struct strbuf *out)
{
	size_t i, n;
	switch (json_typeof(v)) {
	case JSON_NULL:
		return sb_adds(out, "<nil>");
	case JSON_STRING:
		return sb_add(out, json_string_value(v), json_string_length(v));
	case JSON_ARRAY:
		sb_addc(out, '[');
		for (i = 0; i < json_array_size(v); i++) {
			if (i)
				sb_addc(out, ' ');
			dj_format_go(json_array_get(v, i), structs, out);
		}
		return sb_addc(out, ']');
	case JSON_OBJECT: {
		struct kv *kv = object_items(v, !structs, &n);
		sb_adds(out, structs ? "{" : "map[");
		for (i = 0; i < n; i++) {
			if (i)
				sb_addc(out, ' ');
			if (structs) {
				if (json_is_null(kv[i].v))
					sb_adds(out, "[]");
				else
					dj_format_go(kv[i].v, structs, out);
			} else {
				sb_adds(out, kv[i].k);
				sb_addc(out, ':');
				dj_format_go(kv[i].v, structs, out);
			}
		}
		free(kv);
		return sb_addc(out, structs ? '}' : ']');
	}
	default:
		return enc_value(v, 0, 0, 0, out);
	}
}
