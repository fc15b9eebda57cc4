/* t-filter.c - ls --filter: parse errors and matching over a fixed set of
 * machines (the transcripts' foo bar baz qux plus a few with other drivers,
 * states, swarm masters and labels). */
#include <string.h>

#include "filter.h"
#include "tap.h"

static struct strvec baz_labels, sw_labels;

struct machine {
	const char *name, *driver, *state, *swarm_master;
	const struct strvec *labels;
};

static const struct machine machines[] = {
	{ "bar", "none", "Running", "", NULL },
	{ "baz", "none", "Running", "", &baz_labels },
	{ "foo", "none", "Running", "", NULL },
	{ "qux", "none", "Running", "", NULL },
	{ "vb1", "virtualbox", "Stopped", "", NULL },
	{ "sw-master", "virtualbox", "Running", "sw-master", &sw_labels },
	{ "sw-node10", "VirtualBox", "Error", "sw-master", NULL },
};

struct filter_case {
	const char *specs[4];   /* NULL-terminated */
	const char *want;       /* matching names, space-separated, or NULL */
	const char *err;        /* expected parse error, or NULL */
};

static const struct filter_case cases[] = {
	{ { NULL }, "bar baz foo qux vb1 sw-master sw-node10", NULL },
	{ { "driver=none" }, "bar baz foo qux", NULL },
	{ { "DRIVER=None" }, "bar baz foo qux", NULL },
	{ { "driver=virtualbox" }, "vb1 sw-master sw-node10", NULL },
	{ { "name=foo" }, "foo", NULL },
	{ { "name=^b" }, "bar baz", NULL },
	{ { "name=a" }, "bar baz sw-master", NULL },
	{ { "name=o$" }, "foo", NULL },
	{ { "name=^sw-(master|node[0-9]+)$" }, "sw-master sw-node10", NULL },
	{ { "name=node\\d\\d" }, "sw-node10", NULL },
	{ { "name=[\\d]$" }, "vb1 sw-node10", NULL },
	{ { "name=(?i)^FOO" }, "foo", NULL },
	{ { "name=FOO" }, "", NULL },
	{ { "name=" }, "bar baz foo qux vb1 sw-master sw-node10", NULL },
	{ { "name=foo", "name=bar" }, "bar foo", NULL },
	{ { "name=^b", "driver=none", "state=running" }, "bar baz", NULL },
	{ { "state=Running" }, "bar baz foo qux sw-master", NULL },
	{ { "state=Stopped" }, "vb1", NULL },
	{ { "state=stopped", "state=error" }, "vb1 sw-node10", NULL },
	{ { "swarm=sw-master" }, "sw-master sw-node10", NULL },
	{ { "swarm=SW-MASTER", "name=node" }, "sw-node10", NULL },
	{ { "label=env=test" }, "baz", NULL },
	{ { "label=env=TEST" }, "baz", NULL },
	{ { "label=ENV=test" }, "", NULL },
	{ { "label=tier=2" }, "baz", NULL },
	{ { "label=tier=3" }, "", NULL },
	{ { "label=tier=3", "label=env=test" }, "baz", NULL },
	{ { "label=env" }, "baz sw-master", NULL },
	{ { "label=role=a=b" }, "sw-master", NULL },
	{ { "label=env=test", "driver=virtualbox" }, "", NULL },
	{ { "bogus=1" }, NULL, "Unsupported filter key 'bogus'" },
	{ { "Bogus=1" }, NULL, "Unsupported filter key 'bogus'" },
	{ { "nokeyvalue" }, NULL, "Unsupported filter syntax" },
	{ { "driver=none", "nokeyvalue" }, NULL, "Unsupported filter syntax" },
	{ { "=x" }, NULL, "Unsupported filter key ''" },
	{ { "name=(" }, NULL, "error parsing regexp: " },
	{ { "name=a", "name=[" }, NULL, "error parsing regexp: " },
};

/* The names that f lets through, space-separated, in table order. */
static void run_filter(const struct filter *f, struct strbuf *out)
{
	size_t i;

	sb_reset(out);
	for (i = 0; i < ARRAY_SIZE(machines); i++) {
		const struct machine *m = &machines[i];
		struct filter_item it = { m->name, m->driver, m->state, m->swarm_master, m->labels };
		if (!filter_match(f, &it))
			continue;
		if (out->len)
			sb_addc(out, ' ');
		sb_adds(out, m->name);
	}
}

static void describe(const struct filter_case *c, struct strbuf *d)
{
	size_t i;

	sb_reset(d);
	for (i = 0; c->specs[i]; i++)
		sb_addf(d, "%s--filter %s", i ? " " : "", c->specs[i]);
	if (!d->len)
		sb_adds(d, "(no filter)");
}

static void test_table(void)
{
	struct strbuf out = STRBUF_INIT, desc = STRBUF_INIT;
	size_t i, j;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct filter_case *c = &cases[i];
		struct strvec specs = STRVEC_INIT;
		struct filter *f;

		for (j = 0; c->specs[j]; j++)
			sv_push(&specs, c->specs[j]);
		describe(c, &desc);
		f = filter_parse(&specs);
		if (c->err) {
			ok(!f, "%s: fails", desc.buf);
			ok(!f && str_starts(dm_strerr(), c->err), "%s: error '%s' (got '%s')",
			   desc.buf, c->err, dm_strerr());
		} else if (!ok(f != NULL, "%s: parses", desc.buf)) {
			printf("# error: %s\n", dm_strerr());
		} else {
			run_filter(f, &out);
			is_str(out.buf, c->want, "%s", desc.buf);
		}
		filter_free(f);
		sv_clear(&specs);
	}
	sb_release(&out);
	sb_release(&desc);
}

static void test_needs_state(void)
{
	struct strvec specs = STRVEC_INIT;
	struct filter *f;

	sv_push(&specs, "name=x");
	f = filter_parse(&specs);
	ok(f && !filter_needs_state(f), "name filter needs no state");
	filter_free(f);
	sv_push(&specs, "STATE=Running");
	f = filter_parse(&specs);
	ok(f && filter_needs_state(f), "state filter needs state");
	filter_free(f);
	ok(!filter_needs_state(NULL), "no filter needs no state");
	sv_clear(&specs);

	f = filter_parse(NULL);
	ok(f != NULL, "no specs parse");
	filter_free(f);
}

static void test_empty_fields(void)
{
	struct strvec specs = STRVEC_INIT;
	struct filter_item it = { "", "", "", "", NULL };
	struct filter *f;

	sv_push(&specs, "swarm=");
	f = filter_parse(&specs);
	ok(f && filter_match(f, &it), "swarm= matches a machine without master");
	filter_free(f);
	sv_clear(&specs);
	sv_push(&specs, "label=a=b");
	f = filter_parse(&specs);
	ok(f && !filter_match(f, &it), "label filter on a machine without labels");
	filter_free(f);
	sv_clear(&specs);
}

int main(void)
{
	sv_push(&baz_labels, "env=test");
	sv_push(&baz_labels, "tier=2");
	sv_push(&sw_labels, "env=prod");
	sv_push(&sw_labels, "role=A=B");
	sv_push(&sw_labels, "nokv");
	plan_lazy();
	test_table();
	test_needs_state();
	test_empty_fields();
	sv_clear(&baz_labels);
	sv_clear(&sw_labels);
	return done_testing();
}
