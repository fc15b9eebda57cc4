/* t-json: the jansson layer and the Go-compatible encoder. */
#include <string.h>

#include "json.h"
#include "tap.h"

static char *enc(const char *text, int indent, int flags)
{
	json_t *v;
	struct strbuf sb = STRBUF_INIT;
	if (dj_parse(text, strlen(text), &v) < 0)
		return xstrdup(dm_strerr());
	dj_encode(v, indent, flags, &sb);
	json_decref(v);
	return sb_detach(&sb);
}

static char *gofmt(const char *text, int structs)
{
	json_t *v;
	struct strbuf sb = STRBUF_INIT;
	if (dj_parse(text, strlen(text), &v) < 0)
		return xstrdup(dm_strerr());
	dj_format_go(v, structs, &sb);
	json_decref(v);
	return sb_detach(&sb);
}

static const struct {
	const char *in;
	int indent, flags;
	const char *want;
} enc_cases[] = {
	{ "{}", 0, 0, "{}" },
	{ "[]", 4, 0, "[]" },
	{ "{\"b\":1,\"a\":2}", 0, 0, "{\"b\":1,\"a\":2}" },
	{ "{\"b\":1,\"a\":2}", 0, DJ_SORT, "{\"a\":2,\"b\":1}" },
	{ "{\"a\":[1,2],\"b\":{}}", 4, 0, "{\n    \"a\": [\n        1,\n        2\n    ],\n    \"b\": {}\n}" },
	{ "\"<a&b>\"", 0, 0, "\"\\u003ca\\u0026b\\u003e\"" },
	{ "\"tab\\tnl\\ncr\\rq\\\"bs\\\\\"", 0, 0, "\"tab\\tnl\\ncr\\rq\\\"bs\\\\\"" },
	{ "\"\\u0001\\b\\f\"", 0, 0, "\"\\u0001\\u0008\\u000c\"" },
	{ "\"\\u2028x\\u2029\"", 0, 0, "\"\\u2028x\\u2029\"" },
	{ "\"h\\u00e9llo \\u4e16\"", 0, 0, "\"h\xc3\xa9llo \xe4\xb8\x96\"" },
	{ "[true,false,null]", 0, 0, "[true,false,null]" },
	{ "[-3,0,9007199254740993]", 0, 0, "[-3,0,9007199254740993]" },
	{ "[2.5,1e21,0.000001,1e-7]", 0, 0, "[2.5,1e+21,0.000001,1e-07]" },
	{ "{\"ConfigVersion\":3,\"Driver\":{\"IPAddress\":\"127.0.0.1:2376\"}}", 4, 0,
	  "{\n    \"ConfigVersion\": 3,\n    \"Driver\": {\n        \"IPAddress\": \"127.0.0.1:2376\"\n    }\n}" },
};

static const struct {
	const char *in;
	int structs;
	const char *want;
} go_cases[] = {
	{ "\"s\"", 0, "s" },
	{ "null", 0, "<nil>" },
	{ "[\"a\",\"b\"]", 0, "[a b]" },
	{ "{\"b\":1,\"a\":\"x\"}", 0, "map[a:x b:1]" },
	{ "{\"b\":1,\"a\":\"x\"}", 1, "{1 x}" },
	{ "{\"IsSwarm\":false,\"Address\":\"\",\"Env\":null,\"L\":[]}", 1, "{false  [] []}" },
	{ "{\"m\":{\"y\":true}}", 0, "map[m:map[y:true]]" },
};

int main(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(enc_cases); i++) {
		char *got = enc(enc_cases[i].in, enc_cases[i].indent, enc_cases[i].flags);
		is_str(got, enc_cases[i].want, "encode %s (indent %d)", enc_cases[i].in, enc_cases[i].indent);
		free(got);
	}
	for (size_t i = 0; i < ARRAY_SIZE(go_cases); i++) {
		char *got = gofmt(go_cases[i].in, go_cases[i].structs);
		is_str(got, go_cases[i].want, "%%v of %s", go_cases[i].in);
		free(got);
	}

	/* getters */
	json_t *o;
	const char *s;
	long long n;
	int b;
	static const char doc[] =
		"{\"s\":\"x\",\"n\":7,\"r\":7.0,\"f\":1.5,\"b\":true,\"o\":{\"p\":{\"q\":\"deep\"}}}";
	ok(dj_parse(doc, strlen(doc), &o) == 0, "parse");
	ok(dj_get_str(o, "s", &s) == 0 && !strcmp(s, "x"), "get_str");
	ok(dj_get_str(o, "n", &s) < 0 && !strcmp(dm_strerr(), "n: expected string"), "get_str type error names the key");
	ok(dj_get_str(o, "zz", &s) < 0 && !strcmp(dm_strerr(), "zz: missing"), "get_str missing");
	ok(dj_get_int(o, "n", &n) == 0 && n == 7, "get_int");
	ok(dj_get_int(o, "r", &n) == 0 && n == 7, "get_int of a whole real");
	ok(dj_get_int(o, "f", &n) < 0, "get_int of 1.5 fails");
	ok(dj_get_bool(o, "b", &b) == 0 && b == 1, "get_bool");
	is_str(dj_str(o, "missing", "def"), "def", "dj_str default");
	is_int(dj_int(o, "s", 42), 42, "dj_int default on wrong type");
	is_str(json_string_value(dj_path(o, "o.p.q")), "deep", "dj_path");
	ok(dj_path(o, "o.x.q") == NULL, "dj_path missing");
	json_decref(o);

	ok(dj_parse("", 0, &o) < 0 && !strcmp(dm_strerr(), "unexpected end of JSON input"),
	   "empty input: Go's words");
	ok(dj_parse("{\"a\":", 5, &o) < 0 && !strcmp(dm_strerr(), "unexpected end of JSON input"),
	   "truncated input: Go's words");
	ok(dj_parse("{x}", 3, &o) < 0 && strstr(dm_strerr(), "invalid JSON"), "garbage");
	return done_testing();
}
