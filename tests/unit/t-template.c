/* t-template.c - the Go text/template subset: a table of sources, data and
 * the expected output or error, with 0.16.2's transcripts where they exist
 * (inspect --format, ls --format) and Go's behaviour elsewhere. */
#include <string.h>

#include "json.h"
#include "tap.h"
#include "template.h"

/* foo's config.json from the 0.16.2 store (transcripts/store-example) */
static const char host_json[] =
	"{\"ConfigVersion\":3,\"Driver\":{\"IPAddress\":\"127.0.0.1:52376\",\"MachineName\":\"foo\""
	",\"SSHUser\":\"\",\"SSHPort\":0,\"SSHKeyPath\":\"\",\"StorePath\":\"/home/user/.docker/mac"
	"hine\",\"SwarmMaster\":false,\"SwarmHost\":\"\",\"SwarmDiscovery\":\"\",\"URL\":\"tcp://12"
	"7.0.0.1:52376\"},\"DriverName\":\"none\",\"HostOptions\":{\"Driver\":\"\",\"Memory\":0,\"D"
	"isk\":0,\"EngineOptions\":{\"ArbitraryFlags\":[],\"Dns\":null,\"GraphDir\":\"\",\"Env\":[]"
	",\"Ipv6\":false,\"InsecureRegistry\":[],\"Labels\":[],\"LogLevel\":\"\",\"StorageDriver\":"
	"\"\",\"SelinuxEnabled\":false,\"TlsVerify\":true,\"RegistryMirror\":[],\"InstallURL\":\"ht"
	"tps://get.docker.com\"},\"SwarmOptions\":{\"IsSwarm\":false,\"Address\":\"\",\"Discovery\""
	":\"\",\"Agent\":false,\"Master\":false,\"Host\":\"tcp://0.0.0.0:3376\",\"Image\":\"swarm:l"
	"atest\",\"Strategy\":\"spread\",\"Heartbeat\":0,\"Overcommit\":0,\"ArbitraryFlags\":[],\"A"
	"rbitraryJoinFlags\":[],\"Env\":null,\"IsExperimental\":false},\"AuthOptions\":{\"CertDir\""
	":\"/home/user/.docker/machine/certs\",\"CaCertPath\":\"/home/user/.docker/machine/certs/ca"
	".pem\",\"CaPrivateKeyPath\":\"/home/user/.docker/machine/certs/ca-key.pem\",\"CaCertRemote"
	"Path\":\"\",\"ServerCertPath\":\"/home/user/.docker/machine/machines/foo/server.pem\",\"Se"
	"rverKeyPath\":\"/home/user/.docker/machine/machines/foo/server-key.pem\",\"ClientKeyPath\""
	":\"/home/user/.docker/machine/certs/key.pem\",\"ServerCertRemotePath\":\"\",\"ServerKeyRem"
	"otePath\":\"\",\"ClientCertPath\":\"/home/user/.docker/machine/certs/cert.pem\",\"ServerCe"
	"rtSANs\":[],\"StorePath\":\"/home/user/.docker/machine/machines/foo\"}},\"Name\":\"foo\"}";

/* an ls list item of bar, fields in 0.16.2's struct order */
static const char item_json[] =
	"{\"Name\":\"bar\",\"Active\":\"-\",\"ActiveHost\":false,\"ActiveSwarm\":false,\"DriverName"
	"\":\"none\",\"State\":\"Running\",\"URL\":\"tcp://127.0.0.1:52377\",\"SwarmOptions\":{\"Is"
	"Swarm\":false,\"Address\":\"\",\"Discovery\":\"\",\"Agent\":false,\"Master\":false,\"Host\""
	":\"tcp://0.0.0.0:3376\",\"Image\":\"swarm:latest\",\"Strategy\":\"spread\",\"Heartbeat\":0"
	",\"Overcommit\":0,\"ArbitraryFlags\":[],\"ArbitraryJoinFlags\":[],\"Env\":null,\"IsExperim"
	"ental\":false},\"EngineOptions\":{\"ArbitraryFlags\":[],\"Dns\":null,\"GraphDir\":\"\",\"E"
	"nv\":[],\"Ipv6\":false,\"InsecureRegistry\":[],\"Labels\":[],\"LogLevel\":\"\",\"StorageDr"
	"iver\":\"\",\"SelinuxEnabled\":false,\"TlsVerify\":true,\"RegistryMirror\":[],\"InstallURL"
	"\":\"https://get.docker.com\"},\"Swarm\":\"\",\"DockerVersion\":\"Unknown\",\"ResponseTime"
	"\":\"3ms\",\"Error\":\"Unable to query docker version: Cannot connect to the docker engine"
	" endpoint\"}";

