/* swarm.c - the --swarm* flags on Docker's swarm mode, through the engines'
 * TLS API.  Contracts in swarm.h. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>


#include "dm.h"
#include "host.h"
#include "json.h"
#include "machine.h"
#include "engine.h"
#include "swarm.h"

#define LOCK_WAIT_MS (120 * 1000)
#define JOIN_WAIT_MS (60 * 1000)
#define ADDR_MAX 255
#define TOKEN_MAX 512

/* ---- pure parts ---- */

int swarm_wanted(json_t *so)
{
	return dj_bool(so, "IsSwarm", 0) || dj_bool(so, "Master", 0) || dj_bool(so, "Agent", 0);
}

int swarm_check_discovery(const char *d)
{
	if (!d || !strstr(d, "://"))
		return dm_seterr("Error parsing swarm discovery: Swarm Discovery URL was in the wrong "
		                 "format: %s", d ? d : "");
	return 0;
}

int swarm_parse_duration(const char *s, long long *ns)
{
	static const struct { const char *u; long long ns; } units[] = {
		{ "ns", 1 }, { "us", 1000 }, { "\xc2\xb5s", 1000 }, { "ms", 1000000 },
		{ "s", 1000000000LL }, { "m", 60 * 1000000000LL }, { "h", 3600 * 1000000000LL },
	};
	const char *p = s;
	long double total = 0;
	if (!s || !*s)
		return dm_seterr("invalid duration \"\"");
	if (!strcmp(s, "0")) {
		*ns = 0;
		return 0;
	}
	while (*p) {
		long double v = 0, frac = 0, scale = 1;
		int digits = 0;
		size_t ul, best = 0;
		long long mult = 0;
		while (isdigit((unsigned char)*p)) {
			v = v * 10 + (*p++ - '0');
			digits++;
		}
		if (*p == '.') {
			p++;
			while (isdigit((unsigned char)*p)) {
				scale /= 10;
				frac += (*p++ - '0') * scale;
				digits++;
			}
		}
		if (!digits)
			return dm_seterr("invalid duration \"%s\"", s);
		ul = strspn(p, "abcdefghijklmnopqrstuvwxyz\xc2\xb5");
		for (size_t i = 0; i < ARRAY_SIZE(units); i++)
			if (strlen(units[i].u) == ul && !strncmp(p, units[i].u, ul) && ul > best) {
				best = ul;
				mult = units[i].ns;
			}
		if (!best)
			return dm_seterr(ul ? "unknown unit \"%.*s\" in duration \"%s\""
			                    : "missing unit%.*s in duration \"%s\"", (int)ul, p, s);
		p += ul;
		total += (v + frac) * mult;
		if (total > (long double)LLONG_MAX)
			return dm_seterr("invalid duration \"%s\": too large", s);
	}
	*ns = (long long)total;
	return 0;
}

static int check_addr(const char *what, const char *a)
{
	size_t n = strlen(a);
	if (!n || n > ADDR_MAX)
		return dm_seterr("invalid swarm %s \"%s\"", what, a);
	for (const unsigned char *p = (const unsigned char *)a; *p; p++)
		if (*p < ' ' || *p == 0x7f)
			return dm_seterr("invalid swarm %s: control characters are not allowed", what);
	for (const unsigned char *p = (const unsigned char *)a; *p; p++)
		if (*p == ' ' || *p == '"' || *p == '\\' || *p == '/')
			return dm_seterr("invalid swarm %s \"%s\": no spaces, quotes, slashes or "
			                 "control characters", what, a);
	return 0;
}

/* SWMTKN-1-<base36>-<base36>, as swarmkit makes them. */
static int check_token(const char *t)
{
	const char *p;
	size_t n = t ? strlen(t) : 0;
	int dashes = 0;
	if (!t || !str_starts(t, "SWMTKN-1-") || n > TOKEN_MAX)
		return dm_seterr("the swarm manager answered an invalid join token");
	for (p = t + 9; *p; p++) {
		if (*p == '-' && p[1] && p[-1] != '-')
			dashes++;
		else if (!isdigit((unsigned char)*p) && !islower((unsigned char)*p))
			return dm_seterr("the swarm manager answered an invalid join token");
	}
	if (dashes != 1)
		return dm_seterr("the swarm manager answered an invalid join token");
	return 0;
}

enum key {
	K_ADVERTISE_ADDR, K_LISTEN_ADDR, K_DATA_PATH_ADDR, K_AVAILABILITY, K_ADVERTISE,
	K_HEARTBEAT, K_CERT_EXPIRY, K_TASK_HISTORY, K_MAX_SNAPSHOTS, K_SNAPSHOT_INTERVAL,
	K_ADDR_POOL, K_POOL_MASK, K_DATA_PATH_PORT, K_AUTOLOCK, K_CLASSIC,
};
#define INIT_ONLY(k) ((k) >= K_HEARTBEAT && (k) <= K_AUTOLOCK)

