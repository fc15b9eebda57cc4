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
#include "drvkit.h"
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

static const struct opt flags[] = {
	{ "google-address", 0, OPT_STRING, NULL, "GOOGLE_ADDRESS", "GCE Instance External IP", 0, NULL, 0 },
	{ "google-auth-token", 0, OPT_STRING, NULL, "GOOGLE_AUTH_TOKEN",
	  "OAuth2 access token (instead of Application Default Credentials)", 0, NULL, OPTF_SECRET },
	{ "google-disk-size", 0, OPT_INT, "10", "GOOGLE_DISK_SIZE",
	  "GCE Instance Disk Size (in GB)", 0, NULL, 0 },
	{ "google-disk-type", 0, OPT_STRING, "pd-standard", "GOOGLE_DISK_TYPE",
	  "GCE Instance Disk type", 0, NULL, 0 },
	{ "google-machine-image", 0, OPT_STRING, DEFAULT_IMAGE, "GOOGLE_MACHINE_IMAGE",
	  "GCE Machine Image Absolute URL", 0, NULL, 0 },
	{ "google-machine-type", 0, OPT_STRING, "n1-standard-1", "GOOGLE_MACHINE_TYPE",
	  "GCE Machine Type", 0, NULL, 0 },
	{ "google-network", 0, OPT_STRING, "default", "GOOGLE_NETWORK",
	  "Specify network in which to provision vm", 0, NULL, 0 },
	{ "google-open-port", 0, OPT_SLICE, NULL, NULL,
	  "Make the specified port number accessible from the Internet, e.g, 8080/tcp", 0, NULL, 0 },
	{ "google-preemptible", 0, OPT_BOOL, NULL, "GOOGLE_PREEMPTIBLE",
	  "GCE Instance Preemptibility", 0, NULL, 0 },
	{ "google-project", 0, OPT_STRING, NULL, "GOOGLE_PROJECT", "GCE Project", 0, NULL, OPTF_REQUIRED },
	{ "google-scopes", 0, OPT_STRING, DEFAULT_SCOPES, "GOOGLE_SCOPES",
	  "GCE Scopes (comma-separated if multiple scopes)", 0, NULL, 0 },
	{ "google-service-account", 0, OPT_STRING, "default", "GOOGLE_SERVICE_ACCOUNT",
	  "GCE Service Account for the VM (email address)", 0, NULL, 0 },
	{ "google-subnetwork", 0, OPT_STRING, NULL, "GOOGLE_SUBNETWORK",
	  "Specify subnetwork in which to provision vm", 0, NULL, 0 },
	{ "google-tags", 0, OPT_STRING, NULL, "GOOGLE_TAGS",
	  "GCE Instance Tags (comma-separated)", 0, NULL, 0 },
	{ "google-use-existing", 0, OPT_BOOL, NULL, "GOOGLE_USE_EXISTING",
	  "Don't create a new VM, use an existing one", 0, NULL, 0 },
	{ "google-use-internal-ip", 0, OPT_BOOL, NULL, "GOOGLE_USE_INTERNAL_IP",
	  "Use internal GCE Instance IP rather than public one", 0, NULL, 0 },
	{ "google-use-internal-ip-only", 0, OPT_BOOL, NULL, "GOOGLE_USE_INTERNAL_IP_ONLY",
	  "Configure GCE instance to not have an external IP address", 0, NULL, 0 },
	{ "google-username", 0, OPT_STRING, "docker-user", "GOOGLE_USERNAME", "GCE User Name", 0, NULL, 0 },
	{ "google-zone", 0, OPT_STRING, "us-central1-a", "GOOGLE_ZONE", "GCE Zone", 0, NULL, 0 },
};

