/* store.c - the machine store: paths, names, listing, load/migrate/save, locks. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dm.h"
#include "json.h"
#include "store.h"

#define CONFIG_VERSION 3

/* Lexically clean an absolute path: collapse "//", drop "." and resolve "..". */
static char *clean_path(const char *p)
{
	char *out = xmalloc(strlen(p) + 2);
	size_t n = 0;
	const char *s = p;
	out[n++] = '/';
	while (*s) {
		const char *e;
		size_t len;
		while (*s == '/')
			s++;
		if (!*s)
			break;
		for (e = s; *e && *e != '/'; e++)
			;
		len = (size_t)(e - s);
		if (len == 1 && s[0] == '.') {
			/* skip */
		} else if (len == 2 && s[0] == '.' && s[1] == '.') {
			while (n > 1 && out[n - 1] != '/')
				n--;
			if (n > 1)
				n--;  /* the slash before the dropped element */
		} else {
			if (n > 1)
				out[n++] = '/';
			memcpy(out + n, s, len);
			n += len;
		}
		s = e;
	}
	out[n] = 0;
	return out;
}

static char *absolute(const char *p)
{
	char *joined, *r;
	char cwd[4096];
	if (p[0] == '/')
		return clean_path(p);
	if (!getcwd(cwd, sizeof(cwd)))
		return clean_path(p);
	joined = xasprintf("%s/%s", cwd, p);
	r = clean_path(joined);
	free(joined);
	return r;
}

static char *env_nonempty(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? xstrdup(v) : NULL;
}

static char *tls_path(const char *env, const char *certs, const char *file)
{
	char *v = env_nonempty(env);
	return v ? v : xasprintf("%s/%s", certs, file);
}

int store_init(struct store *st, const char *path)
{
	const char *home;
	char *raw;
	memset(st, 0, sizeof(*st));
	if (path && *path) {
		raw = xstrdup(path);
	} else if ((raw = env_nonempty("MACHINE_STORAGE_PATH"))) {
		/* raw set */
	} else {
		home = getenv("HOME");
		if (!home || !*home)
			return dm_seterr("cannot find the store: neither MACHINE_STORAGE_PATH nor HOME is set");
		raw = xasprintf("%s/.docker/machine", home);
	}
	st->base = absolute(raw);
	free(raw);
	st->certs = xasprintf("%s/certs", st->base);
	st->machines = xasprintf("%s/machines", st->base);
	st->cache = xasprintf("%s/cache", st->base);
	st->ca_cert = tls_path("MACHINE_TLS_CA_CERT", st->certs, "ca.pem");
	st->ca_key = tls_path("MACHINE_TLS_CA_KEY", st->certs, "ca-key.pem");
	st->client_cert = tls_path("MACHINE_TLS_CLIENT_CERT", st->certs, "cert.pem");
	st->client_key = tls_path("MACHINE_TLS_CLIENT_KEY", st->certs, "key.pem");
	return 0;
}

void store_free(struct store *st)
{
	free(st->base);
	free(st->certs);
	free(st->machines);
	free(st->cache);
	free(st->ca_cert);
	free(st->ca_key);
	free(st->client_cert);
	free(st->client_key);
	memset(st, 0, sizeof(*st));
}

char *store_machine_dir(const struct store *st, const char *name)
{
	return xasprintf("%s/%s", st->machines, name);
}

char *store_config_path(const struct store *st, const char *name)
{
	return xasprintf("%s/%s/config.json", st->machines, name);
}

static int is_alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

int store_valid_name(const char *name)
{
	const char *p;
	if (!name || !is_alnum((unsigned char)name[0]))
		return 0;   /* also refuses "", "." and ".." */
	for (p = name + 1; *p; p++)
		if (!is_alnum((unsigned char)*p) && *p != '-' && *p != '.')
			return 0;
	return 1;
}

static int natcmp_ptr(const void *a, const void *b)
{
	return str_natcmp(*(char *const *)a, *(char *const *)b);
}

