/* dm-driver-google - Google Compute Engine machines (Compute v1 REST API).
 *
 *   dm-driver-google describe
 *   dm-driver-google VERB < host.json
 *
 * MAN PAGE PROSE (flags are generated from the table below)
 *
 * Credentials: --google-auth-token (a static OAuth2 bearer token, kept in the
 * machine's config as the secret AuthToken), else Application Default
 * Credentials: the key file named by GOOGLE_APPLICATION_CREDENTIALS (a service
 * account key: an RS256 JWT is exchanged at the token URI), else
 * $CLOUDSDK_CONFIG or ~/.config/gcloud/application_default_credentials.json
 * (`gcloud auth application-default login`: refresh-token flow).  Scope:
 * https://www.googleapis.com/auth/compute.
 *
 * Endpoints: the Compute API is https://compute.googleapis.com/compute/v1/
 * (0.16.2 used https://www.googleapis.com/compute/v1/, which serves the same
 * paths); GOOGLE_COMPUTE_ENDPOINT, else CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE,
 * overrides it (either with or without the trailing /).  GOOGLE_OAUTH_TOKEN_URI
 * overrides the token endpoint (default https://oauth2.googleapis.com/token).
 * DM_GOOGLE_POLL_MS sets the operation poll interval (default 1000).
 *
 * Defaults changed from 0.16.2: --google-machine-image is
 * projects/ubuntu-os-cloud/global/images/family/ubuntu-2404-lts-amd64 (the
 * current Ubuntu LTS image family; 0.16.2's ubuntu-1604-xenial-v20170721 image
 * is deprecated and gone).  An image is given as a full URL, a
 * "projects/P/global/images/[family/]X" path, 0.16.2's "P/global/images/X"
 * form, or a bare image name in the machine's project.  The machine type stays
 * n1-standard-1; e2-medium (or e2-small) is the cheaper current alternative.
 *
 * What create makes, in order: an SSH key pair (machines/NAME/id_rsa); the
 * firewall rule "docker-machines" (tcp 2376, 3376 for a swarm master, and each
 * --google-open-port, for instances tagged docker-machine) when it is missing
 * or lacks a port; the instance NAME (boot disk NAME-disk, auto-deleted with
 * it; ONE_TO_ONE_NAT unless --google-use-internal-ip-only; labels
 * dm-machine=NAME on the instance and its disk; metadata ssh-keys
 * "USER:KEY USER").  The instance and its operation are checkpointed the
 * moment the insert is accepted.  The firewall rule is shared by every
 * machine and is never removed.
 *
 * remove deletes the instance (waiting for the operation), then the disk if
 * it is still there, then any instance or disk labelled dm-machine=NAME in
 * the zone; a 404 is success.  stop and kill are instances.stop, start is
 * instances.start (the new ephemeral IP is saved), restart is instances.reset.
 * state, url and ip take many hosts and answer all of them from one
 * aggregated instance list per project.
 *
 * States: PROVISIONING, STAGING -> Starting; RUNNING -> Running; STOPPING,
 * SUSPENDING -> Stopping; STOPPED, TERMINATED, SUSPENDED -> Stopped; REPAIRING
 * -> Error.
 *
 * Exit status: 0 ok; 1 an {"Error"} was answered; 2 usage; 3 precreate-check
 * failed.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dm.h"
#include "gauth.h"
#include "http.h"
#include "json.h"
#include "ssh.h"

#define DEFAULT_ENDPOINT "https://compute.googleapis.com/compute/v1/"
#define DEFAULT_IMAGE "projects/ubuntu-os-cloud/global/images/family/ubuntu-2404-lts-amd64"
#define DEFAULT_SCOPES "https://www.googleapis.com/auth/devstorage.read_only," \
	"https://www.googleapis.com/auth/logging.write,https://www.googleapis.com/auth/monitoring.write"
#define FIREWALL "docker-machines"
#define FIREWALL_TAG "docker-machine"
#define LABEL_KEY "dm-machine"
#define OP_TIMEOUT_MS (10 * 60 * 1000)

static const struct {
	const char *name, *type, *usage, *env, *value;
	int secret;
} flags[] = {
	{ "google-address", "string", "GCE Instance External IP", "GOOGLE_ADDRESS", "", 0 },
	{ "google-auth-token", "string", "OAuth2 access token (instead of Application Default Credentials)",
	  "GOOGLE_AUTH_TOKEN", "", 1 },
	{ "google-disk-size", "int", "GCE Instance Disk Size (in GB)", "GOOGLE_DISK_SIZE", "10", 0 },
	{ "google-disk-type", "string", "GCE Instance Disk type", "GOOGLE_DISK_TYPE", "pd-standard", 0 },
	{ "google-machine-image", "string", "GCE Machine Image Absolute URL", "GOOGLE_MACHINE_IMAGE", DEFAULT_IMAGE, 0 },
	{ "google-machine-type", "string", "GCE Machine Type", "GOOGLE_MACHINE_TYPE", "n1-standard-1", 0 },
	{ "google-network", "string", "Specify network in which to provision vm", "GOOGLE_NETWORK", "default", 0 },
	{ "google-open-port", "stringslice", "Make the specified port number accessible from the Internet, e.g, 8080/tcp",
	  "", "", 0 },
	{ "google-preemptible", "bool", "GCE Instance Preemptibility", "GOOGLE_PREEMPTIBLE", "", 0 },
	{ "google-project", "string", "GCE Project", "GOOGLE_PROJECT", "", 0 },
	{ "google-scopes", "string", "GCE Scopes (comma-separated if multiple scopes)", "GOOGLE_SCOPES",
	  DEFAULT_SCOPES, 0 },
	{ "google-service-account", "string", "GCE Service Account for the VM (email address)",
	  "GOOGLE_SERVICE_ACCOUNT", "default", 0 },
	{ "google-subnetwork", "string", "Specify subnetwork in which to provision vm", "GOOGLE_SUBNETWORK", "", 0 },
	{ "google-tags", "string", "GCE Instance Tags (comma-separated)", "GOOGLE_TAGS", "", 0 },
	{ "google-use-existing", "bool", "Don't create a new VM, use an existing one", "GOOGLE_USE_EXISTING", "", 0 },
	{ "google-use-internal-ip", "bool", "Use internal GCE Instance IP rather than public one",
	  "GOOGLE_USE_INTERNAL_IP", "", 0 },
	{ "google-use-internal-ip-only", "bool", "Configure GCE instance to not have an external IP address",
	  "GOOGLE_USE_INTERNAL_IP_ONLY", "", 0 },
	{ "google-username", "string", "GCE User Name", "GOOGLE_USERNAME", "docker-user", 0 },
	{ "google-zone", "string", "GCE Zone", "GOOGLE_ZONE", "us-central1-a", 0 },
};

static int failures, precreate_failed;

/* ---- output ---- */