static const char want_json_driver[] =
	"{\"IPAddress\":\"127.0.0.1:52376\",\"MachineName\":\"foo\",\"SSHKeyPath\":\"\",\"SSHPort\""
	":0,\"SSHUser\":\"\",\"StorePath\":\"/home/user/.docker/machine\",\"SwarmDiscovery\":\"\",\""
	"SwarmHost\":\"\",\"SwarmMaster\":false,\"URL\":\"tcp://127.0.0.1:52376\"}";

static const char want_prettyjson[] =
	"{\n    \"CaCertPath\": \"/home/user/.docker/machine/certs/ca.pem\",\n    \"CaCertRemotePat"
	"h\": \"\",\n    \"CaPrivateKeyPath\": \"/home/user/.docker/machine/certs/ca-key.pem\",\n  "
	"  \"CertDir\": \"/home/user/.docker/machine/certs\",\n    \"ClientCertPath\": \"/home/user"
	"/.docker/machine/certs/cert.pem\",\n    \"ClientKeyPath\": \"/home/user/.docker/machine/ce"
	"rts/key.pem\",\n    \"ServerCertPath\": \"/home/user/.docker/machine/machines/foo/server.p"
	"em\",\n    \"ServerCertRemotePath\": \"\",\n    \"ServerCertSANs\": [],\n    \"ServerKeyPa"
	"th\": \"/home/user/.docker/machine/machines/foo/server-key.pem\",\n    \"ServerKeyRemotePa"
	"th\": \"\",\n    \"StorePath\": \"/home/user/.docker/machine/machines/foo\"\n}";

static const char all_fields_src[] =
	"{{.Name}}|{{.Active}}|{{.ActiveHost}}|{{.ActiveSwarm}}|{{.DriverName}}|{{.State}}|{{.URL}}"
	"|{{.SwarmOptions}}|{{.EngineOptions}}|{{.Swarm}}|{{.DockerVersion}}|{{.ResponseTime}}|{{.E"
	"rror}}";

static const char want_all_fields[] =
	"bar|-|false|false|none|Running|tcp://127.0.0.1:52377|{false   false false tcp://0.0.0.0:33"
	"76 swarm:latest spread 0 0 [] [] [] false}|{[] []  [] false [] []   false true [] https://"
	"get.docker.com}||Unknown|3ms|Unable to query docker version: Cannot connect to the docker "
	"engine endpoint";

#define ALL TMPL_FN_ALL
#define ST (TMPL_FN_ALL | TMPL_STRUCTS)
#define H host_json
#define L "{\"L\":[\"x\",\"y\"],\"Empty\":[],\"M\":{\"b\":2,\"a\":1},\"N\":null,\"F\":2.5}"

struct tcase {
	unsigned flags;
	const char *src;
	const char *data;
	const char *want;       /* expected output, or NULL */
	const char *err;        /* expected error, or NULL */
};

