/* driver.c - run dm-driver-NAME binaries and speak JSON Lines with them. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dm.h"
#include "driver.h"
#include "host.h"
#include "json.h"

#define DRIVER_PREFIX "dm-driver-"
#define DESCRIBE_TIMEOUT_MS 10000

/* ---- lookup ---- */

static int valid_driver_name(const char *name)
{
	return name && *name && name[0] != '.' && !strchr(name, '/');
}

static int not_found(const char *name)
{
	return dm_seterr("Driver \"%s\" not found. Do you have the plugin binary "
	                 "\"docker-machine-driver-%s\" accessible in your PATH?", name ? name : "", name ? name : "");
}

char *driver_path(const char *name)
{
	char *file, *p;
	if (!valid_driver_name(name)) {
		not_found(name);
		return NULL;
	}
	file = xasprintf(DRIVER_PREFIX "%s", name);
	p = proc_find_libexec(file);
	free(file);
	if (!p)
		not_found(name);
	return p;
}

static int strcmp_ptr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void driver_list(struct strvec *names)
{
	char *dirs = proc_libexec_path(), *d = dirs, *e;
	size_t first = names->n;
	for (; d; d = e ? e + 1 : NULL) {
		DIR *dh;
		struct dirent *de;
		e = strchr(d, ':');
		if (e)
			*e = 0;
		if (!*d || !(dh = opendir(d)))
			continue;
		while ((de = readdir(dh))) {
			const char *n = de->d_name + strlen(DRIVER_PREFIX);
			struct stat sb;
			if (!str_starts(de->d_name, DRIVER_PREFIX) || !*n || !valid_driver_name(n))
				continue;
			if (fstatat(dirfd(dh), de->d_name, &sb, 0) < 0 || !S_ISREG(sb.st_mode) ||
			    faccessat(dirfd(dh), de->d_name, X_OK, 0) < 0)
				continue;
			if (!sv_contains(names, n))
				sv_push(names, n);
		}
		closedir(dh);
	}
	free(dirs);
	if (names->n - first > 1)
		qsort(names->v + first, names->n - first, sizeof(*names->v), strcmp_ptr);
}

/* ---- line splitting ---- */

typedef int (*line_fn)(void *arg, char *line, size_t len);

/* Append n bytes of output; call fn for each complete line.  0, or -1 with
 * the error set (a line over DM_CAP_LINE, or fn failed). */
static int feed_lines(struct strbuf *line, const char *buf, size_t n, line_fn fn, void *arg)
{
	while (n) {
		const char *nl = memchr(buf, '\n', n);
		size_t take = nl ? (size_t)(nl - buf) : n;
		if (sb_add(line, buf, take) < 0)
			return dm_seterr("output line exceeds %u bytes", DM_CAP_LINE);
		if (!nl)
			return 0;
		if (fn(arg, line->buf, line->len) < 0)
			return -1;
		sb_reset(line);
		buf += take + 1;
		n -= take + 1;
	}
	return 0;
}

static int blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return 0;
	return 1;
}

/* Parse one protocol line: 1 object in *out, 0 blank, -1 protocol error. */
static int parse_line(const char *s, size_t n, json_t **out)
{
	json_t *v = NULL;
	*out = NULL;
	if (blank(s, n))
		return 0;
	if (dj_parse(s, n, &v) < 0 || !json_is_object(v)) {
		if (!json_is_object(v) && v)
			json_decref(v);
		return dm_seterr("invalid output line: %.80s%s", s, n > 80 ? "…" : "");
	}
	*out = v;
	return 1;
}