static int write_all(const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(1, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* One line, written at once.  Takes v. */
static void emit(json_t *v)
{
	struct strbuf sb = STRBUF_INIT;
	dj_encode(v, 0, 0, &sb);
	sb_addc(&sb, '\n');
	write_all(sb.buf, sb.len);
	sb_release(&sb);
	json_decref(v);
}

static void emit_kv(const char *name, const char *key, json_t *val)
{
	json_t *v = json_object();
	if (name)
		dj_set_str(v, "Name", name);
	dj_set(v, key, val);
	emit(v);
}

static void emit_error(const char *name, const char *text)
{
	emit_kv(name, "Error", json_string(text));
	failures++;
}

static void emit_log(const char *text) { emit_kv(NULL, "Log", json_string(text)); }
static void emit_ok(void) { emit_kv(NULL, "OK", json_true()); }
static void emit_driver(json_t *d) { emit_kv(NULL, "Driver", json_incref(d)); }

static void emit_logf(const char *fmt, ...) ATTR_PRINTF(1, 2);
static void emit_logf(const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	sb_vaddf(&sb, fmt, ap);
	va_end(ap);
	emit_log(sb.buf);
	sb_release(&sb);
}

static void do_describe(void)
{
	json_t *d = json_object(), *arr = json_array();
	dj_set_str(d, "Name", "google");
	for (size_t i = 0; i < ARRAY_SIZE(flags); i++) {
		json_t *f = json_object();
		dj_set_str(f, "Name", flags[i].name);
		dj_set_str(f, "Type", flags[i].type);
		dj_set_str(f, "Usage", flags[i].usage);
		dj_set_str(f, "EnvVar", flags[i].env);
		if (!strcmp(flags[i].type, "int"))
			dj_set_int(f, "Value", atol(flags[i].value));
		else if (!strcmp(flags[i].type, "bool"))
			dj_set_bool(f, "Value", 0);
		else if (!strcmp(flags[i].type, "stringslice"))
			dj_set(f, "Value", json_array());
		else
			dj_set_str(f, "Value", flags[i].value);
		dj_set_bool(f, "Required", !strcmp(flags[i].name, "google-project"));
		dj_set_bool(f, "Secret", flags[i].secret);
		json_array_append_new(arr, f);
	}
	dj_set(d, "Flags", arr);
	emit(d);
}

/* ---- the host record ---- */

static json_t *drv(json_t *host)
{
	json_t *d = json_object_get(host, "Driver");
	return json_is_object(d) ? d : NULL;
}

static const char *host_label(json_t *host)
{
	const char *n = dj_str(host, "Name", NULL);
	return n ? n : dj_str(drv(host), "MachineName", NULL);
}

static const char *flag_str(json_t *fl, const char *name)
{
	json_t *v = json_object_get(fl, name);
	if (json_is_string(v))
		return json_string_value(v);
	for (size_t i = 0; i < ARRAY_SIZE(flags); i++)
		if (!strcmp(flags[i].name, name))
			return flags[i].value;
	return "";
}

static int flag_bool(json_t *fl, const char *name)
{
	json_t *v = json_object_get(fl, name);
	int b = 0;
	if (json_is_boolean(v))
		return json_is_true(v);
	if (json_is_string(v) && parse_bool(json_string_value(v), &b) == 0)
		return b;
	return 0;
}

/* Label values: lowercase letters, digits, '-' and '_', at most 63 characters. */
static void label_value(const char *name, char out[64])
{
	size_t n = 0;
	for (; *name && n < 63; name++) {
		unsigned char c = (unsigned char)*name;
		if (isupper(c))
			out[n++] = (char)tolower(c);
		else if (islower(c) || isdigit(c) || c == '-' || c == '_')
			out[n++] = (char)c;
		else
			out[n++] = '_';
	}
	out[n] = 0;
}

/* "8080/tcp" or "8080" (tcp); -1 with a message on anything else. */
static int parse_port(const char *spec, char port[16], char proto[8])
{
	const char *slash = strchr(spec, '/');
	size_t n = slash ? (size_t)(slash - spec) : strlen(spec);
	long v;
	char tmp[16];
	if (n == 0 || n >= sizeof tmp)
		return dm_seterr("invalid port: \"%s\" (want PORT[/tcp|udp])", spec);
	memcpy(tmp, spec, n);
	tmp[n] = 0;
	if (parse_long(tmp, 1, 65535, &v, "port") < 0)
		return dm_seterr("invalid port: \"%s\" (want PORT[/tcp|udp])", spec);
	snprintf(port, 16, "%ld", v);
	if (!slash || !strcmp(slash + 1, "tcp"))
		snprintf(proto, 8, "tcp");
	else if (!strcmp(slash + 1, "udp"))
		snprintf(proto, 8, "udp");
	else
		return dm_seterr("invalid port: \"%s\" (want PORT[/tcp|udp])", spec);
	return 0;
}

/* SetConfigFromFlags: the Driver object from "Flags" and the base fields of
 * the record; NULL with the error set (0.16.2's words) on a bad flag. */
static json_t *config_from_flags(json_t *host)
{
	json_t *fl = json_object_get(host, "Flags"), *in = drv(host), *d, *v, *ports;
	const char *project = flag_str(fl, "google-project"), *k;
	json_t *dsz = json_object_get(fl, "google-disk-size");
	long long disk = json_is_integer(dsz) ? json_integer_value(dsz) : 10;
	size_t i;

	if (!*project) {
		dm_seterr("no Google Cloud Project name specified (--google-project)");
		return NULL;
	}
	if (json_is_string(dsz)) {
		long x;
		if (parse_long(json_string_value(dsz), 1, 65536, &x, "--google-disk-size") < 0)
			return NULL;
		disk = x;
	}
	if (disk < 1) {
		dm_seterr("--google-disk-size: must be at least 1 (GB)");
		return NULL;
	}
	ports = json_array();
	json_array_foreach(json_object_get(fl, "google-open-port"), i, v) {
		char p[16], pr[8];
		if (!json_is_string(v) || parse_port(json_string_value(v), p, pr) < 0) {
			json_decref(ports);
			return NULL;
		}
		json_array_append(ports, v);
	}
	d = json_object();
	/* BaseDriver, then the google fields in 0.16.2's order, then ours */
	dj_set_str(d, "IPAddress", dj_str(in, "IPAddress", ""));
	dj_set_str(d, "MachineName", dj_str(in, "MachineName", host_label(host) ? host_label(host) : ""));
	dj_set_str(d, "SSHUser", flag_str(fl, "google-username"));
	dj_set_int(d, "SSHPort", 22);
	dj_set_str(d, "SSHKeyPath", dj_str(in, "SSHKeyPath", ""));
	dj_set_str(d, "StorePath", dj_str(in, "StorePath", ""));
	dj_set_bool(d, "SwarmMaster", dj_bool(in, "SwarmMaster", 0));
	dj_set_str(d, "SwarmHost", dj_str(in, "SwarmHost", ""));
	dj_set_str(d, "SwarmDiscovery", dj_str(in, "SwarmDiscovery", ""));
	dj_set_str(d, "Zone", flag_str(fl, "google-zone"));
	dj_set_str(d, "MachineType", flag_str(fl, "google-machine-type"));
	dj_set_str(d, "MachineImage", flag_str(fl, "google-machine-image"));
	dj_set_str(d, "DiskType", flag_str(fl, "google-disk-type"));
	dj_set_str(d, "Address", flag_str(fl, "google-address"));
	dj_set_str(d, "Network", flag_str(fl, "google-network"));
	dj_set_str(d, "Subnetwork", flag_str(fl, "google-subnetwork"));
	dj_set_bool(d, "Preemptible", flag_bool(fl, "google-preemptible"));
	dj_set_bool(d, "UseInternalIP", flag_bool(fl, "google-use-internal-ip") ||
	                                 flag_bool(fl, "google-use-internal-ip-only"));
	dj_set_bool(d, "UseInternalIPOnly", flag_bool(fl, "google-use-internal-ip-only"));
	dj_set_str(d, "Scopes", flag_str(fl, "google-scopes"));
	dj_set_int(d, "DiskSize", disk);
	dj_set_str(d, "Project", project);
	dj_set_str(d, "Tags", flag_str(fl, "google-tags"));
	dj_set_bool(d, "UseExisting", flag_bool(fl, "google-use-existing"));
	dj_set(d, "OpenPorts", ports);
	dj_set_str(d, "ServiceAccount", flag_str(fl, "google-service-account"));
	dj_set_str(d, "AuthToken", flag_str(fl, "google-auth-token"));
	if (in)
		json_object_foreach(in, k, v)
			if (!json_object_get(d, k))
				dj_set(d, k, json_incref(v));
	return d;
}

/* The Driver object to work with: from Flags when given, else the record's. New reference. */
static json_t *config_of(json_t *host)
{
	if (json_is_object(json_object_get(host, "Flags")))
		return config_from_flags(host);
	json_t *d = drv(host);
	if (!d || !*dj_str(d, "Project", "")) {
		dm_seterr("no Google Cloud Project name specified (--google-project)");
		return NULL;
	}
	return json_incref(d);
}

/* ---- the API ---- */

struct gce {
	char *base;            /* ends with '/' */
	const char *project;
	struct gauth auth;
	int auth_state;        /* 0 not loaded, 1 loaded, -1 failed (error in autherr) */
	char *autherr;
	const char *static_token;
};

static void gce_init(struct gce *g, json_t *d)
{
	const char *e = getenv("GOOGLE_COMPUTE_ENDPOINT");
	if (!e || !*e)
		e = getenv("CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE");
	if (!e || !*e)
		e = DEFAULT_ENDPOINT;
	memset(g, 0, sizeof(*g));
	g->base = str_ends(e, "/") ? xstrdup(e) : xasprintf("%s/", e);
	g->project = dj_str(d, "Project", "");
	g->static_token = dj_str(d, "AuthToken", "");
}

static void gce_free(struct gce *g)
{
	gauth_free(&g->auth);
	free(g->base);
	free(g->autherr);
}

static int gce_token(struct gce *g, const char **tok)
{
	if (g->auth_state == 0) {
		if (gauth_load(&g->auth, g->static_token, GAUTH_SCOPE_COMPUTE) < 0) {
			g->auth_state = -1;
			g->autherr = xstrdup(dm_strerr());
		} else {
			g->auth_state = 1;
		}
	}
	if (g->auth_state < 0)
		return dm_seterr("%s", g->autherr);
	return gauth_token(&g->auth, tok);
}

/* googleapi's error text: "googleapi: Error 404: MESSAGE, REASON". */
static void api_error(long status, const struct strbuf *body)
{
	json_t *j = NULL, *e;
	if (dj_parse(body->buf, body->len, &j) == 0 && json_is_object(e = json_object_get(j, "error")) &&
	    json_is_string(json_object_get(e, "message"))) {
		json_t *errs = json_object_get(e, "errors");
		const char *reason = json_array_size(errs) == 1 ? dj_str(json_array_get(errs, 0), "reason", "") : "";
		dm_seterr("googleapi: Error %lld: %s%s%s", dj_int(e, "code", status), dj_str(e, "message", ""),
		          *reason ? ", " : "", reason);
	} else {
		dm_seterr("googleapi: got HTTP response code %ld with body: %.200s", status, body->buf);
	}
	json_decref(j);
}

/* METHOD base+path [body]; 0 with *out (new ref, may be NULL) on 2xx, else
 * -1 with the error set; *status gets the HTTP status (0: none). */
static int api(struct gce *g, const char *method, const char *path, json_t *body, json_t **out, long *status)
{
	struct http_req req = { 0 };
	struct http_resp resp = { 0 };
	struct strbuf js = STRBUF_INIT, auth = STRBUF_INIT;
	char *url;
	const char *tok;
	int rc = -1;

	*out = NULL;
	*status = 0;
	if (gce_token(g, &tok) < 0)
		return -1;
	url = str_starts(path, "http://") || str_starts(path, "https://") ? xstrdup(path)
	                                                                  : xasprintf("%s%s", g->base, path);
	sb_addf(&auth, "Bearer %s", tok);
	req.method = method;
	req.url = url;
	http_header_secret(&req, "Authorization", auth.buf);
	http_header(&req, "Accept", "application/json");
	if (body) {
		dj_encode(body, 0, 0, &js);
		req.body = js.buf;
		req.bodylen = js.len;
		http_header(&req, "Content-Type", "application/json");
	}
	if (http_do(&req, &resp) < 0)
		goto out;
	*status = resp.status;
	if (resp.status < 200 || resp.status > 299) {
		api_error(resp.status, &resp.body);
		goto out;
	}
	if (resp.body.len && dj_parse(resp.body.buf, resp.body.len, out) < 0) {
		dm_seterr("googleapi: %s %s: reply is not JSON: %s", method, path, dm_strerr());
		goto out;
	}
	rc = 0;
out:
	memset(auth.buf, 0, auth.len);
	sb_release(&auth);
	sb_release(&js);
	http_req_free(&req);
	http_resp_free(&resp);
	free(url);
	return rc;
}

/* GET that tells "not there" (1) from there (0) and failure (-1). */
static int api_get(struct gce *g, const char *path, json_t **out)
{
	long st;
	if (api(g, "GET", path, NULL, out, &st) == 0)
		return 0;
	return st == 404 ? 1 : -1;
}

static int poll_ms(void)
{
	const char *e = getenv("DM_GOOGLE_POLL_MS");
	long v;
	if (e && *e && parse_long(e, 0, 60000, &v, "DM_GOOGLE_POLL_MS") == 0)
		return (int)v;
	return 1000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* The last path element of a URL ("…/zones/us-central1-a" -> "us-central1-a"). */
static const char *last_elem(const char *url)
{
	const char *s = strrchr(url, '/');
	return s ? s + 1 : url;
}

/* Wait until the operation (op, borrowed) is DONE; its error becomes ours. */
static int wait_op(struct gce *g, json_t *op)
{
	long long deadline = now_ms() + OP_TIMEOUT_MS;
	const char *name = dj_str(op, "name", "");
	char *zone = xstrdup(last_elem(dj_str(op, "zone", "")));
	char *path = *zone ? xasprintf("projects/%s/zones/%s/operations/%s", g->project, zone, name)
	                   : xasprintf("projects/%s/global/operations/%s", g->project, name);
	json_t *cur = json_incref(op), *next;
	long st;
	int rc = -1, interval = poll_ms();

	for (;;) {
		if (!strcmp(dj_str(cur, "status", ""), "DONE")) {
			json_t *errs = dj_path(cur, "error.errors");
			if (json_array_size(errs)) {
				json_t *e0 = json_array_get(errs, 0);
				dm_seterr("Operation error: {%s  %s}", dj_str(e0, "code", ""), dj_str(e0, "message", ""));
			} else {
				rc = 0;
			}
			break;
		}
		if (!*name) {
			dm_seterr("googleapi: an operation without a name");
			break;
		}
		if (now_ms() > deadline) {
			dm_seterr("timed out waiting for operation %s", name);
			break;
		}
		sleep_ms(interval);
		if (api(g, "GET", path, NULL, &next, &st) < 0)
			break;
		json_decref(cur);
		cur = next;
	}
	json_decref(cur);
	free(path);
	free(zone);
	return rc;
}

/* A mutation that returns an Operation, waited for. 404 gives 1 when ok404. */
static int api_op(struct gce *g, const char *method, const char *path, json_t *body, int ok404)
{
	json_t *op = NULL;
	long st;
	int rc;
	if (api(g, method, path, body, &op, &st) < 0)
		return ok404 && st == 404 ? 1 : -1;
	rc = wait_op(g, op);
	json_decref(op);
	return rc;
}

/* ---- paths ---- */

static char *zone_path(json_t *d, const char *what, const char *name)
{
	return xasprintf("projects/%s/zones/%s/%s/%s", dj_str(d, "Project", ""), dj_str(d, "Zone", ""), what, name);
}

static char *instance_path(json_t *d, const char *verb)
{
	const char *n = dj_str(d, "MachineName", "");
	return verb ? xasprintf("projects/%s/zones/%s/instances/%s/%s", dj_str(d, "Project", ""),
	                        dj_str(d, "Zone", ""), n, verb)
	            : zone_path(d, "instances", n);
}

/* The image as a project path: "projects/P/global/images/[family/]X". */
static char *image_path(json_t *d)
{
	const char *img = dj_str(d, "MachineImage", DEFAULT_IMAGE), *p;
	if ((str_starts(img, "https://") || str_starts(img, "http://")) && (p = strstr(img, "/projects/")))
		return xstrdup(p + 1);
	if (str_starts(img, "projects/"))
		return xstrdup(img);
	if (strstr(img, "/global/images/"))
		return xasprintf("projects/%s", img);
	return xasprintf("projects/%s/global/images/%s", dj_str(d, "Project", ""), img);
}

/* "us-central1-a" -> "us-central1". Caller frees. */
static char *region_of(const char *zone)
{
	const char *dash = strrchr(zone, '-');
	return dash ? xstrndup(zone, (size_t)(dash - zone)) : xstrdup(zone);
}

/* ---- precreate-check ---- */

static int check_exists(struct gce *g, const char *path, const char *fmt, const char *what)
{
	json_t *o = NULL;
	int r = api_get(g, path, &o);
	json_decref(o);
	if (r == 0)
		return 0;
	struct strbuf m = STRBUF_INIT;
	sb_addf(&m, fmt, what);
	sb_addf(&m, " %s", dm_strerr());
	dm_seterr("%s", m.buf);
	sb_release(&m);
	return -1;
}

static void do_precreate(json_t *host)
{
	json_t *d = config_of(host), *o = NULL;
	struct gce g;
	char *p;
	int r;

	if (!d) {
		emit_error(NULL, dm_strerr());
		return;
	}
	gce_init(&g, d);
	precreate_failed = 1;
	emit_log("Check that the project exists");
	p = xasprintf("projects/%s", g.project);
	r = check_exists(&g, p, "Project with ID \"%s\" not found.", g.project);
	free(p);
	if (r < 0)
		goto fail;
	emit_log("Check if the instance already exists");
	p = instance_path(d, NULL);
	r = api_get(&g, p, &o);
	free(p);
	json_decref(o);
	if (r < 0)
		goto fail;
	if (r == 0 && !dj_bool(d, "UseExisting", 0)) {
		dm_seterr("Instance %s already exists.", dj_str(d, "MachineName", ""));
		goto fail;
	}
	if (r == 1 && dj_bool(d, "UseExisting", 0)) {
		dm_seterr("Instance %s does not exist (--google-use-existing).", dj_str(d, "MachineName", ""));
		goto fail;
	}
	p = xasprintf("projects/%s/zones/%s", g.project, dj_str(d, "Zone", ""));
	r = check_exists(&g, p, "Zone \"%s\" not found.", dj_str(d, "Zone", ""));
	free(p);
	if (r < 0)
		goto fail;
	if (!dj_bool(d, "UseExisting", 0)) {
		p = zone_path(d, "machineTypes", dj_str(d, "MachineType", ""));
		r = check_exists(&g, p, "Machine type \"%s\" not found.", dj_str(d, "MachineType", ""));
		free(p);
		if (r < 0)
			goto fail;
		p = image_path(d);
		r = check_exists(&g, p, "Image \"%s\" not found.", dj_str(d, "MachineImage", ""));
		free(p);
		if (r < 0)
			goto fail;
	}
	precreate_failed = 0;
	emit_ok();
	goto out;
fail:
	emit_error(NULL, dm_strerr());
out:
	gce_free(&g);
	json_decref(d);
}

static void do_set_config(json_t *host)
{
	json_t *d = config_from_flags(host);
	if (!d) {
		emit_error(NULL, dm_strerr());
		return;
	}
	emit_driver(d);
	emit_ok();
	json_decref(d);
}

/* ---- create ---- */

static int swarm_master(json_t *host, json_t *d)
{
	json_t *m = dj_path(host, "HostOptions.SwarmOptions.Master");
	return json_is_true(m) || dj_bool(d, "SwarmMaster", 0);
}

/* Make sure the firewall rule opens every port we need. */
static int ensure_firewall(struct gce *g, json_t *host, json_t *d)
{
	json_t *fw = NULL, *a, *v;
	struct strvec want = STRVEC_INIT, have = STRVEC_INIT;   /* "proto/port" */
	char *path = xasprintf("projects/%s/global/firewalls/%s", g->project, FIREWALL);
	size_t i, j;
	int rc = -1, r, missing = 0;

	sv_push(&want, "tcp/2376");
	if (swarm_master(host, d))
		sv_push(&want, "tcp/3376");
	json_array_foreach(json_object_get(d, "OpenPorts"), i, v) {
		char port[16], proto[8];
		char *pp;
		if (!json_is_string(v) || parse_port(json_string_value(v), port, proto) < 0)
			continue;
		pp = xasprintf("%s/%s", proto, port);
		if (!sv_contains(&want, pp))
			sv_push(&want, pp);
		free(pp);
	}
	r = api_get(g, path, &fw);
	if (r < 0)
		goto out;
	json_array_foreach(json_object_get(fw, "allowed"), i, a) {
		const char *proto = dj_str(a, "IPProtocol", "");
		json_array_foreach(json_object_get(a, "ports"), j, v)
			if (json_is_string(v))
				sv_pushf(&have, "%s/%s", proto, json_string_value(v));
	}
	for (i = 0; i < want.n; i++)
		if (!sv_contains(&have, want.v[i])) {
			sv_push(&have, want.v[i]);
			missing = 1;
		}
	if (r == 0 && !missing) {
		rc = 0;
		goto out;
	}
	/* the rule as it should be: every port we know of, grouped by protocol */
	json_t *body = json_object(), *al = json_array();
	static const char *const protos[] = { "tcp", "udp" };
	for (size_t p = 0; p < ARRAY_SIZE(protos); p++) {
		json_t *ports = json_array();
		size_t plen = strlen(protos[p]);
		for (i = 0; i < have.n; i++)
			if (!strncmp(have.v[i], protos[p], plen) && have.v[i][plen] == '/')
				json_array_append_new(ports, json_string(have.v[i] + plen + 1));
		if (json_array_size(ports)) {
			a = json_object();
			dj_set_str(a, "IPProtocol", protos[p]);
			dj_set(a, "ports", ports);
			json_array_append_new(al, a);
		} else {
			json_decref(ports);
		}
	}
	dj_set_str(body, "name", FIREWALL);
	dj_set(body, "allowed", al);
	dj_set(body, "sourceRanges", json_pack("[s]", "0.0.0.0/0"));
	dj_set(body, "targetTags", json_pack("[s]", FIREWALL_TAG));
	char *net = xasprintf("projects/%s/global/networks/%s", g->project, dj_str(d, "Network", "default"));
	dj_set_str(body, "network", net);
	free(net);
	if (r == 1) {
		emit_log("Creating firewall rule");
		char *ins = xasprintf("projects/%s/global/firewalls", g->project);
		rc = api_op(g, "POST", ins, body, 0);
		free(ins);
	} else {
		emit_log("Updating firewall rule");
		rc = api_op(g, "PUT", path, body, 0);
	}
	json_decref(body);
out:
	json_decref(fw);
	sv_clear(&want);
	sv_clear(&have);
	free(path);
	return rc;
}

/* "type key" of a .pub file (the comment dropped). Caller frees. */
static char *pubkey_of(const char *path)
{
	struct strbuf sb = STRBUF_INIT;
	char *sp;
	if (sb_read_file(&sb, path, 64 << 10) < 0)
		return NULL;
	sb_rtrim(&sb);
	sp = strchr(sb.buf, ' ');
	if (sp && (sp = strchr(sp + 1, ' ')))
		sb_setlen(&sb, (size_t)(sp - sb.buf));
	return sb_detach(&sb);
}

static char *static_address(struct gce *g, json_t *d)
{
	const char *addr = dj_str(d, "Address", "");
	int dots = 0;
	for (const char *p = addr; *p; p++)
		if (*p == '.')
			dots++;
		else if (!isdigit((unsigned char)*p))
			dots = -100;
	if (dots == 3)
		return xstrdup(addr);
	char *region = region_of(dj_str(d, "Zone", ""));
	char *path = xasprintf("projects/%s/regions/%s/addresses/%s", g->project, region, addr);
	json_t *o = NULL;
	char *ip = NULL;
	if (api_get(g, path, &o) == 0)
		ip = xstrdup(dj_str(o, "address", ""));
	else
		dm_seterr("Error getting the static address %s: %s", addr, dm_strerr());
	json_decref(o);
	free(path);
	free(region);
	return ip;
}

static json_t *str_list(const char *csv, const char *also)
{
	json_t *a = json_array();
	char *copy = xstrdup(csv), *save = NULL;
	if (also)
		json_array_append_new(a, json_string(also));
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		while (*t == ' ')
			t++;
		if (*t && !(also && !strcmp(t, also)))
			json_array_append_new(a, json_string(t));
	}
	free(copy);
	return a;
}

static json_t *insert_body(struct gce *g, json_t *d, const char *sshkeys, const char *natip)
{
	const char *name = dj_str(d, "MachineName", ""), *zone = dj_str(d, "Zone", "");
	char label[64], *s;
	json_t *b = json_object(), *disk = json_object(), *ip = json_object(), *ni = json_object(), *lab;

	label_value(name, label);
	dj_set_str(b, "name", name);
	s = xasprintf("zones/%s/machineTypes/%s", zone, dj_str(d, "MachineType", ""));
	dj_set_str(b, "machineType", s);
	free(s);
	lab = json_pack("{ss}", LABEL_KEY, label);
	dj_set(b, "labels", json_incref(lab));

	dj_set_bool(disk, "boot", 1);
	dj_set_bool(disk, "autoDelete", 1);
	dj_set_str(disk, "type", "PERSISTENT");
	dj_set_str(disk, "mode", "READ_WRITE");
	s = xasprintf("%s-disk", name);
	dj_set_str(ip, "diskName", s);
	free(s);
	s = image_path(d);
	dj_set_str(ip, "sourceImage", s);
	free(s);
	s = xasprintf("%lld", dj_int(d, "DiskSize", 10));
	dj_set_str(ip, "diskSizeGb", s);   /* int64 travels as a string */
	free(s);
	s = xasprintf("zones/%s/diskTypes/%s", zone, dj_str(d, "DiskType", "pd-standard"));
	dj_set_str(ip, "diskType", s);
	free(s);
	dj_set(ip, "labels", lab);
	dj_set(disk, "initializeParams", ip);
	dj_set(b, "disks", json_pack("[o]", disk));

	s = xasprintf("projects/%s/global/networks/%s", g->project, dj_str(d, "Network", "default"));
	dj_set_str(ni, "network", s);
	free(s);
	if (*dj_str(d, "Subnetwork", "")) {
		char *region = region_of(zone);
		s = xasprintf("projects/%s/regions/%s/subnetworks/%s", g->project, region, dj_str(d, "Subnetwork", ""));
		dj_set_str(ni, "subnetwork", s);
		free(s);
		free(region);
	}
	if (!dj_bool(d, "UseInternalIPOnly", 0)) {
		json_t *ac = json_pack("{ssss}", "name", "external-nat", "type", "ONE_TO_ONE_NAT");
		if (natip && *natip)
			dj_set_str(ac, "natIP", natip);
		dj_set(ni, "accessConfigs", json_pack("[o]", ac));
	}
	dj_set(b, "networkInterfaces", json_pack("[o]", ni));

	json_t *item = json_pack("{ssss}", "key", "ssh-keys", "value", sshkeys);
	dj_set(b, "metadata", json_pack("{s[o]}", "items", item));
	dj_set(b, "tags", json_pack("{so}", "items", str_list(dj_str(d, "Tags", ""), FIREWALL_TAG)));
	dj_set(b, "serviceAccounts", json_pack("[{ssso}]", "email", dj_str(d, "ServiceAccount", "default"),
	                                       "scopes", str_list(dj_str(d, "Scopes", ""), NULL)));
	if (dj_bool(d, "Preemptible", 0))
		dj_set(b, "scheduling", json_pack("{sbsbss}", "preemptible", 1, "automaticRestart", 0,
		                                  "onHostMaintenance", "TERMINATE"));
	return b;
}

/* The address to reach the instance at (natIP, or networkIP for internal use). */
static const char *instance_ip(json_t *inst, int internal)
{
	json_t *ni = json_array_get(json_object_get(inst, "networkInterfaces"), 0);
	if (internal)
		return dj_str(ni, "networkIP", "");
	return dj_str(json_array_get(json_object_get(ni, "accessConfigs"), 0), "natIP", "");
}

/* GET the instance and store its IP in d. */
static int refresh_ip(struct gce *g, json_t *d)
{
	json_t *inst = NULL;
	char *p = instance_path(d, NULL);
	int r = api_get(g, p, &inst);
	free(p);
	if (r != 0) {
		json_decref(inst);
		return r == 1 ? dm_seterr("instance %s not found", dj_str(d, "MachineName", "")) : -1;
	}
	const char *ip = instance_ip(inst, dj_bool(d, "UseInternalIP", 0));
	if (!*ip) {
		json_decref(inst);
		return dm_seterr("instance %s has no %s IP address", dj_str(d, "MachineName", ""),
		                 dj_bool(d, "UseInternalIP", 0) ? "internal" : "external");
	}
	dj_set_str(d, "IPAddress", ip);
	json_decref(inst);
	return 0;
}

static char *machine_dir(json_t *host, json_t *d)
{
	const char *store = dj_str(d, "StorePath", "");
	const char *name = host_label(host);
	if (!*store)
		store = dj_str(dj_path(host, "HostOptions.AuthOptions"), "StorePath", "");
	if (!*store || !name)
		return NULL;
	return xasprintf("%s/machines/%s", store, name);
}

static void do_create(json_t *host)
{
	json_t *d = config_of(host), *op = NULL, *body = NULL;
	struct gce g;
	char *dir = NULL, *key = NULL, *pubpath = NULL, *pub = NULL, *keys = NULL, *natip = NULL, *p;
	const char *user;
	long st;

	if (!d) {
		emit_error(NULL, dm_strerr());
		return;
	}
	gce_init(&g, d);
	user = dj_str(d, "SSHUser", "docker-user");
	dir = machine_dir(host, d);
	if (!dir) {
		emit_error(NULL, "google: the host record has no StorePath/Name");
		goto out;
	}
	key = xasprintf("%s/id_rsa", dir);
	pubpath = xasprintf("%s.pub", key);
	emit_log("Generating SSH Key");
	if (access(key, F_OK) < 0 && ssh_keygen(key, "rsa", user) < 0)
		goto fail;
	dj_set_str(d, "SSHKeyPath", key);
	emit_driver(d);
	if (!(pub = pubkey_of(pubpath)))
		goto fail;
	keys = xasprintf("%s:%s %s", user, pub, user);

	if (ensure_firewall(&g, host, d) < 0)
		goto fail;

	if (dj_bool(d, "UseExisting", 0)) {
		/* add our key to the existing instance and start it */
		json_t *inst = NULL;
		p = instance_path(d, NULL);
		if (api_get(&g, p, &inst) != 0) {
			free(p);
			json_decref(inst);
			goto fail;
		}
		free(p);
		json_t *md = json_object(), *items = json_array(), *it;
		size_t i;
		json_object_set(md, "fingerprint", json_object_get(json_object_get(inst, "metadata"), "fingerprint"));
		json_array_foreach(dj_path(inst, "metadata.items"), i, it)
			if (strcmp(dj_str(it, "key", ""), "ssh-keys") && strcmp(dj_str(it, "key", ""), "sshKeys"))
				json_array_append(items, it);
		json_array_append_new(items, json_pack("{ssss}", "key", "ssh-keys", "value", keys));
		dj_set(md, "items", items);
		int running = !strcmp(dj_str(inst, "status", ""), "RUNNING");
		json_decref(inst);
		emit_log("Uploading SSH Key");
		p = instance_path(d, "setMetadata");
		int r = api_op(&g, "POST", p, md, 0);
		free(p);
		json_decref(md);
		if (r < 0)
			goto fail;
		if (!running) {
			emit_log("Starting instance");
			p = instance_path(d, "start");
			r = api_op(&g, "POST", p, NULL, 0);
			free(p);
			if (r < 0)
				goto fail;
		}
	} else {
		if (*dj_str(d, "Address", "") && !(natip = static_address(&g, d)))
			goto fail;
		emit_log("Creating instance");
		body = insert_body(&g, d, keys, natip);
		p = xasprintf("projects/%s/zones/%s/instances", g.project, dj_str(d, "Zone", ""));
		int r = api(&g, "POST", p, body, &op, &st);
		free(p);
		if (r < 0)
			goto fail;
		/* the instance exists from now on: checkpoint it with its operation */
		dj_set_str(d, "InstanceName", dj_str(d, "MachineName", ""));
		dj_set_str(d, "Operation", dj_str(op, "name", ""));
		emit_driver(d);
		emit_log("Waiting for Instance");
		if (wait_op(&g, op) < 0)
			goto fail;
		json_object_del(d, "Operation");
	}
	if (refresh_ip(&g, d) < 0)
		goto fail;
	emit_logf("IP address: %s", dj_str(d, "IPAddress", ""));
	emit_driver(d);
	emit_ok();
	goto out;
fail:
	emit_error(NULL, dm_strerr());
out:
	json_decref(op);
	json_decref(body);
	free(dir), free(key), free(pubpath), free(pub), free(keys), free(natip);
	gce_free(&g);
	json_decref(d);
}

/* ---- power ---- */

static void do_power(json_t *host, const char *verb)
{
	json_t *d = config_of(host);
	struct gce g;
	const char *call = !strcmp(verb, "kill") ? "stop" : !strcmp(verb, "restart") ? "reset" : verb;
	char *p;

	if (!d) {
		emit_error(NULL, dm_strerr());
		return;
	}
	gce_init(&g, d);
	p = instance_path(d, call);
	if (api_op(&g, "POST", p, NULL, 0) < 0) {
		emit_error(NULL, dm_strerr());
	} else {
		/* an ephemeral external IP changes across stop/start */
		if (!strcmp(verb, "start") || !strcmp(verb, "restart")) {
			const char *old = dj_str(d, "IPAddress", "");
			char *was = xstrdup(old);
			if (refresh_ip(&g, d) == 0 && strcmp(was, dj_str(d, "IPAddress", "")))
				emit_driver(d);
			free(was);
		}
		emit_ok();
	}
	free(p);
	gce_free(&g);
	json_decref(d);
}

/* ---- remove ---- */

static int delete_labelled(struct gce *g, json_t *d, const char *what, const char *label)
{
	struct strbuf path = STRBUF_INIT, filter = STRBUF_INIT;
	json_t *list = NULL, *it;
	size_t i;
	int rc = 0;

	sb_addf(&filter, "labels.%s=%s", LABEL_KEY, label);
	sb_addf(&path, "projects/%s/zones/%s/%s?filter=", g->project, dj_str(d, "Zone", ""), what);
	http_urlencode(&path, filter.buf);
	int r = api_get(g, path.buf, &list);
	if (r < 0)
		rc = -1;
	json_array_foreach(json_object_get(list, "items"), i, it) {
		char *p = zone_path(d, what, dj_str(it, "name", ""));
		emit_logf("Deleting leftover %s %s", !strcmp(what, "disks") ? "disk" : "instance", dj_str(it, "name", ""));
		if (api_op(g, "DELETE", p, NULL, 1) < 0)
			rc = -1;
		free(p);
	}
	json_decref(list);
	sb_release(&path);
	sb_release(&filter);
	return rc;
}

static void do_remove(json_t *host)
{
	json_t *d = config_of(host);
	struct gce g;
	char label[64], *p, *disk;
	int r;

	if (!d) {
		/* never configured: nothing was made at the provider */
		emit_ok();
		return;
	}
	gce_init(&g, d);
	label_value(dj_str(d, "MachineName", ""), label);
	if (dj_bool(d, "UseExisting", 0))
		emit_log("Deleting the existing instance (--google-use-existing)");
	emit_log("Deleting instance.");
	p = instance_path(d, NULL);
	r = api_op(&g, "DELETE", p, NULL, 1);
	free(p);
	if (r < 0)
		goto fail;
	emit_log("Deleting disk.");
	disk = xasprintf("%s-disk", dj_str(d, "MachineName", ""));
	p = zone_path(d, "disks", disk);
	free(disk);
	r = api_op(&g, "DELETE", p, NULL, 1);
	free(p);
	if (r < 0)
		goto fail;
	if (delete_labelled(&g, d, "instances", label) < 0 || delete_labelled(&g, d, "disks", label) < 0)
		goto fail;
	emit_ok();
	goto out;
fail:
	emit_error(NULL, dm_strerr());
out:
	gce_free(&g);
	json_decref(d);
}

/* ---- ssh-info ---- */

static void do_ssh_info(json_t *host)
{
	json_t *d = drv(host), *s;
	char *dir = machine_dir(host, d), *kh = dir ? xasprintf("%s/known_hosts", dir) : NULL;
	const char *ip = dj_str(d, "IPAddress", "");
	if (!*ip) {
		emit_error(NULL, "IP address is not set");
	} else {
		s = json_object();
		dj_set_str(s, "Host", ip);
		dj_set_int(s, "Port", dj_int(d, "SSHPort", 22) ? dj_int(d, "SSHPort", 22) : 22);
		dj_set_str(s, "User", *dj_str(d, "SSHUser", "") ? dj_str(d, "SSHUser", "") : "docker-user");
		dj_set_str(s, "KeyPath", dj_str(d, "SSHKeyPath", ""));
		dj_set_str(s, "KnownHosts", kh ? kh : "");
		emit_kv(NULL, "SSH", s);
	}
	free(dir);
	free(kh);
}

/* ---- batched read verbs: one aggregated list per project ---- */

static const char *map_state(const char *status)
{
	static const struct { const char *gce, *dm; } tab[] = {
		{ "PROVISIONING", "Starting" }, { "STAGING", "Starting" }, { "RUNNING", "Running" },
		{ "STOPPING", "Stopping" }, { "SUSPENDING", "Stopping" }, { "STOPPED", "Stopped" },
		{ "TERMINATED", "Stopped" }, { "SUSPENDED", "Stopped" }, { "DEPROVISIONING", "Stopping" },
		{ "REPAIRING", "Error" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(tab); i++)
		if (!strcmp(tab[i].gce, status))
			return tab[i].dm;
	return "";
}

static void answer_host(const char *verb, json_t *host, json_t *inst)
{
	json_t *d = drv(host), *a = json_object();
	const char *name = host_label(host);
	const char *state = map_state(dj_str(inst, "status", ""));
	const char *ip = instance_ip(inst, dj_bool(d, "UseInternalIP", 0));
	char url[300] = "";

	if (name)
		dj_set_str(a, "Name", name);
	if (*ip)
		snprintf(url, sizeof url, "tcp://%s:2376", ip);
	if (!strcmp(verb, "state")) {
		dj_set_str(a, "State", state);
		if (!strcmp(state, "Running") && *url)
			dj_set_str(a, "URL", url);
		if (*ip)
			dj_set_str(a, "IP", ip);
	} else if (!strcmp(verb, "ip")) {
		if (*ip)
			dj_set_str(a, "IP", ip);
		else
			dj_set_str(a, "Error", "IP address is not set"), failures++;
	} else {
		if (strcmp(state, "Running") != 0)
			dj_set_str(a, "Error", "Host is not running"), failures++;
		else if (!*url)
			dj_set_str(a, "Error", "IP address is not set"), failures++;
		else
			dj_set_str(a, "URL", url);
	}
	emit(a);
}

/* Hosts of one project: list every instance once (paged), answer each host. */
static void batch_project(const char *verb, json_t **hosts, size_t n, int *done)
{
	json_t *d0 = drv(hosts[0]), *found = json_object();   /* "zone/name" -> instance */
	struct gce g;
	char *token = NULL;
	int ok = 1;

	gce_init(&g, d0);
	do {
		struct strbuf path = STRBUF_INIT;
		json_t *list = NULL, *scoped, *inst;
		const char *k;
		size_t i;
		long st;
		sb_addf(&path, "projects/%s/aggregated/instances?maxResults=500", g.project);
		if (token) {
			sb_adds(&path, "&pageToken=");
			http_urlencode(&path, token);
		}
		free(token);
		token = NULL;
		if (api(&g, "GET", path.buf, NULL, &list, &st) < 0) {
			ok = 0;
			sb_release(&path);
			break;
		}
		json_object_foreach(json_object_get(list, "items"), k, scoped)
			json_array_foreach(json_object_get(scoped, "instances"), i, inst) {
				char *key = xasprintf("%s/%s", last_elem(dj_str(inst, "zone", "")), dj_str(inst, "name", ""));
				json_object_set(found, key, inst);
				free(key);
			}
		if (*dj_str(list, "nextPageToken", ""))
			token = xstrdup(dj_str(list, "nextPageToken", ""));
		json_decref(list);
		sb_release(&path);
	} while (token);

	for (size_t i = 0; i < n; i++) {
		json_t *d = drv(hosts[i]);
		const char *name = host_label(hosts[i]);
		if (!ok) {
			emit_error(name, dm_strerr());
		} else {
			char *key = xasprintf("%s/%s", dj_str(d, "Zone", ""), dj_str(d, "MachineName", ""));
			json_t *inst = json_object_get(found, key);
			if (inst) {
				answer_host(verb, hosts[i], inst);
			} else {
				struct strbuf m = STRBUF_INIT;
				sb_addf(&m, "googleapi: Error 404: The resource 'projects/%s/zones/%s/instances/%s' "
				        "was not found, notFound", g.project, dj_str(d, "Zone", ""), dj_str(d, "MachineName", ""));
				emit_error(name, m.buf);
				sb_release(&m);
			}
			free(key);
		}
		done[i] = 1;
	}
	json_decref(found);
	gce_free(&g);
}

static void do_batch(const char *verb, json_t **hosts, size_t n)
{
	int *done = xcalloc(n ? n : 1, sizeof(*done));
	json_t **group = xcalloc(n ? n : 1, sizeof(*group));
	int *gdone = xcalloc(n ? n : 1, sizeof(*gdone));
	size_t i, j;

	for (i = 0; i < n; i++) {
		json_t *d = drv(hosts[i]);
		if (!json_is_object(hosts[i]) || !d || !*dj_str(d, "Project", "")) {
			emit_error(json_is_object(hosts[i]) ? host_label(hosts[i]) : NULL,
			           "no Google Cloud Project name specified (--google-project)");
			done[i] = 1;
		}
	}
	for (i = 0; i < n; i++) {
		if (done[i])
			continue;
		const char *proj = dj_str(drv(hosts[i]), "Project", "");
		const char *tok = dj_str(drv(hosts[i]), "AuthToken", "");
		size_t gn = 0;
		/* one group per project and credential */
		for (j = i; j < n; j++)
			if (!done[j] && !strcmp(dj_str(drv(hosts[j]), "Project", ""), proj) &&
			    !strcmp(dj_str(drv(hosts[j]), "AuthToken", ""), tok))
				group[gn++] = hosts[j], done[j] = 2;
		batch_project(verb, group, gn, gdone);
	}
	free(group);
	free(gdone);
	free(done);
}

/* ---- input ---- */

static int read_hosts(json_t ***out, size_t *n)
{
	struct strbuf sb;
	json_t **v = NULL, *one;
	json_error_t e;
	size_t cnt = 0;

	sb_init(&sb, 64u << 20);
	if (sb_read_fd(&sb, 0, 64u << 20) < 0) {
		sb_release(&sb);
		return -1;
	}
	if ((one = json_loadb(sb.buf, sb.len, 0, &e))) {
		v = xmalloc(sizeof(*v));
		v[cnt++] = one;
	} else {
		for (char *line = sb.buf; line && *line;) {
			char *nl = strchr(line, '\n');
			size_t len = nl ? (size_t)(nl - line) : strlen(line), k = 0;
			while (k < len && isspace((unsigned char)line[k]))
				k++;
			if (k < len) {
				json_t *x = json_loadb(line, len, 0, &e);
				if (!x) {
					for (size_t i = 0; i < cnt; i++)
						json_decref(v[i]);
					free(v);
					sb_release(&sb);
					return dm_seterr("invalid host record: %s", e.text);
				}
				v = xrealloc(v, (cnt + 1) * sizeof(*v));
				v[cnt++] = x;
			}
			line = nl ? nl + 1 : NULL;
		}
	}
	sb_release(&sb);
	*out = v;
	*n = cnt;
	return 0;
}

static int usage(void)
{
	dm_errorf("usage: %s describe\n       %s VERB < host.json\n"
	          "VERB: set-config precreate-check create remove start stop restart kill state url ip ssh-info",
	          dm_progname, dm_progname);
	return DM_EXIT_USAGE;
}

int main(int argc, char **argv)
{
	static const char *const known[] = { "set-config", "precreate-check", "create", "remove", "start", "stop",
		"restart", "kill", "state", "url", "ip", "ssh-info" };
	const char *verb;
	json_t **hosts = NULL;
	size_t n = 0, i;

	dm_init(argc, argv);
	if (argc != 2)
		return usage();
	verb = argv[1];
	if (!strcmp(verb, "describe")) {
		do_describe();
		return dm_finish(DM_EXIT_OK);
	}
	for (i = 0; i < ARRAY_SIZE(known); i++)
		if (!strcmp(verb, known[i]))
			break;
	if (i == ARRAY_SIZE(known))
		return usage();
	if (read_hosts(&hosts, &n) < 0) {
		emit_error(NULL, dm_strerr());
		return dm_finish(DM_EXIT_FAIL);
	}
	if (!strcmp(verb, "state") || !strcmp(verb, "url") || !strcmp(verb, "ip")) {
		if (!n)
			emit_error(NULL, "no host record on stdin");
		do_batch(verb, hosts, n);
	} else {
		json_t *h = n ? hosts[0] : NULL;
		if (!json_is_object(h))
			emit_error(NULL, "invalid host: expected a JSON object");
		else if (!strcmp(verb, "set-config"))
			do_set_config(h);
		else if (!strcmp(verb, "precreate-check"))
			do_precreate(h);
		else if (!strcmp(verb, "create"))
			do_create(h);
		else if (!strcmp(verb, "ssh-info"))
			do_ssh_info(h);
		else if (!strcmp(verb, "remove"))
			do_remove(h);
		else
			do_power(h, verb);
	}
	for (i = 0; i < n; i++)
		json_decref(hosts[i]);
	free(hosts);
	if (precreate_failed)
		return dm_finish(DM_EXIT_PRECREATE);
	return dm_finish(failures ? DM_EXIT_FAIL : DM_EXIT_OK);
}