static const struct { const char *name; enum key k; } keys[] = {
	{ "advertise-addr", K_ADVERTISE_ADDR }, { "listen-addr", K_LISTEN_ADDR },
	{ "data-path-addr", K_DATA_PATH_ADDR }, { "availability", K_AVAILABILITY },
	{ "advertise", K_ADVERTISE }, { "dispatcher-heartbeat", K_HEARTBEAT },
	{ "heartbeat", K_HEARTBEAT }, { "cert-expiry", K_CERT_EXPIRY },
	{ "task-history-limit", K_TASK_HISTORY }, { "max-snapshots", K_MAX_SNAPSHOTS },
	{ "snapshot-interval", K_SNAPSHOT_INTERVAL }, { "default-addr-pool", K_ADDR_POOL },
	{ "default-addr-pool-mask-length", K_POOL_MASK }, { "data-path-port", K_DATA_PATH_PORT },
	{ "autolock", K_AUTOLOCK },
	/* classic swarm's manage/join flags with no swarm mode counterpart */
	{ "strategy", K_CLASSIC }, { "filter", K_CLASSIC }, { "replication", K_CLASSIC },
	{ "replication-ttl", K_CLASSIC }, { "cluster-driver", K_CLASSIC }, { "cluster-opt", K_CLASSIC },
	{ "discovery-opt", K_CLASSIC }, { "ttl", K_CLASSIC }, { "delay", K_CLASSIC },
	{ "engine-refresh-min-interval", K_CLASSIC }, { "engine-refresh-max-interval", K_CLASSIC },
	{ "engine-refresh-retry", K_CLASSIC }, { "engine-failure-retry", K_CLASSIC },
	{ "refresh-on-node-filter", K_CLASSIC }, { "tlsverify", K_CLASSIC }, { "tlscacert", K_CLASSIC },
	{ "tlscert", K_CLASSIC }, { "tlskey", K_CLASSIC }, { "host", K_CLASSIC }, { "H", K_CLASSIC },
	{ "addr", K_CLASSIC }, { "api-enable-cors", K_CLASSIC }, { "experimental", K_CLASSIC },
	{ "debug", K_CLASSIC }, { "log-level", K_CLASSIC },
};

struct build {
	json_t *body, *spec;
	struct strvec *warn;
	enum swarm_op op;
	const char *flag;        /* "--swarm-opt" / "--swarm-join-opt" */
};

static json_t *spec_obj(struct build *b, const char *section)
{
	json_t *o;
	if (!b->spec)
		b->spec = json_object();
	if (!(o = json_object_get(b->spec, section))) {
		o = json_object();
		json_object_set_new(b->spec, section, o);
	}
	return o;
}

static int need_value(const char *key, const char *v)
{
	if (!v || !*v)
		return dm_seterr("swarm option \"%s\" needs a value (%s=VALUE)", key, key);
	return 0;
}

static int int_value(const char *key, const char *v, long max, long *out)
{
	char *what = xasprintf("swarm option %s", key);
	int r = need_value(key, v) < 0 ? -1 : parse_long(v, 0, max, out, what);
	free(what);
	return r;
}