static const struct tcase cases[] = {
	/* 0.16.2 transcripts: inspect --format (map data) */
	{ TMPL_FN_JSON, "{{.Driver.URL}}", H, "tcp://127.0.0.1:52376", NULL },
	{ TMPL_FN_JSON, "{{json .Driver}}", H, want_json_driver, NULL },
	{ TMPL_FN_JSON, "{{prettyjson .HostOptions.AuthOptions}}", H, want_prettyjson, NULL },
	{ TMPL_FN_JSON, "{{.Nope}}", H, "<no value>", NULL },
	{ TMPL_FN_JSON, "{{", H, NULL, "template: :1: unclosed action" },
	/* ls --format (struct data, no functions in 0.16.2) */
	{ TMPL_STRUCTS, all_fields_src, item_json, want_all_fields, NULL },
	{ TMPL_STRUCTS, "{{json .Name}}", item_json, NULL, "template: :1: function \"json\" not defined" },
	{ 0, "{{upper .Name}}", H, NULL, "template: :1: function \"upper\" not defined" },
	/* fields and printing */
	{ ALL, "{{.Name}}", H, "foo", NULL },
	{ ALL, "{{.Nope.Deeper}}", H, "<no value>", NULL },
	{ ALL, "{{.ConfigVersion}} {{.Driver.SSHPort}}", H, "3 0", NULL },
	{ ALL, "{{.Driver.SwarmMaster}} {{.HostOptions.EngineOptions.TlsVerify}}", H, "false true", NULL },
	{ ALL, "{{.HostOptions.EngineOptions.Dns}}", H, "<no value>", NULL },
	{ ST, "{{.HostOptions.EngineOptions.Dns}}", H, "[]", NULL },
	{ ALL, "{{.HostOptions.EngineOptions.ArbitraryFlags}}", H, "[]", NULL },
	{ ALL, "{{.Driver}}", H, "map[IPAddress:127.0.0.1:52376 MachineName:foo SSHKeyPath: SSHPort:0 "
	  "SSHUser: StorePath:/home/user/.docker/machine SwarmDiscovery: SwarmHost: SwarmMaster:false "
	  "URL:tcp://127.0.0.1:52376]", NULL },
	{ ST, "{{.HostOptions.SwarmOptions}}", H,
	  "{false   false false tcp://0.0.0.0:3376 swarm:latest spread 0 0 [] [] [] false}", NULL },
	{ ALL, "{{.M}} {{.L}} {{.F}}", L, "map[a:1 b:2] [x y] 2.5", NULL },
	{ ALL, "{{1e6}} {{0.000012}} {{2.5}} {{-7}} {{0x1F}} {{'a'}}", L, "1e+06 1.2e-05 2.5 -7 31 97", NULL },
	{ ALL, "{{\"a\\tb\\u00e9\"}}|{{`raw\\n`}}|{{true}}", L, "a\tb\xc3\xa9|raw\\n|true", NULL },
	/* exec errors, positioned as Go does */
	{ ALL, "{{.Driver.URL.Host}}", H, NULL,
	  "template: :1:9: executing \"\" at <.Driver.URL.Host>: can't evaluate field Host in type interface {}" },
	{ ALL, "{{with .Name}}{{.X}}{{end}}", H, NULL,
	  "template: :1:16: executing \"\" at <.X>: can't evaluate field X in type string" },
	{ ST, "{{.Name.X}}", H, NULL,
	  "template: :1:7: executing \"\" at <.Name.X>: can't evaluate field X in type string" },
	{ ST, "x\n {{.Name.X}}", H, NULL,
	  "template: :2:8: executing \"\" at <.Name.X>: can't evaluate field X in type string" },
	{ ALL, "{{.HostOptions.AuthOptions.CertDir.X}}", H, NULL,
	  "template: :1:14: executing \"\" at <.HostOptions.AuthOpt...>: can't evaluate field X in type interface {}" },
	{ ALL, "{{.Name 1}}", H, NULL,
	  "template: :1:2: executing \"\" at <.Name>: Name is not a method but has arguments" },
	{ ALL, "{{\"x\" 1}}", H, NULL,
	  "template: :1:2: executing \"\" at <\"x\">: can't give argument to non-function \"x\"" },
	{ ALL, "{{upper}}", H, NULL,
	  "template: :1:2: executing \"\" at <upper>: wrong number of args for upper: want 1 got 0" },
	{ ALL, "{{upper .Driver.SSHPort}}", H, NULL,
	  "template: :1:2: executing \"\" at <upper .Driver.SSHPor...>: wrong type for value; expected string; got float64" },
	{ ALL, "{{range .HostOptions.EngineOptions.InstallURL}}{{end}}", H, NULL,
	  "template: :1:8: executing \"\" at <{{range .HostOptions...>: range can't iterate over https://get.docker.com" },
	{ ALL, "{{index .L 5}}", L, NULL,
	  "template: :1:2: executing \"\" at <index .L 5>: error calling index: index out of range: 5" },
	{ ALL, "{{index .N 0}}", L, NULL,
	  "template: :1:2: executing \"\" at <index .N 0>: error calling index: index of untyped nil" },
	{ ALL, "{{eq 1 \"a\"}}", L, NULL,
	  "template: :1:2: executing \"\" at <eq 1 \"a\">: error calling eq: incompatible types for comparison" },
	{ ALL, "{{lt .L .L}}", L, NULL,
	  "template: :1:2: executing \"\" at <lt .L .L>: error calling lt: invalid type for comparison" },
	{ ALL, "{{len 3}}", L, NULL,
	  "template: :1:2: executing \"\" at <len 3>: error calling len: len of type float64" },
	/* control structures */
	{ ALL, "{{if .Driver.SwarmMaster}}m{{else}}n{{end}}", H, "n", NULL },
	{ ALL, "{{if eq .DriverName \"none\"}}yes{{end}}", H, "yes", NULL },
	{ ALL, "{{if ne .Name \"foo\"}}a{{else if eq .Name \"foo\"}}b{{else}}c{{end}}", H, "b", NULL },
	{ ALL, "{{if .Nope}}a{{else if .Nope}}b{{else}}c{{end}}", H, "c", NULL },
	{ ALL, "{{with .Nope}}x{{else}}y{{end}}{{with .Driver}}{{.MachineName}}{{end}}", H, "yfoo", NULL },
	{ ALL, "{{range $k, $v := .M}}{{$k}}={{$v}};{{end}}", L, "a=1;b=2;", NULL },
	{ ALL, "{{range $i, $e := .L}}{{$i}}:{{$e}} {{end}}", L, "0:x 1:y ", NULL },
	{ ALL, "{{range .L}}[{{.}}]{{end}}", L, "[x][y]", NULL },
	{ ALL, "{{range .Empty}}x{{else}}none{{end}}{{range .N}}x{{else}}nil{{end}}", L, "nonenil", NULL },
	{ ALL, "{{range $e := .L}}{{$e}}{{$.F}}{{end}}", L, "x2.5y2.5", NULL },
	{ ST, "{{range $k, $v := .M}}{{$k}}{{end}}", L, "ba", NULL },
	/* variables */
	{ ALL, "{{$n := .Name}}{{$n}}-{{$n}}", H, "foo-foo", NULL },
	{ ALL, "{{$x := 1}}{{range .L}}{{$x = 2}}{{end}}{{$x}}", L, "2", NULL },
	{ ALL, "{{if true}}{{$y := 1}}{{end}}{{$y}}", L, NULL, "template: :1: undefined variable \"$y\"" },
	{ ALL, "{{$m := .M}}{{$m.a}}", L, "1", NULL },
	/* pipelines and functions */
	{ ALL, "{{.Name | printf \"%s!\"}}", H, "foo!", NULL },
	{ ALL, "{{.Name | upper | printf \"<%s>\"}}", H, "<FOO>", NULL },
	{ ALL, "{{printf \"%-6s|%5s|%d|%v|%q|%t\" .Name .DriverName .ConfigVersion .Driver.SSHPort .Name "
	  ".Driver.SwarmMaster}}", H, "foo   | none|3|0|\"foo\"|false", NULL },
	{ ALL, "{{printf \"%05d %x %.2f %5.1f%% %-4s|\" 42 255 3.14159 2.25 \"\xc3\xa9\"}}", L,
	  "00042 ff 3.14   2.2% \xc3\xa9   |", NULL },
	{ ALL, "{{printf \"%s %s\" \"a\"}}|{{printf \"%d\" 5 \"x\"}}|{{printf \"%d\" \"a\"}}", L,
	  "a %!s(MISSING)|5%!(EXTRA string=x)|%!d(string=a)", NULL },
	{ ALL, "{{printf \"%.2s|%q\" \"abc\" \"a\\\"b\\n\"}}", L, "ab|\"a\\\"b\\n\"", NULL },
	{ ALL, "{{upper .Name}} {{lower \"ABC\"}} {{title \"hello wide-world\"}}", H, "FOO abc Hello Wide-World", NULL },
	{ ALL, "{{join (split \"a,b,c\" \",\") \"-\"}} {{join .L \"+\"}} {{len (split \"abc\" \"\")}}", L,
	  "a-b-c x+y 3", NULL },
	{ ALL, "{{len .Driver}} {{len .Name}}", H, "10 3", NULL },
	{ ALL, "{{len .M}} {{len .Empty}}", L, "2 0", NULL },
	{ ALL, "{{index .Driver \"URL\"}}", H, "tcp://127.0.0.1:52376", NULL },
	{ ALL, "{{index .M \"zz\"}} {{index .M \"b\"}}", L, "<no value> 2", NULL },
	{ ALL, "{{index .L 1}}", L, "y", NULL },
	{ ALL, "{{(index .HostOptions \"AuthOptions\").CertDir}}", H, "/home/user/.docker/machine/certs", NULL },
	{ ALL, "{{and 1 0 2}} {{or 0 \"\" \"x\"}} {{not .Nope}} {{and .Nope (index .Nope 1)}}", L,
	  "0 x true <no value>", NULL },
	{ ALL, "{{lt 1 2}} {{le 2 2}} {{gt \"b\" \"a\"}} {{ge 1.5 2}} {{eq .F 2.5}} {{eq 3 1 2 3}}", L,
	  "true true true false true true", NULL },
	{ ALL, "{{eq .Nope \"x\"}} {{ne .F 1}}", L, "false true", NULL },
	{ ALL, "{{print \"a\" 1 2 \"b\"}}|{{println \"a\" 1}}|{{print .Nope}}|{{json .Nope}}", L,
	  "a1 2b|a 1\n|<nil>|null", NULL },
	{ ALL, "{{html \"<a href='x'>&\"}} {{urlquery \"a b&c\"}}", L,
	  "&lt;a href=&#39;x&#39;&gt;&amp; a+b%26c", NULL },
	{ ST, "{{json .}}", "{\"b\":1,\"a\":[true]}", "{\"b\":1,\"a\":[true]}", NULL },
	{ ALL, "{{json .}}", "{\"b\":1,\"a\":\"<&>\"}", "{\"a\":\"\\u003c\\u0026\\u003e\",\"b\":1}", NULL },
	/* text, trimming, comments */
	{ ALL, "a  {{- .Name -}}  b", H, "afoob", NULL },
	{ ALL, "a {{-3}} b", L, "a -3 b", NULL },
	{ ALL, "x{{/* hi */}}y x {{- /* hi */ -}} y", L, "xy xy", NULL },
	{ ALL, "no actions at all\n", L, "no actions at all\n", NULL },
	{ ALL, "{{.Name}}\t{{.DriverName}}\n", H, "foo\tnone\n", NULL },
	/* parse errors in Go's words */
	{ ALL, "{{if .X}}", L, NULL, "template: :1: unexpected EOF" },
	{ ALL, "{{end}}", L, NULL, "template: :1: unexpected {{end}}" },
	{ ALL, "{{else}}", L, NULL, "template: :1: unexpected {{else}}" },
	{ ALL, "{{}}", L, NULL, "template: :1: missing value for command" },
	{ ALL, "{{if}}{{end}}", L, NULL, "template: :1: missing value for if" },
	{ ALL, "{{\"abc}}", L, NULL, "template: :1: unterminated quoted string" },
	{ ALL, "{{.A | 1}}", L, NULL, "template: :1: non executable command in pipeline stage 2" },
	{ ALL, "{{#}}", L, NULL, "template: :1: unexpected \"#\" in command" },
	{ ALL, "a\n{{.X", L, NULL, "template: :2: unclosed action" },
	{ ALL, "{{(.A}}", L, NULL, "template: :1: unclosed left paren" },
	{ ALL, "{{.A)}}", L, NULL, "template: :1: unexpected right paren U+0029 ')'" },
	{ ALL, "{{nope 1}}", L, NULL, "template: :1: function \"nope\" not defined" },
	{ ALL, "{{.A.}}", L, NULL, "template: :1: unexpected <.> in operand" },
	{ ALL, "{{.A#}}", L, NULL, "template: :1: bad character U+0023 '#'" },
	{ ALL, "{{3x}}", L, NULL, "template: :1: bad number syntax: \"3x\"" },
	{ ALL, "{{/* x }}", L, NULL, "template: :1: unclosed comment" },
	{ ALL, "{{range .L}}{{else if .X}}{{end}}", L, NULL, "template: :1: unexpected <if> in input" },
	{ ALL, "{{template \"x\"}}", L, NULL, "template: :1: unsupported action <template>" },
};

