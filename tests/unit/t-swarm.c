/* t-swarm.c - the pure parts of lib/swarm: discovery check, durations, the
 * mapping of the --swarm* flags to swarm mode's init/join requests (with
 * hostile values), and --swarm-experimental in the daemon arguments. */
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "provision.h"
#include "swarm.h"
#include "tap.h"

#define TOKEN "SWMTKN-1-3pu6hszjas19xyp7ghgosyx9k8atbfcr8p2is99znpy26u2lkl-1awxwuwd3z9j1z3puu7rcgdbx"

/* SwarmOptions as host_new writes them, with opts/join_opts "a|b|c" lists. */
static json_t *swarm_opts(const char *addr, const char *opts, const char *join_opts)
{
	json_t *so = json_object(), *a;
	const char *lists[2] = { opts, join_opts }, *keys[2] = { "ArbitraryFlags", "ArbitraryJoinFlags" };
	dj_set_bool(so, "IsSwarm", 1);
	dj_set_str(so, "Address", addr ? addr : "");
	dj_set_str(so, "Discovery", "token://x");
	dj_set_bool(so, "Agent", 1);
	dj_set_bool(so, "Master", 0);
	dj_set_str(so, "Host", "tcp://0.0.0.0:3376");
	dj_set_str(so, "Image", "swarm:latest");
	dj_set_str(so, "Strategy", "spread");
	for (int k = 0; k < 2; k++) {
		a = json_array();
		for (const char *p = lists[k]; p && *p;) {
			size_t n = strcspn(p, "|");
			char *w = strndup(p, n);
			json_array_append_new(a, json_string(w));
			free(w);
			p += n + (p[n] == '|');
		}
		dj_set(so, keys[k], a);
	}
	return so;
}

static char *encode(json_t *v)
{
	struct strbuf sb = STRBUF_INIT;
	if (!v)
		return xstrdup("(null)");
	dj_encode(v, 0, 0, &sb);
	return sb_detach(&sb);
}

static char *joined(const struct strvec *w)
{
	struct strbuf sb = STRBUF_INIT;
	for (size_t i = 0; i < w->n; i++)
		sb_addf(&sb, "%s%s", i ? "\n" : "", w->v[i]);
	return sb_detach(&sb);
}

static void t_wanted_and_discovery(void)
{
	static const struct { const char *d; int ok; } cases[] = {
		{ "token://x", 1 }, { "consul://10.0.0.5:8500/swarm", 1 }, { "etcd://a,b/p", 1 },
		{ "file:///tmp/cluster", 1 }, { "nodes://10.0.0.[1:9]:2375", 1 },
		{ "", 0 }, { "token", 0 }, { "token:x", 0 }, { "10.0.0.1:2375", 0 },
	};
	json_t *so = json_object();
	ok(!swarm_wanted(so), "no swarm options: not wanted");
	dj_set_bool(so, "Master", 1);
	ok(swarm_wanted(so), "Master alone: wanted (a 0.16.2 store may lack IsSwarm)");
	json_decref(so);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int r = swarm_check_discovery(cases[i].d);
		is_int(r, cases[i].ok ? 0 : -1, "discovery \"%s\"", cases[i].d);
		if (!cases[i].ok) {
			char *want = xasprintf("Error parsing swarm discovery: Swarm Discovery URL was in the "
			                       "wrong format: %s", cases[i].d);
			is_str(dm_strerr(), want, "0.16.2's message for \"%s\"", cases[i].d);
			free(want);
		}
	}
}

