/* probe.c - the rows of ls/active, gathered in parallel. See probe.h. */
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "engine.h"
#include "host.h"
#include "json.h"
#include "machine.h"
#include "probe.h"
#include "tlscheck.h"

static void set(char **field, const char *s)
{
	free(*field);
	*field = xstrdup(s ? s : "");
}

int probe_load(const struct store *st, struct probe_row **rowsp, size_t *np)
{
	struct strvec names = STRVEC_INIT;
	struct probe_row *rows;
	if (store_list(st, &names) < 0)
		return -1;
	rows = xcalloc(names.n + 1, sizeof(*rows));
	for (size_t i = 0; i < names.n; i++) {
		struct probe_row *r = &rows[i];
		r->name = xstrdup(names.v[i]);
		set(&r->state, "");
		set(&r->url, "");
		set(&r->active, "");
		set(&r->swarm, "");
		set(&r->docker, "");
		set(&r->error, "");
		if (store_load(st, r->name, &r->host, NULL) < 0) {
			r->host = NULL;
			set(&r->driver, "not found");
			set(&r->state, "Error");
			set(&r->error, dm_strerr());
			continue;
		}
		set(&r->driver, host_driver_name(r->host));
		json_t *labels = dj_path(r->host, "HostOptions.EngineOptions.Labels"), *l;
		size_t k;
		json_array_foreach(labels, k, l)
			if (json_is_string(l))
				sv_push(&r->labels, json_string_value(l));
	}
	/* SWARM column: the master of each discovery value. */
	for (size_t i = 0; i < names.n; i++) {
		json_t *so = rows[i].host ? host_swarm(rows[i].host) : NULL;
		const char *disc = dj_str(so, "Discovery", "");
		if (!*disc)
			continue;
		for (size_t j = 0; j < names.n; j++) {
			json_t *mo = rows[j].host ? host_swarm(rows[j].host) : NULL;
			if (dj_bool(mo, "Master", 0) && !strcmp(dj_str(mo, "Discovery", ""), disc)) {
				char *s = i == j ? xasprintf("%s (master)", rows[j].name) : xstrdup(rows[j].name);
				free(rows[i].swarm);
				rows[i].swarm = s;
				break;
			}
		}
	}
	*rowsp = rows;
	*np = names.n;
	sv_clear(&names);
	return 0;
}

/* ---- state through batched driver calls ---- */

static void on_state(void *ctx, size_t i, json_t *ans)
{
	struct probe_row *r = &((struct probe_row *)ctx)[i];
	const char *err;
	if (!ans) {
		set(&r->state, "Timeout");
		return;
	}
	if ((err = dj_str(ans, "Error", NULL))) {
		set(&r->state, "Error");
		set(&r->error, err);
		return;
	}
	set(&r->state, dj_str(ans, "State", ""));
	set(&r->url, dj_str(ans, "URL", ""));
}

static void run_states(struct probe_row *rows, size_t n, const char *sel, long long deadline)
{
	json_t **hosts = xcalloc(n + 1, sizeof(*hosts));
	for (size_t i = 0; i < n; i++)
		hosts[i] = sel && !sel[i] ? NULL : rows[i].host;
	driver_ask_many(hosts, n, "state", on_state, rows, deadline);
	free(hosts);
}