static int apply_opt(struct build *b, const char *opt)
{
	const char *o = opt, *eq;
	char *key;
	const char *v;
	long n;
	long long ns;
	int rc = 0;
	size_t i;

	while (*o == '-')
		o++;
	if (!*o)
		return 0;
	eq = strchr(o, '=');
	key = eq ? xstrndup(o, (size_t)(eq - o)) : xstrdup(o);
	v = eq ? eq + 1 : NULL;
	for (i = 0; i < ARRAY_SIZE(keys); i++)
		if (!strcmp(keys[i].name, key))
			break;
	if (i == ARRAY_SIZE(keys)) {
		sv_pushf(b->warn, "%s \"%s\": unknown swarm mode option: ignored", b->flag, opt);
		goto out;
	}
	if (keys[i].k == K_CLASSIC) {
		sv_pushf(b->warn, "%s \"%s\": classic swarm option with no swarm mode equivalent: "
		         "ignored", b->flag, opt);
		goto out;
	}
	if (INIT_ONLY(keys[i].k) && b->op != SWARM_INIT) {
		if (keys[i].k == K_AUTOLOCK)
			goto autolock;
		sv_pushf(b->warn, "%s \"%s\": a cluster setting, applied only when the swarm is "
		         "created (by its first master): ignored", b->flag, opt);
		goto out;
	}
	switch (keys[i].k) {
	case K_ADVERTISE_ADDR:
	case K_LISTEN_ADDR:
	case K_DATA_PATH_ADDR:
		if ((rc = need_value(key, v)) == 0 && (rc = check_addr(key, v)) == 0)
			dj_set_str(b->body, keys[i].k == K_ADVERTISE_ADDR ? "AdvertiseAddr"
			                    : keys[i].k == K_LISTEN_ADDR ? "ListenAddr" : "DataPathAddr", v);
		break;
	case K_ADVERTISE: {
		/* classic: the engine's HOST:PORT; swarm mode advertises HOST:2377 */
		char *host;
		const char *colon;
		if ((rc = need_value(key, v)) < 0)
			break;
		colon = strrchr(v, ':');
		if (*v == '[' && strchr(v, ']'))
			host = xstrndup(v + 1, (size_t)(strchr(v, ']') - v - 1));
		else if (colon && strchr(v, ':') == colon)
			host = xstrndup(v, (size_t)(colon - v));
		else
			host = xstrdup(v);
		if ((rc = check_addr(key, host)) == 0)
			dj_set_str(b->body, "AdvertiseAddr", host);
		free(host);
		break;
	}
	case K_AVAILABILITY:
		if ((rc = need_value(key, v)) == 0 && strcmp(v, "active") && strcmp(v, "pause") &&
		    strcmp(v, "drain"))
			rc = dm_seterr("swarm option availability: \"%s\" is not active, pause or drain", v);
		if (rc == 0)
			dj_set_str(b->body, "Availability", v);
		break;
	case K_HEARTBEAT:
	case K_CERT_EXPIRY:
		if ((rc = need_value(key, v)) == 0 && (rc = swarm_parse_duration(v, &ns)) == 0) {
			if (keys[i].k == K_HEARTBEAT)
				dj_set_int(spec_obj(b, "Dispatcher"), "HeartbeatPeriod", ns);
			else
				dj_set_int(spec_obj(b, "CAConfig"), "NodeCertExpiry", ns);
		}
		break;
	case K_TASK_HISTORY:
		if ((rc = int_value(key, v, 1L << 30, &n)) == 0)
			dj_set_int(spec_obj(b, "Orchestration"), "TaskHistoryRetentionLimit", n);
		break;
	case K_MAX_SNAPSHOTS:
		if ((rc = int_value(key, v, 1L << 30, &n)) == 0)
			dj_set_int(spec_obj(b, "Raft"), "KeepOldSnapshots", n);
		break;
	case K_SNAPSHOT_INTERVAL:
		if ((rc = int_value(key, v, 1L << 30, &n)) == 0)
			dj_set_int(spec_obj(b, "Raft"), "SnapshotInterval", n);
		break;
	case K_ADDR_POOL:
		if ((rc = need_value(key, v)) == 0) {
			json_t *a = json_object_get(b->body, "DefaultAddrPool");
			for (const char *p = v; *p && rc == 0; p++)
				if (!isxdigit((unsigned char)*p) && !strchr(".:/", *p))
					rc = dm_seterr("swarm option default-addr-pool: \"%s\" is not a CIDR", v);
			if (rc)
				break;
			if (!a) {
				a = json_array();
				json_object_set_new(b->body, "DefaultAddrPool", a);
			}
			json_array_append_new(a, json_string(v));
		}
		break;
	case K_POOL_MASK:
		if ((rc = int_value(key, v, 32, &n)) == 0)
			dj_set_int(b->body, "SubnetSize", n);
		break;
	case K_DATA_PATH_PORT:
		if ((rc = int_value(key, v, 65535, &n)) == 0)
			dj_set_int(b->body, "DataPathPort", n);
		break;
	case K_AUTOLOCK:
	autolock:
		rc = dm_seterr("swarm option autolock is not supported: its unlock key would be lost; "
		               "run `docker swarm update --autolock` against the master afterwards");
		break;
	case K_CLASSIC:
		break;
	}
out:
	free(key);
	return rc;
}

static int apply_list(struct build *b, json_t *arr, const char *flag)
{
	size_t i;
	json_t *v;
	b->flag = flag;
	json_array_foreach(arr, i, v)
		if (json_is_string(v) && apply_opt(b, json_string_value(v)) < 0)
			return -1;
	return 0;
}

static void warn_default(json_t *so, struct strvec *warn, const char *key, const char *def,
                         const char *flag, const char *why)
{
	const char *v = dj_str(so, key, "");
	if (*v && strcmp(v, def))
		sv_pushf(warn, "%s \"%s\": %s: ignored", flag, v, why);
}