/* ---- the host record ---- */

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
	json_t *fl = drv_host_flags(host), *in = drv_host_driver(host), *d, *ports;
	const char *project = drv_flag_str(fl, "google-project");
	struct strvec open = STRVEC_INIT;
	long disk;

	if (!*project) {
		dm_seterr("no Google Cloud Project name specified (--google-project)");
		return NULL;
	}
	if (drv_flag_int(fl, "google-disk-size", 1, 65536, &disk) < 0)
		return NULL;
	drv_flag_slice(fl, "google-open-port", &open);
	ports = json_array();
	for (size_t i = 0; i < open.n; i++) {
		char p[16], pr[8];
		if (parse_port(open.v[i], p, pr) < 0) {
			json_decref(ports);
			sv_clear(&open);
			return NULL;
		}
		json_array_append_new(ports, json_string(open.v[i]));
	}
	sv_clear(&open);
	d = json_object();
	/* BaseDriver, then the google fields in 0.16.2's order, then ours */
	dj_set_str(d, "IPAddress", dj_str(in, "IPAddress", ""));
	dj_set_str(d, "MachineName", dj_str(in, "MachineName", drv_host_name(host) ? drv_host_name(host) : ""));
	dj_set_str(d, "SSHUser", drv_flag_str(fl, "google-username"));
	dj_set_int(d, "SSHPort", 22);
	dj_set_str(d, "SSHKeyPath", dj_str(in, "SSHKeyPath", ""));
	dj_set_str(d, "StorePath", dj_str(in, "StorePath", ""));
	dj_set_bool(d, "SwarmMaster", dj_bool(in, "SwarmMaster", 0));
	dj_set_str(d, "SwarmHost", dj_str(in, "SwarmHost", ""));
	dj_set_str(d, "SwarmDiscovery", dj_str(in, "SwarmDiscovery", ""));
	dj_set_str(d, "Zone", drv_flag_str(fl, "google-zone"));
	dj_set_str(d, "MachineType", drv_flag_str(fl, "google-machine-type"));
	dj_set_str(d, "MachineImage", drv_flag_str(fl, "google-machine-image"));
	dj_set_str(d, "DiskType", drv_flag_str(fl, "google-disk-type"));
	dj_set_str(d, "Address", drv_flag_str(fl, "google-address"));
	dj_set_str(d, "Network", drv_flag_str(fl, "google-network"));
	dj_set_str(d, "Subnetwork", drv_flag_str(fl, "google-subnetwork"));
	dj_set_bool(d, "Preemptible", drv_flag_bool(fl, "google-preemptible"));
	dj_set_bool(d, "UseInternalIP", drv_flag_bool(fl, "google-use-internal-ip") ||
	                                 drv_flag_bool(fl, "google-use-internal-ip-only"));
	dj_set_bool(d, "UseInternalIPOnly", drv_flag_bool(fl, "google-use-internal-ip-only"));
	dj_set_str(d, "Scopes", drv_flag_str(fl, "google-scopes"));
	dj_set_int(d, "DiskSize", disk);
	dj_set_str(d, "Project", project);
	dj_set_str(d, "Tags", drv_flag_str(fl, "google-tags"));
	dj_set_bool(d, "UseExisting", drv_flag_bool(fl, "google-use-existing"));
	dj_set(d, "OpenPorts", ports);
	dj_set_str(d, "ServiceAccount", drv_flag_str(fl, "google-service-account"));
	dj_set_str(d, "AuthToken", drv_flag_str(fl, "google-auth-token"));
	drv_merge_missing(d, in);
	return d;
}

