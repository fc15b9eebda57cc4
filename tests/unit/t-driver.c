/* t-driver.c - the driver protocol client against dm-driver-none and shell drivers. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "driver.h"
#include "host.h"
#include "json.h"
#include "tap.h"

static char topdir[4200], datadir[4300];
static const char *tmp;

static void find_dirs(void)
{
	char exe[4096], *slash;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = 0;
	slash = strrchr(exe, '/');
	if (slash)
		*slash = 0;
	snprintf(datadir, sizeof(datadir), "%s/data", exe);
	snprintf(topdir, sizeof(topdir), "%s/../..", exe);   /* tests/unit -> top */
}

/* Write an executable shell driver dm-driver-NAME into tmp. */
static void script(const char *name, const char *body)
{
	char *p = xasprintf("%s/dm-driver-%s", tmp, name);
	char *text = xasprintf("#!/bin/sh\n%s\n", body);
	unlink(p);
	write_file_atomic(p, text, strlen(text), 0755);
	free(p);
	free(text);
}

static char *encode(json_t *v, int indent)
{
	struct strbuf sb = STRBUF_INIT;
	dj_encode(v, indent, 0, &sb);
	return sb_detach(&sb);
}

struct rec {
	struct strbuf logs;
	json_t *persisted;
	int fail_persist;
};

static void rec_log(void *ctx, const char *text)
{
	struct rec *r = ctx;
	sb_addf(&r->logs, "%s|", text);
}

static int rec_persist(void *ctx, json_t *driver)
{
	struct rec *r = ctx;
	if (r->fail_persist)
		return dm_seterr("disk full");
	if (!r->persisted)
		r->persisted = json_object();
	json_object_update(r->persisted, driver);
	return 0;
}

static void test_lookup(void)
{
	char *p = driver_path("none"), *want = xasprintf("%s/drivers/dm-driver-none", topdir);
	struct strvec names = STRVEC_INIT;
	ok(p != NULL, "none found");
	ok(p && access(p, X_OK) == 0, "path is executable: %s", p ? p : "(null)");
	free(p);
	free(want);
	ok(driver_path("nosuchdriver") == NULL, "missing driver");
	is_str(dm_strerr(), "Driver \"nosuchdriver\" not found. Do you have the plugin binary "
	       "\"docker-machine-driver-nosuchdriver\" accessible in your PATH?", "0.16.2's message");
	ok(driver_path("../none") == NULL, "a name with a slash is refused");
	ok(driver_path("") == NULL, "empty name is refused");
	script("zzlisted", "exit 0");
	driver_list(&names);
	ok(sv_contains(&names, "none"), "driver_list has none");
	ok(sv_contains(&names, "zzlisted"), "driver_list has the tmp driver");
	{
		int sorted = 1, uniq = 1;
		for (size_t i = 1; i < names.n; i++) {
			if (strcmp(names.v[i - 1], names.v[i]) > 0)
				sorted = 0;
			if (!strcmp(names.v[i - 1], names.v[i]))
				uniq = 0;
		}
		ok(sorted && uniq, "driver_list sorted and unique");
	}
	sv_clear(&names);
}