int swarm_request(json_t *so, enum swarm_op op, const char *addr, const char *token,
                  const struct strvec *remotes, json_t **bodyp, struct strvec *warn)
{
	struct build b = { json_object(), NULL, warn, op, NULL };
	const char *adv = dj_str(so, "Address", "");
	json_t *arr;

	*bodyp = NULL;
	dj_set_str(b.body, "ListenAddr", "0.0.0.0:2377");
	if (!*adv)
		adv = addr ? addr : "";
	if (check_addr("advertise address", adv) < 0)
		goto fail;
	dj_set_str(b.body, "AdvertiseAddr", adv);
	warn_default(so, warn, "Image", "swarm:latest", "--swarm-image",
	             "swarm mode is built into the engine, no image is run");
	warn_default(so, warn, "Strategy", "spread", "--swarm-strategy",
	             "swarm mode always spreads tasks over the nodes");
	if (op != SWARM_JOIN_WORKER)
		warn_default(so, warn, "Host", "tcp://0.0.0.0:3376", "--swarm-host",
		             "the swarm manager is the master's engine (its URL)");
	arr = json_object_get(so, "ArbitraryFlags");
	if (op == SWARM_JOIN_WORKER) {
		if (json_array_size(arr))
			sv_pushf(warn, "--swarm-opt: applies to swarm masters only: ignored on a worker");
	} else if (apply_list(&b, arr, "--swarm-opt") < 0) {
		goto fail;
	}
	arr = json_object_get(so, "ArbitraryJoinFlags");
	if (op == SWARM_INIT) {
		if (json_array_size(arr))
			sv_pushf(warn, "--swarm-join-opt: applies when joining a swarm: ignored on the first "
			         "master, which creates it");
	} else if (apply_list(&b, arr, "--swarm-join-opt") < 0) {
		goto fail;
	}
	if (op == SWARM_INIT) {
		dj_set_bool(b.body, "ForceNewCluster", 0);
		if (b.spec)
			dj_set(b.body, "Spec", b.spec);
		b.spec = NULL;
	} else {
		json_t *ra = json_array();
		if (check_token(token) < 0) {
			json_decref(ra);
			goto fail;
		}
		for (size_t i = 0; remotes && i < remotes->n; i++) {
			if (check_addr("manager address", remotes->v[i]) < 0) {
				json_decref(ra);
				goto fail;
			}
			json_array_append_new(ra, json_string(remotes->v[i]));
		}
		if (!json_array_size(ra)) {
			json_decref(ra);
			dm_seterr("no swarm manager address to join");
			goto fail;
		}
		dj_set(b.body, "RemoteAddrs", ra);
		dj_set_str(b.body, "JoinToken", token);
	}
	*bodyp = b.body;
	return 0;
fail:
	json_decref(b.body);
	json_decref(b.spec);
	return -1;
}

json_t *swarm_engine_options(json_t *engine, json_t *so)
{
	json_t *e = json_is_object(engine) ? json_deep_copy(engine) : json_object(), *af, *v;
	size_t i;
	if (!dj_bool(so, "IsExperimental", 0))
		return e;
	af = json_object_get(e, "ArbitraryFlags");
	if (!json_is_array(af)) {
		af = json_array();
		json_object_set_new(e, "ArbitraryFlags", af);
	}
	json_array_foreach(af, i, v) {
		const char *f = json_is_string(v) ? json_string_value(v) : "";
		while (*f == '-')
			f++;
		if (!strcmp(f, "experimental") || str_starts(f, "experimental="))
			return e;
	}
	json_array_append_new(af, json_string("experimental"));
	return e;
}

/* ---- the engine API ---- */

/* One request on the engine's TLS API (lib/engine.h does the HTTP). A JSON
 * body is sent for POST; a 2xx reply's JSON lands in *out (json null when
 * empty). */
int swarm_engine_request(const char *url, const struct tls_client *tc, const char *method,
                         const char *path, json_t *body, int timeout_ms, json_t **out,
                         long *statusp)
{
	struct strbuf reply = STRBUF_INIT, req = STRBUF_INIT;
	int status = 0, rc;

	if (out)
		*out = NULL;
	if (body)
		dj_encode(body, 0, 0, &req);
	dm_debugf("engine %s %s%s", method, url, path);
	rc = engine_request(url, tc, method, path, body ? req.buf : NULL, req.len,
	                    timeout_ms > 0 ? timeout_ms : 1, &reply, &status);
	if (statusp)
		*statusp = status;
	if (rc == 0) {
		json_t *j = NULL;
		sb_rtrim(&reply);
		if (reply.len && dj_parse(reply.buf, reply.len, &j) < 0) {
			if (out)
				rc = dm_seterr("%s %s: the engine's reply is not JSON", method, path);
		} else if (out) {
			*out = j ? j : json_null();
		} else {
			json_decref(j);
		}
	}
	sb_release(&reply);
	sb_release(&req);
	return rc;
}

