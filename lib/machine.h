/* machine.h - what commands ask about one machine, and actions on many.
 *
 * Each function loads nothing itself: h is a loaded host record.  Driver
 * errors come back with the driver's own words (dm_strerr()).
 */
#ifndef MACHINE_H
#define MACHINE_H

#include <jansson.h>

#include "store.h"

#define MACHINE_DRIVER_TIMEOUT_MS (120 * 1000)

/* Load NAME (error set in 0.16.2's words). */
json_t *machine_load(const struct store *st, const char *name);
/* The one machine a command such as env, config or inspect acts on: named
 * by args (or "-": stdin), else "default".  NULL with the error set when
 * there is not exactly one (`Error: Expected one machine name as an
 * argument`, or cli_names' error) or it cannot be loaded. */
json_t *machine_load_one(const struct store *st, const struct strvec *args);
/* Ask the driver one read verb and return the answer's string member
 * (verb "url" -> "URL", "ip" -> "IP", "state" -> "State"). Caller frees. */
char *machine_ask(json_t *h, const char *verb, const char *field, int timeout_ms);
/* The TLS client of a host: AuthOptions CaCertPath/ClientCertPath/ClientKeyPath. */
struct tls_client;
void machine_tls(json_t *h, struct tls_client *tc);

/* 0.16.2's connection check used by env, config and create:
 * swarm: whether --swarm was given (the host must be a swarm master; after
 * the engine's check, the swarm manager's URL comes from swarm_manager_url:
 * in swarm mode the master's engine URL itself). On success *url is the URL to use
 * (caller frees). On failure the error holds the complete message, e.g.
 * `Error checking and/or regenerating the certs: There was an error validating
 * certificates for host "H:P": dial tcp …` (without the caller's prefix). */
int machine_check_connection(const struct store *st, json_t *h, int swarm, char **url);

/* Driver lifecycle verb for many machines in parallel, with 0.16.2's
 * messages: "Starting \"N\"..." etc. on stdout and errors on stderr.
 * verb: start stop restart kill.  Saves driver updates.  Returns the exit status. */
int machine_lifecycle(const struct store *st, const struct strvec *names, const char *verb);

/* The whole main of dm-start, dm-stop, dm-restart and dm-kill. */
int machine_lifecycle_main(int argc, char **argv, const char *verb);

/* Persist a {"Driver":{…}} update: merge and save (under the machine lock). */
int machine_persist(const struct store *st, json_t *h, json_t *driver);



/* The body of dm-url, dm-ip and dm-status: ask VERB of every named machine
 * (batched per driver), print FIELD one per line in argument order (or JSON
 * objects {"Name":…, FIELD:…} with json).  multi: whether several names may
 * be given as arguments (ip); names read from "-" are always allowed.
 * Errors go to stderr in 0.16.2's words. Returns the exit status. */
int machine_print_field(const struct store *st, const struct strvec *args, int multi,
                        const char *verb, const char *field, int json);

/* How to reach a machine over SSH: the driver's `ssh-info` answer as an
 * ssh_target (host keys pinned in KnownHosts, else machines/NAME/known_hosts;
 * SSH_HK_AUTO).  0, or -1 with the error set.  machine_ssh_free releases it. */
#include "ssh.h"
struct machine_ssh {
	struct ssh_target t;
	json_t *info;          /* the answer; owns the strings t points at */
	char *known_hosts;
};
int machine_ssh_info(const struct store *st, json_t *h, struct machine_ssh *ms);
void machine_ssh_free(struct machine_ssh *ms);

#endif