int store_list(const struct store *st, struct strvec *names)
{
	DIR *d = opendir(st->machines);
	struct dirent *e;
	if (!d) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return dm_seterr_errno("open %s", st->machines);
	}
	while ((e = readdir(d))) {
		int isdir;
		if (e->d_name[0] == '.')
			continue;
		if (e->d_type == DT_DIR) {
			isdir = 1;
		} else if (e->d_type == DT_UNKNOWN) {
			struct stat sb;
			isdir = fstatat(dirfd(d), e->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
			        S_ISDIR(sb.st_mode);
		} else {
			isdir = 0;   /* files and symlinks are not machines (0.16.2 lstat rule) */
		}
		if (isdir)
			sv_push(names, e->d_name);
	}
	closedir(d);
	if (names->n > 1)
		qsort(names->v, names->n, sizeof(*names->v), natcmp_ptr);
	return 0;
}

int store_exists(const struct store *st, const char *name)
{
	struct stat sb;
	char *dir;
	int r;
	if (!name || !*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
		return 0;
	dir = store_machine_dir(st, name);
	r = stat(dir, &sb) == 0;
	free(dir);
	return r;
}

/* ---- migration ---- */

static const char *const top_keys[] = { "ConfigVersion", "Driver", "DriverName", "HostOptions", "Name" };
static const char *const hostopt_keys[] = { "Driver", "Memory", "Disk", "EngineOptions", "SwarmOptions",
                                            "AuthOptions" };

/* Key lists with the zero value Go writes for a missing field:
 * 's' "" , 'i' 0, 'b' false, 'n' null (slice), 'o' object handled by caller. */
struct field {
	const char *key;
	char zero;
};
static const struct field engine_fields[] = {
	{ "ArbitraryFlags", 'n' }, { "Dns", 'n' }, { "GraphDir", 's' }, { "Env", 'n' },
	{ "Ipv6", 'b' }, { "InsecureRegistry", 'n' }, { "Labels", 'n' }, { "LogLevel", 's' },
	{ "StorageDriver", 's' }, { "SelinuxEnabled", 'b' }, { "TlsVerify", 'b' },
	{ "RegistryMirror", 'n' }, { "InstallURL", 's' },
};
static const struct field swarm_fields[] = {
	{ "IsSwarm", 'b' }, { "Address", 's' }, { "Discovery", 's' }, { "Agent", 'b' },
	{ "Master", 'b' }, { "Host", 's' }, { "Image", 's' }, { "Strategy", 's' },
	{ "Heartbeat", 'i' }, { "Overcommit", 'i' }, { "ArbitraryFlags", 'n' },
	{ "ArbitraryJoinFlags", 'n' }, { "Env", 'n' }, { "IsExperimental", 'b' },
};
static const struct field auth_fields[] = {
	{ "CertDir", 's' }, { "CaCertPath", 's' }, { "CaPrivateKeyPath", 's' },
	{ "CaCertRemotePath", 's' }, { "ServerCertPath", 's' }, { "ServerKeyPath", 's' },
	{ "ClientKeyPath", 's' }, { "ServerCertRemotePath", 's' }, { "ServerKeyRemotePath", 's' },
	{ "ClientCertPath", 's' }, { "ServerCertSANs", 'n' }, { "StorePath", 's' },
};

static json_t *zero_value(char z)
{
	switch (z) {
	case 's': return json_string("");
	case 'i': return json_integer(0);
	case 'b': return json_false();
	default: return json_null();
	}
}

/* A new object with fields in the given order (taking values from src or the
 * zero value), then src's other keys in their order.  src may be NULL. */
static json_t *ordered(json_t *src, const struct field *f, size_t nf)
{
	json_t *o = json_object(), *v;
	const char *k;
	size_t i;
	for (i = 0; i < nf; i++) {
		v = json_is_object(src) ? json_object_get(src, f[i].key) : NULL;
		dj_set(o, f[i].key, v ? json_incref(v) : zero_value(f[i].zero));
	}
	if (json_is_object(src))
		json_object_foreach(src, k, v)
			if (!json_object_get(o, k))
				dj_set(o, k, json_incref(v));
	return o;
}

static void move_key(json_t *dst, const char *dkey, json_t *src, const char *skey)
{
	json_t *v = json_object_get(src, skey);
	if (v)
		dj_set(dst, dkey, json_incref(v));
}

static char *dir_of(const char *p)
{
	const char *s = strrchr(p, '/');
	if (!s)
		return xstrdup(".");
	if (s == p)
		return xstrdup("/");
	return xstrndup(p, (size_t)(s - p));
}

/* v0 -> v1: the flat top-level fields move into HostOptions. */
static void migrate_v0(json_t *h)
{
	json_t *ho = json_object(), *eng = json_object(), *sw = json_object(), *auth = json_object();
	static const char *const flat[] = { "StorePath", "CaCertPath", "PrivateKeyPath", "ServerCertPath",
	                                    "ServerKeyPath", "ClientCertPath", "ClientKeyPath" };
	size_t i;
	dj_set_bool(eng, "TlsVerify", 1);
	dj_set_str(eng, "InstallURL", "https://get.docker.com");
	dj_set_str(sw, "Address", "");
	move_key(sw, "Discovery", h, "SwarmDiscovery");
	move_key(sw, "Host", h, "SwarmHost");
	move_key(sw, "Master", h, "SwarmMaster");
	for (i = 0; i < ARRAY_SIZE(flat); i++)
		move_key(auth, flat[i], h, flat[i]);
	dj_set(ho, "EngineOptions", eng);
	dj_set(ho, "SwarmOptions", sw);
	dj_set(ho, "AuthOptions", auth);
	/* v1 keeps the machine's StorePath at the top as well (used by v1 -> v2). */
	dj_set(h, "HostOptions", ho);
	static const char *const gone[] = { "CaCertPath", "PrivateKeyPath", "ServerCertPath", "ServerKeyPath",
	                                    "ClientCertPath", "ClientKeyPath", "SwarmHost", "SwarmMaster",
	                                    "SwarmDiscovery" };
	for (i = 0; i < ARRAY_SIZE(gone); i++)
		json_object_del(h, gone[i]);
}

/* v1 -> v2: PrivateKeyPath -> CaPrivateKeyPath, CertDir added, AuthOptions.StorePath = global. */
static void migrate_v1(json_t *h, const char *base)
{
	json_t *ho = json_object_get(h, "HostOptions"), *auth, *nauth;
	const char *sp;
	char *global, *cd;
	if (!json_is_object(ho)) {
		ho = json_object();
		dj_set(h, "HostOptions", ho);
	}
	auth = json_object_get(ho, "AuthOptions");
	sp = dj_str(h, "StorePath", NULL);
	if (!sp || !*sp)
		sp = dj_str(auth, "StorePath", NULL);
	if (sp && *sp) {
		char *d1 = dir_of(sp);
		global = dir_of(d1);
		free(d1);
	} else {
		global = xstrdup(base);
	}
	nauth = json_object();
	cd = xasprintf("%s/certs", global);
	dj_set_str(nauth, "CertDir", cd);
	free(cd);
	move_key(nauth, "CaCertPath", auth, "CaCertPath");
	move_key(nauth, "CaPrivateKeyPath", auth, "PrivateKeyPath");
	move_key(nauth, "CaCertRemotePath", auth, "CaCertRemotePath");
	move_key(nauth, "ServerCertPath", auth, "ServerCertPath");
	move_key(nauth, "ServerKeyPath", auth, "ServerKeyPath");
	move_key(nauth, "ClientKeyPath", auth, "ClientKeyPath");
	move_key(nauth, "ServerCertRemotePath", auth, "ServerCertRemotePath");
	move_key(nauth, "ServerKeyRemotePath", auth, "ServerKeyRemotePath");
	move_key(nauth, "ClientCertPath", auth, "ClientCertPath");
	dj_set_str(nauth, "StorePath", global);
	dj_set(ho, "AuthOptions", nauth);
	json_object_del(h, "StorePath");
	free(global);
}

/* v2 -> v3: the raw Driver gets "StorePath" = the store's base path, placed
 * where the BaseDriver field sits (after SSHKeyPath) when it is new. */
static void migrate_v2(json_t *h, const char *base)
{
	json_t *drv = json_object_get(h, "Driver"), *nd, *v;
	const char *k;
	int placed = 0;
	if (!json_is_object(drv)) {
		drv = json_object();
		dj_set(h, "Driver", drv);
	}
	if (json_object_get(drv, "StorePath") || !json_object_get(drv, "SSHKeyPath")) {
		dj_set_str(drv, "StorePath", base);
		return;
	}
	nd = json_object();
	json_object_foreach(drv, k, v) {
		dj_set(nd, k, json_incref(v));
		if (!strcmp(k, "SSHKeyPath")) {
			dj_set_str(nd, "StorePath", base);
			placed = 1;
		}
	}
	if (!placed)
		dj_set_str(nd, "StorePath", base);
	dj_set(h, "Driver", nd);
}

/* Rebuild h in place into the v3 shape (key order and Go zero values). */
static void normalize_v3(json_t *h)
{
	json_t *n = json_object(), *ho, *nho, *v;
	const char *k;
	size_t i;
	ho = json_object_get(h, "HostOptions");
	nho = json_object();
	for (i = 0; i < ARRAY_SIZE(hostopt_keys); i++) {
		const char *hk = hostopt_keys[i];
		json_t *sub = json_is_object(ho) ? json_object_get(ho, hk) : NULL;
		if (!strcmp(hk, "EngineOptions"))
			dj_set(nho, hk, ordered(sub, engine_fields, ARRAY_SIZE(engine_fields)));
		else if (!strcmp(hk, "SwarmOptions"))
			dj_set(nho, hk, ordered(sub, swarm_fields, ARRAY_SIZE(swarm_fields)));
		else if (!strcmp(hk, "AuthOptions"))
			dj_set(nho, hk, ordered(sub, auth_fields, ARRAY_SIZE(auth_fields)));
		else
			dj_set(nho, hk, sub ? json_incref(sub) : zero_value(strcmp(hk, "Driver") ? 'i' : 's'));
	}
	if (json_is_object(ho))
		json_object_foreach(ho, k, v)
			if (!json_object_get(nho, k))
				dj_set(nho, k, json_incref(v));
	for (i = 0; i < ARRAY_SIZE(top_keys); i++) {
		k = top_keys[i];
		if (!strcmp(k, "HostOptions"))
			dj_set(n, k, json_incref(nho));
		else if ((v = json_object_get(h, k)))
			dj_set(n, k, json_incref(v));
		else if (!strcmp(k, "Driver"))
			dj_set(n, k, json_object());
		else
			dj_set(n, k, json_string(""));
	}
	json_decref(nho);
	json_object_clear(h);
	json_object_update(h, n);
	json_decref(n);
}

static const char *json_kind(json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "object";
	case JSON_ARRAY: return "array";
	case JSON_STRING: return "string";
	case JSON_INTEGER:
	case JSON_REAL: return "number";
	case JSON_TRUE:
	case JSON_FALSE: return "bool";
	default: return "null";
	}
}