/* ---- machines of the store ---- */

struct peer {
	char *name;
	json_t *h;
	char *url;
	struct tls_client tc;
	json_t *info;       /* GET /info, NULL when it failed */
	char *error;
};

static void peers_free(struct peer *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(p[i].name);
		json_decref(p[i].h);
		free(p[i].url);
		json_decref(p[i].info);
		free(p[i].error);
	}
	free(p);
}

static const char *node_state(json_t *info)
{
	return dj_str(json_object_get(info, "Swarm"), "LocalNodeState", "");
}

static int is_manager(json_t *info)
{
	return !strcmp(node_state(info), "active") &&
	       dj_bool(json_object_get(info, "Swarm"), "ControlAvailable", 0);
}

static int get_info(const char *url, const struct tls_client *tc, json_t **info)
{
	if (swarm_engine_request(url, tc, "GET", "/info", NULL, SWARM_STEP_TIMEOUT_MS, info, NULL) < 0)
		return -1;
	if (!json_is_object(*info)) {
		json_decref(*info);
		*info = NULL;
		return dm_seterr("GET /info: the engine's reply is not an object");
	}
	return 0;
}

/* The other masters of discovery disc in the store (natural order), each
 * asked for its URL and /info. */
static size_t store_masters(const struct store *st, const char *self, const char *disc,
                            struct peer **out)
{
	struct strvec names = STRVEC_INIT;
	struct peer *p;
	size_t n = 0;
	if (store_list(st, &names) < 0)
		names.n = 0;
	p = xcalloc(names.n + 1, sizeof(*p));
	for (size_t i = 0; i < names.n; i++) {
		json_t *h, *so;
		if (!strcmp(names.v[i], self) || store_load(st, names.v[i], &h, NULL) < 0)
			continue;
		so = host_swarm(h);
		if (!dj_bool(so, "Master", 0) || strcmp(dj_str(so, "Discovery", ""), disc)) {
			json_decref(h);
			continue;
		}
		p[n].name = xstrdup(names.v[i]);
		p[n].h = h;
		machine_tls(h, &p[n].tc);
		if (!(p[n].url = machine_ask(h, "url", "URL", MACHINE_DRIVER_TIMEOUT_MS)) ||
		    get_info(p[n].url, &p[n].tc, &p[n].info) < 0)
			p[n].error = xstrdup(dm_strerr());
		n++;
	}
	sv_clear(&names);
	*out = p;
	return n;
}

static struct peer *first_manager(struct peer *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i].info && is_manager(p[i].info))
			return &p[i];
	return NULL;
}

/* "m1 (error), m2 (not a swarm manager)" for messages. */
static void describe_peers(struct strbuf *sb, struct peer *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sb_addf(sb, "%s\"%s\": %s", i ? "; " : "", p[i].name,
		        p[i].error ? p[i].error : "not an active swarm manager");
}

static int swarm_lock(const struct store *st)
{
	long long deadline = now_ms() + LOCK_WAIT_MS;
	char *path;
	int fd;
	if (mkdir_p(st->cache, 0700) < 0)
		return -1;
	path = xasprintf("%s/swarm.lock", st->cache);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		dm_seterr_errno("open %s", path);
		free(path);
		return -1;
	}
	for (;;) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
			free(path);
			return fd;
		}
		if (errno != EWOULDBLOCK && errno != EINTR) {
			dm_seterr_errno("lock %s", path);
			break;
		}
		if (now_ms() >= deadline) {
			dm_seterr("another swarm step held %s for %d s", path, LOCK_WAIT_MS / 1000);
			break;
		}
		usleep(100 * 1000);
	}
	close(fd);
	free(path);
	return -1;
}

static void swarm_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}

static void print_warnings(struct strvec *w)
{
	for (size_t i = 0; i < w->n; i++)
		dm_errorf("Warning: %s", w->v[i]);
	fflush(stderr);
	sv_clear(w);
}

/* The manager's join addresses: itself first, then the other managers. */
static void manager_addrs(json_t *info, struct strvec *out)
{
	json_t *sw = json_object_get(info, "Swarm"), *rm = json_object_get(sw, "RemoteManagers"), *m;
	const char *self = dj_str(sw, "NodeID", "");
	size_t i;
	json_array_foreach(rm, i, m)
		if (!strcmp(dj_str(m, "NodeID", ""), self) && *dj_str(m, "Addr", ""))
			sv_push(out, dj_str(m, "Addr", ""));
	if (!out->n && *dj_str(sw, "NodeAddr", ""))
		sv_pushf(out, strchr(dj_str(sw, "NodeAddr", ""), ':') ? "[%s]:%d" : "%s:%d",
		         dj_str(sw, "NodeAddr", ""), SWARM_PORT);
	json_array_foreach(rm, i, m)
		if (*dj_str(m, "Addr", "") && !sv_contains(out, dj_str(m, "Addr", "")))
			sv_push(out, dj_str(m, "Addr", ""));
}

