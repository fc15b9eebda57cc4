/* t-drvkit: the driver side of the protocol — describe rendering, line
 * framing, host records from stdin (framing and caps), flag getters, host
 * record helpers, and drv_main's dispatch and exit status (in a child). */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "drvkit.h"
#include "json.h"
#include "tap.h"

static const struct opt t_flags[] = {
	{ "t-token", 0, OPT_STRING, NULL, "T_TOKEN", "API token", 0, NULL, OPTF_REQUIRED | OPTF_SECRET },
	{ "t-image", 0, OPT_STRING, "ubuntu", "T_IMAGE", "Image", 0, NULL, 0 },
	{ "t-port", 0, OPT_INT, "22", "T_PORT", "SSH port", 0, NULL, 0 },
	{ "t-count", 0, OPT_INT, NULL, NULL, "Count", 0, NULL, 0 },
	{ "t-ipv6", 0, OPT_BOOL, NULL, "T_IPV6", "IPv6", 0, NULL, 0 },
	{ "t-on", 0, OPT_BOOL, "true", NULL, "On by default", 0, NULL, 0 },
	{ "t-group", 0, OPT_SLICE, "docker-machine", NULL, "Groups", 0, NULL, 0 },
	{ "t-ports", 0, OPT_SLICE, NULL, NULL, "Ports", 0, NULL, 0 },
	{ "t-two", 0, OPT_SLICE, "a,b", NULL, "Two", 0, NULL, 0 },
};

/* ---- drv_main's handlers: each answers what it was given ---- */

static void h_run(const char *verb, json_t *host)
{
	if (!strcmp(verb, "precreate-check")) {
		drv_precreate_error("no such region");
		return;
	}
	drv_log("%s: %zu keys", verb, json_object_size(host));
	drv_ok();
}

static void h_batch(const char *verb, json_t **hosts, size_t n)
{
	for (size_t i = 0; i < n; i++)
		drv_answer(drv_host_name(hosts[i]), "State", json_string("Running"));
}

static const struct drv_verb t_verbs[] = {
	{ "precreate-check", h_run, NULL },
	{ "create", h_run, NULL },
	{ "state", NULL, h_batch },
};

static const struct drv_spec t_spec = { "test", t_flags, ARRAY_SIZE(t_flags), t_verbs, ARRAY_SIZE(t_verbs) };

/* ---- helpers ---- */

static void parse(const char *text, json_t **out)
{
	if (dj_parse(text, strlen(text), out) < 0) {
		ok(0, "test JSON %s: %s", text, dm_strerr());
		*out = json_object();
	}
}

static void precreate_fails(void)
{
	drv_precreate_error("region not available");
}

static char *tmpfile_with(const char *name, const char *data, size_t n)
{
	char *p = xasprintf("%s/%s", tap_tmpdir(), name);
	unlink(p);
	if (write_file_atomic(p, data, n, 0600) < 0)
		ok(0, "write %s: %s", p, dm_strerr());
	return p;
}

/* Run f() with fd 1 sent to a file; the text written goes to out. */
static void capture(void (*f)(void), struct strbuf *out)
{
	char *p = xasprintf("%s/stdout", tap_tmpdir());
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600), saved = dup(1);
	fflush(stdout);
	dup2(fd, 1);
	close(fd);
	f();
	dup2(saved, 1);
	close(saved);
	sb_reset(out);
	sb_read_file(out, p, 1 << 20);
	free(p);
}