int store_migrate(json_t *host, const char *base, int *migrated)
{
	json_t *cv;
	long long ver = 0;
	if (migrated)
		*migrated = 0;
	if (!json_is_object(host))
		return dm_seterr("json: cannot unmarshal %s into Go value of type host.Metadata",
		                 json_kind(host));
	cv = json_object_get(host, "ConfigVersion");
	if (cv && !json_is_null(cv)) {
		if (!json_is_integer(cv))
			return dm_seterr("json: cannot unmarshal %s into Go struct field "
			                 "Metadata.ConfigVersion of type int", json_kind(cv));
		ver = json_integer_value(cv);
	}
	if (ver > CONFIG_VERSION)
		return dm_seterr("config version is from the future -- you should upgrade your Docker Machine client");
	if (ver == CONFIG_VERSION)
		return 0;
	if (ver < 0)
		ver = 0;
	if (ver <= 0)
		migrate_v0(host);
	if (ver <= 1)
		migrate_v1(host, base);
	if (ver <= 2)
		migrate_v2(host, base);
	dj_set_int(host, "ConfigVersion", CONFIG_VERSION);
	normalize_v3(host);
	if (migrated)
		*migrated = 1;
	return 0;
}

static int no_machine(const char *name)
{
	return dm_seterr("Docker machine \"%s\" does not exist. Use \"docker-machine ls\" to list machines. "
	                 "Use \"docker-machine create\" to add a new one.", name);
}

