/* host.c - the host record: construction, accessors, driver merge, redaction. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "json.h"

/* A JSON array of the strings in sv ([] when sv is NULL or empty). */
static json_t *str_array(const struct strvec *sv)
{
	json_t *a = json_array();
	if (sv)
		for (size_t i = 0; i < sv->n; i++)
			json_array_append_new(a, json_string(sv->v[i]));
	return a;
}

static const char *or_default(const char *s, const char *def)
{
	return s && *s ? s : def;
}

static json_t *base_driver(const struct store *st, const char *name)
{
	json_t *d = json_object();
	dj_set_str(d, "IPAddress", "");
	dj_set_str(d, "MachineName", name);
	dj_set_str(d, "SSHUser", "");
	dj_set_int(d, "SSHPort", 0);
	dj_set_str(d, "SSHKeyPath", "");
	dj_set_str(d, "StorePath", st->base);
	dj_set_bool(d, "SwarmMaster", 0);
	dj_set_str(d, "SwarmHost", "");
	dj_set_str(d, "SwarmDiscovery", "");
	return d;
}

static json_t *engine_options(const struct host_opts *ho)
{
	json_t *e = json_object();
	dj_set(e, "ArbitraryFlags", str_array(ho ? ho->engine_opt : NULL));
	dj_set(e, "Dns", json_null());
	dj_set_str(e, "GraphDir", "");
	dj_set(e, "Env", str_array(ho ? ho->engine_env : NULL));
	dj_set_bool(e, "Ipv6", 0);
	dj_set(e, "InsecureRegistry", str_array(ho ? ho->insecure_registry : NULL));
	dj_set(e, "Labels", str_array(ho ? ho->labels : NULL));
	dj_set_str(e, "LogLevel", "");
	dj_set_str(e, "StorageDriver", ho ? ho->storage_driver : "");
	dj_set_bool(e, "SelinuxEnabled", 0);
	dj_set_bool(e, "TlsVerify", 1);
	dj_set(e, "RegistryMirror", str_array(ho ? ho->registry_mirror : NULL));
	dj_set_str(e, "InstallURL", or_default(ho ? ho->install_url : NULL, "https://get.docker.com"));
	return e;
}

static json_t *swarm_options(const struct host_opts *ho)
{
	json_t *s = json_object();
	int swarm = ho && ho->swarm, master = ho && ho->swarm_master;
	dj_set_bool(s, "IsSwarm", swarm || master);
	dj_set_str(s, "Address", ho ? ho->swarm_addr : "");
	dj_set_str(s, "Discovery", ho ? ho->swarm_discovery : "");
	dj_set_bool(s, "Agent", swarm);
	dj_set_bool(s, "Master", master);
	dj_set_str(s, "Host", or_default(ho ? ho->swarm_host : NULL, "tcp://0.0.0.0:3376"));
	dj_set_str(s, "Image", or_default(ho ? ho->swarm_image : NULL, "swarm:latest"));
	dj_set_str(s, "Strategy", or_default(ho ? ho->swarm_strategy : NULL, "spread"));
	dj_set_int(s, "Heartbeat", 0);
	dj_set_int(s, "Overcommit", 0);
	dj_set(s, "ArbitraryFlags", str_array(ho ? ho->swarm_opt : NULL));
	dj_set(s, "ArbitraryJoinFlags", str_array(ho ? ho->swarm_join_opt : NULL));
	dj_set(s, "Env", json_null());
	dj_set_bool(s, "IsExperimental", ho && ho->swarm_experimental);
	return s;
}

static void set_path(json_t *o, const char *key, const char *override, const char *dir, const char *file)
{
	if (override && *override) {
		dj_set_str(o, key, override);
	} else {
		char *p = xasprintf("%s/%s", dir, file);
		dj_set_str(o, key, p);
		free(p);
	}
}

static json_t *auth_options(const struct store *st, const char *name, const struct host_opts *ho)
{
	json_t *a = json_object();
	char *mdir = store_machine_dir(st, name);
	dj_set_str(a, "CertDir", st->certs);
	set_path(a, "CaCertPath", st->ca_cert, st->certs, "ca.pem");
	set_path(a, "CaPrivateKeyPath", st->ca_key, st->certs, "ca-key.pem");
	dj_set_str(a, "CaCertRemotePath", "");
	set_path(a, "ServerCertPath", NULL, mdir, "server.pem");
	set_path(a, "ServerKeyPath", NULL, mdir, "server-key.pem");
	set_path(a, "ClientKeyPath", st->client_key, st->certs, "key.pem");
	dj_set_str(a, "ServerCertRemotePath", "");
	dj_set_str(a, "ServerKeyRemotePath", "");
	set_path(a, "ClientCertPath", st->client_cert, st->certs, "cert.pem");
	dj_set(a, "ServerCertSANs", str_array(ho ? ho->tls_san : NULL));
	dj_set_str(a, "StorePath", mdir);
	free(mdir);
	return a;
}