static void test_none(void)
{
	struct store st;
	struct rec r = { STRBUF_INIT, NULL, 0 };
	struct driver_cb cb = { rec_log, rec_persist, &r };
	json_t *d = NULL, *h, *flags, *ans = NULL;
	int code = -9;
	char *want = NULL, *got;

	ok(driver_describe("none", &d) == 0, "describe none");
	got = d ? encode(d, 0) : NULL;
	is_str(got, "{\"Name\":\"none\",\"Flags\":[{\"Name\":\"url\",\"Type\":\"string\","
	       "\"Usage\":\"URL of host when no driver is selected\",\"EnvVar\":\"\",\"Value\":\"\","
	       "\"Required\":true,\"Secret\":false}]}", "describe answer");
	free(got);
	json_decref(d);

	store_init(&st, "/home/user/.docker/machine");
	h = host_new(&st, "foo", "none", NULL);
	flags = json_pack("{s:s}", "url", "tcp://127.0.0.1:52376");
	ok(driver_call("none", "set-config", h, flags, &cb, 5000, &ans, &code) == 0 && code == 0,
	   "set-config ok");
	ok(r.persisted && !strcmp(dj_str(r.persisted, "URL", ""), "tcp://127.0.0.1:52376"),
	   "set-config answers the Driver state");
	json_decref(ans);
	ok(driver_call("none", "precreate-check", h, flags, &cb, 5000, &ans, &code) == 0 && code == 0,
	   "precreate-check ok");
	json_decref(ans);
	ok(driver_call("none", "create", h, flags, &cb, 5000, &ans, &code) == 0, "create: %s",
	   ans ? "ok" : dm_strerr());
	is_int(code, 0, "create exit 0");
	ok(dj_bool(ans, "OK", 0), "create answers OK");
	json_decref(ans);
	ok(r.persisted != NULL, "create emitted Driver");
	host_merge_driver(h, r.persisted);
	{
		struct strbuf sb = STRBUF_INIT;
		char *path = xasprintf("%s/inspect_foo.out", datadir);
		sb_read_file(&sb, path, 0);
		sb_rtrim(&sb);
		want = sb_detach(&sb);
		free(path);
	}
	got = encode(h, 4);
	is_str(got, want, "host_new + none create = 0.16.2's inspect foo");
	free(got);
	free(want);

	ok(driver_call("none", "state", h, NULL, NULL, 5000, &ans, &code) == 0, "state");
	is_str(dj_str(ans, "State", NULL), "Running", "none is Running");
	is_str(dj_str(ans, "URL", NULL), "tcp://127.0.0.1:52376", "state carries URL");
	json_decref(ans);
	ok(driver_call("none", "url", h, NULL, NULL, 5000, &ans, NULL) == 0, "url");
	is_str(dj_str(ans, "URL", NULL), "tcp://127.0.0.1:52376", "URL");
	json_decref(ans);
	ok(driver_call("none", "ip", h, NULL, NULL, 5000, &ans, NULL) == 0, "ip");
	is_str(dj_str(ans, "IP", NULL), "127.0.0.1:52376", "ip is host:port as 0.16.2 prints it");
	json_decref(ans);
	ok(driver_call("none", "remove", h, NULL, NULL, 5000, &ans, &code) == 0 && code == 0, "remove ok");
	json_decref(ans);

	static const struct {
		const char *verb, *err;
	} errs[] = {
		{ "start", "hosts without a driver cannot be started" },
		{ "stop", "hosts without a driver cannot be stopped" },
		{ "restart", "hosts without a driver cannot be restarted" },
		{ "kill", "hosts without a driver cannot be killed" },
		{ "ssh-info", "hosts without a driver cannot be reached over SSH" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(errs); i++) {
		ans = (json_t *)1;
		ok(driver_call("none", errs[i].verb, h, NULL, NULL, 5000, &ans, &code) < 0 && !ans,
		   "%s fails", errs[i].verb);
		is_str(dm_strerr(), errs[i].err, "%s message", errs[i].verb);
		is_int(code, 1, "%s exit 1", errs[i].verb);
	}
	json_decref(flags);
	flags = json_object();
	ok(driver_call("none", "create", h, flags, &cb, 5000, &ans, &code) < 0, "create without url");
	is_str(dm_strerr(), "--url option is required when no driver is selected", "0.16.2's message");
	ok(driver_call("none", "set-config", h, flags, &cb, 5000, &ans, &code) < 0, "set-config without url");
	is_str(dm_strerr(), "--url option is required when no driver is selected", "set-config message");
	ok(driver_call("none", "frobnicate", h, NULL, NULL, 5000, &ans, &code) < 0 && code == 2,
	   "unknown verb: usage exit 2");
	json_decref(flags);
	json_decref(h);
	json_decref(r.persisted);
	sb_release(&r.logs);
	store_free(&st);
}

static void test_shell_drivers(void)
{
	struct rec r = { STRBUF_INIT, NULL, 0 };
	struct driver_cb cb = { rec_log, rec_persist, &r };
	json_t *h = json_pack("{s:s,s:{s:s}}", "Name", "h1", "Driver", "URL", "tcp://x:1"), *ans, *fl;
	int code;
	long long t0, el;

	script("slow", "sleep 5");
	t0 = now_ms();
	ok(driver_call("slow", "state", h, NULL, NULL, 200, &ans, &code) < 0, "slow driver times out");
	el = now_ms() - t0;
	is_int(code, -1, "timeout exit code -1");
	is_str(dm_strerr(), "driver slow: state timed out", "timeout message");
	ok(el < 1500, "killed promptly (%lld ms)", el);

	script("badjson", "echo 'this is not json'; sleep 5");
	t0 = now_ms();
	ok(driver_call("badjson", "state", h, NULL, NULL, 10000, &ans, &code) < 0, "bad JSON fails");
	ok(str_starts(dm_strerr(), "driver badjson: state: invalid output line: this is not json"),
	   "protocol message: %s", dm_strerr());
	ok(now_ms() - t0 < 3000, "and the driver is stopped");

	script("array", "echo '[1,2]'");
	ok(driver_call("array", "state", h, NULL, NULL, 5000, &ans, &code) < 0, "a non-object line fails");

	script("huge", "head -c 1100000 /dev/zero | tr '\\000' a; echo");
	ok(driver_call("huge", "state", h, NULL, NULL, 5000, &ans, &code) < 0, "huge line fails");
	ok(strstr(dm_strerr(), "exceeds 1048576 bytes") != NULL, "cap message: %s", dm_strerr());

	script("exit3", "cat >/dev/null; echo '{\"Error\":\"precheck failed\"}'; exit 3");
	ok(driver_call("exit3", "precreate-check", h, NULL, NULL, 5000, &ans, &code) < 0, "error answer");
	is_str(dm_strerr(), "precheck failed", "the driver's Error text");
	is_int(code, 3, "exit code passes through");

	script("exit5", "exit 5");
	ok(driver_call("exit5", "stop", h, NULL, NULL, 5000, &ans, &code) < 0, "non-zero exit fails");
	is_str(dm_strerr(), "driver exit5: stop: exit status 5", "exit status message");
	is_int(code, 5, "exit 5");

	script("quiet", "cat >/dev/null");
	ok(driver_call("quiet", "remove", h, NULL, NULL, 5000, &ans, &code) == 0, "exit 0 without answer");
	ok(json_is_object(ans) && json_object_size(ans) == 0, "answer {}");
	json_decref(ans);

	script("chatty", "echo '{\"Log\":\"step one\"}'\necho\necho '{\"Driver\":{\"ID\":\"i-1\"}}'\n"
	       "echo '{\"Log\":\"step two\"}'\nprintf '{\"State\":\"Stopped\"}'");
	ok(driver_call("chatty", "create", h, NULL, &cb, 5000, &ans, &code) == 0, "log/driver/answer lines");
	is_str(r.logs.buf, "step one|step two|", "Log lines reach the callback in order");
	is_str(dj_str(r.persisted, "ID", NULL), "i-1", "Driver line persisted");
	is_str(dj_str(ans, "State", NULL), "Stopped", "last line without newline is the answer");
	json_decref(ans);
	r.fail_persist = 1;
	ok(driver_call("chatty", "create", h, NULL, &cb, 5000, &ans, &code) < 0, "persist failure aborts");
	is_str(dm_strerr(), "disk full", "persist's error");

	script("echo", "read l; printf '{\"Got\":%s}\\n' \"$l\"");
	fl = json_pack("{s:s,s:b}", "url", "tcp://y:2", "flag", 1);
	ok(driver_call("echo", "create", h, fl, NULL, 5000, &ans, &code) == 0, "echo driver");
	{
		char *got = encode(json_object_get(ans, "Got"), 0);
		is_str(got, "{\"Name\":\"h1\",\"Driver\":{\"URL\":\"tcp://x:1\"},"
		       "\"Flags\":{\"url\":\"tcp://y:2\",\"flag\":true}}", "stdin = host + Flags, one line");
		free(got);
	}
	ok(json_object_get(h, "Flags") == NULL, "the caller's host is not modified");
	json_decref(ans);
	json_decref(fl);

	/* lots of stdin to a driver that never reads: no SIGPIPE, no hang */
	{
		json_t *big = json_copy(h);
		char *s = xmalloc(600001);
		memset(s, 'b', 600000);
		s[600000] = 0;
		dj_set_str(big, "Blob", s);
		free(s);
		script("noread", "echo '{\"OK\":true}'");
		ok(driver_call("noread", "remove", big, NULL, NULL, 5000, &ans, &code) == 0, "driver ignores stdin");
		json_decref(ans);
		json_decref(big);
	}
	ok(driver_call("nosuch", "state", h, NULL, NULL, 5000, &ans, &code) < 0 && code == -2,
	   "missing driver: -2");

	json_decref(h);
	json_decref(r.persisted);
	sb_release(&r.logs);
}

struct got {
	json_t **ans;
	int *calls;
	size_t n;
};

static void on_answer(void *ctx, size_t i, json_t *a)
{
	struct got *g = ctx;
	if (i < g->n) {
		g->calls[i]++;
		g->ans[i] = a ? json_incref(a) : NULL;
	}
}

static json_t **make_hosts(size_t n, const char *prefix)
{
	json_t **hs = xcalloc(n, sizeof(*hs));
	for (size_t i = 0; i < n; i++) {
		char *name = xasprintf("%s%zu", prefix, i), *url = xasprintf("tcp://127.0.0.1:%zu", 20000 + i);
		struct store st;
		store_init(&st, "/home/user/.docker/machine");
		hs[i] = host_new(&st, name, "none", NULL);
		dj_set_str(host_driver(hs[i]), "URL", url);
		store_free(&st);
		free(name);
		free(url);
	}
	return hs;
}

static void got_init(struct got *g, size_t n)
{
	g->n = n;
	g->ans = xcalloc(n, sizeof(*g->ans));
	g->calls = xcalloc(n, sizeof(*g->calls));
}

static void got_free(struct got *g, json_t **hs)
{
	for (size_t i = 0; i < g->n; i++) {
		json_decref(g->ans[i]);
		json_decref(hs[i]);
	}
	free(g->ans);
	free(g->calls);
	free(hs);
}

static void test_batch(void)
{
	size_t n = 100, i;
	json_t **hs = make_hosts(n, "m");
	struct got g;
	struct driver_batch b;
	long long t0, el;
	int good = 1, once = 1;

	got_init(&g, n);
	memset(&b, 0, sizeof(b));
	b.driver = "none";
	b.verb = "state";
	b.hosts = hs;
	b.n = n;
	b.on_answer = on_answer;
	b.ctx = &g;
	t0 = now_ms();
	driver_batch_many(&b, 1, now_ms() + 5000);
	el = now_ms() - t0;
	for (i = 0; i < n; i++) {
		char url[64];
		snprintf(url, sizeof(url), "tcp://127.0.0.1:%zu", 20000 + i);
		if (!g.ans[i] || strcmp(dj_str(g.ans[i], "State", ""), "Running") ||
		    strcmp(dj_str(g.ans[i], "URL", ""), url))
			good = 0;
		if (g.calls[i] != 1)
			once = 0;
	}
	ok(good, "100 none hosts: every answer Running with its own URL");
	ok(once, "each host answered exactly once");
	printf("# timing: driver_batch_many state of 100 none hosts: %lld ms\n", el);
	ok(el < 200, "batch of 100 under 200 ms (%lld ms)", el);
	got_free(&g, hs);

	/* Several drivers at once: none, a slow one, a partial one, a missing one,
	 * a global error. */
	script("slowbatch", "read l; echo '{\"Name\":\"s0\",\"State\":\"Stopped\"}'; exec sleep 10");
	script("partial", "cat >/dev/null; echo '{\"Name\":\"p1\",\"State\":\"Paused\"}'\n"
	       "echo '{\"Name\":\"zz\",\"State\":\"Running\"}'");
	script("globalerr", "echo '{\"Error\":\"credentials rejected\"}'; exit 1");
	{
		struct driver_batch bs[5];
		json_t **h1 = make_hosts(3, "n"), **h2 = make_hosts(2, "s"), **h3 = make_hosts(2, "p"),
		       **h4 = make_hosts(1, "x"), **h5 = make_hosts(2, "g");
		struct got g1, g2, g3, g4, g5;
		const char *drivers[] = { "none", "slowbatch", "partial", "nosuch", "globalerr" };
		json_t **hsets[] = { h1, h2, h3, h4, h5 };
		struct got *gs[] = { &g1, &g2, &g3, &g4, &g5 };
		size_t ns[] = { 3, 2, 2, 1, 2 };
		memset(bs, 0, sizeof(bs));
		for (i = 0; i < 5; i++) {
			got_init(gs[i], ns[i]);
			bs[i].driver = drivers[i];
			bs[i].verb = "state";
			bs[i].hosts = hsets[i];
			bs[i].n = ns[i];
			bs[i].on_answer = on_answer;
			bs[i].ctx = gs[i];
		}
		t0 = now_ms();
		driver_batch_many(bs, 5, now_ms() + 400);
		el = now_ms() - t0;
		ok(el >= 380 && el < 1500, "returns at the deadline (%lld ms)", el);
		ok(g1.ans[0] && g1.ans[1] && g1.ans[2], "none answered all 3");
		is_str(dj_str(g2.ans[0], "State", NULL), "Stopped", "slow driver: first host answered");
		ok(g2.calls[1] == 1 && g2.ans[1] == NULL, "slow driver: second host NULL at the deadline");
		is_str(dj_str(g3.ans[1], "State", NULL), "Paused", "partial: answered host");
		is_str(dj_str(g3.ans[0], "Error", NULL), "driver partial: state: no answer (exit status 0)",
		       "partial: unanswered host gets an error");
		ok(g4.ans[0] && str_starts(dj_str(g4.ans[0], "Error", ""), "Driver \"nosuch\" not found"),
		   "missing driver: error answer");
		is_str(dj_str(g4.ans[0], "Name", NULL), "x0", "error answer names the host");
		is_str(dj_str(g5.ans[0], "Error", NULL), "credentials rejected", "global error: host 0");
		is_str(dj_str(g5.ans[1], "Error", NULL), "credentials rejected", "global error: host 1");
		for (i = 0; i < 5; i++)
			got_free(gs[i], hsets[i]);
	}

	/* the killed batch driver leaves no process behind: its group is gone */
	script("pidbatch", "echo \"{\\\"Log\\\":\\\"$$\\\"}\" > \"$0.pid\"; exec sleep 10");
	{
		json_t **h1 = make_hosts(1, "q");
		struct got g1;
		struct driver_batch b1;
		char *pidf = xasprintf("%s/dm-driver-pidbatch.pid", tmp);
		struct strbuf sb = STRBUF_INIT;
		got_init(&g1, 1);
		memset(&b1, 0, sizeof(b1));
		b1.driver = "pidbatch";
		b1.verb = "state";
		b1.hosts = h1;
		b1.n = 1;
		b1.on_answer = on_answer;
		b1.ctx = &g1;
		driver_batch_many(&b1, 1, now_ms() + 300);
		ok(g1.calls[0] == 1 && !g1.ans[0], "timeout reported as NULL");
		sb_read_file(&sb, pidf, 0);
		{
			json_t *v = NULL;
			long pid = 0;
			if (dj_parse(sb.buf, sb.len, &v) == 0)
				pid = atol(dj_str(v, "Log", "0"));
			json_decref(v);
			ok(pid > 0 && kill((pid_t)pid, 0) < 0, "the driver process is gone (%ld)", pid);
		}
		sb_release(&sb);
		free(pidf);
		got_free(&g1, h1);
	}
}

int main(void)
{
	char *dirs;
	find_dirs();
	tmp = tap_tmpdir();
	dirs = xasprintf("%s:%s/drivers", tmp, topdir);
	setenv("DM_LIBEXECDIR", dirs, 1);
	free(dirs);
	test_lookup();
	test_none();
	test_shell_drivers();
	test_batch();
	return done_testing();
}