int store_load(const struct store *st, const char *name, json_t **host, int *migrated)
{
	struct strbuf sb;
	json_t *h;
	char *path;
	*host = NULL;
	if (migrated)
		*migrated = 0;
	if (!store_exists(st, name))
		return no_machine(name);
	path = store_config_path(st, name);
	sb_init(&sb, 0);
	if (sb_read_file(&sb, path, DM_CAP_CONFIG) < 0) {
		free(path);
		sb_release(&sb);
		return -1;
	}
	free(path);
	if (dj_parse(sb.buf, sb.len, &h) < 0) {
		sb_release(&sb);
		return dm_seterr("Error getting migrated host: %s", dm_strerr());
	}
	sb_release(&sb);
	if (store_migrate(h, st->base, migrated) < 0) {
		json_decref(h);
		return dm_seterr("Error getting migrated host: %s", dm_strerr());
	}
	dj_set_str(h, "Name", name);
	*host = h;
	return 0;
}

/* ConfigVersion of the config.json on disk; -1 when there is none or it is unreadable. */
static long long disk_version(const char *path, struct strbuf *raw)
{
	json_t *old, *cv;
	long long v = 0;
	if (sb_read_file(raw, path, DM_CAP_CONFIG) < 0)
		return -1;
	if (dj_parse(raw->buf, raw->len, &old) < 0)
		return -1;
	cv = json_object_get(old, "ConfigVersion");
	if (json_is_integer(cv))
		v = json_integer_value(cv);
	json_decref(old);
	return v;
}