/* drv_main(argv) in a child with stdin from input; returns the exit status. */
static int run_main(const char *const *args, const char *input, struct strbuf *out)
{
	char *in = tmpfile_with("stdin", input, strlen(input));
	char *op = xasprintf("%s/main.out", tap_tmpdir());
	char *argv[8];
	int argc = 0, st = 0;
	pid_t pid;

	argv[argc++] = (char *)"dm-driver-test";
	for (; args && *args && argc < 7; args++)
		argv[argc++] = (char *)*args;
	argv[argc] = NULL;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		int i = open(in, O_RDONLY), o = open(op, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int dn = open("/dev/null", O_WRONLY);
		dup2(i, 0);
		dup2(o, 1);
		dup2(dn, 2);
		_exit(drv_main(&t_spec, argc, argv));
	}
	waitpid(pid, &st, 0);
	sb_reset(out);
	sb_read_file(out, op, 1 << 20);
	free(in);
	free(op);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* ---- describe ---- */

static void test_describe(void)
{
	struct strbuf sb = STRBUF_INIT;
	json_t *d = drv_describe_json(&t_spec);
	dj_encode(d, 0, 0, &sb);
	is_str(sb.buf,
	       "{\"Name\":\"test\",\"Flags\":["
	       "{\"Name\":\"t-token\",\"Type\":\"string\",\"Usage\":\"API token\",\"EnvVar\":\"T_TOKEN\","
	       "\"Value\":\"\",\"Required\":true,\"Secret\":true},"
	       "{\"Name\":\"t-image\",\"Type\":\"string\",\"Usage\":\"Image\",\"EnvVar\":\"T_IMAGE\","
	       "\"Value\":\"ubuntu\",\"Required\":false,\"Secret\":false},"
	       "{\"Name\":\"t-port\",\"Type\":\"int\",\"Usage\":\"SSH port\",\"EnvVar\":\"T_PORT\","
	       "\"Value\":22,\"Required\":false,\"Secret\":false},"
	       "{\"Name\":\"t-count\",\"Type\":\"int\",\"Usage\":\"Count\",\"EnvVar\":\"\","
	       "\"Value\":0,\"Required\":false,\"Secret\":false},"
	       "{\"Name\":\"t-ipv6\",\"Type\":\"bool\",\"Usage\":\"IPv6\",\"EnvVar\":\"T_IPV6\","
	       "\"Value\":false,\"Required\":false,\"Secret\":false},"
	       "{\"Name\":\"t-on\",\"Type\":\"bool\",\"Usage\":\"On by default\",\"EnvVar\":\"\","
	       "\"Value\":true,\"Required\":false,\"Secret\":false},"
	       "{\"Name\":\"t-group\",\"Type\":\"stringslice\",\"Usage\":\"Groups\",\"EnvVar\":\"\","
	       "\"Value\":[\"docker-machine\"],\"Required\":false,\"Secret\":false},"
	       "{\"Name\":\"t-ports\",\"Type\":\"stringslice\",\"Usage\":\"Ports\",\"EnvVar\":\"\","
	       "\"Value\":[],\"Required\":false,\"Secret\":false},"
	       "{\"Name\":\"t-two\",\"Type\":\"stringslice\",\"Usage\":\"Two\",\"EnvVar\":\"\","
	       "\"Value\":[\"a\",\"b\"],\"Required\":false,\"Secret\":false}]}",
	       "describe: every type, default, env var, Required and Secret, in table order");
	json_decref(d);
	sb_release(&sb);
}

/* ---- output lines ---- */

static void lines(void)
{
	json_t *d = json_object();
	dj_set_str(d, "IPAddress", "10.0.0.1");
	drv_answer("n1", "State", json_string("Running"));
	drv_answer(NULL, "IP", json_string("1.2.3.4"));
	drv_error("n2", "Host is not running");
	drv_errorf(NULL, "exit status %d", 3);
	drv_log("Creating %s <droplet> & co...", "a");
	drv_persist(d);
	drv_answer_ssh("10.0.0.1", 2222, "root", NULL, "/s/machines/a/known_hosts");
	drv_ok();
}

static void test_lines(void)
{
	struct strbuf out = STRBUF_INIT;
	drv_init(&t_spec);
	capture(lines, &out);
	is_str(out.buf,
	       "{\"Name\":\"n1\",\"State\":\"Running\"}\n"
	       "{\"IP\":\"1.2.3.4\"}\n"
	       "{\"Name\":\"n2\",\"Error\":\"Host is not running\"}\n"
	       "{\"Error\":\"exit status 3\"}\n"
	       "{\"Log\":\"Creating a \\u003cdroplet\\u003e \\u0026 co...\"}\n"
	       "{\"Driver\":{\"IPAddress\":\"10.0.0.1\"}}\n"
	       "{\"SSH\":{\"Host\":\"10.0.0.1\",\"Port\":2222,\"User\":\"root\",\"KeyPath\":\"\","
	       "\"KnownHosts\":\"/s/machines/a/known_hosts\"}}\n"
	       "{\"OK\":true}\n",
	       "one compact object per line, Name first, Go's escapes");
	is_int(drv_failures(), 2, "two errors counted");
	is_int(drv_exit_status(), 1, "errors: exit 1");
	capture(precreate_fails, &out);
	is_str(out.buf, "{\"Error\":\"region not available\"}\n", "a precreate-check error is an Error line");
	is_int(drv_exit_status(), 3, "a precreate-check error: exit 3");
	drv_init(&t_spec);
	is_int(drv_failures(), 0, "drv_init clears the count");
	is_int(drv_exit_status(), 0, "and the status");
	sb_release(&out);
}

/* ---- host records on stdin ---- */

static void test_read(void)
{
	static const struct {
		const char *what, *input;
		int rc;
		const char *want;     /* the hosts, compact, one per line; or the error */
	} cases[] = {
		{ "empty", "", 0, "" },
		{ "blank lines", " \n\t\r\n\n", 0, "" },
		{ "one pretty-printed record", "{\n  \"Name\": \"a\",\n  \"Driver\": {\n    \"x\": 1\n  }\n}\n", 0,
		  "{\"Name\":\"a\",\"Driver\":{\"x\":1}}\n" },
		{ "JSON Lines with blank and CRLF lines", "{\"Name\":\"a\"}\r\n\n   \n{\"Name\":\"b\"}\n{\"Name\":\"c\"}", 0,
		  "{\"Name\":\"a\"}\n{\"Name\":\"b\"}\n{\"Name\":\"c\"}\n" },
		{ "an array is a record (the verb refuses it)", "[1]\n", 0, "[1]\n" },
		{ "a scalar is not", "\"x\"\n", -1, "invalid host record: '[' or '{' expected near '\"x\"'" },
		{ "broken JSON", "{bad\n", -1, "invalid host record: string or '}' expected near 'bad'" },
		{ "a bad line fails the lot", "{\"Name\":\"a\"}\n{\"Name\":\n", -1,
		  "invalid host record: unexpected token near end of file" },
		{ "two values on one line", "{\"a\":1} {\"b\":2}\n{}\n", -1,
		  "invalid host record: end of file expected near '{'" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *p = tmpfile_with("hosts", cases[i].input, strlen(cases[i].input));
		int fd = open(p, O_RDONLY);
		json_t **h = (json_t **)&h;
		size_t n = 99;
		struct strbuf got = STRBUF_INIT;
		int rc = drv_read_hosts(fd, DRV_CAP_INPUT, &h, &n);
		close(fd);
		is_int(rc, cases[i].rc, "read: %s", cases[i].what);
		if (rc < 0) {
			is_str(dm_strerr(), cases[i].want, "  error");
			ok(h == NULL && n == 0, "  nothing to free");
		} else {
			for (size_t k = 0; k < n; k++) {
				dj_encode(h[k], 0, 0, &got);
				sb_addc(&got, '\n');
			}
			is_str(got.buf, cases[i].want, "  records");
		}
		drv_hosts_free(h, n);
		sb_release(&got);
		free(p);
	}
}

static void test_read_caps(void)
{
	struct strbuf big = STRBUF_INIT;
	json_t **h;
	size_t n;
	char *p;
	int fd;

	/* the whole input */
	p = tmpfile_with("caps", "{\"Name\":\"abcdefghij\"}\n", 22);
	fd = open(p, O_RDONLY);
	ok(drv_read_hosts(fd, 16, &h, &n) < 0, "input over the cap is refused");
	is_str(dm_strerr(), "input exceeds 16 bytes", "  with the cap in the message");
	close(fd);
	free(p);

	/* one record: a line, and the whole input as one record */
	sb_adds(&big, "{\"Name\":\"a\"}\n{\"Name\":\"");
	while (big.len <= DRV_CAP_RECORD + 16)
		sb_adds(&big, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	sb_adds(&big, "\"}\n");
	p = tmpfile_with("caps", big.buf, big.len);
	fd = open(p, O_RDONLY);
	ok(drv_read_hosts(fd, DRV_CAP_INPUT, &h, &n) < 0 && n == 0, "a line over the record cap is refused");
	is_str(dm_strerr(), "host record exceeds the size limit", "  message");
	close(fd);
	free(p);
	p = tmpfile_with("caps", big.buf + 13, big.len - 13);
	fd = open(p, O_RDONLY);
	ok(drv_read_hosts(fd, DRV_CAP_INPUT, &h, &n) < 0 && n == 0, "a single record over the cap is refused");
	is_str(dm_strerr(), "host record exceeds the size limit", "  message");
	close(fd);
	free(p);
	sb_release(&big);
}

/* ---- flag getters ---- */

static void test_flags(void)
{
	json_t *fl;
	struct strvec sv = STRVEC_INIT;
	long v = -1;
	static const struct {
		const char *flags;      /* the "Flags" object */
		const char *name;
		long min, max;
		int rc;
		long want;
		const char *err;
	} ints[] = {
		{ "{}", "t-port", 1, 65535, 0, 22, NULL },
		{ "{\"t-port\":null}", "t-port", 1, 65535, 0, 22, NULL },
		{ "{\"t-port\":\"\"}", "t-port", 1, 65535, 0, 22, NULL },
		{ "{\"t-port\":2222}", "t-port", 1, 65535, 0, 2222, NULL },
		{ "{\"t-port\":\"2022\"}", "t-port", 1, 65535, 0, 2022, NULL },
		{ "{}", "t-count", 0, 10, 0, 0, NULL },
		{ "{\"t-port\":70000}", "t-port", 1, 65535, -1, 0, "invalid value \"70000\" for --t-port" },
		{ "{\"t-port\":\"22x\"}", "t-port", 1, 65535, -1, 0, "invalid value \"22x\" for --t-port" },
		{ "{\"t-port\":true}", "t-port", 1, 65535, -1, 0, "--t-port: expected a number" },
		{ "{\"t-port\":[1]}", "t-port", 1, 65535, -1, 0, "--t-port: expected a number" },
	};
	static const struct {
		const char *flags, *name;
		int want;
	} bools[] = {
		{ "{}", "t-ipv6", 0 },
		{ "{\"t-ipv6\":true}", "t-ipv6", 1 },
		{ "{\"t-ipv6\":\"true\"}", "t-ipv6", 1 },
		{ "{\"t-ipv6\":\"T\"}", "t-ipv6", 1 },
		{ "{\"t-ipv6\":\"maybe\"}", "t-ipv6", 0 },
		{ "{\"t-ipv6\":1}", "t-ipv6", 0 },
		{ "{}", "t-on", 1 },
		{ "{\"t-on\":false}", "t-on", 0 },
		{ "{\"t-on\":\"0\"}", "t-on", 0 },
	};
	static const struct {
		const char *flags, *name, *want;   /* slice joined with '|' */
	} slices[] = {
		{ "{}", "t-group", "docker-machine" },
		{ "{}", "t-ports", "" },
		{ "{}", "t-two", "a|b" },
		{ "{\"t-ports\":[\"80\",\"\",\"443/tcp\",3]}", "t-ports", "80|443/tcp" },
		{ "{\"t-ports\":\"80,,443\"}", "t-ports", "80|443" },
		{ "{\"t-group\":[]}", "t-group", "" },
	};

	drv_init(&t_spec);
	for (size_t i = 0; i < ARRAY_SIZE(ints); i++) {
		parse(ints[i].flags, &fl);
		v = -1;
		is_int(drv_flag_int(fl, ints[i].name, ints[i].min, ints[i].max, &v), ints[i].rc,
		       "int %s from %s", ints[i].name, ints[i].flags);
		if (ints[i].rc == 0)
			is_int(v, ints[i].want, "  value");
		else
			is_str(dm_strerr(), ints[i].err, "  error");
		json_decref(fl);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bools); i++) {
		parse(bools[i].flags, &fl);
		is_int(drv_flag_bool(fl, bools[i].name), bools[i].want, "bool %s from %s", bools[i].name, bools[i].flags);
		json_decref(fl);
	}
	for (size_t i = 0; i < ARRAY_SIZE(slices); i++) {
		struct strbuf got = STRBUF_INIT;
		parse(slices[i].flags, &fl);
		drv_flag_slice(fl, slices[i].name, &sv);
		for (size_t k = 0; k < sv.n; k++)
			sb_addf(&got, "%s%s", k ? "|" : "", sv.v[k]);
		is_str(got.buf, slices[i].want, "slice %s from %s", slices[i].name, slices[i].flags);
		sv_clear(&sv);
		sb_release(&got);
		json_decref(fl);
	}

	parse("{\"t-token\":\"s3cret\",\"t-image\":7}", &fl);
	is_str(drv_flag_str(fl, "t-token"), "s3cret", "string flag");
	is_str(drv_flag_str(fl, "t-image"), "ubuntu", "a number for a string flag: the default");
	json_decref(fl);
	is_str(drv_flag_str(NULL, "t-token"), "", "no Flags, no default: \"\"");
	is_str(drv_flag_str(NULL, "t-image"), "ubuntu", "no Flags: the default");
	ok(drv_flag_int(NULL, "t-port", 1, 65535, &v) == 0 && v == 22, "no Flags: the int default");
}

/* ---- the host record ---- */

static void test_host(void)
{
	static const struct {
		const char *host, *name, *dir;
	} cases[] = {
		{ "{\"Name\":\"a\",\"Driver\":{\"MachineName\":\"b\",\"StorePath\":\"/s\"}}", "a", "/s/machines/a" },
		{ "{\"Name\":\"\",\"Driver\":{\"MachineName\":\"b\",\"StorePath\":\"/s\"}}", "b", "/s/machines/b" },
		{ "{\"Driver\":{\"MachineName\":\"\"}}", NULL, NULL },
		{ "{\"Name\":\"a\",\"Driver\":[],\"HostOptions\":{\"AuthOptions\":{\"StorePath\":\"/s/machines/a\"}}}",
		  "a", "/s/machines/a" },
		{ "{\"Name\":\"a\",\"HostOptions\":{\"AuthOptions\":{\"StorePath\":\"/s\"}}}", "a", "/s/machines/a" },
		{ "{\"Name\":\"a\",\"Driver\":{\"StorePath\":\"\"}}", "a", NULL },
	};
	json_t *h, *d, *src;
	struct strbuf sb = STRBUF_INIT;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *dir;
		parse(cases[i].host, &h);
		dir = drv_machine_dir(h);
		ok(cases[i].name ? drv_host_name(h) && !strcmp(drv_host_name(h), cases[i].name) : !drv_host_name(h),
		   "name of %s", cases[i].host);
		ok(cases[i].dir ? dir && !strcmp(dir, cases[i].dir) : !dir, "  machine dir %s", dir ? dir : "(none)");
		free(dir);
		json_decref(h);
	}
	parse("{\"Driver\":[1],\"Flags\":\"x\"}", &h);
	ok(!drv_host_driver(h) && !drv_host_flags(h), "Driver and Flags that are not objects are absent");
	json_decref(h);

	parse("{\"SSHUser\":\"u\",\"StorePath\":\"/s\",\"Extra\":1}", &src);
	d = json_object();
	drv_keep_or(d, "StorePath", src, json_string(""));
	drv_keep_or(d, "SwarmMaster", src, json_false());
	dj_set_str(d, "SSHUser", "root");
	drv_merge_missing(d, src);
	drv_merge_missing(d, NULL);
	dj_encode(d, 0, 0, &sb);
	is_str(sb.buf, "{\"StorePath\":\"/s\",\"SwarmMaster\":false,\"SSHUser\":\"root\",\"Extra\":1}",
	       "keep_or keeps the record's value, merge_missing adds only what is missing, in order");
	json_decref(d);
	json_decref(src);
	sb_release(&sb);
}

/* ---- drv_main ---- */

static void test_main(void)
{
	struct strbuf out = STRBUF_INIT;
	static const char *const describe[] = { "describe", NULL }, *const frob[] = { "frobnicate", NULL };
	static const char *const two[] = { "create", "x", NULL }, *const create[] = { "create", NULL };
	static const char *const state[] = { "state", NULL }, *const pre[] = { "precreate-check", NULL };

	is_int(run_main(NULL, "", &out), 2, "no verb: usage, exit 2");
	is_int(run_main(two, "", &out), 2, "extra arguments: exit 2");
	is_int(run_main(frob, "{}", &out), 2, "an unknown verb: exit 2");
	is_str(out.buf, "", "  and nothing on stdout");
	is_int(run_main(describe, "", &out), 0, "describe: exit 0");
	ok(str_starts(out.buf, "{\"Name\":\"test\",\"Flags\":[{\"Name\":\"t-token\"") && str_ends(out.buf, "]}\n"),
	   "  one describe line");
	is_int(run_main(create, "", &out), 0, "create without a record");
	is_str(out.buf, "{\"Log\":\"create: 0 keys\"}\n{\"OK\":true}\n", "  runs on an empty object");
	is_int(run_main(create, "{\"Name\":\"a\",\"Flags\":{}}\n{\"Name\":\"b\"}\n", &out), 0, "create");
	is_str(out.buf, "{\"Log\":\"create: 2 keys\"}\n{\"OK\":true}\n", "  gets the first record");
	is_int(run_main(create, "[1]", &out), 1, "create on a non-object: exit 1");
	is_str(out.buf, "{\"Error\":\"invalid host: expected a JSON object\"}\n", "  answered");
	is_int(run_main(create, "{\"Name\":", &out), 1, "broken stdin: exit 1");
	is_str(out.buf, "{\"Error\":\"invalid host record: unexpected token near end of file\"}\n", "  answered");
	is_int(run_main(pre, "{}", &out), 3, "a failed precreate-check: exit 3");
	is_str(out.buf, "{\"Error\":\"no such region\"}\n", "  answered");
	is_int(run_main(state, "{\"Name\":\"a\"}\n{\"Driver\":{\"MachineName\":\"b\"}}\n", &out), 0, "state of 2");
	is_str(out.buf, "{\"Name\":\"a\",\"State\":\"Running\"}\n{\"Name\":\"b\",\"State\":\"Running\"}\n",
	       "  one answer per host");
	is_int(run_main(state, "{\"Name\":\"a\"}\n[2]\n", &out), 1, "state with a non-object record: exit 1");
	is_str(out.buf, "{\"Error\":\"invalid host: expected a JSON object\"}\n{\"Name\":\"a\",\"State\":\"Running\"}\n",
	       "  the others are still answered");
	is_int(run_main(state, "\n", &out), 1, "state without records: exit 1");
	is_str(out.buf, "{\"Error\":\"no host record on stdin\"}\n", "  answered");
	sb_release(&out);
}

int main(void)
{
	plan_lazy();
	test_describe();
	test_lines();
	test_read();
	test_read_caps();
	test_flags();
	test_host();
	test_main();
	return done_testing();
}