static void t_durations(void)
{
	static const struct { const char *s; long long ns; } cases[] = {
		{ "0", 0 }, { "5s", 5000000000LL }, { "300ms", 300000000LL }, { "1m30s", 90000000000LL },
		{ "1.5h", 5400000000000LL }, { "2h45m", 9900000000000LL }, { "10us", 10000 },
		{ "10\xc2\xb5s", 10000 }, { "7ns", 7 }, { ".5s", 500000000LL },
		{ "", -1 }, { "5", -1 }, { "s", -1 }, { "-5s", -1 }, { "5x", -1 }, { "5 s", -1 },
		{ "99999999999999h", -1 }, { "5s;rm -rf /", -1 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		long long ns = -42;
		int r = swarm_parse_duration(cases[i].s, &ns);
		if (cases[i].ns < 0)
			is_int(r, -1, "duration \"%s\" refused (%s)", cases[i].s, dm_strerr());
		else
			ok(r == 0 && ns == cases[i].ns, "duration \"%s\" = %lld ns (got %lld)", cases[i].s,
			   cases[i].ns, ns);
	}
}

/* Request bodies for every operation, exact JSON. */
static void t_requests(void)
{
	static const struct {
		const char *what, *addr, *opts, *join_opts, *token;
		enum swarm_op op;
		int master_defaults;     /* Image/Strategy/Host changed when 1 */
		const char *body;        /* NULL: expect -1 */
		const char *warn;        /* joined with \n; "" none */
	} cases[] = {
		{ "init, defaults: advertise the machine IP", NULL, NULL, NULL, NULL, SWARM_INIT, 0,
		  "{\"ListenAddr\":\"0.0.0.0:2377\",\"AdvertiseAddr\":\"10.0.0.1\",\"ForceNewCluster\":false}",
		  "" },
		{ "init, --swarm-addr wins over the IP", "192.168.9.9", NULL, NULL, NULL, SWARM_INIT, 0,
		  "{\"ListenAddr\":\"0.0.0.0:2377\",\"AdvertiseAddr\":\"192.168.9.9\",\"ForceNewCluster\":false}",
		  "" },
		{ "init, cluster options mapped into Spec",
		  NULL, "heartbeat=10s|cert-expiry=720h|task-history-limit=3|max-snapshots=2|"
		  "snapshot-interval=5000|--data-path-port=4790|default-addr-pool=10.20.0.0/16|"
		  "default-addr-pool=10.30.0.0/16|default-addr-pool-mask-length=26|availability=drain",
		  NULL, NULL, SWARM_INIT, 0,
		  "{\"ListenAddr\":\"0.0.0.0:2377\",\"AdvertiseAddr\":\"10.0.0.1\",\"DataPathPort\":4790,"
		  "\"DefaultAddrPool\":[\"10.20.0.0/16\",\"10.30.0.0/16\"],\"SubnetSize\":26,"
		  "\"Availability\":\"drain\",\"ForceNewCluster\":false,\"Spec\":{\"Dispatcher\":"
		  "{\"HeartbeatPeriod\":10000000000},\"CAConfig\":{\"NodeCertExpiry\":2592000000000000},"
		  "\"Orchestration\":{\"TaskHistoryRetentionLimit\":3},\"Raft\":{\"KeepOldSnapshots\":2,"
		  "\"SnapshotInterval\":5000}}}",
		  "" },
		{ "init, classic and unknown options warned; join opts ignored on init",
		  NULL, "strategy=binpack|replication|--filter=health|bogus=1", "advertise=1.2.3.4:2376",
		  NULL, SWARM_INIT, 1,
		  "{\"ListenAddr\":\"0.0.0.0:2377\",\"AdvertiseAddr\":\"10.0.0.1\",\"ForceNewCluster\":false}",
		  "--swarm-image \"my/swarm:1\": swarm mode is built into the engine, no image is run: ignored\n"
		  "--swarm-strategy \"binpack\": swarm mode always spreads tasks over the nodes: ignored\n"
		  "--swarm-host \"tcp://0.0.0.0:4000\": the swarm manager is the master's engine (its URL): "
		  "ignored\n"
		  "--swarm-opt \"strategy=binpack\": classic swarm option with no swarm mode equivalent: "
		  "ignored\n"
		  "--swarm-opt \"replication\": classic swarm option with no swarm mode equivalent: ignored\n"
		  "--swarm-opt \"--filter=health\": classic swarm option with no swarm mode equivalent: "
		  "ignored\n"
		  "--swarm-opt \"bogus=1\": unknown swarm mode option: ignored\n"
		  "--swarm-join-opt: applies when joining a swarm: ignored on the first master, which "
		  "creates it" },
		{ "worker join: token, remotes; swarm opts are for masters",
		  NULL, "heartbeat=5s", "advertise=10.0.0.7:2376|data-path-addr=10.1.0.7", TOKEN,
		  SWARM_JOIN_WORKER, 0,
		  "{\"ListenAddr\":\"0.0.0.0:2377\",\"AdvertiseAddr\":\"10.0.0.7\",\"DataPathAddr\":"
		  "\"10.1.0.7\",\"RemoteAddrs\":[\"10.0.0.1:2377\",\"10.0.0.2:2377\"],\"JoinToken\":\"" TOKEN
		  "\"}",
		  "--swarm-opt: applies to swarm masters only: ignored on a worker" },
		{ "manager join: cluster settings only on the first master",
		  NULL, "listen-addr=0.0.0.0:2400|dispatcher-heartbeat=1s", NULL, TOKEN,
		  SWARM_JOIN_MANAGER, 0,
		  "{\"ListenAddr\":\"0.0.0.0:2400\",\"AdvertiseAddr\":\"10.0.0.1\",\"RemoteAddrs\":"
		  "[\"10.0.0.1:2377\",\"10.0.0.2:2377\"],\"JoinToken\":\"" TOKEN "\"}",
		  "--swarm-opt \"dispatcher-heartbeat=1s\": a cluster setting, applied only when the swarm "
		  "is created (by its first master): ignored" },
		{ "classic advertise=[v6]:port keeps the host", NULL, "advertise=[fd00::5]:2376", NULL,
		  NULL, SWARM_INIT, 0,
		  "{\"ListenAddr\":\"0.0.0.0:2377\",\"AdvertiseAddr\":\"fd00::5\",\"ForceNewCluster\":false}",
		  "" },
		/* refused */
		{ "autolock refused", NULL, "autolock", NULL, NULL, SWARM_INIT, 0, NULL, "" },
		{ "autolock refused on a join too", NULL, "autolock=true", NULL, TOKEN, SWARM_JOIN_MANAGER,
		  0, NULL, "" },
		{ "bad availability", NULL, "availability=always", NULL, NULL, SWARM_INIT, 0, NULL, "" },
		{ "non-numeric task history", NULL, "task-history-limit=$(id)", NULL, NULL, SWARM_INIT, 0,
		  NULL, "" },
		{ "bad duration", NULL, "heartbeat=`reboot`", NULL, NULL, SWARM_INIT, 0, NULL, "" },
		{ "value missing", NULL, "listen-addr", NULL, NULL, SWARM_INIT, 0, NULL, "" },
		{ "address pool with a quote", NULL, "default-addr-pool=10.0.0.0/8\"", NULL, NULL,
		  SWARM_INIT, 0, NULL, "" },
		{ "hostile --swarm-addr: space", "10.0.0.1 --force-new-cluster", NULL, NULL, NULL,
		  SWARM_INIT, 0, NULL, "" },
		{ "hostile --swarm-addr: newline", "10.0.0.1\nX", NULL, NULL, NULL, SWARM_INIT, 0, NULL, "" },
		{ "hostile --swarm-addr: quote", "10.0.0.1\",\"ForceNewCluster\":true,\"x\":\"", NULL, NULL,
		  NULL, SWARM_INIT, 0, NULL, "" },
		{ "hostile advertise-addr opt: $()", NULL, "advertise-addr=$(id)'x'", NULL, NULL,
		  SWARM_INIT, 0, "{\"ListenAddr\":\"0.0.0.0:2377\",\"AdvertiseAddr\":\"$(id)'x'\","
		  "\"ForceNewCluster\":false}", "" },
		{ "hostile join opt: path in listen-addr", NULL, NULL, "listen-addr=../../x", TOKEN,
		  SWARM_JOIN_WORKER, 0, NULL, "" },
		{ "token from a hostile manager: quote", NULL, NULL, NULL, "SWMTKN-1-abc\"-def",
		  SWARM_JOIN_WORKER, 0, NULL, "" },
		{ "token: not a swarm token", NULL, NULL, NULL, "hunter2", SWARM_JOIN_WORKER, 0, NULL, "" },
		{ "token: empty", NULL, NULL, NULL, "", SWARM_JOIN_WORKER, 0, NULL, "" },
		{ "token: newline", NULL, NULL, NULL, "SWMTKN-1-abc-def\n", SWARM_JOIN_WORKER, 0, NULL, "" },
		{ "token: three parts", NULL, NULL, NULL, "SWMTKN-1-abc-def-ghi", SWARM_JOIN_WORKER, 0, NULL,
		  "" },
	};
	struct strvec remotes = STRVEC_INIT;
	sv_push(&remotes, "10.0.0.1:2377");
	sv_push(&remotes, "10.0.0.2:2377");
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		json_t *so = swarm_opts(cases[i].addr, cases[i].opts, cases[i].join_opts), *body = NULL;
		struct strvec warn = STRVEC_INIT;
		char *got, *w;
		int r;
		if (cases[i].master_defaults) {
			dj_set_str(so, "Image", "my/swarm:1");
			dj_set_str(so, "Strategy", "binpack");
			dj_set_str(so, "Host", "tcp://0.0.0.0:4000");
		}
		r = swarm_request(so, cases[i].op, "10.0.0.1", cases[i].token, &remotes, &body, &warn);
		if (!cases[i].body) {
			ok(r == -1 && !body, "%s: refused (%s)", cases[i].what, dm_strerr());
		} else {
			is_int(r, 0, "%s: accepted%s%s", cases[i].what, r ? ": " : "", r ? dm_strerr() : "");
			got = encode(body);
			is_str(got, cases[i].body, "%s: body", cases[i].what);
			free(got);
			w = joined(&warn);
			is_str(w, cases[i].warn, "%s: warnings", cases[i].what);
			free(w);
		}
		json_decref(body);
		json_decref(so);
		sv_clear(&warn);
	}
	{
		json_t *so = swarm_opts(NULL, NULL, NULL), *body = NULL;
		struct strvec warn = STRVEC_INIT, none = STRVEC_INIT;
		ok(swarm_request(so, SWARM_JOIN_WORKER, "10.0.0.3", TOKEN, &none, &body, &warn) == -1,
		   "a join without any manager address is refused");
		ok(swarm_request(so, SWARM_INIT, "", NULL, NULL, &body, &warn) == -1,
		   "no address to advertise is refused");
		sv_push(&none, "10.0.0.1:2377 10.0.0.9:2377");
		ok(swarm_request(so, SWARM_JOIN_WORKER, "10.0.0.3", TOKEN, &none, &body, &warn) == -1,
		   "a manager address with a space (hostile /info reply) is refused");
		json_decref(so);
		sv_clear(&none);
		sv_clear(&warn);
	}
	sv_clear(&remotes);
}