int store_save(const struct store *st, json_t *host)
{
	const char *name = dj_str(host, "Name", NULL);
	struct strbuf out = STRBUF_INIT, raw = STRBUF_INIT;
	char *dir, *path, *bak;
	long long dv;
	int r = -1;
	if (!name || !store_valid_name(name))
		return dm_seterr("cannot save host: invalid name \"%s\"", name ? name : "");
	dir = store_machine_dir(st, name);
	path = store_config_path(st, name);
	bak = xasprintf("%s.bak", path);
	if (mkdir_p(st->machines, 0700) < 0 || mkdir_p(dir, 0700) < 0)
		goto out;
	dv = disk_version(path, &raw);
	if (dv >= 0 && dv < CONFIG_VERSION &&
	    write_file_atomic(bak, raw.buf, raw.len, 0600) < 0)
		goto out;
	dj_encode(host, 4, 0, &out);
	if (write_file_atomic(path, out.buf, out.len, 0600) < 0)
		goto out;
	r = 0;
out:
	sb_release(&out);
	sb_release(&raw);
	free(dir);
	free(path);
	free(bak);
	return r;
}

int store_remove(const struct store *st, const char *name)
{
	char *dir;
	int r;
	if (!store_exists(st, name))
		return no_machine(name);
	dir = store_machine_dir(st, name);
	r = rm_rf(dir);
	free(dir);
	return r;
}

static int lock_at(const char *dir)
{
	char *path;
	int fd;
	if (mkdir_p(dir, 0700) < 0)
		return -1;
	path = xasprintf("%s/.lock", dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		dm_seterr_errno("open %s", path);
		free(path);
		return -1;
	}
	while (flock(fd, LOCK_EX) < 0) {
		if (errno == EINTR)
			continue;
		dm_seterr_errno("lock %s", path);
		close(fd);
		free(path);
		return -1;
	}
	free(path);
	return fd;
}

int store_lock_machine(const struct store *st, const char *name)
{
	char *dir;
	int fd;
	if (!store_valid_name(name))
		return dm_seterr("Invalid hostname specified. Allowed hostname chars are: 0-9a-zA-Z . -");
	if (mkdir_p(st->machines, 0700) < 0)
		return -1;
	dir = store_machine_dir(st, name);
	fd = lock_at(dir);
	free(dir);
	return fd;
}

int store_lock_certs(const struct store *st)
{
	return lock_at(st->certs);
}

void store_unlock(int fd)
{
	if (fd >= 0) {
		flock(fd, LOCK_UN);
		close(fd);
	}
}