/* The source as a one-line TAP description. */
static const char *desc(const char *src, struct strbuf *sb)
{
	sb_reset(sb);
	for (; *src; src++) {
		if (*src == '\n')
			sb_adds(sb, "\\n");
		else if (*src == '#')
			sb_adds(sb, "\\#");
		else
			sb_addc(sb, *src);
	}
	return sb->buf;
}

static void test_table(void)
{
	struct strbuf d = STRBUF_INIT;
	struct strbuf out = STRBUF_INIT;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct tcase *c = &cases[i];
		json_t *data = NULL;
		struct tmpl *t;
		int rc = -1;

		if (dj_parse(c->data, strlen(c->data), &data) < 0) {
			ok(0, "case %zu: data parses: %s", i, dm_strerr());
			continue;
		}
		sb_reset(&out);
		t = tmpl_parse(c->src, c->flags);
		if (t)
			rc = tmpl_exec(t, data, &out);
		if (c->err)
			is_str(rc < 0 ? dm_strerr() : out.buf, c->err, "error: %s", desc(c->src, &d));
		else
			is_str(rc == 0 ? out.buf : dm_strerr(), c->want, "%s", desc(c->src, &d));
		tmpl_free(t);
		json_decref(data);
	}
	sb_release(&out);
	sb_release(&d);
}