static void set_nonblock(int fd)
{
	if (fd >= 0)
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static int encode_line(json_t *v, struct strbuf *sb)
{
	dj_encode(v, 0, 0, sb);
	return sb_addc(sb, '\n');
}

/* Batch read verbs get the record reduced to what a driver reads to answer
 * them (Name, DriverName, Driver): a tenth of the bytes to encode and parse. */
static int encode_line_reduced(json_t *host, struct strbuf *sb)
{
	static const char *const keep[] = { "Name", "DriverName", "Driver" };
	json_t *r = json_object(), *v;
	int rc;
	for (size_t i = 0; i < ARRAY_SIZE(keep); i++)
		if ((v = json_object_get(host, keep[i])))
			json_object_set(r, keep[i], v);
	rc = encode_line(r, sb);
	json_decref(r);
	return rc;
}

/* ---- one call ---- */

struct call {
	const char *name, *verb;
	const struct driver_cb *cb;
	json_t *answer;
};

static int call_line(void *arg, char *s, size_t n)
{
	struct call *c = arg;
	json_t *v, *x;
	int r = parse_line(s, n, &v);
	if (r <= 0)
		return r;
	if ((x = json_object_get(v, "Log"))) {
		const char *text = json_is_string(x) ? json_string_value(x) : "";
		if (c->cb && c->cb->log)
			c->cb->log(c->cb->ctx, text);
		else
			dm_errorf("(%s) %s", c->name, text);
	} else if ((x = json_object_get(v, "Driver"))) {
		if (!json_is_object(x)) {
			json_decref(v);
			return dm_seterr("invalid output line: \"Driver\" is not an object");
		}
		if (c->cb && c->cb->persist && c->cb->persist(c->cb->ctx, x) < 0) {
			json_decref(v);
			return -1;
		}
	} else if (!c->answer) {
		c->answer = v;
		return 0;
	} else {
		dm_debugf("(%s) %s: extra answer ignored: %.*s", c->name, c->verb, (int)n, s);
	}
	json_decref(v);
	return 0;
}

struct line_sink {
	struct strbuf *line;
	struct call *c;
};

static int sink_lines(void *ctx, const char *buf, size_t n)
{
	struct line_sink *ls = ctx;
	return feed_lines(ls->line, buf, n, call_line, ls->c);
}

int driver_call(const char *name, const char *verb, json_t *host, json_t *flags,
                const struct driver_cb *cb, int timeout_ms, json_t **answer, int *exit_code)
{
	struct call c = { name, verb, cb, NULL };
	struct strbuf in = STRBUF_INIT, line;
	struct proc p;
	char *path;
	char *argv[3];
	long long deadline = timeout_ms > 0 ? now_ms() + timeout_ms : 0;
	int failed = 0, timed_out = 0, code;
	const char *etext;

	*answer = NULL;
	if (exit_code)
		*exit_code = -2;
	if (!(path = driver_path(name)))
		return -1;
	if (host) {
		if (flags) {
			json_t *copy = json_copy(host);
			dj_set(copy, "Flags", json_incref(flags));
			encode_line(copy, &in);
			json_decref(copy);
		} else {
			encode_line(host, &in);
		}
	}
	argv[0] = path;
	argv[1] = (char *)verb;
	argv[2] = NULL;
	if (proc_spawn(&p, argv, NULL, PROC_PIPE_IN | PROC_PIPE_OUT | PROC_NEWPGRP) < 0) {
		free(path);
		sb_release(&in);
		return -1;
	}
	free(path);
	sb_init(&line, DM_CAP_LINE);
	{
		struct line_sink ls = { &line, &c };
		int r = proc_pump(&p, in.buf, in.len, sink_lines, &ls, deadline);
		failed = r == -1;
		timed_out = r == -2;
	}
	sb_release(&in);
	if (!failed && !timed_out && line.len && call_line(&c, line.buf, line.len) < 0)
		failed = 1;   /* a last line without newline */
	sb_release(&line);
	if (failed) {
		char msg[2048];
		snprintf(msg, sizeof(msg), "%s", dm_strerr());
		proc_kill(&p, SIGTERM);
		code = proc_wait(&p, now_ms() + 500);
		if (exit_code)
			*exit_code = code;
		json_decref(c.answer);
		if (str_starts(msg, "invalid output") || str_starts(msg, "output line"))
			return dm_seterr("driver %s: %s: %s", name, verb, msg);
		return dm_seterr("%s", msg);
	}
	code = proc_wait(&p, timed_out ? now_ms() : deadline);
	if (exit_code)
		*exit_code = code;
	if (code == -1) {
		json_decref(c.answer);
		return dm_seterr("driver %s: %s timed out", name, verb);
	}
	etext = dj_str(c.answer, "Error", NULL);
	if (etext) {
		dm_seterr("%s", etext);
		json_decref(c.answer);
		return -1;
	}
	if (code != 0) {
		json_decref(c.answer);
		return dm_seterr("driver %s: %s: exit status %d", name, verb, code);
	}
	*answer = c.answer ? c.answer : json_object();
	return 0;
}

int driver_describe(const char *name, json_t **out)
{
	return driver_call(name, "describe", NULL, NULL, NULL, DESCRIBE_TIMEOUT_MS, out, NULL);
}

/* ---- batches ---- */

static json_t *error_answer(const char *host, const char *text)
{
	json_t *a = json_object();
	dj_set_str(a, "Name", host);
	dj_set_str(a, "Error", text);
	return a;
}

static void answer_one(struct driver_batch *b, size_t i, json_t *a)
{
	b->st.done[i] = 1;
	b->st.left--;
	b->on_answer(b->ctx, i, a);
}

static void answer_rest(struct driver_batch *b, const char *text)
{
	for (size_t i = 0; i < b->n; i++) {
		if (b->st.done[i])
			continue;
		if (text) {
			json_t *a = error_answer(host_name(b->hosts[i]), text);
			answer_one(b, i, a);
			json_decref(a);
		} else {
			answer_one(b, i, NULL);
		}
	}
}

static int batch_line(void *arg, char *s, size_t n)
{
	struct driver_batch *b = arg;
	json_t *v;
	const char *name, *e;
	int r = parse_line(s, n, &v);
	if (r <= 0)
		return r;
	name = dj_str(v, "Name", NULL);
	if (!name) {
		if ((e = dj_str(v, "Error", NULL)) && !b->st.err)
			b->st.err = xstrdup(e);
		else if ((e = dj_str(v, "Log", NULL)))
			dm_debugf("(%s) %s", b->driver, e);
		json_decref(v);
		return 0;
	}
	for (size_t i = 0; i < b->n; i++) {
		if (!b->st.done[i] && !strcmp(host_name(b->hosts[i]), name)) {
			answer_one(b, i, v);
			break;
		}
	}
	json_decref(v);
	return 0;
}

static void batch_start(struct driver_batch *b)
{
	char *path, *argv[3];
	memset(&b->st, 0, sizeof(b->st));
	b->st.p.pid = -1;
	b->st.p.in = b->st.p.out = b->st.p.err = -1;
	b->st.done = xcalloc(b->n ? b->n : 1, 1);
	b->st.left = b->n;
	sb_init(&b->st.in, 0);
	sb_init(&b->st.line, DM_CAP_LINE);
	if (!b->n)
		return;
	if (!(path = driver_path(b->driver))) {
		answer_rest(b, dm_strerr());
		return;
	}
	for (size_t i = 0; i < b->n; i++)
		encode_line_reduced(b->hosts[i], &b->st.in);
	argv[0] = path;
	argv[1] = (char *)b->verb;
	argv[2] = NULL;
	if (proc_spawn(&b->st.p, argv, NULL, PROC_PIPE_IN | PROC_PIPE_OUT | PROC_NEWPGRP) < 0) {
		free(path);
		answer_rest(b, dm_strerr());
		return;
	}
	free(path);
	set_nonblock(b->st.p.in);
	b->st.active = 1;
}

/* The driver is done (EOF, all answered, or a failure): reap it and answer
 * the hosts it left out.  why: NULL, or the failure text. */
static void batch_finish(struct driver_batch *b, const char *why, long long deadline)
{
	char msg[2048];
	int code;
	b->st.active = 0;
	if (why) {
		snprintf(msg, sizeof(msg), "driver %s: %s: %s", b->driver, b->verb, why);
		proc_kill(&b->st.p, SIGKILL);
	}
	code = proc_wait(&b->st.p, deadline);
	if (!b->st.left)
		return;
	if (why)
		answer_rest(b, msg);
	else if (b->st.err)
		answer_rest(b, b->st.err);
	else if (code == -1)
		answer_rest(b, NULL);
	else {
		snprintf(msg, sizeof(msg), "driver %s: %s: no answer (exit status %d)", b->driver, b->verb, code);
		answer_rest(b, msg);
	}
}

static void batch_release(struct driver_batch *b)
{
	sb_release(&b->st.in);
	sb_release(&b->st.line);
	free(b->st.done);
	free(b->st.err);
	b->st.done = NULL;
	b->st.err = NULL;
}

void driver_batch_many(struct driver_batch *b, size_t nb, long long deadline_ms)
{
	struct pollfd *pf = xcalloc(nb * 2 + 1, sizeof(*pf));
	size_t *owner = xcalloc(nb * 2 + 1, sizeof(*owner));
	char buf[65536];
	size_t i;

	for (i = 0; i < nb; i++)
		batch_start(&b[i]);
	for (;;) {
		nfds_t np = 0;
		int tmo = -1;
		for (i = 0; i < nb; i++) {
			struct driver_batch *x = &b[i];
			if (!x->st.active)
				continue;
			if (!x->st.left) {   /* everything answered: let it exit, briefly */
				long long soon = now_ms() + 100;
				batch_finish(x, NULL, deadline_ms && deadline_ms < soon ? deadline_ms : soon);
				continue;
			}
			pf[np].fd = x->st.p.out;
			pf[np].events = POLLIN;
			pf[np].revents = 0;
			owner[np++] = i;
			if (x->st.p.in >= 0) {
				pf[np].fd = x->st.p.in;
				pf[np].events = POLLOUT;
				pf[np].revents = 0;
				owner[np++] = i;
			}
		}
		if (!np)
			break;
		if (deadline_ms) {
			long long left = deadline_ms - now_ms();
			if (left <= 0)
				break;
			tmo = left > 60000 ? 60000 : (int)left;
		}
		if (poll(pf, np, tmo) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (nfds_t k = 0; k < np; k++) {
			struct driver_batch *x = &b[owner[k]];
			if (!pf[k].revents || !x->st.active)
				continue;
			if (pf[k].events == POLLOUT) {
				ssize_t w = proc_write(x->st.p.in, x->st.in.buf + x->st.inoff,
				                       x->st.in.len - x->st.inoff);
				if (w > 0)
					x->st.inoff += (size_t)w;
				if ((w < 0 && errno != EAGAIN) || x->st.inoff == x->st.in.len) {
					close(x->st.p.in);
					x->st.p.in = -1;
				}
				continue;
			}
			ssize_t r = read(x->st.p.out, buf, sizeof(buf));
			if (r < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (r <= 0) {
				if (x->st.line.len && batch_line(x, x->st.line.buf, x->st.line.len) < 0)
					batch_finish(x, dm_strerr(), deadline_ms);
				else
					batch_finish(x, NULL, deadline_ms);
			} else if (feed_lines(&x->st.line, buf, (size_t)r, batch_line, x) < 0) {
				batch_finish(x, dm_strerr(), deadline_ms);
			}
		}
	}
	/* Deadline: report what is missing first, then stop the drivers. */
	for (i = 0; i < nb; i++) {
		if (b[i].st.active) {
			answer_rest(&b[i], NULL);
			b[i].st.active = 0;
			proc_kill(&b[i].st.p, SIGKILL);
			proc_wait(&b[i].st.p, 0);
		}
		batch_release(&b[i]);
	}
	free(pf);
	free(owner);
}

/* ---- many hosts, grouped by driver ---- */

struct ask_group {
	size_t *idx;            /* batch position -> index into the caller's hosts */
	void (*on_answer)(void *ctx, size_t index, json_t *answer);
	void *ctx;
};

static void ask_answer(void *ctx, size_t k, json_t *ans)
{
	struct ask_group *g = ctx;
	g->on_answer(g->ctx, g->idx[k], ans);
}

void driver_ask_many(json_t *const *hosts, size_t n, const char *verb,
                     void (*on_answer)(void *ctx, size_t index, json_t *answer), void *ctx,
                     long long deadline_ms)
{
	struct driver_batch *b = xcalloc(n + 1, sizeof(*b));
	struct ask_group *g = xcalloc(n + 1, sizeof(*g));
	char *done = xcalloc(n + 1, 1);
	size_t nb = 0;

	for (size_t i = 0; i < n; i++) {
		const char *drv;
		size_t m = 0;
		if (!hosts[i] || done[i])
			continue;
		drv = dj_str(hosts[i], "DriverName", "");
		b[nb].hosts = xcalloc(n, sizeof(json_t *));
		g[nb].idx = xcalloc(n, sizeof(size_t));
		for (size_t j = i; j < n; j++) {
			if (hosts[j] && !done[j] && !strcmp(dj_str(hosts[j], "DriverName", ""), drv)) {
				b[nb].hosts[m] = hosts[j];
				g[nb].idx[m++] = j;
				done[j] = 1;
			}
		}
		g[nb].on_answer = on_answer;
		g[nb].ctx = ctx;
		b[nb].driver = drv;
		b[nb].verb = verb;
		b[nb].n = m;
		b[nb].on_answer = ask_answer;
		b[nb].ctx = &g[nb];
		nb++;
	}
	if (nb)
		driver_batch_many(b, nb, deadline_ms);
	for (size_t k = 0; k < nb; k++) {
		free(b[k].hosts);
		free(g[k].idx);
	}
	free(b);
	free(g);
	free(done);
}
