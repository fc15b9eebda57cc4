/* dm-driver-digitalocean - droplets through the DigitalOcean API v2.
 *
 *   dm-driver-digitalocean describe
 *   dm-driver-digitalocean VERB < host.json
 *
 * MAN PAGE PROSE (man/src/dm-driver-digitalocean.md takes it from here):
 *
 * Creates a droplet with a bearer token (--digitalocean-access-token or
 * DIGITALOCEAN_ACCESS_TOKEN, required, stored in config.json as 0.16.2 does
 * and redacted by inspect).  The API endpoint is https://api.digitalocean.com
 * unless DIGITALOCEAN_API_URL names another (tests, proxies).
 *
 * create: with --digitalocean-ssh-key-fingerprint the account's key is
 * used (GET /v2/account/keys/FP; with --digitalocean-ssh-key-path that
 * private key is copied into the machine directory); otherwise a new
 * ed25519 key is made in machines/NAME/id_ed25519 and uploaded
 * (POST /v2/account/keys, named after the machine).  Then POST /v2/droplets
 * with the flags, and GET /v2/droplets/ID every DIGITALOCEAN_POLL_MS
 * (default 1000) until the droplet has a public IPv4 address (at most
 * DIGITALOCEAN_CREATE_TIMEOUT_S, default 600 s).  The key id, the droplet id
 * and the address are saved the moment each exists, so an interrupted
 * create can be removed.
 *
 * Tags: every droplet carries the tag "docker-machine" and the machine's
 * own tag "docker-machine:NAME", plus --digitalocean-tags.  DigitalOcean tag
 * names allow only letters, digits, ':', '-' and '_', so in NAME every '.'
 * (and any other character outside that set) becomes '_' — a machine name
 * never contains '_', so the mapping is one-to-one: machine "web.1" is tagged
 * "docker-machine:web_1".
 *
 * state (and url) answer every host of a batch from one listing of the
 * droplets tagged "docker-machine" (GET /v2/droplets?tag_name=…&per_page=200,
 * following pages), per access token; a host missing from it (a droplet made
 * by 0.16.2, untagged) is looked up by id.  new → Starting, active →
 * Running, off → Stopped, archive → Error.  ip answers the saved address, as
 * 0.16.2 does.
 *
 * start, stop, restart, kill: POST /v2/droplets/ID/actions with power_on,
 * shutdown, reboot, power_off, then wait for the action to complete.
 *
 * remove: DELETE /v2/droplets/ID, every droplet tagged with the machine's
 * tag (leftovers of an interrupted create), and the generated key (by id,
 * and any key of the account whose public key is the machine's id_ed25519.pub);
 * a 404 counts as removed.  A key given by fingerprint is never deleted.
 *
 * precreate-check: the user-data file exists, GET /v2/account (the token
 * works), the region exists and is available, the size exists (and is
 * offered in the region), the image exists (GET /v2/images/SLUG), the
 * fingerprint's key exists.  A failure answers the provider's message and
 * exits 3.
 *
 * Default changed from 0.16.2: --digitalocean-image is ubuntu-24-04-x64
 * (ubuntu-16-04-x64 no longer exists at DigitalOcean).
 *
 * Exit status: 0 ok; 1 an {"Error"} was answered; 3 precreate-check failed.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dm.h"
#include "drvkit.h"
#include "http.h"
#include "json.h"
#include "ssh.h"

#define API_DEFAULT "https://api.digitalocean.com"
#define COMMON_TAG "docker-machine"
#define ENGINE_PORT 2376
#define REQ_TIMEOUT_MS 30000
#define ACTION_TIMEOUT_S 300

static const struct opt flags[] = {
	{ "digitalocean-access-token", 0, OPT_STRING, NULL, "DIGITALOCEAN_ACCESS_TOKEN", "Digital Ocean access token",
	  0, NULL, OPTF_REQUIRED | OPTF_SECRET },
	{ "digitalocean-backups", 0, OPT_BOOL, NULL, "DIGITALOCEAN_BACKUPS", "enable backups for droplet", 0, NULL, 0 },
	{ "digitalocean-image", 0, OPT_STRING, "ubuntu-24-04-x64", "DIGITALOCEAN_IMAGE", "Digital Ocean Image",
	  0, NULL, 0 },
	{ "digitalocean-ipv6", 0, OPT_BOOL, NULL, "DIGITALOCEAN_IPV6", "enable ipv6 for droplet", 0, NULL, 0 },
	{ "digitalocean-monitoring", 0, OPT_BOOL, NULL, "DIGITALOCEAN_MONITORING", "enable monitoring for droplet",
	  0, NULL, 0 },
	{ "digitalocean-private-networking", 0, OPT_BOOL, NULL, "DIGITALOCEAN_PRIVATE_NETWORKING",
	  "enable private networking for droplet", 0, NULL, 0 },
	{ "digitalocean-region", 0, OPT_STRING, "nyc3", "DIGITALOCEAN_REGION", "Digital Ocean region", 0, NULL, 0 },
	{ "digitalocean-size", 0, OPT_STRING, "s-1vcpu-1gb", "DIGITALOCEAN_SIZE", "Digital Ocean size", 0, NULL, 0 },
	{ "digitalocean-ssh-key-fingerprint", 0, OPT_STRING, NULL, "DIGITALOCEAN_SSH_KEY_FINGERPRINT",
	  "SSH key fingerprint", 0, NULL, 0 },
	{ "digitalocean-ssh-key-path", 0, OPT_STRING, NULL, "DIGITALOCEAN_SSH_KEY_PATH", "SSH private key path ",
	  0, NULL, 0 },
	{ "digitalocean-ssh-port", 0, OPT_INT, "22", "DIGITALOCEAN_SSH_PORT", "SSH port", 0, NULL, 0 },
	{ "digitalocean-ssh-user", 0, OPT_STRING, "root", "DIGITALOCEAN_SSH_USER", "SSH username", 0, NULL, 0 },
	{ "digitalocean-tags", 0, OPT_STRING, NULL, "DIGITALOCEAN_TAGS",
	  "comma-separated list of tags to apply to the Droplet", 0, NULL, 0 },
	{ "digitalocean-userdata", 0, OPT_STRING, NULL, "DIGITALOCEAN_USERDATA", "path to file with cloud-init user-data",
	  0, NULL, 0 },
};

/* ---- the configuration: from "Flags" (set-config, precreate-check,
 * create) or from the saved Driver object (every other verb) ---- */