/* Poll /info until the node is active (a join may finish in the background). */
static int wait_active(const char *url, const struct tls_client *tc, json_t **info)
{
	long long deadline = now_ms() + JOIN_WAIT_MS;
	for (;;) {
		const char *stt;
		json_decref(*info);
		*info = NULL;
		if (get_info(url, tc, info) == 0) {
			stt = node_state(*info);
			if (!strcmp(stt, "active"))
				return 0;
			if (!strcmp(stt, "error") || !strcmp(stt, "locked") || !strcmp(stt, "inactive"))
				return dm_seterr("the engine's swarm state is \"%s\"%s%s", stt,
				                 *dj_str(json_object_get(*info, "Swarm"), "Error", "") ? ": " : "",
				                 dj_str(json_object_get(*info, "Swarm"), "Error", ""));
		}
		if (now_ms() >= deadline)
			return dm_seterr("the engine did not become an active swarm node within %d s",
			                 JOIN_WAIT_MS / 1000);
		usleep(300 * 1000);
	}
}

int swarm_provision(const struct store *st, json_t *h, const char *url, const char *ip)
{
	json_t *so = host_swarm(h), *info = NULL, *body = NULL, *sw = NULL, *ans = NULL;
	const char *name = host_name(h), *disc = dj_str(so, "Discovery", "");
	struct strvec warn = STRVEC_INIT, remotes = STRVEC_INIT;
	struct tls_client tc;
	struct peer *peers = NULL, *mgr;
	size_t np = 0;
	int master = dj_bool(so, "Master", 0), lock = -1, rc = -1;
	enum swarm_op op;

	if (!swarm_wanted(so))
		return 0;
	printf("Configuring swarm...\n");
	fflush(stdout);
	if (swarm_check_discovery(disc) < 0)
		return -1;
	machine_tls(h, &tc);
	if (get_info(url, &tc, &info) < 0)
		goto fail;
	if (strcmp(node_state(info), "inactive")) {
		if (wait_active(url, &tc, &info) < 0)
			goto fail;
		printf("Swarm: \"%s\" is already a swarm %s (node %s): left as it is\n", name,
		       is_manager(info) ? "manager" : "worker",
		       dj_str(json_object_get(info, "Swarm"), "NodeID", "?"));
		fflush(stdout);
		rc = 0;
		goto out;
	}
	if ((lock = swarm_lock(st)) < 0)
		goto fail;
	np = store_masters(st, name, disc, &peers);
	mgr = first_manager(peers, np);
	if (!mgr && !master) {
		struct strbuf why = STRBUF_INIT;
		if (np) {
			describe_peers(&why, peers, np);
			dm_seterr("no swarm manager for discovery \"%s\" answers: %s", disc, why.buf);
		} else {
			dm_seterr("no swarm master with discovery \"%s\" in the store: create one first "
			          "with --swarm-master --swarm-discovery %s", disc, disc);
		}
		sb_release(&why);
		goto fail;
	}
	if (!mgr) {
		/* Masters that are unreachable may still run the swarm: a second
		 * init would split it. */
		for (size_t i = 0; i < np; i++)
			if (peers[i].error) {
				struct strbuf why = STRBUF_INIT;
				describe_peers(&why, peers, np);
				dm_seterr("not creating a second swarm for discovery \"%s\" while its other "
				          "master(s) cannot be asked: %s", disc, why.buf);
				sb_release(&why);
				goto fail;
			}
		op = SWARM_INIT;
	} else {
		op = master ? SWARM_JOIN_MANAGER : SWARM_JOIN_WORKER;
		if (swarm_engine_request(mgr->url, &mgr->tc, "GET", "/swarm", NULL, SWARM_STEP_TIMEOUT_MS,
		                         &sw, NULL) < 0) {
			char *m = xstrdup(dm_strerr());
			dm_seterr("asking the swarm manager \"%s\" for its join token: %s", mgr->name, m);
			free(m);
			goto fail;
		}
		manager_addrs(mgr->info, &remotes);
	}
	if (swarm_request(so, op, ip,
	                  sw ? dj_str(json_object_get(sw, "JoinTokens"),
	                              op == SWARM_JOIN_MANAGER ? "Manager" : "Worker", "")
	                     : NULL,
	                  &remotes, &body, &warn) < 0)
		goto fail;
	print_warnings(&warn);
	if (op == SWARM_INIT) {
		if (swarm_engine_request(url, &tc, "POST", "/swarm/init", body, JOIN_WAIT_MS, &ans,
		                         NULL) < 0) {
			char *m = xstrdup(dm_strerr());
			dm_seterr("swarm init: %s", m);
			free(m);
			goto fail;
		}
	} else if (swarm_engine_request(url, &tc, "POST", "/swarm/join", body, JOIN_WAIT_MS, &ans,
	                                NULL) < 0 &&
	           !strstr(dm_strerr(), "will continue in the background")) {
		char *m = xstrdup(dm_strerr());
		dm_seterr("joining the swarm of \"%s\" at %s: %s", mgr->name, remotes.v[0], m);
		free(m);
		goto fail;
	}
	if (wait_active(url, &tc, &info) < 0)
		goto fail;
	if (op == SWARM_INIT)
		printf("Swarm initialized: \"%s\" is its manager, advertised at %s:%d\n", name,
		       dj_str(body, "AdvertiseAddr", ""), SWARM_PORT);
	else
		printf("Joined the swarm of \"%s\" as a %s\n", mgr->name,
		       op == SWARM_JOIN_MANAGER ? "manager" : "worker");
	fflush(stdout);
	rc = 0;
	goto out;
fail:
	{
		char *m = xstrdup(dm_strerr());
		dm_seterr("Error configuring swarm: %s", m);
		free(m);
	}
out:
	print_warnings(&warn);
	swarm_unlock(lock);
	peers_free(peers, np);
	sv_clear(&remotes);
	json_decref(info);
	json_decref(body);
	json_decref(sw);
	json_decref(ans);
	return rc;
}