json_t *host_new(const struct store *st, const char *name, const char *driver,
                 const struct host_opts *ho)
{
	json_t *h = json_object(), *opts = json_object();
	dj_set_int(h, "ConfigVersion", 3);
	dj_set(h, "Driver", base_driver(st, name));
	dj_set_str(h, "DriverName", driver);
	dj_set_str(opts, "Driver", "");
	dj_set_int(opts, "Memory", 0);
	dj_set_int(opts, "Disk", 0);
	dj_set(opts, "EngineOptions", engine_options(ho));
	dj_set(opts, "SwarmOptions", swarm_options(ho));
	dj_set(opts, "AuthOptions", auth_options(st, name, ho));
	dj_set(h, "HostOptions", opts);
	dj_set_str(h, "Name", name);
	return h;
}

const char *host_name(json_t *h)
{
	return dj_str(h, "Name", "");
}

const char *host_driver_name(json_t *h)
{
	return dj_str(h, "DriverName", "");
}

json_t *host_driver(json_t *h)
{
	json_t *d = json_is_object(h) ? json_object_get(h, "Driver") : NULL;
	return json_is_object(d) ? d : NULL;
}

static json_t *opt_obj(json_t *h, const char *path)
{
	json_t *v = dj_path(h, path);
	return json_is_object(v) ? v : NULL;
}

json_t *host_auth(json_t *h)
{
	return opt_obj(h, "HostOptions.AuthOptions");
}

json_t *host_engine(json_t *h)
{
	return opt_obj(h, "HostOptions.EngineOptions");
}

json_t *host_swarm(json_t *h)
{
	return opt_obj(h, "HostOptions.SwarmOptions");
}

void host_merge_driver(json_t *h, json_t *driver)
{
	json_t *d = host_driver(h), *v;
	const char *k;
	if (!json_is_object(driver))
		return;
	if (!d) {
		dj_set(h, "Driver", json_deep_copy(driver));
		return;
	}
	json_object_foreach(driver, k, v)
		dj_set(d, k, json_deep_copy(v));   /* an existing key keeps its place */
}

char *host_cert_path(const struct store *st, json_t *h)
{
	const char *sp = dj_str(host_auth(h), "StorePath", NULL);
	if (sp && *sp)
		return xstrdup(sp);
	return store_machine_dir(st, host_name(h));
}

static int contains_ci(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	for (; *hay; hay++)
		if (!strncasecmp(hay, needle, n))
			return 1;
	return 0;
}

int host_is_secret_field(const char *name)
{
	static const char *const marks[] = { "Token", "Secret", "Password", "Passwd", "AccessKey",
	                                     "PrivateKey", "ApiKey", "Credentials" };
	size_t n = strlen(name);
	/* A path or file name points at a secret; it is not one. */
	if ((n > 4 && !strcasecmp(name + n - 4, "Path")) || (n > 4 && !strcasecmp(name + n - 4, "File")))
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(marks); i++)
		if (contains_ci(name, marks[i]))
			return 1;
	return 0;
}

/* Lower-case letters and digits only: "digitalocean-access-token" -> "digitaloceanaccesstoken". */
static void squash(const char *s, char *out, size_t cap)
{
	size_t n = 0;
	for (; *s && n + 1 < cap; s++)
		if (isalnum((unsigned char)*s))
			out[n++] = (char)tolower((unsigned char)*s);
	out[n] = 0;
}

/* A caller-listed name (a Driver field or a driver flag name) marks the field
 * when both squash to the same text, or the flag's ends with the field's
 * (flag "amazonec2-secret-key" marks field "SecretKey"; 4 characters at least). */
static int listed(const struct strvec *sv, const char *name)
{
	char f[256], l[256];
	size_t fn, ln;
	if (!sv)
		return 0;
	squash(name, f, sizeof(f));
	fn = strlen(f);
	for (size_t i = 0; i < sv->n; i++) {
		squash(sv->v[i], l, sizeof(l));
		ln = strlen(l);
		if (fn && (!strcmp(l, f) || (fn >= 4 && ln > fn && !strcmp(l + ln - fn, f))))
			return 1;
	}
	return 0;
}

static int worth_redacting(json_t *v)
{
	if (json_is_null(v))
		return 0;
	if (json_is_string(v))
		return json_string_length(v) > 0;
	if (json_is_array(v))
		return json_array_size(v) > 0;
	if (json_is_object(v))
		return json_object_size(v) > 0;
	return 1;
}

static void redact_obj(json_t *o, const struct strvec *secret_fields)
{
	const char *k;
	json_t *v;
	json_object_foreach(o, k, v) {
		if ((host_is_secret_field(k) || listed(secret_fields, k)) && worth_redacting(v))
			dj_set_str(o, k, "(redacted)");
		else if (json_is_object(v))
			redact_obj(v, secret_fields);
	}
}

json_t *host_redact(json_t *h, const struct strvec *secret_fields)
{
	json_t *c = json_deep_copy(h), *d = host_driver(c);
	if (d)
		redact_obj(d, secret_fields);
	return c;
}