struct conf {
	const char *name;          /* machine name */
	const char *token, *image, *region, *size, *fingerprint, *keypath, *user, *tags, *userdata;
	int backups, ipv6, privnet, monitoring;
	long port;
	const char *store;         /* StorePath */
	long long droplet_id, key_id;
	const char *ip;
};

/* The machine's name, "" when the record has none. */
static const char *host_name(json_t *host)
{
	const char *n = drv_host_name(host);
	return n ? n : "";
}

static int conf_from_flags(json_t *host, struct conf *c)
{
	json_t *fl = drv_host_flags(host);
	memset(c, 0, sizeof(*c));
	c->name = host_name(host);
	c->store = dj_str(drv_host_driver(host), "StorePath", "");
	c->token = drv_flag_str(fl, "digitalocean-access-token");
	c->image = drv_flag_str(fl, "digitalocean-image");
	c->region = drv_flag_str(fl, "digitalocean-region");
	c->size = drv_flag_str(fl, "digitalocean-size");
	c->fingerprint = drv_flag_str(fl, "digitalocean-ssh-key-fingerprint");
	c->keypath = drv_flag_str(fl, "digitalocean-ssh-key-path");
	c->user = drv_flag_str(fl, "digitalocean-ssh-user");
	c->tags = drv_flag_str(fl, "digitalocean-tags");
	c->userdata = drv_flag_str(fl, "digitalocean-userdata");
	c->backups = drv_flag_bool(fl, "digitalocean-backups");
	c->ipv6 = drv_flag_bool(fl, "digitalocean-ipv6");
	c->privnet = drv_flag_bool(fl, "digitalocean-private-networking");
	c->monitoring = drv_flag_bool(fl, "digitalocean-monitoring");
	if (drv_flag_int(fl, "digitalocean-ssh-port", 1, 65535, &c->port) < 0)
		return -1;
	if (!*c->user)
		c->user = "root";
	if (!*c->token)
		return dm_seterr("digitalocean driver requires the --digitalocean-access-token option");
	if (*c->keypath && !*c->fingerprint)
		return dm_seterr("ssh-key-fingerprint needs to be provided for \"%s\"", c->keypath);
	return 0;
}

static void conf_from_driver(json_t *host, struct conf *c)
{
	json_t *d = drv_host_driver(host);
	memset(c, 0, sizeof(*c));
	c->name = host_name(host);
	c->store = dj_str(d, "StorePath", "");
	c->token = dj_str(d, "AccessToken", "");
	c->fingerprint = dj_str(d, "SSHKeyFingerprint", "");
	c->user = dj_str(d, "SSHUser", "root");
	c->port = (long)dj_int(d, "SSHPort", 22);
	c->droplet_id = dj_int(d, "DropletID", 0);
	c->key_id = dj_int(d, "SSHKeyID", 0);
	c->ip = dj_str(d, "IPAddress", "");
	c->keypath = dj_str(d, "SSHKeyPath", "");
	if (!*c->user)
		c->user = "root";
	if (!c->port)
		c->port = 22;
}

static char *machine_dir(const struct conf *c)
{
	if (!*c->store || !*c->name)
		return NULL;
	return xasprintf("%s/machines/%s", c->store, c->name);
}

