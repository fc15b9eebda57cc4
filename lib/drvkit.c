/* drvkit.c - the driver side of the protocol (see drvkit.h). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drvkit.h"
#include "json.h"

static const struct drv_spec *cur;    /* the running driver's tables */
static int failures, precreate_failed;

void drv_init(const struct drv_spec *spec)
{
	cur = spec;
	failures = 0;
	precreate_failed = 0;
}

/* ---- output ---- */

void drv_emit(json_t *v)
{
	struct strbuf sb = STRBUF_INIT;
	dj_encode(v, 0, 0, &sb);
	sb_addc(&sb, '\n');
	json_decref(v);
	if (write_all(1, sb.buf, sb.len) < 0)
		_exit(DM_EXIT_FAIL);
	sb_release(&sb);
}

void drv_answer(const char *name, const char *key, json_t *val)
{
	json_t *v = json_object();
	if (name)
		dj_set_str(v, "Name", name);
	dj_set(v, key, val);
	drv_emit(v);
}

void drv_error(const char *name, const char *text)
{
	drv_answer(name, "Error", json_string(text));
	failures++;
}

void drv_errorf(const char *name, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	sb_vaddf(&sb, fmt, ap);
	va_end(ap);
	drv_error(name, sb.buf);
	sb_release(&sb);
}

void drv_precreate_error(const char *text)
{
	drv_error(NULL, text);
	precreate_failed = 1;
}

void drv_log(const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	sb_vaddf(&sb, fmt, ap);
	va_end(ap);
	drv_answer(NULL, "Log", json_string(sb.buf));
	sb_release(&sb);
}

void drv_ok(void)
{
	drv_answer(NULL, "OK", json_true());
}

void drv_persist(json_t *d)
{
	drv_answer(NULL, "Driver", d);
}

void drv_answer_ssh(const char *host, long port, const char *user, const char *keypath,
                    const char *known_hosts)
{
	json_t *s = json_object();
	dj_set_str(s, "Host", host ? host : "");
	dj_set_int(s, "Port", port);
	dj_set_str(s, "User", user ? user : "");
	dj_set_str(s, "KeyPath", keypath ? keypath : "");
	dj_set_str(s, "KnownHosts", known_hosts ? known_hosts : "");
	drv_answer(NULL, "SSH", s);
}

int drv_failures(void)
{
	return failures;
}

int drv_exit_status(void)
{
	if (precreate_failed)
		return DM_EXIT_PRECREATE;
	return failures ? DM_EXIT_FAIL : DM_EXIT_OK;
}

/* ---- describe ---- */

static const char *const type_names[] = {
	[OPT_BOOL] = "bool", [OPT_STRING] = "string", [OPT_INT] = "int", [OPT_SLICE] = "stringslice",
};

/* "a,b" -> each non-empty piece pushed to out. */
static void split_commas(const char *s, struct strvec *out)
{
	while (s && *s) {
		size_t n = strcspn(s, ",");
		if (n)
			sv_push_owned(out, xstrndup(s, n));
		s += n;
		if (*s)
			s++;
	}
}

static json_t *default_value(const struct opt *o)
{
	struct strvec sv = STRVEC_INIT;
	json_t *a;
	int b = 0;
	switch (o->type) {
	case OPT_INT:
		return json_integer(o->defval ? strtoll(o->defval, NULL, 10) : 0);
	case OPT_BOOL:
		if (o->defval)
			parse_bool(o->defval, &b);
		return json_boolean(b);
	case OPT_SLICE:
		a = json_array();
		split_commas(o->defval, &sv);
		for (size_t i = 0; i < sv.n; i++)
			json_array_append_new(a, json_string(sv.v[i]));
		sv_clear(&sv);
		return a;
	case OPT_STRING:
		break;
	}
	return json_string(o->defval ? o->defval : "");
}

json_t *drv_describe_json(const struct drv_spec *spec)
{
	json_t *d = json_object(), *arr = json_array();
	dj_set_str(d, "Name", spec->name);
	for (size_t i = 0; i < spec->nflags; i++) {
		const struct opt *o = &spec->flags[i];
		json_t *f = json_object();
		dj_set_str(f, "Name", o->name);
		dj_set_str(f, "Type", type_names[o->type]);
		dj_set_str(f, "Usage", o->usage ? o->usage : "");
		dj_set_str(f, "EnvVar", o->envvar ? o->envvar : "");
		dj_set(f, "Value", default_value(o));
		dj_set_bool(f, "Required", !!(o->flags & OPTF_REQUIRED));
		dj_set_bool(f, "Secret", !!(o->flags & OPTF_SECRET));
		json_array_append_new(arr, f);
	}
	dj_set(d, "Flags", arr);
	return d;
}

