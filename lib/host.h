/* host.h - the host record (config.json's object) and what is derived from it.
 *
 * The record is kept as a jansson object so unknown fields (a driver's own,
 * a newer Docker Machine's) survive a load/save round trip; key order is
 * Docker Machine's (ConfigVersion, Driver, DriverName, HostOptions, Name).
 */
#ifndef HOST_H
#define HOST_H

#include <jansson.h>

#include "store.h"

struct host_opts {           /* create's shared flags */
	const char *install_url; /* --engine-install-url */
	struct strvec *engine_opt, *engine_env, *insecure_registry, *registry_mirror, *labels;
	const char *storage_driver;
	int swarm, swarm_master, swarm_experimental;
	const char *swarm_discovery, *swarm_host, *swarm_addr, *swarm_image, *swarm_strategy;
	struct strvec *swarm_opt, *swarm_join_opt;
	struct strvec *tls_san;
};

/* A new ConfigVersion 3 record with every key in 0.16.2's order and default
 * values; Driver = the BaseDriver fields (IPAddress … SwarmDiscovery). */
json_t *host_new(const struct store *st, const char *name, const char *driver,
                 const struct host_opts *ho);

const char *host_name(json_t *h);
const char *host_driver_name(json_t *h);
json_t *host_driver(json_t *h);                   /* borrowed, may be NULL */
json_t *host_auth(json_t *h);                     /* HostOptions.AuthOptions */
json_t *host_engine(json_t *h);                   /* HostOptions.EngineOptions */
json_t *host_swarm(json_t *h);                    /* HostOptions.SwarmOptions */
/* Merge a driver's {"Driver":{…}} update into h (keys replaced, order kept). */
void host_merge_driver(json_t *h, json_t *driver);

/* Paths used by env/config/ls: machine-dir certs (ca.pem cert.pem key.pem)
 * as 0.16.2 prints them. Caller frees. */
char *host_cert_path(const struct store *st, json_t *h);  /* machines/N */

/* A copy of h (new reference) with secrets replaced by "(redacted)": Driver
 * fields (nested objects included) whose name marks a secret and those named
 * in secret_fields (may be NULL): Driver field names or driver flag names,
 * compared lower-cased with only letters and digits kept, a flag name also
 * matching a field its end spells ("amazonec2-secret-key" marks "SecretKey").  Empty values ("", null, [], {}) are left as they are,
 * so an unset secret still reads as unset. */
json_t *host_redact(json_t *h, const struct strvec *secret_fields);
/* 1 when the name contains (any case) Token, Secret, Password, Passwd,
 * AccessKey, PrivateKey, ApiKey or Credentials, and does not end in "Path"
 * or "File" (a path to a key is not a secret). */
int host_is_secret_field(const char *name);

#endif