/* "docker-machine:NAME" with NAME mapped to the tag alphabet. Caller frees. */
static char *machine_tag(const char *name)
{
	struct strbuf sb = STRBUF_INIT;
	sb_adds(&sb, COMMON_TAG ":");
	for (const char *p = name; *p && sb.len < 255; p++) {
		int ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		         *p == '-' || *p == ':' || *p == '_';
		sb_addc(&sb, ok ? *p : '_');
	}
	return sb_detach(&sb);
}

/* ---- the API ---- */

static const char *api_base(void)
{
	const char *e = getenv("DIGITALOCEAN_API_URL");
	return e && *e ? e : API_DEFAULT;
}

static long env_long(const char *name, long def, long min, long max)
{
	const char *e = getenv(name);
	long v;
	if (e && *e && parse_long(e, min, max, &v, name) == 0)
		return v;
	return def;
}

/* One call: path is below the base ("/v2/account").  Returns 0 on 2xx;
 * -1 with the error "METHOD URL: STATUS message" (godo's words) or curl's. */
static int api_x(const char *token, const char *method, const char *path, json_t *body, json_t **out,
                 long *statusp, int creates)
{
	struct strbuf url = STRBUF_INIT, auth = STRBUF_INIT;
	struct http_req r = { .method = method, .timeout_ms = REQ_TIMEOUT_MS, .replies_only = creates };
	long status = 0;
	int rc;
	const char *base = api_base();
	size_t bl = strlen(base);

	sb_add(&url, base, bl && base[bl - 1] == '/' ? bl - 1 : bl);
	sb_adds(&url, path);
	r.url = url.buf;
	sb_addf(&auth, "Bearer %s", token);
	http_header_secret(&r, "Authorization", auth.buf);
	explicit_bzero(auth.buf, auth.len);
	rc = http_json(&r, body, out, &status);
	if (rc < 0 && status) {
		char *m = xstrdup(dm_strerr());
		dm_seterr("%s %s: %ld %s", method, url.buf, status, m);
		free(m);
	}
	if (statusp)
		*statusp = status;
	http_req_free(&r);
	sb_release(&url);
	sb_release(&auth);
	return rc;
}

static int api(const char *token, const char *method, const char *path, json_t *body, json_t **out,
               long *statusp)
{
	return api_x(token, method, path, body, out, statusp, 0);
}

/* A request that makes a resource: a lost reply is not retried (the
 * resource may exist; remove finds it by its tag or key). */