/* ---- input ---- */

static int blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return 0;
	return 1;
}

void drv_hosts_free(json_t **hosts, size_t n)
{
	for (size_t i = 0; i < n; i++)
		json_decref(hosts[i]);
	free(hosts);
}

int drv_read_hosts(int fd, size_t cap, json_t ***hosts, size_t *n)
{
	struct strbuf sb;
	json_t **v = NULL, *one;
	json_error_t e;
	size_t cnt = 0;
	int rc = 0;

	*hosts = NULL;
	*n = 0;
	sb_init(&sb, cap);
	if (sb_read_fd(&sb, fd, cap) < 0) {
		sb_release(&sb);
		return -1;
	}
	/* the whole input as one value first (pretty-printed config.json) */
	if ((one = json_loadb(sb.buf, sb.len, 0, &e))) {
		if (sb.len > DRV_CAP_RECORD) {
			json_decref(one);
			rc = dm_seterr("host record exceeds the size limit");
		} else {
			v = xmalloc(sizeof(*v));
			v[cnt++] = one;
		}
		goto out;
	}
	for (char *line = sb.buf; line < sb.buf + sb.len;) {
		char *nl = memchr(line, '\n', (size_t)(sb.buf + sb.len - line));
		size_t len = nl ? (size_t)(nl - line) : (size_t)(sb.buf + sb.len - line);
		json_t *x;
		if (!blank(line, len)) {
			if (len > DRV_CAP_RECORD) {
				rc = dm_seterr("host record exceeds the size limit");
				break;
			}
			if (!(x = json_loadb(line, len, 0, &e))) {
				rc = dm_seterr("invalid host record: %s", e.text);
				break;
			}
			v = xrealloc(v, (cnt + 1) * sizeof(*v));
			v[cnt++] = x;
		}
		if (!nl)
			break;
		line = nl + 1;
	}
	if (rc < 0) {
		drv_hosts_free(v, cnt);
		v = NULL;
		cnt = 0;
	}
out:
	sb_release(&sb);
	*hosts = v;
	*n = cnt;
	return rc;
}

/* ---- the host record ---- */

json_t *drv_host_driver(json_t *host)
{
	json_t *d = json_object_get(host, "Driver");
	return json_is_object(d) ? d : NULL;
}

json_t *drv_host_flags(json_t *host)
{
	json_t *f = json_object_get(host, "Flags");
	return json_is_object(f) ? f : NULL;
}

const char *drv_host_name(json_t *host)
{
	const char *n = dj_str(host, "Name", NULL);
	if (n && *n)
		return n;
	n = dj_str(drv_host_driver(host), "MachineName", NULL);
	return n && *n ? n : NULL;
}

char *drv_machine_dir(json_t *host)
{
	const char *name = drv_host_name(host);
	const char *store = dj_str(drv_host_driver(host), "StorePath", NULL);
	if (!name)
		return NULL;
	if (store && *store)
		return xasprintf("%s/machines/%s", store, name);
	store = dj_str(dj_path(host, "HostOptions.AuthOptions"), "StorePath", NULL);
	if (!store || !*store)
		return NULL;
	{
		char *tail = xasprintf("/machines/%s", name);
		char *dir = str_ends(store, tail) ? xstrdup(store) : xasprintf("%s%s", store, tail);
		free(tail);
		return dir;
	}
}

void drv_keep_or(json_t *dst, const char *key, json_t *src, json_t *def)
{
	json_t *v = src ? json_object_get(src, key) : NULL;
	if (v) {
		dj_set(dst, key, json_incref(v));
		json_decref(def);
	} else {
		dj_set(dst, key, def);
	}
}

void drv_merge_missing(json_t *dst, json_t *src)
{
	const char *k;
	json_t *v;
	if (!json_is_object(src))
		return;
	json_object_foreach(src, k, v)
		if (!json_object_get(dst, k))
			dj_set(dst, k, json_incref(v));
}

/* ---- flag values ---- */

static const struct opt *flag_opt(const char *name)
{
	for (size_t i = 0; cur && i < cur->nflags; i++)
		if (!strcmp(cur->flags[i].name, name))
			return &cur->flags[i];
	fprintf(stderr, "BUG: flag --%s not in the table of driver '%s'\n", name, cur ? cur->name : "?");
	abort();
}