/* One parsed template runs many times (ls runs it per machine). */
static void test_reuse(void)
{
	struct strbuf out = STRBUF_INIT;
	struct tmpl *t = tmpl_parse("{{.Name}};", TMPL_STRUCTS);
	const char *names[] = { "{\"Name\":\"a\"}", "{\"Name\":\"b\"}" };
	size_t i;

	for (i = 0; t && i < ARRAY_SIZE(names); i++) {
		json_t *d = NULL;
		dj_parse(names[i], strlen(names[i]), &d);
		tmpl_exec(t, d, &out);
		json_decref(d);
	}
	is_str(out.buf, "a;b;", "template reused");
	tmpl_free(t);
	sb_release(&out);
}

/* Hostile templates end with an error, quickly. */
static void test_limits(void)
{
	struct strbuf src = STRBUF_INIT, out = STRBUF_INIT;
	json_t *d = NULL;
	struct tmpl *t;
	int i, rc;

	dj_parse(L, strlen(L), &d);
	for (i = 0; i < 9; i++)
		sb_adds(&src, "{{range $.L}}{{range $.L}}{{range $.M}}");
	for (i = 0; i < 27; i++)
		sb_adds(&src, "{{end}}");
	t = tmpl_parse(src.buf, TMPL_FN_ALL);
	ok(t != NULL, "nested ranges parse");
	rc = t ? tmpl_exec(t, d, &out) : 0;
	ok(rc < 0 && strstr(dm_strerr(), "execution exceeds"), "step cap: %s", dm_strerr());
	tmpl_free(t);

	sb_reset(&src);
	for (i = 0; i < 500; i++)
		sb_adds(&src, "{{if 1}}");
	t = tmpl_parse(src.buf, TMPL_FN_ALL);
	ok(!t && strstr(dm_strerr(), "max nesting depth exceeded"), "control depth cap: %s", dm_strerr());

	sb_reset(&src);
	sb_adds(&src, "{{");
	for (i = 0; i < 500; i++)
		sb_adds(&src, "(");
	t = tmpl_parse(src.buf, TMPL_FN_ALL);
	ok(!t && strstr(dm_strerr(), "max nesting depth exceeded"), "paren depth cap: %s", dm_strerr());

	t = tmpl_parse("{{printf \"%1000001d\" 1}}", TMPL_FN_ALL);
	sb_reset(&out);
	rc = t ? tmpl_exec(t, d, &out) : -1;
	is_str(rc == 0 ? out.buf : dm_strerr(), "%!(BADWIDTH)1", "printf width cap");
	tmpl_free(t);

	sb_reset(&out);
	out.cap = 4;
	t = tmpl_parse("{{.L}}{{.L}}", TMPL_FN_ALL);
	rc = t ? tmpl_exec(t, d, &out) : 0;
	ok(rc < 0, "output cap of the caller's buffer is an error: %s", dm_strerr());
	tmpl_free(t);

	json_decref(d);
	sb_release(&src);
	sb_release(&out);
}

int main(void)
{
	plan_lazy();
	test_table();
	test_reuse();
	test_limits();
	return done_testing();
}