static int api_create(const char *token, const char *path, json_t *body, json_t **out)
{
	return api_x(token, "POST", path, body, out, NULL, 1);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* The droplet's public IPv4 address, or NULL. Borrowed. */
static const char *public_v4(json_t *droplet)
{
	json_t *v4 = dj_path(droplet, "networks.v4"), *n;
	size_t i;
	json_array_foreach(v4, i, n)
		if (!strcmp(dj_str(n, "type", ""), "public") && *dj_str(n, "ip_address", ""))
			return dj_str(n, "ip_address", "");
	return NULL;
}

static const char *map_state(const char *status)
{
	if (!strcmp(status, "new"))
		return "Starting";
	if (!strcmp(status, "active"))
		return "Running";
	if (!strcmp(status, "off"))
		return "Stopped";
	return "Error";   /* archive, and anything unknown */
}

/* ---- set-config, precreate-check ---- */

static void do_set_config(const char *verb, json_t *host)
{
	struct conf c;
	json_t *d;
	char *tag;
	if (conf_from_flags(host, &c) < 0) {
		drv_error(NULL, dm_strerr());
		return;
	}
	tag = machine_tag(c.name);
	/* 0.16.2's field names and order, then ours (MachineTag) */
	d = json_object();
	dj_set_str(d, "SSHUser", c.user);
	dj_set_int(d, "SSHPort", c.port);
	dj_set_str(d, "AccessToken", c.token);
	dj_set_int(d, "DropletID", 0);
	dj_set_str(d, "DropletName", c.name);
	dj_set_str(d, "Image", c.image);
	dj_set_str(d, "Region", c.region);
	dj_set_int(d, "SSHKeyID", 0);
	dj_set_str(d, "SSHKeyFingerprint", c.fingerprint);
	dj_set_str(d, "SSHKey", c.keypath);
	dj_set_str(d, "Size", c.size);
	dj_set_bool(d, "IPv6", c.ipv6);
	dj_set_bool(d, "Backups", c.backups);
	dj_set_bool(d, "PrivateNetworking", c.privnet);
	dj_set_str(d, "UserDataFile", c.userdata);
	dj_set_bool(d, "Monitoring", c.monitoring);
	dj_set_str(d, "Tags", c.tags);
	dj_set_str(d, "MachineTag", tag);
	drv_persist(d);
	drv_ok();
	free(tag);
}

static int find_slug(json_t *arr, const char *slug, json_t **out)
{
	json_t *x;
	size_t i;
	json_array_foreach(arr, i, x)
		if (!strcmp(dj_str(x, "slug", ""), slug)) {
			*out = x;
			return 1;
		}
	return 0;
}

static int precreate_checks(const struct conf *c)
{
	json_t *out = NULL, *reg = NULL, *sz = NULL;
	struct strbuf path = STRBUF_INIT;
	struct stat st;
	int rc = -1;

	if (*c->userdata && stat(c->userdata, &st) < 0)
		return dm_seterr("user-data file %s could not be found", c->userdata);
	if (api(c->token, "GET", "/v2/account", NULL, &out, NULL) < 0)
		goto out;
	if (!strcmp(dj_str(json_object_get(out, "account"), "status", "active"), "locked")) {
		dm_seterr("the DigitalOcean account is locked: %s",
		          dj_str(json_object_get(out, "account"), "status_message", ""));
		goto out;
	}
	json_decref(out);
	out = NULL;
	if (api(c->token, "GET", "/v2/regions?per_page=200", NULL, &out, NULL) < 0)
		goto out;
	if (!find_slug(json_object_get(out, "regions"), c->region, &reg) ||
	    !dj_bool(reg, "available", 1)) {
		dm_seterr("digitalocean requires a valid region");
		goto out;
	}
	reg = json_incref(reg);
	json_decref(out);
	out = NULL;
	if (api(c->token, "GET", "/v2/sizes?per_page=200", NULL, &out, NULL) < 0)
		goto out;
	if (!find_slug(json_object_get(out, "sizes"), c->size, &sz)) {
		dm_seterr("digitalocean: size \"%s\" does not exist", c->size);
		goto out;
	}
	json_t *rs = json_object_get(reg, "sizes"), *x;
	size_t i;
	int offered = !json_is_array(rs);
	json_array_foreach(rs, i, x)
		if (json_is_string(x) && !strcmp(json_string_value(x), c->size))
			offered = 1;
	if (!offered) {
		dm_seterr("digitalocean: size \"%s\" is not available in region \"%s\"", c->size, c->region);
		goto out;
	}
	json_decref(out);
	out = NULL;
	sb_adds(&path, "/v2/images/");
	http_urlencode(&path, c->image);
	if (api(c->token, "GET", path.buf, NULL, &out, NULL) < 0)
		goto out;
	if (*c->fingerprint) {
		json_decref(out);
		out = NULL;
		sb_reset(&path);
		sb_adds(&path, "/v2/account/keys/");
		http_urlencode(&path, c->fingerprint);
		if (api(c->token, "GET", path.buf, NULL, &out, NULL) < 0)
			goto out;
	}
	rc = 0;
out:
	json_decref(out);
	json_decref(reg);
	sb_release(&path);
	return rc;
}

static void do_precreate(const char *verb, json_t *host)
{
	struct conf c;
	if (conf_from_flags(host, &c) < 0) {
		drv_error(NULL, dm_strerr());
		return;
	}
	if (precreate_checks(&c) < 0) {
		drv_precreate_error(dm_strerr());
		return;
	}
	drv_ok();
}

/* ---- create ---- */


/* The key: the account's (fingerprint) or a new one, uploaded. */
static int create_key(const struct conf *c, const char *dir, long long *key_id)
{
	json_t *out = NULL, *d;
	struct strbuf path = STRBUF_INIT, pub = STRBUF_INIT;
	char *keyfile = NULL, *pubfile = NULL;
	int rc = -1;

	if (*c->fingerprint) {
		sb_adds(&path, "/v2/account/keys/");
		http_urlencode(&path, c->fingerprint);
		if (api(c->token, "GET", path.buf, NULL, &out, NULL) < 0)
			goto out;
		*key_id = dj_int(json_object_get(out, "ssh_key"), "id", 0);
		d = json_object();
		dj_set_int(d, "SSHKeyID", *key_id);
		if (*c->keypath) {
			drv_log("Importing SSH key...");
			keyfile = xasprintf("%s/id_rsa", dir);
			pubfile = xasprintf("%s.pub", c->keypath);
			char *dpub = xasprintf("%s/id_rsa.pub", dir);
			int r = ssh_import_key(c->keypath, keyfile);
			if (r == 0 && access(pubfile, F_OK) == 0)
				ssh_import_key(pubfile, dpub);
			free(dpub);
			if (r < 0) {
				json_decref(d);
				goto out;
			}
			dj_set_str(d, "SSHKeyPath", keyfile);
		}
		drv_persist(d);
		rc = 0;
		goto out;
	}

	drv_log("Creating SSH key...");
	keyfile = xasprintf("%s/id_ed25519", dir);
	pubfile = xasprintf("%s.pub", keyfile);
	char *comment = machine_tag(c->name);
	int kr = ssh_keygen(keyfile, "ed25519", comment);
	free(comment);
	if (kr < 0)
		goto out;
	d = json_object();
	dj_set_str(d, "SSHKeyPath", keyfile);
	drv_persist(d);
	if (sb_read_file(&pub, pubfile, 64 * 1024) < 0)
		goto out;
	sb_rtrim(&pub);
	json_t *req = json_pack("{s:s,s:s}", "name", c->name, "public_key", pub.buf);
	int ar = api_create(c->token, "/v2/account/keys", req, &out);
	json_decref(req);
	if (ar < 0)
		goto out;
	*key_id = dj_int(json_object_get(out, "ssh_key"), "id", 0);
	if (!*key_id) {
		dm_seterr("POST /v2/account/keys: the reply has no ssh_key.id");
		goto out;
	}
	d = json_object();
	dj_set_int(d, "SSHKeyID", *key_id);
	drv_persist(d);
	rc = 0;
out:
	json_decref(out);
	sb_release(&path);
	sb_release(&pub);
	free(keyfile);
	free(pubfile);
	return rc;
}

static json_t *tag_list(const struct conf *c, const char *mtag)
{
	json_t *a = json_array();
	json_array_append_new(a, json_string(COMMON_TAG));
	json_array_append_new(a, json_string(mtag));
	for (const char *p = c->tags; *p;) {
		size_t n = strcspn(p, ",");
		const char *s = p, *e = p + n;
		while (s < e && (*s == ' ' || *s == '\t'))
			s++;
		while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if (e > s) {
			char *t = xstrndup(s, (size_t)(e - s));
			json_array_append_new(a, json_string(t));
			free(t);
		}
		p += n;
		if (*p == ',')
			p++;
	}
	return a;
}

static int all_digits(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

static void do_create(const char *verb, json_t *host)
{
	struct conf c;
	json_t *req = NULL, *out = NULL, *d;
	char *dir = NULL, *tag = NULL;
	long long key_id = 0, id;
	struct strbuf ud = STRBUF_INIT, path = STRBUF_INIT;
	long poll = env_long("DIGITALOCEAN_POLL_MS", 1000, 1, 60000);
	long long deadline = now_ms() + 1000LL * env_long("DIGITALOCEAN_CREATE_TIMEOUT_S", 600, 1, 86400);
	const char *ip = NULL;

	if (conf_from_flags(host, &c) < 0) {
		drv_error(NULL, dm_strerr());
		return;
	}
	if (!(dir = machine_dir(&c))) {
		drv_error(NULL, "digitalocean: the host record has no StorePath/MachineName");
		return;
	}
	tag = machine_tag(c.name);
	if (*c.userdata && sb_read_file(&ud, c.userdata, 64 * 1024) < 0) {
		drv_error(NULL, dm_strerr());
		goto out;
	}
	if (create_key(&c, dir, &key_id) < 0) {
		drv_error(NULL, dm_strerr());
		goto out;
	}

	drv_log("Creating Digital Ocean droplet...");
	req = json_object();
	dj_set_str(req, "name", c.name);
	dj_set_str(req, "region", c.region);
	dj_set_str(req, "size", c.size);
	if (all_digits(c.image))
		dj_set_int(req, "image", atoll(c.image));
	else
		dj_set_str(req, "image", c.image);
	dj_set(req, "ssh_keys", key_id ? json_pack("[I]", (json_int_t)key_id) : json_array());
	dj_set_bool(req, "backups", c.backups);
	dj_set_bool(req, "ipv6", c.ipv6);
	if (c.privnet)
		dj_set_bool(req, "private_networking", 1);
	dj_set_bool(req, "monitoring", c.monitoring);
	if (ud.len)
		dj_set_str(req, "user_data", ud.buf);
	dj_set(req, "tags", tag_list(&c, tag));
	if (api_create(c.token, "/v2/droplets", req, &out) < 0) {
		drv_error(NULL, dm_strerr());
		goto out;
	}
	id = dj_int(json_object_get(out, "droplet"), "id", 0);
	if (id <= 0) {
		drv_error(NULL, "POST /v2/droplets: the reply has no droplet.id");
		goto out;
	}
	d = json_object();
	dj_set_int(d, "DropletID", id);
	drv_persist(d);

	drv_log("Waiting for IP address to be assigned to the Droplet...");
	sb_addf(&path, "/v2/droplets/%lld", id);
	for (;;) {
		json_decref(out);
		out = NULL;
		if (api(c.token, "GET", path.buf, NULL, &out, NULL) < 0) {
			drv_error(NULL, dm_strerr());
			goto out;
		}
		json_t *drop = json_object_get(out, "droplet");
		if (!strcmp(dj_str(drop, "status", ""), "archive")) {
			drv_error(NULL, "the droplet was archived while it was being created");
			goto out;
		}
		if ((ip = public_v4(drop)))
			break;
		if (now_ms() + poll > deadline) {
			drv_error(NULL, "timed out waiting for the droplet's public IP address");
			goto out;
		}
		sleep_ms(poll);
	}
	d = json_object();
	dj_set_str(d, "IPAddress", ip);
	drv_persist(d);
	drv_log("Created droplet ID %lld, IP address %s", id, ip);
	drv_ok();
out:
	json_decref(req);
	json_decref(out);
	sb_release(&ud);
	sb_release(&path);
	free(dir);
	free(tag);
}

/* ---- power actions ---- */

static int power(const struct conf *c, const char *type)
{
	json_t *out = NULL, *req;
	struct strbuf path = STRBUF_INIT;
	long poll = env_long("DIGITALOCEAN_POLL_MS", 1000, 1, 60000);
	long long deadline = now_ms() + 1000LL * ACTION_TIMEOUT_S, aid;
	int rc = -1;

	if (c->droplet_id <= 0)
		return dm_seterr("the machine has no droplet (DropletID is not set)");
	req = json_pack("{s:s}", "type", type);
	sb_addf(&path, "/v2/droplets/%lld/actions", c->droplet_id);
	if (api(c->token, "POST", path.buf, req, &out, NULL) < 0)
		goto out;
	aid = dj_int(json_object_get(out, "action"), "id", 0);
	while (strcmp(dj_str(json_object_get(out, "action"), "status", ""), "completed")) {
		if (!strcmp(dj_str(json_object_get(out, "action"), "status", ""), "errored")) {
			dm_seterr("the %s action on droplet %lld errored", type, c->droplet_id);
			goto out;
		}
		if (!aid) {
			dm_seterr("POST %s: the reply has no action.id", path.buf);
			goto out;
		}
		if (now_ms() + poll > deadline) {
			dm_seterr("timed out waiting for the %s action on droplet %lld", type, c->droplet_id);
			goto out;
		}
		sleep_ms(poll);
		json_decref(out);
		out = NULL;
		sb_reset(&path);
		sb_addf(&path, "/v2/actions/%lld", aid);
		if (api(c->token, "GET", path.buf, NULL, &out, NULL) < 0)
			goto out;
	}
	rc = 0;
out:
	json_decref(req);
	json_decref(out);
	sb_release(&path);
	return rc;
}

static void do_power(json_t *host, const char *type)
{
	struct conf c;
	conf_from_driver(host, &c);
	if (power(&c, type) < 0)
		drv_error(NULL, dm_strerr());
	else
		drv_ok();
}

/* ---- remove ---- */

static int delete_ok(const char *token, const char *path)
{
	long st = 0;
	if (api(token, "DELETE", path, NULL, NULL, &st) < 0 && st != 404)
		return -1;
	return 0;
}

/* Every page of a list: calls fn(item) for each element of key. */
static int list_all(const char *token, const char *path0, const char *key,
                    void (*fn)(json_t *item, void *ctx), void *ctx, int *requests)
{
	struct strbuf path = STRBUF_INIT;
	int rc = 0;
	for (int page = 1; page <= 100; page++) {
		json_t *out = NULL, *arr, *x;
		size_t i, n;
		sb_reset(&path);
		sb_addf(&path, "%s%cper_page=200&page=%d", path0, strchr(path0, '?') ? '&' : '?', page);
		if (requests)
			(*requests)++;
		if (api(token, "GET", path.buf, NULL, &out, NULL) < 0) {
			rc = -1;
			break;
		}
		arr = json_object_get(out, key);
		n = json_array_size(arr);
		json_array_foreach(arr, i, x)
			fn(x, ctx);
		/* the last page: fewer than asked, or no "next" link */
		json_t *next = dj_path(out, "links.pages.next");
		json_decref(out);
		if (n < 200 || !json_is_string(next))
			break;
	}
	sb_release(&path);
	return rc;
}

static void collect_id(json_t *item, void *ctx)
{
	struct strvec *ids = ctx;
	sv_pushf(ids, "%lld", (long long)dj_int(item, "id", 0));
}

struct keymatch {
	const char *pub;
	struct strvec *ids;
};

/* "type base64 [comment]": the same key when type and base64 agree. */
static int same_key(const char *a, const char *b)
{
	size_t na = strcspn(a, " "), nb = strcspn(b, " ");
	if (na != nb || strncmp(a, b, na) || !a[na] || !b[nb])
		return 0;
	a += na + 1;
	b += nb + 1;
	na = strcspn(a, " \n");
	nb = strcspn(b, " \n");
	return na == nb && !strncmp(a, b, na);
}

static void collect_key(json_t *item, void *ctx)
{
	struct keymatch *m = ctx;
	if (same_key(dj_str(item, "public_key", ""), m->pub))
		sv_pushf(m->ids, "%lld", (long long)dj_int(item, "id", 0));
}

/* Keep going after a failed step (remove what can be removed), answer the first error. */
static void note_err(char **err)
{
	if (!*err)
		*err = xstrdup(dm_strerr());
}

static void do_remove(const char *verb, json_t *host)
{
	struct conf c;
	struct strvec ids = STRVEC_INIT, keys = STRVEC_INIT;
	struct strbuf path = STRBUF_INIT, pub = STRBUF_INIT;
	char *tag, *dir;
	char *err = NULL;

	conf_from_driver(host, &c);
	if (!*c.token) {
		/* nothing was ever created with this record */
		if (c.droplet_id || c.key_id)
			drv_error(NULL, "digitalocean: the machine has resources but no access token");
		else
			drv_ok();
		return;
	}
	tag = machine_tag(c.name);
	dir = machine_dir(&c);
	if (c.droplet_id > 0) {
		sb_addf(&path, "/v2/droplets/%lld", c.droplet_id);
		if (delete_ok(c.token, path.buf) < 0) {
			note_err(&err);
		}
	}
	/* leftovers: droplets with the machine's tag (an interrupted create) */
	sb_reset(&path);
	sb_adds(&path, "/v2/droplets?tag_name=");
	http_urlencode(&path, tag);
	if (!*c.name) {
		/* no name, no tag */
	} else if (list_all(c.token, path.buf, "droplets", collect_id, &ids, NULL) < 0) {
		note_err(&err);
	}
	for (size_t i = 0; i < ids.n; i++) {
		if (atoll(ids.v[i]) == c.droplet_id)
			continue;
		drv_log("Removing droplet %s (tagged %s)", ids.v[i], tag);
		sb_reset(&path);
		sb_addf(&path, "/v2/droplets/%s", ids.v[i]);
		if (delete_ok(c.token, path.buf) < 0) {
			note_err(&err);
		}
	}
	/* the generated key: by id, and any upload of the same key */
	if (!*c.fingerprint) {
		if (c.key_id > 0) {
			sb_reset(&path);
			sb_addf(&path, "/v2/account/keys/%lld", c.key_id);
			if (delete_ok(c.token, path.buf) < 0) {
				note_err(&err);
			}
		}
		char *pubfile = dir ? xasprintf("%s/id_ed25519.pub", dir) : NULL;
		if (pubfile && sb_read_file(&pub, pubfile, 64 * 1024) == 0) {
			struct keymatch m = { pub.buf, &keys };
			if (list_all(c.token, "/v2/account/keys", "ssh_keys", collect_key, &m, NULL) < 0) {
				note_err(&err);
			}
			for (size_t i = 0; i < keys.n; i++) {
				if (atoll(keys.v[i]) == c.key_id)
					continue;
				sb_reset(&path);
				sb_addf(&path, "/v2/account/keys/%s", keys.v[i]);
				if (delete_ok(c.token, path.buf) < 0) {
					note_err(&err);
				}
			}
		}
		free(pubfile);
	}
	if (err)
		drv_error(NULL, err);
	else
		drv_ok();
	free(err);
	sv_clear(&ids);
	sv_clear(&keys);
	sb_release(&path);
	sb_release(&pub);
	free(tag);
	free(dir);
}

/* ---- ssh-info, ip ---- */

static void do_ssh_info(const char *verb, json_t *host)
{
	struct conf c;
	char *dir, *kh;
	conf_from_driver(host, &c);
	if (!*c.ip) {
		drv_error(NULL, "IP address is not set");
		return;
	}
	dir = machine_dir(&c);
	kh = dir ? xasprintf("%s/known_hosts", dir) : xstrdup("");
	drv_answer_ssh(c.ip, c.port, c.user, c.keypath, kh);
	free(dir);
	free(kh);
}

/* ---- batched read verbs ---- */

struct bhost {
	json_t *host;
	struct conf c;
	int done;
};

struct batch {
	struct bhost *h;
	size_t n;
	const char *token;     /* the group being answered */
	const char *verb;
};

static void answer_droplet(struct batch *b, struct bhost *h, json_t *drop)
{
	json_t *a = json_object();
	const char *status = dj_str(drop, "status", ""), *ip = public_v4(drop);
	const char *state = map_state(status);
	dj_set_str(a, "Name", h->c.name);
	if (!ip || !*ip)
		ip = h->c.ip;
	if (!strcmp(b->verb, "state")) {
		dj_set_str(a, "State", state);
		if (ip && *ip)
			dj_set_str(a, "IP", ip);
		if (!strcmp(state, "Running") && ip && *ip) {
			char *u = xasprintf("tcp://%s:%d", ip, ENGINE_PORT);
			dj_set_str(a, "URL", u);
			free(u);
		}
	} else {   /* url */
		if (strcmp(state, "Running")) {
			json_decref(a);
			a = json_object();
			dj_set_str(a, "Name", h->c.name);
			dj_set_str(a, "Error", "Host is not running");
		} else {
			char *u = xasprintf("tcp://%s:%d", ip, ENGINE_PORT);
			dj_set_str(a, "URL", u);
			free(u);
		}
	}
	drv_emit(a);
	h->done = 1;
}

static void match_listed(json_t *item, void *ctx)
{
	struct batch *b = ctx;
	long long id = dj_int(item, "id", 0);
	for (size_t i = 0; i < b->n; i++) {
		struct bhost *h = &b->h[i];
		if (!h->done && h->c.droplet_id == id && !strcmp(h->c.token, b->token))
			answer_droplet(b, h, item);
	}
}

static void batch_read(const char *verb, json_t **hosts, size_t n)
{
	struct batch b = { xcalloc(n ? n : 1, sizeof(struct bhost)), n, NULL, verb };
	struct strbuf path = STRBUF_INIT;

	for (size_t i = 0; i < n; i++) {
		b.h[i].host = hosts[i];
		conf_from_driver(hosts[i], &b.h[i].c);
	}
	if (!strcmp(verb, "ip")) {
		for (size_t i = 0; i < n; i++) {
			if (*b.h[i].c.ip)
				drv_answer(b.h[i].c.name, "IP", json_string(b.h[i].c.ip));
			else
				drv_error(b.h[i].c.name, "IP address is not set");
		}
		free(b.h);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct bhost *h = &b.h[i];
		if (h->done)
			continue;
		if (!*h->c.token || h->c.droplet_id <= 0) {
			if (!strcmp(verb, "state") && h->c.droplet_id <= 0 && *h->c.token)
				drv_answer(h->c.name, "State", json_string(""));   /* not created yet */
			else
				drv_error(h->c.name, !*h->c.token ? "digitalocean: no access token in the machine's configuration"
				                                    : "the machine has no droplet");
			h->done = 1;
			continue;
		}
		/* one listing per token answers every host of the group */
		b.token = h->c.token;
		if (list_all(b.token, "/v2/droplets?tag_name=" COMMON_TAG, "droplets", match_listed, &b,
		             NULL) < 0) {
			char *m = xstrdup(dm_strerr());
			for (size_t k = i; k < n; k++)
				if (!b.h[k].done && !strcmp(b.h[k].c.token, b.token)) {
					drv_error(b.h[k].c.name, m);
					b.h[k].done = 1;
				}
			free(m);
			continue;
		}
		/* not in the listing: untagged (made by 0.16.2) or gone */
		for (size_t k = i; k < n; k++) {
			struct bhost *o = &b.h[k];
			json_t *out = NULL;
			long st = 0;
			if (o->done || strcmp(o->c.token, b.token))
				continue;
			sb_reset(&path);
			sb_addf(&path, "/v2/droplets/%lld", o->c.droplet_id);
			if (api(o->c.token, "GET", path.buf, NULL, &out, &st) == 0)
				answer_droplet(&b, o, json_object_get(out, "droplet"));
			else if (st == 404 && !strcmp(verb, "state")) {
				json_t *a = json_object();
				dj_set_str(a, "Name", o->c.name);
				dj_set_str(a, "State", "Error");
				dj_set_str(a, "Error", dm_strerr());
				drv_emit(a);
				o->done = 1;
			} else {
				drv_error(o->c.name, dm_strerr());
				o->done = 1;
			}
			json_decref(out);
		}
	}
	sb_release(&path);
	free(b.h);
}

/* ---- main ---- */

static void do_power_verb(const char *verb, json_t *host)
{
	static const struct { const char *verb, *action; } actions[] = {
		{ "start", "power_on" }, { "stop", "shutdown" }, { "restart", "reboot" }, { "kill", "power_off" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(actions); i++)
		if (!strcmp(verb, actions[i].verb))
			do_power(host, actions[i].action);
}

static const struct drv_verb verbs[] = {
	{ "set-config", do_set_config, NULL },
	{ "precreate-check", do_precreate, NULL },
	{ "create", do_create, NULL },
	{ "remove", do_remove, NULL },
	{ "start", do_power_verb, NULL },
	{ "stop", do_power_verb, NULL },
	{ "restart", do_power_verb, NULL },
	{ "kill", do_power_verb, NULL },
	{ "state", NULL, batch_read },
	{ "url", NULL, batch_read },
	{ "ip", NULL, batch_read },
	{ "ssh-info", do_ssh_info, NULL },
};

static const struct drv_spec spec = { "digitalocean", flags, ARRAY_SIZE(flags), verbs, ARRAY_SIZE(verbs) };

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	/* our caller gone: stop, do not go on making resources for nobody */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	return drv_main(&spec, argc, argv);
}