/* ---- leaving ---- */

static long long left_ms(long long deadline)
{
	long long l = deadline - now_ms();
	return l < 1000 ? 1000 : l > SWARM_STEP_TIMEOUT_MS ? SWARM_STEP_TIMEOUT_MS : l;
}

/* A manager other than h in h's swarm: the same cluster ID (known on
 * managers only), or one of the managers h's /info names (workers). */
static struct peer *cluster_manager(struct peer *p, size_t n, json_t *own)
{
	json_t *osw = json_object_get(own, "Swarm"), *rm = json_object_get(osw, "RemoteManagers"), *m;
	const char *cluster = dj_str(json_object_get(osw, "Cluster"), "ID", "");
	for (size_t i = 0; i < n; i++) {
		json_t *sw = json_object_get(p[i].info, "Swarm");
		const char *id = dj_str(sw, "NodeID", "");
		size_t k;
		int same = *cluster && !strcmp(dj_str(json_object_get(sw, "Cluster"), "ID", ""), cluster);
		if (!p[i].info || !is_manager(p[i].info))
			continue;
		json_array_foreach(rm, k, m)
			same |= *id && !strcmp(dj_str(m, "NodeID", ""), id);
		if (same)
			return &p[i];
	}
	return NULL;
}

static int demote(struct peer *mgr, const char *node, long long deadline)
{
	json_t *n = NULL, *spec;
	char *path = xasprintf("/nodes/%s", node), *upath = NULL;
	int rc = -1;
	if (swarm_engine_request(mgr->url, &mgr->tc, "GET", path, NULL, (int)left_ms(deadline), &n,
	                         NULL) < 0)
		goto out;
	spec = json_object_get(n, "Spec");
	if (!json_is_object(spec)) {
		dm_seterr("GET %s: no Spec in the reply", path);
		goto out;
	}
	dj_set_str(spec, "Role", "worker");
	upath = xasprintf("/nodes/%s/update?version=%lld", node,
	                  dj_int(json_object_get(n, "Version"), "Index", 0));
	rc = swarm_engine_request(mgr->url, &mgr->tc, "POST", upath, spec, (int)left_ms(deadline),
	                          NULL, NULL);
out:
	json_decref(n);
	free(path);
	free(upath);
	return rc;
}

/* Remove the node from the manager's list (it shows as Down after leaving). */
static int delete_node(struct peer *mgr, const char *node, long long deadline)
{
	char *path = xasprintf("/nodes/%s?force=true", node);
	long status = 0;
	int rc = swarm_engine_request(mgr->url, &mgr->tc, "DELETE", path, NULL, (int)left_ms(deadline),
	                              NULL, &status);
	free(path);
	return rc < 0 && status == 404 ? 0 : rc;
}

/* Validated node ID (hex/base32 from swarmkit), safe in a URL path. */
static int check_node_id(const char *id)
{
	if (!*id || strlen(id) > 64)
		return dm_seterr("invalid swarm node ID \"%s\"", id);
	for (const char *p = id; *p; p++)
		if (!isalnum((unsigned char)*p))
			return dm_seterr("invalid swarm node ID \"%s\"", id);
	return 0;
}

