/* swarm.h - the --swarm* flags on Docker's swarm mode.
 *
 * Classic swarm (a `swarm` container per machine and a discovery service)
 * is gone; the flags keep their names and meaning as far as swarm mode has
 * one (man/src/swarm.md has the user's view and every difference):
 *
 *   --swarm-master     the first master of a discovery value in the store
 *                      runs `swarm init`; later masters join as managers
 *   --swarm            joins the master found in the store (a machine with
 *                      SwarmOptions.Master and the same Discovery) as worker
 *   --swarm-discovery  only the grouping key ("token://x", "consul://…"):
 *                      nothing is contacted; 0.16.2's format check is kept
 *   --swarm-addr       AdvertiseAddr (default: the machine IP)
 *   --swarm-opt        mapped to init options (swarm_request); classic-only
 *   --swarm-join-opt   ones are accepted with a warning
 *   --swarm-image, --swarm-strategy, --swarm-host: no equivalent, a
 *                      non-default value is warned about and ignored
 *   --swarm-experimental  the engine's --experimental (provision.c)
 *
 * Everything talks to the engines' TLS API (POST /swarm/init, /swarm/join,
 * /swarm/leave, GET /info, /swarm, /nodes) with the store's client
 * certificate, as 0.16.2 configured classic swarm over the same API: the
 * join token never appears on a command line or in a debug log, no docker
 * CLI or sudo is needed on the machine, and answers are JSON with the
 * engine's own error messages.
 *
 * Functions return 0 or -1 with the error set (dm_seterr); none exits.
 */
#ifndef SWARM_H
#define SWARM_H

#include <jansson.h>

#include "store.h"
#include "tlscheck.h"
#include "util.h"

#define SWARM_PORT 2377               /* swarm mode's cluster management port */
#define SWARM_STEP_TIMEOUT_MS 30000   /* one engine API request */

/* ---- pure parts (unit-tested) ---- */

/* 1 when SwarmOptions so asks for swarm membership (IsSwarm, Master or Agent). */
int swarm_wanted(json_t *so);

/* 0.16.2's discovery check: the value must contain "://" (Go's unanchored
 * `[^:]*://.*`), else -1 with "Error parsing swarm discovery: Swarm
 * Discovery URL was in the wrong format: X". */
int swarm_check_discovery(const char *discovery);

/* A Go duration ("300ms", "1m30s", "2h") in nanoseconds; -1 with the error
 * set for anything else (sign, unknown unit, overflow). */
int swarm_parse_duration(const char *s, long long *ns);

enum swarm_op {
	SWARM_INIT,             /* the first master: POST /swarm/init */
	SWARM_JOIN_MANAGER,     /* a later master: POST /swarm/join with the manager token */
	SWARM_JOIN_WORKER,      /* --swarm: POST /swarm/join with the worker token */
};

/* The request body for op from SwarmOptions so (borrowed):
 *   AdvertiseAddr  so.Address, else addr (the machine IP); ListenAddr 0.0.0.0:2377
 *   init           ForceNewCluster false, Spec from the cluster options
 *   joins          RemoteAddrs = remotes (each "host:port"), JoinToken = token
 * Options: ArbitraryFlags (--swarm-opt) for init and manager joins,
 * ArbitraryJoinFlags (--swarm-join-opt) for every join; each "key[=value]",
 * leading dashes ignored.  Mapped keys:
 *   advertise-addr listen-addr data-path-addr availability       (init, joins)
 *   advertise (classic: HOST[:engine port]; the host is used)    (init, joins)
 *   dispatcher-heartbeat heartbeat cert-expiry task-history-limit
 *   max-snapshots snapshot-interval default-addr-pool
 *   default-addr-pool-mask-length data-path-port                 (init only)
 * Classic-only keys (strategy, filter, replication, …), unknown keys,
 * init-only keys on a join, master options on a worker and non-default
 * Image/Strategy/Host each add one line to warn (the caller prints them).
 * -1 with the error set for a malformed value, for `autolock` (its unlock
 * key would be lost), for a token that is not "SWMTKN-1-…" or an address
 * with whitespace or control characters.  *body: new reference. */
int swarm_request(json_t *so, enum swarm_op op, const char *addr, const char *token,
                  const struct strvec *remotes, json_t **body, struct strvec *warn);

/* The EngineOptions the daemon is configured from: a copy of engine (new
 * reference; an empty object for NULL) with "experimental" appended to its
 * ArbitraryFlags when so.IsExperimental (--swarm-experimental) and no
 * experimental flag is there yet. */
json_t *swarm_engine_options(json_t *engine, json_t *so);

/* ---- talking to engines ---- */

/* One request on an engine's TLS API: method "GET", "POST", "DELETE"; path
 * like "/swarm/init" (no version prefix: the engine's own API version);
 * body sent as JSON (NULL = none; never logged); a JSON reply parsed into
 * *out (may be NULL; null when the reply is empty).  *status (may be NULL)
 * gets the HTTP status (0 without a reply).  0 on a 2xx reply, else -1 with
 * the error set as engine_get sets it ("Error response from daemon: MSG",
 * "Cannot connect to the docker engine endpoint", "timeout", …). */
int swarm_engine_request(const char *url, const struct tls_client *tc, const char *method,
                         const char *path, json_t *body, int timeout_ms, json_t **out,
                         long *status);

/* The swarm step of provisioning, run once the engine of h answers over
 * TLS at url (its IP is ip).  Prints "Configuring swarm..." and one line
 * naming what was done; warnings on stderr.  An engine already in a swarm
 * is left as it is (provision and regenerate-certs are idempotent).  The
 * master is looked up in the store st under a store-wide lock
 * (cache/swarm.lock, bounded wait), so masters and nodes created at once
 * still make one swarm.  A node without a reachable master in the store
 * fails with a message saying which master to create or start. */
int swarm_provision(const struct store *st, json_t *h, const char *url, const char *ip);

/* Before rm: take h out of its swarm, best effort, bounded by timeout_ms.
 * A worker leaves and is deleted from the manager's node list; a manager
 * with other managers left is demoted first, then leaves; the last manager
 * leaves with force (the nodes left behind are named in a warning).
 * Returns 0 when h left or was never a member (or its engine cannot be
 * reached: nothing to do), -1 with the error set when a step failed: the
 * caller warns and removes the machine anyway. */
int swarm_leave(const struct store *st, json_t *h, int timeout_ms);

/* env/config --swarm on a master: the URL a docker client should use for
 * the swarm.  url is the master's engine URL (already TLS-checked).  When
 * the engine is an active swarm manager, *out = url; else, for a machine
 * provisioned by 0.16.2 with classic swarm, the classic manager at
 * tcp://HOST:<port of SwarmOptions.Host> when it answers a TLS handshake;
 * else -1 with "Connection to Swarm cannot be checked but the certs are
 * valid. Maybe swarm is not started".  Caller frees *out. */
int swarm_manager_url(json_t *h, const char *url, char **out);

#endif