/* The JSON encoder keeps a value that passed the checks intact. */
static void t_hostile_encoding(void)
{
	json_t *so = swarm_opts(NULL, "advertise-addr=a'b`c$d;e<f&g", NULL), *body = NULL, *back = NULL;
	struct strvec warn = STRVEC_INIT;
	char *enc;
	is_int(swarm_request(so, SWARM_INIT, "10.0.0.1", NULL, NULL, &body, &warn), 0,
	       "shell metacharacters are no problem for a JSON body");
	enc = encode(body);
	ok(dj_parse(enc, strlen(enc), &back) == 0 &&
	   !strcmp(dj_str(back, "AdvertiseAddr", ""), "a'b`c$d;e<f&g"),
	   "the value round-trips through the JSON body byte for byte");
	free(enc);
	json_decref(back);
	json_decref(body);
	json_decref(so);
	sv_clear(&warn);
}

static void t_experimental(void)
{
	json_t *e = json_object(), *so = json_object(), *x;
	struct strvec av = STRVEC_INIT;
	struct daemon_cfg c = { NULL, "generic", "/usr/sbin/dockerd", "/etc/docker", 2376, "overlay2" };
	size_t count = 0;
	dj_set(e, "ArbitraryFlags", json_array());
	c.engine = x = swarm_engine_options(e, so);
	provision_daemon_args(&c, &av);
	ok(!sv_contains(&av, "--experimental"), "no --experimental by default");
	sv_clear(&av);
	json_decref(x);
	dj_set_bool(so, "IsExperimental", 1);
	c.engine = x = swarm_engine_options(e, so);
	provision_daemon_args(&c, &av);
	ok(sv_contains(&av, "--experimental"), "--swarm-experimental: the engine gets --experimental");
	is_int((long long)json_array_size(json_object_get(e, "ArbitraryFlags")), 0,
	       "the stored EngineOptions are not changed");
	sv_clear(&av);
	json_decref(x);
	json_array_append_new(json_object_get(e, "ArbitraryFlags"), json_string("experimental=true"));
	c.engine = x = swarm_engine_options(e, so);
	provision_daemon_args(&c, &av);
	for (size_t i = 0; i < av.n; i++)
		count += !strncmp(av.v[i], "--experimental", 14);
	is_int((long long)count, 1, "--engine-opt experimental=true too: the flag once");
	sv_clear(&av);
	json_decref(x);
	x = swarm_engine_options(NULL, so);
	ok(json_is_object(x) && json_array_size(json_object_get(x, "ArbitraryFlags")) == 1,
	   "no EngineOptions at all (old store): an object with the flag");
	json_decref(x);
	json_decref(e);
	json_decref(so);
}

int main(void)
{
	t_wanted_and_discovery();
	t_durations();
	t_requests();
	t_hostile_encoding();
	t_experimental();
	return done_testing();
}
