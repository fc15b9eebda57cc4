/* store.h - the machine store, compatible with Docker Machine's
 * (~/.docker/machine): certs/, machines/NAME/config.json, cache/.
 *
 * Rules: directories 0700, config.json 0600, every write is temp + fsync +
 * rename; read-only commands never write (a migrated config is migrated in
 * memory; it is written, with config.json.bak, by the next save).
 * All functions return 0 or -1 with the error set in 0.16.2's words.
 */
#ifndef STORE_H
#define STORE_H

#include <jansson.h>

#include "util.h"

struct store {
	char *base;       /* absolute store path */
	char *certs;      /* base/certs */
	char *machines;   /* base/machines */
	char *cache;      /* base/cache */
	/* CA and client cert/key paths: the global overrides (--tls-ca-cert …,
	 * exported as MACHINE_TLS_CA_CERT, MACHINE_TLS_CA_KEY,
	 * MACHINE_TLS_CLIENT_CERT, MACHINE_TLS_CLIENT_KEY) or the defaults
	 * certs/{ca,ca-key,cert,key}.pem.  Never NULL after store_init. */
	char *ca_cert, *ca_key, *client_cert, *client_key;
};

/* path: -s value or NULL; then $MACHINE_STORAGE_PATH, then $HOME/.docker/machine.
 * Reads MACHINE_TLS_* for the overrides.  Does not touch the disk. */
int store_init(struct store *st, const char *path);
void store_free(struct store *st);
char *store_machine_dir(const struct store *st, const char *name);   /* caller frees */
char *store_config_path(const struct store *st, const char *name);

/* ^[a-zA-Z0-9][a-zA-Z0-9\-\.]*$ (and not "." / ".."). */
int store_valid_name(const char *name);
/* Names of all machines (subdirectories not starting with '.'), natural order
 * of the lower-cased names. A missing store is an empty list, not an error. */
int store_list(const struct store *st, struct strvec *names);
int store_exists(const struct store *st, const char *name);

/* Load machines/NAME/config.json; migrates ConfigVersion 0-2 in memory and
 * sets host["Name"] to the directory name.  *migrated (may be NULL) is set
 * when the file was older.  Errors, as in 0.16.2:
 *   Docker machine "N" does not exist. Use "docker-machine ls" to list machines. Use "docker-machine create" to add a new one.
 *   open /p/machines/N/config.json: no such file or directory
 *   Error getting migrated host: unexpected end of JSON input
 *   Error getting migrated host: config version is from the future -- you should upgrade your Docker Machine client
 * (a config over DM_CAP_CONFIG: "read P: input exceeds N bytes").  Never
 * writes: a missing store stays missing. */
int store_load(const struct store *st, const char *name, json_t **host, int *migrated);
/* Migrate a parsed config in place (exposed for tests); base = store path.
 * v0 -> v1 -> v2 -> v3 as 0.16.2 does; the result has the v3 keys in order,
 * fields 0.16.2 would not have had are Go zero values (null slices), and
 * unknown keys are kept after the known ones.  A v3 config is left as is. */
int store_migrate(json_t *host, const char *base, int *migrated);
/* Save host (Name decides the directory; created 0700 if missing). If the
 * file on disk is an older ConfigVersion it is kept as config.json.bak first.
 * Written as 0.16.2 does: 4-space indent, no trailing newline, mode 0600. */
int store_save(const struct store *st, json_t *host);
/* Remove machines/NAME entirely. */
int store_remove(const struct store *st, const char *name);

/* Locks: flock(2) on machines/NAME/.lock (per machine) or certs/.lock (CA).
 * Return an fd to pass to store_unlock, or -1.  Blocking.  The directory
 * (machines/NAME or certs/) is created 0700 when missing, so take the
 * machine lock after an exclusive mkdir when creating a machine. */
int store_lock_machine(const struct store *st, const char *name);
int store_lock_certs(const struct store *st);
void store_unlock(int fd);

#endif