const char *drv_flag_str(json_t *fl, const char *name)
{
	const struct opt *o = flag_opt(name);
	json_t *v = json_object_get(fl, name);
	if (json_is_string(v))
		return json_string_value(v);
	return o->defval ? o->defval : "";
}

int drv_flag_bool(json_t *fl, const char *name)
{
	const struct opt *o = flag_opt(name);
	json_t *v = json_object_get(fl, name);
	int b = 0;
	if (json_is_boolean(v))
		return json_is_true(v);
	if (json_is_string(v) && parse_bool(json_string_value(v), &b) == 0)
		return b;
	if (o->defval && parse_bool(o->defval, &b) == 0)
		return b;
	return 0;
}

int drv_flag_int(json_t *fl, const char *name, long min, long max, long *out)
{
	const struct opt *o = flag_opt(name);
	json_t *v = json_object_get(fl, name);
	struct strbuf what = STRBUF_INIT;
	int rc = 0;

	sb_addf(&what, "--%s", name);
	if (json_is_integer(v)) {
		json_int_t x = json_integer_value(v);
		if (x < min || x > max)
			rc = dm_seterr("invalid value \"%lld\" for %s", (long long)x, what.buf);
		else
			*out = (long)x;
	} else if (json_is_string(v) && *json_string_value(v)) {
		rc = parse_long(json_string_value(v), min, max, out, what.buf);
	} else if (!v || json_is_null(v) || json_is_string(v)) {
		*out = o->defval ? strtol(o->defval, NULL, 10) : 0;
	} else {
		rc = dm_seterr("%s: expected a number", what.buf);
	}
	sb_release(&what);
	return rc;
}

void drv_flag_slice(json_t *fl, const char *name, struct strvec *out)
{
	const struct opt *o = flag_opt(name);
	json_t *v = json_object_get(fl, name), *x;
	size_t i;
	if (json_is_array(v)) {
		json_array_foreach(v, i, x)
			if (json_is_string(x) && *json_string_value(x))
				sv_push(out, json_string_value(x));
		return;
	}
	split_commas(json_is_string(v) ? json_string_value(v) : o->defval, out);
}

/* ---- main ---- */

static int usage(const struct drv_spec *spec)
{
	struct strbuf verbs = STRBUF_INIT;
	for (size_t i = 0; i < spec->nverbs; i++)
		sb_addf(&verbs, "%s%s", i ? " " : "", spec->verbs[i].name);
	dm_errorf("usage: %s describe\n       %s VERB < host.json\nVERB: %s", dm_progname, dm_progname, verbs.buf);
	sb_release(&verbs);
	return DM_EXIT_USAGE;
}

static void run_verb(const struct drv_verb *vb, json_t **hosts, size_t n)
{
	if (vb->batch) {
		json_t **objs = xcalloc(n ? n : 1, sizeof(*objs));
		size_t k = 0;
		if (!n)
			drv_error(NULL, "no host record on stdin");
		for (size_t i = 0; i < n; i++) {
			if (json_is_object(hosts[i]))
				objs[k++] = hosts[i];
			else
				drv_error(NULL, "invalid host: expected a JSON object");
		}
		if (k)
			vb->batch(vb->name, objs, k);
		free(objs);
	} else {
		json_t *h = n ? json_incref(hosts[0]) : json_object();
		if (!json_is_object(h))
			drv_error(NULL, "invalid host: expected a JSON object");
		else
			vb->run(vb->name, h);
		json_decref(h);
	}
}

int drv_main(const struct drv_spec *spec, int argc, char **argv)
{
	const struct drv_verb *vb = NULL;
	json_t **hosts;
	size_t n;

	dm_init(argc, argv);
	drv_init(spec);
	if (argc != 2)
		return usage(spec);
	if (!strcmp(argv[1], "describe")) {
		drv_emit(drv_describe_json(spec));
		return dm_finish(DM_EXIT_OK);
	}
	for (size_t i = 0; i < spec->nverbs && !vb; i++)
		if (!strcmp(argv[1], spec->verbs[i].name))
			vb = &spec->verbs[i];
	if (!vb)
		return usage(spec);
	if (drv_read_hosts(0, DRV_CAP_INPUT, &hosts, &n) < 0) {
		drv_error(NULL, dm_strerr());
		return dm_finish(DM_EXIT_FAIL);
	}
	run_verb(vb, hosts, n);
	drv_hosts_free(hosts, n);
	return dm_finish(drv_exit_status());
}