/* The Driver object to work with: from Flags when given, else the record's. New reference. */
static json_t *config_of(json_t *host)
{
	if (drv_host_flags(host))
		return config_from_flags(host);
	json_t *d = drv_host_driver(host);
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

static void do_precreate(const char *verb, json_t *host)
{
	json_t *d = config_of(host), *o = NULL;
	struct gce g;
	char *p;
	int r;

	if (!d) {
		drv_error(NULL, dm_strerr());
		return;
	}
	gce_init(&g, d);
	drv_log("Check that the project exists");
	p = xasprintf("projects/%s", g.project);
	r = check_exists(&g, p, "Project with ID \"%s\" not found.", g.project);
	free(p);
	if (r < 0)
		goto fail;
	drv_log("Check if the instance already exists");
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
	drv_ok();
	goto out;
fail:
	drv_precreate_error(dm_strerr());
out:
	gce_free(&g);
	json_decref(d);
}

static void do_set_config(const char *verb, json_t *host)
{
	json_t *d = config_from_flags(host);
	if (!d) {
		drv_error(NULL, dm_strerr());
		return;
	}
	drv_persist(json_incref(d));
	drv_ok();
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
		drv_log("Creating firewall rule");
		char *ins = xasprintf("projects/%s/global/firewalls", g->project);
		rc = api_op(g, "POST", ins, body, 0);
		free(ins);
	} else {
		drv_log("Updating firewall rule");
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

static void do_create(const char *verb, json_t *host)
{
	json_t *d = config_of(host), *op = NULL, *body = NULL;
	struct gce g;
	char *dir = NULL, *key = NULL, *pubpath = NULL, *pub = NULL, *keys = NULL, *natip = NULL, *p;
	const char *user;
	long st;

	if (!d) {
		drv_error(NULL, dm_strerr());
		return;
	}
	gce_init(&g, d);
	user = dj_str(d, "SSHUser", "docker-user");
	dir = drv_machine_dir(host);
	if (!dir) {
		drv_error(NULL, "google: the host record has no StorePath/Name");
		goto out;
	}
	key = xasprintf("%s/id_rsa", dir);
	pubpath = xasprintf("%s.pub", key);
	drv_log("Generating SSH Key");
	if (access(key, F_OK) < 0 && ssh_keygen(key, "rsa", user) < 0)
		goto fail;
	dj_set_str(d, "SSHKeyPath", key);
	drv_persist(json_incref(d));
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
		drv_log("Uploading SSH Key");
		p = instance_path(d, "setMetadata");
		int r = api_op(&g, "POST", p, md, 0);
		free(p);
		json_decref(md);
		if (r < 0)
			goto fail;
		if (!running) {
			drv_log("Starting instance");
			p = instance_path(d, "start");
			r = api_op(&g, "POST", p, NULL, 0);
			free(p);
			if (r < 0)
				goto fail;
		}
	} else {
		if (*dj_str(d, "Address", "") && !(natip = static_address(&g, d)))
			goto fail;
		drv_log("Creating instance");
		body = insert_body(&g, d, keys, natip);
		p = xasprintf("projects/%s/zones/%s/instances", g.project, dj_str(d, "Zone", ""));
		int r = api(&g, "POST", p, body, &op, &st);
		free(p);
		if (r < 0)
			goto fail;
		/* the instance exists from now on: checkpoint it with its operation */
		dj_set_str(d, "InstanceName", dj_str(d, "MachineName", ""));
		dj_set_str(d, "Operation", dj_str(op, "name", ""));
		drv_persist(json_incref(d));
		drv_log("Waiting for Instance");
		if (wait_op(&g, op) < 0)
			goto fail;
		json_object_del(d, "Operation");
	}
	if (refresh_ip(&g, d) < 0)
		goto fail;
	drv_log("IP address: %s", dj_str(d, "IPAddress", ""));
	drv_persist(json_incref(d));
	drv_ok();
	goto out;
fail:
	drv_error(NULL, dm_strerr());
out:
	json_decref(op);
	json_decref(body);
	free(dir), free(key), free(pubpath), free(pub), free(keys), free(natip);
	gce_free(&g);
	json_decref(d);
}

/* ---- power ---- */

static void do_power(const char *verb, json_t *host)
{
	json_t *d = config_of(host);
	struct gce g;
	const char *call = !strcmp(verb, "kill") ? "stop" : !strcmp(verb, "restart") ? "reset" : verb;
	char *p;

	if (!d) {
		drv_error(NULL, dm_strerr());
		return;
	}
	gce_init(&g, d);
	p = instance_path(d, call);
	if (api_op(&g, "POST", p, NULL, 0) < 0) {
		drv_error(NULL, dm_strerr());
	} else {
		/* an ephemeral external IP changes across stop/start */
		if (!strcmp(verb, "start") || !strcmp(verb, "restart")) {
			const char *old = dj_str(d, "IPAddress", "");
			char *was = xstrdup(old);
			if (refresh_ip(&g, d) == 0 && strcmp(was, dj_str(d, "IPAddress", "")))
				drv_persist(json_incref(d));
			free(was);
		}
		drv_ok();
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
		drv_log("Deleting leftover %s %s", !strcmp(what, "disks") ? "disk" : "instance", dj_str(it, "name", ""));
		if (api_op(g, "DELETE", p, NULL, 1) < 0)
			rc = -1;
		free(p);
	}
	json_decref(list);
	sb_release(&path);
	sb_release(&filter);
	return rc;
}

static void do_remove(const char *verb, json_t *host)
{
	json_t *d = config_of(host);
	struct gce g;
	char label[64], *p, *disk;
	int r;

	if (!d) {
		/* never configured: nothing was made at the provider */
		drv_ok();
		return;
	}
	gce_init(&g, d);
	label_value(dj_str(d, "MachineName", ""), label);
	if (dj_bool(d, "UseExisting", 0))
		drv_log("Deleting the existing instance (--google-use-existing)");
	drv_log("Deleting instance.");
	p = instance_path(d, NULL);
	r = api_op(&g, "DELETE", p, NULL, 1);
	free(p);
	if (r < 0)
		goto fail;
	drv_log("Deleting disk.");
	disk = xasprintf("%s-disk", dj_str(d, "MachineName", ""));
	p = zone_path(d, "disks", disk);
	free(disk);
	r = api_op(&g, "DELETE", p, NULL, 1);
	free(p);
	if (r < 0)
		goto fail;
	if (delete_labelled(&g, d, "instances", label) < 0 || delete_labelled(&g, d, "disks", label) < 0)
		goto fail;
	drv_ok();
	goto out;
fail:
	drv_error(NULL, dm_strerr());
out:
	gce_free(&g);
	json_decref(d);
}

/* ---- ssh-info ---- */

static void do_ssh_info(const char *verb, json_t *host)
{
	json_t *d = drv_host_driver(host);
	char *dir = drv_machine_dir(host), *kh = dir ? xasprintf("%s/known_hosts", dir) : NULL;
	const char *ip = dj_str(d, "IPAddress", "");
	if (!*ip) {
		drv_error(NULL, "IP address is not set");
	} else {
		drv_answer_ssh(ip, dj_int(d, "SSHPort", 22) ? dj_int(d, "SSHPort", 22) : 22,
		               *dj_str(d, "SSHUser", "") ? dj_str(d, "SSHUser", "") : "docker-user",
		               dj_str(d, "SSHKeyPath", ""), kh);
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
	json_t *d = drv_host_driver(host), *a;
	const char *name = drv_host_name(host);
	const char *state = map_state(dj_str(inst, "status", ""));
	const char *ip = instance_ip(inst, dj_bool(d, "UseInternalIP", 0));
	char url[300] = "";

	if (*ip)
		snprintf(url, sizeof url, "tcp://%s:2376", ip);
	if (!strcmp(verb, "ip") && !*ip) {
		drv_error(name, "IP address is not set");
		return;
	}
	if (!strcmp(verb, "url") && (strcmp(state, "Running") || !*url)) {
		drv_error(name, strcmp(state, "Running") ? "Host is not running" : "IP address is not set");
		return;
	}
	a = json_object();
	if (name)
		dj_set_str(a, "Name", name);
	if (!strcmp(verb, "state")) {
		dj_set_str(a, "State", state);
		if (!strcmp(state, "Running") && *url)
			dj_set_str(a, "URL", url);
		if (*ip)
			dj_set_str(a, "IP", ip);
	} else if (!strcmp(verb, "ip")) {
		dj_set_str(a, "IP", ip);
	} else {
		dj_set_str(a, "URL", url);
	}
	drv_emit(a);
}

/* Hosts of one project: list every instance once (paged), answer each host. */
static void batch_project(const char *verb, json_t **hosts, size_t n, int *done)
{
	json_t *d0 = drv_host_driver(hosts[0]), *found = json_object();   /* "zone/name" -> instance */
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
		json_t *d = drv_host_driver(hosts[i]);
		const char *name = drv_host_name(hosts[i]);
		if (!ok) {
			drv_error(name, dm_strerr());
		} else {
			char *key = xasprintf("%s/%s", dj_str(d, "Zone", ""), dj_str(d, "MachineName", ""));
			json_t *inst = json_object_get(found, key);
			if (inst) {
				answer_host(verb, hosts[i], inst);
			} else {
				struct strbuf m = STRBUF_INIT;
				sb_addf(&m, "googleapi: Error 404: The resource 'projects/%s/zones/%s/instances/%s' "
				        "was not found, notFound", g.project, dj_str(d, "Zone", ""), dj_str(d, "MachineName", ""));
				drv_error(name, m.buf);
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
		json_t *d = drv_host_driver(hosts[i]);
		if (!d || !*dj_str(d, "Project", "")) {
			drv_error(drv_host_name(hosts[i]), "no Google Cloud Project name specified (--google-project)");
			done[i] = 1;
		}
	}
	for (i = 0; i < n; i++) {
		if (done[i])
			continue;
		const char *proj = dj_str(drv_host_driver(hosts[i]), "Project", "");
		const char *tok = dj_str(drv_host_driver(hosts[i]), "AuthToken", "");
		size_t gn = 0;
		/* one group per project and credential */
		for (j = i; j < n; j++)
			if (!done[j] && !strcmp(dj_str(drv_host_driver(hosts[j]), "Project", ""), proj) &&
			    !strcmp(dj_str(drv_host_driver(hosts[j]), "AuthToken", ""), tok))
				group[gn++] = hosts[j], done[j] = 2;
		batch_project(verb, group, gn, gdone);
	}
	free(group);
	free(gdone);
	free(done);
}

/* ---- main ---- */

static const struct drv_verb verbs[] = {
	{ "set-config", do_set_config, NULL },
	{ "precreate-check", do_precreate, NULL },
	{ "create", do_create, NULL },
	{ "remove", do_remove, NULL },
	{ "start", do_power, NULL },
	{ "stop", do_power, NULL },
	{ "restart", do_power, NULL },
	{ "kill", do_power, NULL },
	{ "state", NULL, do_batch },
	{ "url", NULL, do_batch },
	{ "ip", NULL, do_batch },
	{ "ssh-info", do_ssh_info, NULL },
};

static const struct drv_spec spec = { "google", flags, ARRAY_SIZE(flags), verbs, ARRAY_SIZE(verbs) };

int main(int argc, char **argv)
{
	return drv_main(&spec, argc, argv);
}