void probe_run(const struct store *st, struct probe_row *rows, size_t n, const char *sel,
               const struct probe_opts *po)
{
	long long deadline = now_ms() + (long long)po->timeout_s * 1000;
	const char *dh = getenv("DOCKER_HOST");
	struct engine_query *q;
	size_t *qi, nq = 0;
	(void)st;

	if (po->want_state)
		run_states(rows, n, sel, deadline);

	q = xcalloc(n + 1, sizeof(*q));
	qi = xcalloc(n + 1, sizeof(*qi));
	for (size_t i = 0; i < n; i++) {
		struct probe_row *r = &rows[i];
		if ((sel && !sel[i]) || !r->host || strcmp(r->state, "Running")) {
			if (r->host && strcmp(r->state, "Timeout") && strcmp(r->state, "Error"))
				set(&r->docker, "Unknown");
			continue;
		}
		if (po->want_engine && *r->url) {
			q[nq].url = r->url;
			machine_tls(r->host, &q[nq].tls);
			qi[nq++] = i;
		} else {
			set(&r->docker, "Unknown");
		}
	}
	if (nq)
		engine_version_many(q, nq, deadline);
	for (size_t k = 0; k < nq; k++) {
		struct probe_row *r = &rows[qi[k]];
		r->response_ms = q[k].response_ms;
		if (q[k].ok) {
			char *v = xasprintf("v%s", q[k].version);
			set(&r->docker, v);
			free(v);
		} else if (!strcmp(q[k].error, "timeout")) {
			/* 0.16.2 shows a host whose probe overran as a bare Timeout row. */
			set(&r->state, "Timeout");
			set(&r->url, "");
		} else {
			char *e = xasprintf("Unable to query docker version: %s", q[k].error);
			set(&r->docker, "Unknown");
			set(&r->error, e);
			free(e);
		}
	}
	free(q);
	free(qi);

	/* ACTIVE. */
	for (size_t i = 0; i < n; i++) {
		struct probe_row *r = &rows[i];
		if ((sel && !sel[i]) || !r->host)
			continue;
		if (!strcmp(r->state, "Timeout") || !strcmp(r->state, "Error")) {
			set(&r->active, "");
			continue;
		}
		r->active_host = !strcmp(r->state, "Running") && dh && *r->url && !strcmp(r->url, dh);
		r->active_swarm = 0;
		json_t *so = host_swarm(r->host);
		/* A swarm master's engine is its swarm manager (swarm mode: `env
		 * --swarm` gives its URL); a 0.16.2 classic manager listens on the
		 * port of SwarmOptions.Host.  ACTIVE keeps 0.16.2's precedence: "*"
		 * when the URL itself is DOCKER_HOST, so `* (swarm)` shows only for
		 * the classic port; ActiveSwarm is true in both cases. */
		if (dh && dj_bool(so, "Master", 0) && *r->url && !strcmp(r->url, dh) &&
		    !strcmp(r->state, "Running")) {
			r->active_swarm = 1;
		} else if (dh && dj_bool(so, "Master", 0) && *r->url) {
			char *uh = NULL, *sh = NULL;
			int up, sp;
			if (url_split(r->url, &uh, &up) == 0 &&
			    url_split(dj_str(so, "Host", "tcp://0.0.0.0:3376"), &sh, &sp) == 0) {
				char *su = xasprintf("tcp://%s:%d", uh, sp);
				r->active_swarm = !strcmp(su, dh);
				free(su);
			}
			free(uh);
			free(sh);
		}
		set(&r->active, r->active_host ? "*" : r->active_swarm ? "* (swarm)" : "-");
	}
}

void probe_filter_item(const struct probe_row *r, struct filter_item *it)
{
	const char *sw = r->swarm;
	static __thread char master[256];
	const char *sp = strstr(sw, " (master)");
	if (sp) {
		snprintf(master, sizeof(master), "%.*s", (int)(sp - sw), sw);
		sw = master;
	}
	it->name = r->name;
	it->driver = r->driver;
	it->state = r->state;
	it->swarm_master = sw;
	it->labels = &r->labels;
}

json_t *probe_row_json(const struct probe_row *r)
{
	json_t *o = json_object();
	json_t *so = r->host ? host_swarm(r->host) : NULL;
	json_t *eo = r->host ? host_engine(r->host) : NULL;
	char rt[32];
	dj_set_str(o, "Name", r->name);
	dj_set_str(o, "Active", r->active);
	dj_set_bool(o, "ActiveHost", r->active_host);
	dj_set_bool(o, "ActiveSwarm", r->active_swarm);
	dj_set_str(o, "DriverName", r->driver);
	dj_set_str(o, "State", r->state);
	dj_set_str(o, "URL", r->url);
	dj_set(o, "SwarmOptions", so ? json_incref(so) : json_null());
	dj_set_str(o, "Swarm", r->swarm);
	dj_set(o, "EngineOptions", eo ? json_incref(eo) : json_null());
	dj_set_str(o, "Error", r->error);
	dj_set_str(o, "DockerVersion", r->docker);
	snprintf(rt, sizeof(rt), "%ldms", r->response_ms);
	dj_set_str(o, "ResponseTime", rt);
	return o;
}

void probe_free(struct probe_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct probe_row *r = &rows[i];
		free(r->name);
		json_decref(r->host);
		free(r->driver);
		free(r->state);
		free(r->url);
		free(r->active);
		free(r->swarm);
		free(r->docker);
		free(r->error);
		sv_clear(&r->labels);
	}
	free(rows);
}