int swarm_leave(const struct store *st, json_t *h, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	json_t *so = host_swarm(h), *info = NULL, *sw;
	const char *name = host_name(h), *disc = dj_str(so, "Discovery", "");
	struct tls_client tc;
	struct peer *peers = NULL, *mgr = NULL;
	size_t np = 0;
	char *url = NULL, *node = NULL;
	int rc = 0, manager;

	if (!swarm_wanted(so))
		return 0;
	machine_tls(h, &tc);
	url = machine_ask(h, "url", "URL", (int)left_ms(deadline));
	if (!url || get_info(url, &tc, &info) < 0) {
		dm_debugf("(%s) swarm leave: engine not reachable: %s", name, dm_strerr());
		goto out;     /* nothing we can do from here */
	}
	sw = json_object_get(info, "Swarm");
	if (strcmp(node_state(info), "active") && strcmp(node_state(info), "pending"))
		goto out;
	node = xstrdup(dj_str(sw, "NodeID", ""));
	manager = dj_bool(sw, "ControlAvailable", 0);
	if (check_node_id(node) < 0) {
		rc = -1;
		goto out;
	}
	np = store_masters(st, name, disc, &peers);
	mgr = cluster_manager(peers, np, info);
	if (manager && mgr) {
		if (demote(mgr, node, deadline) < 0) {
			rc = -1;
			goto out;
		}
		/* wait (bounded) until the demotion reached the node */
		while (now_ms() < deadline) {
			json_decref(info);
			info = NULL;
			if (get_info(url, &tc, &info) == 0 &&
			    !dj_bool(json_object_get(info, "Swarm"), "ControlAvailable", 0))
				break;
			usleep(300 * 1000);
		}
		manager = !info || dj_bool(json_object_get(info, "Swarm"), "ControlAvailable", 0);
	}
	if (swarm_engine_request(url, &tc, "POST", manager ? "/swarm/leave?force=true" : "/swarm/leave",
	                         NULL, (int)left_ms(deadline), NULL, NULL) < 0) {
		rc = -1;
		goto out;
	}
	if (mgr) {
		if (delete_node(mgr, node, deadline) < 0)
			rc = -1;
	} else if (manager) {
		/* The swarm's last manager left: whoever else was in it has no manager now. */
		struct strvec names = STRVEC_INIT, left = STRVEC_INIT;
		struct strbuf sb = STRBUF_INIT;
		if (store_list(st, &names) == 0)
			for (size_t i = 0; i < names.n; i++) {
				json_t *o;
				if (!strcmp(names.v[i], name) || store_load(st, names.v[i], &o, NULL) < 0)
					continue;
				if (swarm_wanted(host_swarm(o)) &&
				    !strcmp(dj_str(host_swarm(o), "Discovery", ""), disc))
					sv_push(&left, names.v[i]);
				json_decref(o);
			}
		for (size_t i = 0; i < left.n; i++)
			sb_addf(&sb, "%s%s", i ? ", " : "", left.v[i]);
		if (left.n)
			dm_errorf("Warning: \"%s\" was the last manager of its swarm: %s still belong to a "
			          "swarm without a manager (docker swarm leave on them, or remove them)",
			          name, sb.buf);
		sv_clear(&names);
		sv_clear(&left);
		sb_release(&sb);
	}
out:
	peers_free(peers, np);
	json_decref(info);
	free(url);
	free(node);
	return rc;
}

/* ---- env/config --swarm ---- */

int swarm_manager_url(json_t *h, const char *url, char **out)
{
	struct tls_client tc;
	json_t *info = NULL;
	char *host = NULL, *shost = NULL, *classic, *hp;
	int port, sport, r;

	machine_tls(h, &tc);
	if (get_info(url, &tc, &info) == 0 && is_manager(info)) {
		json_decref(info);
		*out = xstrdup(url);
		return 0;
	}
	json_decref(info);
	/* 0.16.2's classic manager (a swarm-agent-master container) */
	if (url_split(url, &host, &port) < 0 ||
	    url_split(dj_str(host_swarm(h), "Host", "tcp://0.0.0.0:3376"), &shost, &sport) < 0) {
		free(host);
		free(shost);
		return dm_seterr("Error parsing swarm host URL: %s", dm_strerr());
	}
	hp = strchr(host, ':') ? xasprintf("[%s]:%d", host, sport) : xasprintf("%s:%d", host, sport);
	classic = xasprintf("tcp://%s", hp);
	r = tls_check(hp, &tc, 5000);
	free(hp);
	free(host);
	free(shost);
	if (r == 0) {
		*out = classic;
		return 0;
	}
	free(classic);
	return dm_seterr("Connection to Swarm cannot be checked but the certs are valid. Maybe swarm "
	                 "is not started");
}
