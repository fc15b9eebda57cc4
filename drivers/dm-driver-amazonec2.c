/* dm-driver-amazonec2 - Amazon EC2 instances (the EC2 Query API, SigV4).
 *
 *   dm-driver-amazonec2 describe
 *   dm-driver-amazonec2 VERB < host.json
 *
 * Man page prose (DESCRIPTION / ENVIRONMENT of dm-driver-amazonec2(1)):
 *
 * Creates an EC2 instance per machine with the Query API (Version
 * 2016-11-15, form-encoded POST, Signature Version 4).  Credentials come from
 * --amazonec2-access-key/--amazonec2-secret-key (+ --amazonec2-session-token),
 * else AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, else the
 * shared credentials file (AWS_SHARED_CREDENTIALS_FILE or
 * ~/.aws/credentials, profile AWS_PROFILE or "default").  The EC2
 * instance-role endpoint is not used.  Keys given as flags are stored in the
 * machine's config.json (mode 0600) as 0.16.2 did, so later commands work;
 * `inspect` redacts them.
 *
 * Endpoint: --amazonec2-endpoint (a host name or a URL; AWS_ENDPOINT), else
 * AWS_ENDPOINT_URL_EC2, else AWS_ENDPOINT_URL, else
 * https://ec2.REGION.amazonaws.com/.  --amazonec2-insecure-transport
 * (http://) needs --amazonec2-endpoint, as in 0.16.2.
 *
 * Changes from 0.16.2:
 *  - --amazonec2-ami has no per-region table: the default is the newest
 *    Canonical Ubuntu LTS image (owner 099720109477, name
 *    ubuntu/images/hvm-ssd*\/ubuntu-*-amd64-server-*, an even YY.04
 *    release, state available, newest CreationDate) of the region, found by
 *    DescribeImages in the pre-create check.
 *  - --amazonec2-instance-type keeps t2.micro (not offered in every region
 *    any more: pass one that is, e.g. t3.micro).
 *  - The pre-create check (exit status 3) checks the credentials, region,
 *    VPC/subnet (default VPC from DescribeAccountAttributes default-vpc, the
 *    subnet of zone REGION+ZONE from DescribeSubnets), the instance type
 *    (DescribeInstanceTypes), the AMI (DescribeImages) and that no key pair
 *    is named like the machine; missing credentials are reported there too.
 *  - The SSH key made for a machine is ed25519 (id_ed25519), imported with
 *    ImportKeyPair under the machine's name.
 *  - Every resource is tagged at creation (TagSpecifications): instance and
 *    volume Name=NAME, docker-machine-name=NAME and --amazonec2-tags; key
 *    pair, spot request and a created security group docker-machine-name=NAME
 *    (a created group also docker-machine-managed=true).  RunInstances and
 *    RequestSpotInstances carry a ClientToken, so a retried request never
 *    starts a second instance.
 *  - remove terminates the instance, deletes the key pair (unless it was
 *    --amazonec2-keypair-name), cancels the spot request, and deletes a
 *    security group that dm created once no other instance uses it (after
 *    the instance is terminated); it also finds what an interrupted create
 *    left (by the docker-machine-name tag).  Missing resources are not
 *    errors.
 *  - state/url/ip answer many machines from ONE DescribeInstances
 *    (InstanceId.N; if some of them no longer exist, once more with an
 *    instance-id filter).  pending -> Starting, running -> Running,
 *    stopping/shutting-down -> Stopping, stopped -> Stopped,
 *    terminated -> Error.
 *  - kill is StopInstances with Force=true; stop and kill wait for stopped,
 *    start waits for running and records the new address; ssh-info asks EC2
 *    for the address of now (the recorded one when EC2 cannot be asked).
 *
 * Environment besides the flags' own: AWS_ENDPOINT_URL_EC2, AWS_ENDPOINT_URL,
 * AWS_SHARED_CREDENTIALS_FILE, AWS_PROFILE, AWS_DEFAULT_PROFILE,
 * DM_EC2_POLL_MS (interval of the waits, default 2000).
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

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "awscred.h"
#include "dm.h"
#include "drvkit.h"
#include "http.h"
#include "json.h"
#include "sigv4.h"
#include "ssh.h"
#include "xml.h"

#define API_VERSION "2016-11-15"
#define CANONICAL_OWNER "099720109477"
#define UBUNTU_PATTERN "ubuntu/images/hvm-ssd*/ubuntu-*-amd64-server-*"
#define TAG_NAME "docker-machine-name"
#define TAG_MANAGED "docker-machine-managed"
#define ENGINE_PORT 2376
#define SWARM_PORT 3376
#define USERDATA_CAP (16u << 10)
#define WAIT_RUNNING_MS (10 * 60 * 1000)
#define WAIT_STOP_MS (100 * 1000)
#define WAIT_TERMINATE_MS (90 * 1000)

static const struct opt flags[] = {
	{ "amazonec2-access-key", 0, OPT_STRING, NULL, "AWS_ACCESS_KEY_ID",
	  "AWS Access Key", 0, NULL, OPTF_SECRET },
	{ "amazonec2-ami", 0, OPT_STRING, NULL, "AWS_AMI", "AWS machine image", 0, NULL, 0 },
	{ "amazonec2-block-duration-minutes", 0, OPT_INT, "0", NULL,
	  "AWS spot instance duration in minutes (60, 120, 180, 240, 300, or 360)", 0, NULL, 0 },
	{ "amazonec2-device-name", 0, OPT_STRING, "/dev/sda1", "AWS_DEVICE_NAME",
	  "AWS root device name", 0, NULL, 0 },
	{ "amazonec2-endpoint", 0, OPT_STRING, NULL, "AWS_ENDPOINT",
	  "Optional endpoint URL (hostname only or fully qualified URI)", 0, NULL, 0 },
	{ "amazonec2-iam-instance-profile", 0, OPT_STRING, NULL, "AWS_INSTANCE_PROFILE",
	  "AWS IAM Instance Profile", 0, NULL, 0 },
	{ "amazonec2-insecure-transport", 0, OPT_BOOL, NULL, "AWS_INSECURE_TRANSPORT",
	  "Disable SSL when sending requests", 0, NULL, 0 },
	{ "amazonec2-instance-type", 0, OPT_STRING, "t2.micro", "AWS_INSTANCE_TYPE",
	  "AWS instance type", 0, NULL, 0 },
	{ "amazonec2-keypair-name", 0, OPT_STRING, NULL, "AWS_KEYPAIR_NAME",
	  "AWS keypair to use; requires --amazonec2-ssh-keypath", 0, NULL, 0 },
	{ "amazonec2-monitoring", 0, OPT_BOOL, NULL, NULL,
	  "Set this flag to enable CloudWatch monitoring", 0, NULL, 0 },
	{ "amazonec2-open-port", 0, OPT_SLICE, NULL, NULL,
	  "Make the specified port number accessible from the Internet", 0, NULL, 0 },
	{ "amazonec2-private-address-only", 0, OPT_BOOL, NULL, NULL,
	  "Only use a private IP address", 0, NULL, 0 },
	{ "amazonec2-region", 0, OPT_STRING, "us-east-1", "AWS_DEFAULT_REGION", "AWS region", 0, NULL, 0 },
	{ "amazonec2-request-spot-instance", 0, OPT_BOOL, NULL, NULL,
	  "Set this flag to request spot instance", 0, NULL, 0 },
	{ "amazonec2-retries", 0, OPT_INT, "5", NULL,
	  "Set retry count for recoverable failures (use -1 to disable)", 0, NULL, 0 },
	{ "amazonec2-root-size", 0, OPT_INT, "16", "AWS_ROOT_SIZE",
	  "AWS root disk size (in GB)", 0, NULL, 0 },
	{ "amazonec2-secret-key", 0, OPT_STRING, NULL, "AWS_SECRET_ACCESS_KEY",
	  "AWS Secret Key", 0, NULL, OPTF_SECRET },
	{ "amazonec2-security-group", 0, OPT_SLICE, "docker-machine", "AWS_SECURITY_GROUP",
	  "AWS VPC security group", 0, NULL, 0 },
	{ "amazonec2-security-group-readonly", 0, OPT_BOOL, NULL, "AWS_SECURITY_GROUP_READONLY",
	  "Skip adding default rules to security groups", 0, NULL, 0 },
	{ "amazonec2-session-token", 0, OPT_STRING, NULL, "AWS_SESSION_TOKEN",
	  "AWS Session Token", 0, NULL, OPTF_SECRET },
	{ "amazonec2-spot-price", 0, OPT_STRING, "0.50", NULL,
	  "AWS spot instance bid price (in dollar)", 0, NULL, 0 },
	{ "amazonec2-ssh-keypath", 0, OPT_STRING, NULL, "AWS_SSH_KEYPATH",
	  "SSH Key for Instance", 0, NULL, 0 },
	{ "amazonec2-ssh-port", 0, OPT_INT, "22", "AWS_SSH_PORT", "SSH port", 0, NULL, 0 },
	{ "amazonec2-ssh-user", 0, OPT_STRING, "ubuntu", "AWS_SSH_USER",
	  "Set the name of the ssh user", 0, NULL, 0 },
	{ "amazonec2-subnet-id", 0, OPT_STRING, NULL, "AWS_SUBNET_ID", "AWS VPC subnet id", 0, NULL, 0 },
	{ "amazonec2-tags", 0, OPT_STRING, NULL, "AWS_TAGS",
	  "AWS Tags (e.g. key1,value1,key2,value2)", 0, NULL, 0 },
	{ "amazonec2-use-ebs-optimized-instance", 0, OPT_BOOL, NULL, NULL,
	  "Create an EBS optimized instance", 0, NULL, 0 },
	{ "amazonec2-use-private-address", 0, OPT_BOOL, NULL, NULL,
	  "Force the usage of private IP address", 0, NULL, 0 },
	{ "amazonec2-userdata", 0, OPT_STRING, NULL, "AWS_USERDATA",
	  "path to file with cloud-init user data", 0, NULL, 0 },
	{ "amazonec2-volume-type", 0, OPT_STRING, "gp2", "AWS_VOLUME_TYPE",
	  "Amazon EBS volume type", 0, NULL, 0 },
	{ "amazonec2-vpc-id", 0, OPT_STRING, NULL, "AWS_VPC_ID", "AWS VPC id", 0, NULL, 0 },
	{ "amazonec2-zone", 0, OPT_STRING, "a", "AWS_ZONE",
	  "AWS zone for instance (i.e. a,b,c,d,e)", 0, NULL, 0 },
};

/* 0.16.2's words */
static const char err_no_private_key[] = "using --amazonec2-keypair-name also requires --amazonec2-ssh-keypath";
static const char err_missing_creds[] =
	"amazonec2 driver requires AWS credentials configured with the --amazonec2-access-key and "
	"--amazonec2-secret-key options, environment variables, ~/.aws/credentials, or an instance role";
static const char err_no_vpc[] =
	"amazonec2 driver requires either the --amazonec2-subnet-id or --amazonec2-vpc-id option or an "
	"AWS Account with a default vpc-id";
static const char err_insecure[] = "using --amazonec2-insecure-transport also requires --amazonec2-endpoint";
static const char err_userdata[] = "unable to read --amazonec2-userdata file";

/* ---- the host record ---- */

static int swarm_master(json_t *host)
{
	json_t *v = dj_path(host, "HostOptions.SwarmOptions.Master");
	return json_is_true(v) || json_is_true(json_object_get(drv_host_driver(host), "SwarmMaster"));
}

/* ---- the EC2 client ---- */

struct ec2 {
	char *url;          /* https://host[:port]/path */
	char *hostport;     /* Host header */
	char *path;         /* request path */
	char *region;
	struct aws_cred cred;
	int retries;        /* http max_retries: -1 none */
};

static void ec2_free(struct ec2 *c)
{
	free(c->url);
	free(c->hostport);
	free(c->path);
	free(c->region);
	awscred_free(&c->cred);
	memset(c, 0, sizeof(*c));
}

/* Endpoint URL from the flag/Driver value, the environment, or the region. */
static char *endpoint_url(const char *endpoint, int insecure, const char *region)
{
	const char *e = endpoint && *endpoint ? endpoint : NULL;
	if (!e)
		e = getenv("AWS_ENDPOINT_URL_EC2");
	if (!e || !*e)
		e = getenv("AWS_ENDPOINT_URL");
	if (e && *e) {
		if (strstr(e, "://"))
			return xstrdup(e);
		return xasprintf("%s://%s", insecure ? "http" : "https", e);
	}
	return xasprintf("%s://ec2.%s.amazonaws.com/", insecure ? "http" : "https", region);
}

/* Set up c; creds from flags (any may be NULL) then the chain.
 * Returns 0; 1 when there are no credentials; -1 on error. */
static int ec2_init(struct ec2 *c, const char *region, const char *endpoint, int insecure,
                    const char *ak, const char *sk, const char *tok, long retries)
{
	char *u;
	const char *p, *slash;
	int rc;

	memset(c, 0, sizeof(*c));
	rc = awscred_resolve(ak, sk, tok, &c->cred);
	if (rc != 0)
		return rc;
	c->region = xstrdup(region && *region ? region : "us-east-1");
	c->url = endpoint_url(endpoint, insecure, c->region);
	u = c->url;
	p = strstr(u, "://");
	if (!p || (strncmp(u, "http://", 7) && strncmp(u, "https://", 8))) {
		rc = dm_seterr("invalid endpoint URL '%s'", u);
		ec2_free(c);
		return rc;
	}
	p += 3;
	slash = strchr(p, '/');
	c->hostport = slash ? xstrndup(p, (size_t)(slash - p)) : xstrdup(p);
	c->path = xstrdup(slash ? slash : "/");
	if (!slash) {
		char *nu = xasprintf("%s/", u);
		free(c->url);
		c->url = nu;
	}
	c->retries = retries < 0 ? -1 : retries == 0 ? -1 : (int)retries;
	return 0;
}

struct params {
	struct strvec kv;   /* name, value, name, value … */
};

static void P(struct params *p, const char *name, const char *value)
{
	sv_push(&p->kv, name);
	sv_push(&p->kv, value);
}

static void Pf(struct params *p, const char *value, const char *fmt, ...) ATTR_PRINTF(3, 4);
static void Pf(struct params *p, const char *value, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	sb_vaddf(&sb, fmt, ap);
	va_end(ap);
	sv_push_owned(&p->kv, sb_detach(&sb));
	sv_push(&p->kv, value);
}

static void params_free(struct params *p) { sv_clear(&p->kv); }

/* Call Action with p.  0 with *doc (caller frees); -1 with the error set to
 * "Code: Message" of EC2's error (or the transport's), *code (may be NULL)
 * gets the Code (caller frees; NULL when there is none). */
static int ec2_call(struct ec2 *c, const char *action, struct params *p, struct xml_doc **doc, char **code)
{
	struct strbuf body = STRBUF_INIT, auth = STRBUF_INIT;
	struct http_req r = { 0 };
	struct http_resp resp = { 0, STRBUF_INIT, STRVEC_INIT };
	char amzdate[17];
	int rc = -1;

	*doc = NULL;
	if (code)
		*code = NULL;
	sb_addf(&body, "Action=%s&Version=%s", action, API_VERSION);
	for (size_t i = 0; p && i + 1 < p->kv.n; i += 2) {
		sb_addc(&body, '&');
		sigv4_uri_encode(&body, p->kv.v[i], strlen(p->kv.v[i]), 0);
		sb_addc(&body, '=');
		sigv4_uri_encode(&body, p->kv.v[i + 1], strlen(p->kv.v[i + 1]), 0);
	}
	sigv4_amzdate((long long)time(NULL), amzdate);
	const char *ctype = "application/x-www-form-urlencoded; charset=utf-8";
	struct sigv4_header h[4] = { { "Content-Type", ctype }, { "Host", c->hostport }, { "X-Amz-Date", amzdate } };
	size_t nh = 3;
	if (c->cred.session_token)
		h[nh++] = (struct sigv4_header){ "X-Amz-Security-Token", c->cred.session_token };
	struct sigv4_req sr = { "POST", c->path, NULL, h, nh, body.buf, body.len, 0 };
	struct sigv4_key k = { c->cred.access_key, c->cred.secret_key, c->region, "ec2" };
	if (sigv4_authorization(&sr, &k, amzdate, &auth) < 0)
		goto out;
	r.method = "POST";
	r.url = c->url;
	r.body = body.buf;
	r.bodylen = body.len;
	r.max_retries = c->retries;
	r.body_secret = strstr(body.buf, "UserData=") != NULL;   /* user data may hold secrets */
	http_header(&r, "Content-Type", ctype);
	http_header(&r, "Host", c->hostport);
	http_header(&r, "X-Amz-Date", amzdate);
	if (c->cred.session_token)
		http_header_secret(&r, "X-Amz-Security-Token", c->cred.session_token);
	http_header_secret(&r, "Authorization", auth.buf);
	dm_debugf("amazonec2: %s %s", action, c->url);
	if (http_do(&r, &resp) < 0)
		goto out;
	if (resp.status >= 200 && resp.status < 300) {
		*doc = xml_parse(resp.body.buf, resp.body.len);
		if (!*doc) {
			dm_seterr("%s: reply: %s", action, dm_strerr());
			goto out;
		}
		rc = 0;
		goto out;
	}
	struct xml_doc *e = xml_parse(resp.body.buf, resp.body.len);
	char *ec = NULL, *em = NULL;
	if (e && xml_aws_error(e, &ec, &em) == 0 && (ec || em)) {
		dm_seterr("%s%s%s", ec ? ec : "", ec && em ? ": " : "", em ? em : "");
		if (code)
			*code = ec ? xstrdup(ec) : NULL;
	} else {
		dm_seterr("%s: HTTP %ld", action, resp.status);
	}
	free(ec);
	free(em);
	xml_free(e);
out:
	explicit_bzero(auth.buf, auth.len);
	sb_release(&auth);
	sb_release(&body);
	http_req_free(&r);
	http_resp_free(&resp);
	return rc;
}

static int code_is(const char *code, const char *want)
{
	return code && !strcmp(code, want);
}

/* ---- common configuration of a machine (from Flags or the Driver) ---- */

struct conf {
	json_t *host, *fl, *d;       /* borrowed; fl NULL after create */
	const char *name;
	struct ec2 ec2;
	int have_ec2;
};

/* The client for a stored machine. 0, or -1 with the error set. */
static int client_for_driver(json_t *d, struct ec2 *c)
{
	int rc = ec2_init(c, dj_str(d, "Region", "us-east-1"), dj_str(d, "Endpoint", ""), dj_bool(d, "DisableSSL", 0),
	                  dj_str(d, "AccessKey", ""), dj_str(d, "SecretKey", ""), dj_str(d, "SessionToken", ""),
	                  dj_int(d, "RetryCount", 5));
	if (rc == 1)
		return dm_seterr("%s", err_missing_creds);
	return rc;
}

static int client_for_flags(json_t *fl, struct ec2 *c)
{
	long retries;
	if (drv_flag_int(fl, "amazonec2-retries", -1, 100, &retries) < 0)
		return -1;
	int rc = ec2_init(c, drv_flag_str(fl, "amazonec2-region"), drv_flag_str(fl, "amazonec2-endpoint"),
	                  drv_flag_bool(fl, "amazonec2-insecure-transport"), drv_flag_str(fl, "amazonec2-access-key"),
	                  drv_flag_str(fl, "amazonec2-secret-key"), drv_flag_str(fl, "amazonec2-session-token"), retries);
	if (rc == 1)
		return dm_seterr("%s", err_missing_creds);
	return rc;
}

/* ---- instances ---- */

struct inst {
	char *id, *state, *ip, *private_ip, *spot;
};

static void inst_free(struct inst *i)
{
	free(i->id);
	free(i->state);
	free(i->ip);
	free(i->private_ip);
	free(i->spot);
	memset(i, 0, sizeof(*i));
}

/* Every instance of a DescribeInstances reply. */
static size_t parse_instances(struct xml_doc *doc, struct inst **out)
{
	size_t n = 0;
	struct inst *v = NULL;
	for (const struct xml_node *r = xml_find(xml_root(doc), "reservationSet/item"); r; r = xml_next(r))
		for (const struct xml_node *i = xml_find(r, "instancesSet/item"); i; i = xml_next(i)) {
			v = xrealloc(v, (n + 1) * sizeof(*v));
			v[n].id = xml_text(i, "instanceId");
			v[n].state = xml_text(i, "instanceState/name");
			v[n].ip = xml_text(i, "ipAddress");
			v[n].private_ip = xml_text(i, "privateIpAddress");
			v[n].spot = xml_text(i, "spotInstanceRequestId");
			if (!v[n].id)
				v[n].id = xstrdup("");
			if (!v[n].state)
				v[n].state = xstrdup("");
			n++;
		}
	*out = v;
	return n;
}

static void insts_free(struct inst *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		inst_free(&v[i]);
	free(v);
}

static const char *map_state(const char *s)
{
	static const struct { const char *ec2, *dm; } t[] = {
		{ "pending", "Starting" }, { "running", "Running" }, { "stopping", "Stopping" },
		{ "shutting-down", "Stopping" }, { "stopped", "Stopped" }, { "terminated", "Error" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(t); i++)
		if (!strcmp(s, t[i].ec2))
			return t[i].dm;
	return "";
}

/* Describe the given ids (InstanceId.N); when some do not exist any more,
 * once more with an instance-id filter (which skips them). */
static int describe_ids(struct ec2 *c, char **ids, size_t nids, struct inst **out, size_t *n)
{
	struct params p = { STRVEC_INIT };
	struct xml_doc *doc = NULL;
	char *code = NULL;
	int rc;

	for (size_t i = 0; i < nids; i++)
		Pf(&p, ids[i], "InstanceId.%zu", i + 1);
	rc = ec2_call(c, "DescribeInstances", &p, &doc, &code);
	params_free(&p);
	if (rc < 0 && code_is(code, "InvalidInstanceID.NotFound")) {
		P(&p, "Filter.1.Name", "instance-id");
		for (size_t i = 0; i < nids; i++)
			Pf(&p, ids[i], "Filter.1.Value.%zu", i + 1);
		rc = ec2_call(c, "DescribeInstances", &p, &doc, NULL);
		params_free(&p);
	}
	free(code);
	if (rc < 0)
		return -1;
	*n = parse_instances(doc, out);
	xml_free(doc);
	return 0;
}

static long poll_ms(void)
{
	const char *e = getenv("DM_EC2_POLL_MS");
	long v;
	if (e && *e && parse_long(e, 1, 60000, &v, "DM_EC2_POLL_MS") == 0)
		return v;
	return 2000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Wait until instance id is in state want (and has the address asked for);
 * *got (may be NULL) receives it.  -1 on timeout, error or a dead end. */
static int wait_state(struct ec2 *c, const char *id, const char *want, int need_ip, long long ms, struct inst *got)
{
	long long end = now_ms() + ms;
	char *ids[1] = { (char *)id };
	for (;;) {
		struct inst *v = NULL;
		size_t n = 0;
		if (describe_ids(c, ids, 1, &v, &n) < 0)
			return -1;
		if (n == 1 && !strcmp(v[0].state, want) && (!need_ip || (need_ip == 1 ? v[0].ip : v[0].private_ip))) {
			if (got)
				*got = v[0], memset(&v[0], 0, sizeof(v[0]));
			insts_free(v, n);
			return 0;
		}
		if (n == 1 && !strcmp(v[0].state, "terminated") && strcmp(want, "terminated")) {
			insts_free(v, n);
			return dm_seterr("instance %s was terminated", id);
		}
		if (n == 0 && !strcmp(want, "terminated")) {
			insts_free(v, n);
			return 0;     /* gone from the listing: as good as terminated */
		}
		insts_free(v, n);
		if (now_ms() >= end)
			return dm_seterr("timed out waiting for instance %s to be %s", id, want);
		sleep_ms(poll_ms());
	}
}

/* ---- set-config ---- */

/* Check the flags as 0.16.2's SetConfigFromFlags; 1 ok, 0 answered an error. */
static int check_flags(json_t *fl)
{
	long v;
	struct strvec tags = STRVEC_INIT;
	const char *t = drv_flag_str(fl, "amazonec2-tags"), *ud = drv_flag_str(fl, "amazonec2-userdata");
	static const char *const ints[] = { "amazonec2-root-size", "amazonec2-ssh-port",
		"amazonec2-block-duration-minutes", "amazonec2-retries" };
	static const long lim[][2] = { { 1, 65536 }, { 1, 65535 }, { 0, 360 }, { -1, 100 } };

	for (size_t i = 0; i < ARRAY_SIZE(ints); i++)
		if (drv_flag_int(fl, ints[i], lim[i][0], lim[i][1], &v) < 0) {
			drv_error(NULL, dm_strerr());
			return 0;
		}
	if (*drv_flag_str(fl, "amazonec2-keypair-name") && !*drv_flag_str(fl, "amazonec2-ssh-keypath")) {
		drv_error(NULL, err_no_private_key);
		return 0;
	}
	if (drv_flag_bool(fl, "amazonec2-insecure-transport") && !*drv_flag_str(fl, "amazonec2-endpoint")) {
		drv_error(NULL, err_insecure);
		return 0;
	}
	if (*t) {
		size_t n = 1;
		for (const char *c = t; *c; c++)
			n += *c == ',';
		if (n % 2) {
			drv_error(NULL, "--amazonec2-tags: expected key,value pairs (e.g. key1,value1,key2,value2)");
			return 0;
		}
	}
	sv_clear(&tags);
	if (*ud && access(ud, R_OK) < 0) {
		drv_error(NULL, err_userdata);
		return 0;
	}
	return 1;
}

/* The Driver object in 0.16.2's field order, from the flags (and the base fields in). */
static json_t *driver_from_flags(json_t *host, json_t *fl)
{
	json_t *in = drv_host_driver(host), *d = json_object(), *a;
	struct strvec sl = STRVEC_INIT;
	struct aws_cred probe;
	long v;
	static const char *const base[] = { "IPAddress", "MachineName", "SSHUser", "SSHPort", "SSHKeyPath",
		"StorePath", "SwarmMaster", "SwarmHost", "SwarmDiscovery" };
	const char *ak = drv_flag_str(fl, "amazonec2-access-key"), *sk = drv_flag_str(fl, "amazonec2-secret-key");
	int keys_from_flags = *ak && *sk;

	for (size_t i = 0; i < ARRAY_SIZE(base); i++) {
		json_t *x = in ? json_object_get(in, base[i]) : NULL;
		dj_set(d, base[i], x ? json_incref(x) : json_string(""));
	}
	dj_set_str(d, "MachineName", drv_host_name(host) ? drv_host_name(host) : "");
	dj_set_str(d, "SSHUser", drv_flag_str(fl, "amazonec2-ssh-user"));
	drv_flag_int(fl, "amazonec2-ssh-port", 1, 65535, &v);
	dj_set_int(d, "SSHPort", v);
	if (!json_is_boolean(json_object_get(d, "SwarmMaster")))
		dj_set_bool(d, "SwarmMaster", swarm_master(host));
	dj_set_str(d, "Id", "");
	/* secrets are kept only when they came as flags (0.16.2 kept them) */
	(void)probe;
	dj_set_str(d, "AccessKey", keys_from_flags ? ak : "");
	dj_set_str(d, "SecretKey", keys_from_flags ? sk : "");
	dj_set_str(d, "SessionToken", keys_from_flags ? drv_flag_str(fl, "amazonec2-session-token") : "");
	dj_set_str(d, "Region", drv_flag_str(fl, "amazonec2-region"));
	dj_set_str(d, "AMI", drv_flag_str(fl, "amazonec2-ami"));
	dj_set_int(d, "SSHKeyID", 0);
	dj_set_bool(d, "ExistingKey", *drv_flag_str(fl, "amazonec2-keypair-name") != 0);
	dj_set_str(d, "KeyName", drv_flag_str(fl, "amazonec2-keypair-name"));
	dj_set_str(d, "InstanceId", "");
	dj_set_str(d, "InstanceType", drv_flag_str(fl, "amazonec2-instance-type"));
	dj_set_str(d, "PrivateIPAddress", "");
	dj_set_str(d, "SecurityGroupId", "");
	dj_set(d, "SecurityGroupIds", json_null());
	dj_set_str(d, "SecurityGroupName", "");
	drv_flag_slice(fl, "amazonec2-security-group", &sl);
	if (!sl.n)
		drv_flag_slice(NULL, "amazonec2-security-group", &sl);   /* the default */
	a = json_array();
	for (size_t i = 0; i < sl.n; i++)
		json_array_append_new(a, json_string(sl.v[i]));
	dj_set(d, "SecurityGroupNames", a);
	sv_clear(&sl);
	dj_set_bool(d, "SecurityGroupReadOnly", drv_flag_bool(fl, "amazonec2-security-group-readonly"));
	drv_flag_slice(fl, "amazonec2-open-port", &sl);
	a = json_array();
	for (size_t i = 0; i < sl.n; i++)
		json_array_append_new(a, json_string(sl.v[i]));
	dj_set(d, "OpenPorts", sl.n ? a : (json_decref(a), json_null()));
	sv_clear(&sl);
	dj_set_str(d, "Tags", drv_flag_str(fl, "amazonec2-tags"));
	dj_set_str(d, "ReservationId", "");
	dj_set_str(d, "DeviceName", drv_flag_str(fl, "amazonec2-device-name"));
	drv_flag_int(fl, "amazonec2-root-size", 1, 65536, &v);
	dj_set_int(d, "RootSize", v);
	dj_set_str(d, "VolumeType", drv_flag_str(fl, "amazonec2-volume-type"));
	dj_set_str(d, "IamInstanceProfile", drv_flag_str(fl, "amazonec2-iam-instance-profile"));
	dj_set_str(d, "VpcId", drv_flag_str(fl, "amazonec2-vpc-id"));
	dj_set_str(d, "SubnetId", drv_flag_str(fl, "amazonec2-subnet-id"));
	dj_set_str(d, "Zone", drv_flag_str(fl, "amazonec2-zone"));
	dj_set_bool(d, "RequestSpotInstance", drv_flag_bool(fl, "amazonec2-request-spot-instance"));
	dj_set_str(d, "SpotPrice", drv_flag_str(fl, "amazonec2-spot-price"));
	drv_flag_int(fl, "amazonec2-block-duration-minutes", 0, 360, &v);
	dj_set_int(d, "BlockDurationMinutes", v);
	dj_set_bool(d, "PrivateIPOnly", drv_flag_bool(fl, "amazonec2-private-address-only"));
	dj_set_bool(d, "UsePrivateIP", drv_flag_bool(fl, "amazonec2-use-private-address"));
	dj_set_bool(d, "UseEbsOptimizedInstance", drv_flag_bool(fl, "amazonec2-use-ebs-optimized-instance"));
	dj_set_bool(d, "Monitoring", drv_flag_bool(fl, "amazonec2-monitoring"));
	dj_set_str(d, "SSHPrivateKeyPath", drv_flag_str(fl, "amazonec2-ssh-keypath"));
	drv_flag_int(fl, "amazonec2-retries", -1, 100, &v);
	dj_set_int(d, "RetryCount", v);
	dj_set_str(d, "Endpoint", drv_flag_str(fl, "amazonec2-endpoint"));
	dj_set_bool(d, "DisableSSL", drv_flag_bool(fl, "amazonec2-insecure-transport"));
	dj_set_str(d, "UserDataFile", drv_flag_str(fl, "amazonec2-userdata"));
	/* this driver's additions: what remove needs to leave nothing behind */
	dj_set_str(d, "KeyPairId", "");
	dj_set_str(d, "SpotInstanceRequestId", "");
	dj_set(d, "CreatedSecurityGroupIds", json_array());
	return d;
}

static void do_set_config(const char *verb, json_t *host)
{
	json_t *fl = drv_host_flags(host);
	if (!check_flags(fl))
		return;
	drv_persist(driver_from_flags(host, fl));
	drv_ok();
}

/* ---- precreate-check ---- */

/* The text of the first element at path of the first item at list, or NULL. */
static char *first_text(struct xml_doc *doc, const char *list, const char *path)
{
	const struct xml_node *n = xml_find(xml_root(doc), list);
	return n ? xml_text(n, path) : NULL;
}

/* YY.04 with an even YY in "...ubuntu-CODENAME-YY.MM-amd64-server-DATE". */
static int lts_name(const char *name)
{
	const char *p = strstr(name, "-amd64-server-");
	if (!p)
		return 0;
	const char *q = p;
	while (q > name && q[-1] != '-')
		q--;
	/* q: "YY.MM-amd64-server-..." */
	if (p - q != 5 || q[2] != '.' || strncmp(q + 3, "04", 2))
		return 0;
	if (q[0] < '0' || q[0] > '9' || q[1] < '0' || q[1] > '9')
		return 0;
	return (q[1] - '0') % 2 == 0;
}

/* Newest Canonical Ubuntu LTS amd64 image: *ami (caller frees). */
static int default_ami(struct ec2 *c, char **ami, char **rootdev)
{
	struct params p = { STRVEC_INIT };
	struct xml_doc *doc = NULL;
	char *best = NULL, *bestdate = NULL, *bestdev = NULL;

	P(&p, "Owner.1", CANONICAL_OWNER);
	P(&p, "Filter.1.Name", "name");
	P(&p, "Filter.1.Value.1", UBUNTU_PATTERN);
	P(&p, "Filter.2.Name", "state");
	P(&p, "Filter.2.Value.1", "available");
	P(&p, "Filter.3.Name", "architecture");
	P(&p, "Filter.3.Value.1", "x86_64");
	int rc = ec2_call(c, "DescribeImages", &p, &doc, NULL);
	params_free(&p);
	if (rc < 0)
		return -1;
	for (const struct xml_node *i = xml_find(xml_root(doc), "imagesSet/item"); i; i = xml_next(i)) {
		char *name = xml_text(i, "name"), *date = xml_text(i, "creationDate"), *id = xml_text(i, "imageId");
		if (name && date && id && lts_name(name) && (!bestdate || strcmp(date, bestdate) > 0)) {
			free(best);
			free(bestdate);
			free(bestdev);
			best = id;
			bestdate = date;
			bestdev = xml_text(i, "rootDeviceName");
			id = date = NULL;
		}
		free(name);
		free(date);
		free(id);
	}
	xml_free(doc);
	free(bestdate);
	if (!best) {
		free(bestdev);
		return dm_seterr("no Canonical Ubuntu LTS image (%s) found in region %s; give one with --amazonec2-ami",
		                 UBUNTU_PATTERN, c->region);
	}
	*ami = best;
	*rootdev = bestdev;
	return 0;
}

static void do_precreate(const char *verb, json_t *host)
{
	json_t *fl = drv_host_flags(host), *d;
	struct ec2 c;
	struct params p = { STRVEC_INIT };
	struct xml_doc *doc = NULL;
	char *code = NULL, *vpc = NULL, *subnet = NULL, *ami = NULL, *zone = NULL;
	const char *name = drv_host_name(host);

	if (!check_flags(fl))
		return;
	if (client_for_flags(fl, &c) < 0) {
		drv_precreate_error(dm_strerr());
		return;
	}
	zone = xasprintf("%s%s", c.region, drv_flag_str(fl, "amazonec2-zone"));
	vpc = xstrdup(drv_flag_str(fl, "amazonec2-vpc-id"));
	subnet = xstrdup(drv_flag_str(fl, "amazonec2-subnet-id"));

	/* credentials and region: the first signed call */
	P(&p, "AttributeName.1", "default-vpc");
	if (ec2_call(&c, "DescribeAccountAttributes", &p, &doc, NULL) < 0)
		goto fail;
	params_free(&p);
	if (!*vpc && !*subnet) {
		char *v = first_text(doc, "accountAttributeSet/item", "attributeValueSet/item/attributeValue");
		if (!v || !*v || !strcmp(v, "none")) {
			free(v);
			dm_seterr("%s", err_no_vpc);
			goto fail;
		}
		free(vpc);
		vpc = v;
	}
	xml_free(doc);
	doc = NULL;

	/* the subnet: given (its VPC and zone checked), or the VPC's in the zone */
	if (*subnet) {
		P(&p, "SubnetId.1", subnet);
		if (ec2_call(&c, "DescribeSubnets", &p, &doc, NULL) < 0)
			goto fail;
		params_free(&p);
		char *sv = first_text(doc, "subnetSet/item", "vpcId"), *sz = first_text(doc, "subnetSet/item", "availabilityZone");
		if (!sv) {
			free(sz);
			dm_seterr("The desired subnet could not be located in this region. Is '--amazonec2-subnet-id' or "
			          "AWS_SUBNET_ID configured correctly?");
			goto fail;
		}
		if (*vpc && strcmp(vpc, sv)) {
			dm_seterr("subnet %s belongs to VPC %s, not to --amazonec2-vpc-id %s", subnet, sv, vpc);
			free(sv);
			free(sz);
			goto fail;
		}
		if (sz && strcmp(sz, zone)) {
			dm_seterr("the subnet %s is in zone %s, not in zone %s (--amazonec2-zone)", subnet, sz, zone);
			free(sv);
			free(sz);
			goto fail;
		}
		free(sz);
		free(vpc);
		vpc = sv;
	} else {
		P(&p, "Filter.1.Name", "availability-zone");
		P(&p, "Filter.1.Value.1", zone);
		P(&p, "Filter.2.Name", "vpc-id");
		P(&p, "Filter.2.Value.1", vpc);
		if (ec2_call(&c, "DescribeSubnets", &p, &doc, NULL) < 0)
			goto fail;
		params_free(&p);
		for (const struct xml_node *s = xml_find(xml_root(doc), "subnetSet/item"); s; s = xml_next(s)) {
			char *def = xml_text(s, "defaultForAz");
			if (!*subnet || (def && !strcmp(def, "true"))) {
				free(subnet);
				subnet = xml_text(s, "subnetId");
			}
			free(def);
		}
		if (!subnet || !*subnet) {
			dm_seterr("unable to find a subnet that is both in the zone %s and belonging to VPC ID %s", zone, vpc);
			goto fail;
		}
	}
	xml_free(doc);
	doc = NULL;

	/* instance type (a policy without ec2:DescribeInstanceTypes skips this) */
	P(&p, "InstanceType.1", drv_flag_str(fl, "amazonec2-instance-type"));
	if (ec2_call(&c, "DescribeInstanceTypes", &p, &doc, &code) < 0 && !code_is(code, "UnauthorizedOperation"))
		goto fail;
	params_free(&p);
	xml_free(doc);
	doc = NULL;
	free(code);
	code = NULL;

	/* image */
	char *rootdev = NULL;
	if (*drv_flag_str(fl, "amazonec2-ami")) {
		ami = xstrdup(drv_flag_str(fl, "amazonec2-ami"));
		P(&p, "ImageId.1", ami);
		if (ec2_call(&c, "DescribeImages", &p, &doc, NULL) < 0)
			goto fail;
		params_free(&p);
		if (!xml_find(xml_root(doc), "imagesSet/item")) {
			dm_seterr("AMI %s not found on region %s", ami, c.region);
			goto fail;
		}
		xml_free(doc);
		doc = NULL;
	} else {
		if (default_ami(&c, &ami, &rootdev) < 0)
			goto fail;
		drv_log("Using %s, the newest Canonical Ubuntu LTS image of %s", ami, c.region);
	}
	free(rootdev);

	/* a key pair named like the machine would clash */
	if (!*drv_flag_str(fl, "amazonec2-keypair-name") && name) {
		P(&p, "KeyName.1", name);
		int rc = ec2_call(&c, "DescribeKeyPairs", &p, &doc, &code);
		params_free(&p);
		if (rc == 0 && xml_find(xml_root(doc), "keySet/item")) {
			dm_seterr("There is already a keypair with the name %s.  Please either remove that keypair or use "
			          "--amazonec2-keypair-name.", name);
			goto fail;
		}
		if (rc < 0 && !code_is(code, "InvalidKeyPair.NotFound"))
			goto fail;
		xml_free(doc);
		doc = NULL;
	}

	d = json_object();
	dj_set_str(d, "AMI", ami);
	dj_set_str(d, "VpcId", vpc);
	dj_set_str(d, "SubnetId", subnet);
	drv_persist(d);
	drv_ok();
	goto out;
fail:
	drv_precreate_error(dm_strerr());
out:
	params_free(&p);
	xml_free(doc);
	free(code);
	free(vpc);
	free(subnet);
	free(ami);
	free(zone);
	ec2_free(&c);
}

/* ---- create ---- */

static char *b64(const void *data, size_t n)
{
	char *out = xmalloc(4 * ((n + 2) / 3) + 1);
	EVP_EncodeBlock((unsigned char *)out, data, (int)n);
	return out;
}

static char *client_token(void)
{
	unsigned char r[16];
	char *s = xmalloc(33);
	if (RAND_bytes(r, sizeof r) != 1)
		for (size_t i = 0; i < sizeof r; i++)
			r[i] = (unsigned char)(rand() ^ (int)getpid());
	for (size_t i = 0; i < sizeof r; i++)
		snprintf(s + 2 * i, 3, "%02x", r[i]);
	return s;
}

/* Tag.N pairs at prefix (e.g. "TagSpecification.1."): Name (when name_tag),
 * docker-machine-name, extra (managed), and the user's key,value list. */
static void add_tags(struct params *p, const char *prefix, const char *machine, int name_tag, int managed,
                     const char *user)
{
	size_t n = 0;
	if (name_tag) {
		n++;
		Pf(p, "Name", "%sTag.%zu.Key", prefix, n);
		Pf(p, machine, "%sTag.%zu.Value", prefix, n);
	}
	n++;
	Pf(p, TAG_NAME, "%sTag.%zu.Key", prefix, n);
	Pf(p, machine, "%sTag.%zu.Value", prefix, n);
	if (managed) {
		n++;
		Pf(p, TAG_MANAGED, "%sTag.%zu.Key", prefix, n);
		Pf(p, "true", "%sTag.%zu.Value", prefix, n);
	}
	while (user && *user) {
		size_t kl = strcspn(user, ",");
		const char *v = user[kl] ? user + kl + 1 : "";
		size_t vl = strcspn(v, ",");
		char *k = xstrndup(user, kl), *val = xstrndup(v, vl);
		n++;
		Pf(p, k, "%sTag.%zu.Key", prefix, n);
		Pf(p, val, "%sTag.%zu.Value", prefix, n);
		free(k);
		free(val);
		user = v[vl] ? v + vl + 1 : "";
	}
}


struct creating {
	json_t *host, *d;       /* d: the driver state so far (owned) */
	const char *name;
	struct ec2 c;
	char *dir;
};

/* Set key in the state and persist that one field now. */
static void persist_str(struct creating *cr, const char *key, const char *val)
{
	json_t *d = json_object();
	dj_set_str(cr->d, key, val);
	dj_set_str(d, key, val);
	drv_persist(d);
}

static int create_key(struct creating *cr)
{
	json_t *d = cr->d;
	const char *given = dj_str(d, "SSHPrivateKeyPath", ""), *keyname = dj_str(d, "KeyName", "");
	char *keypath = NULL, *pubpath = NULL;
	struct strbuf pub = STRBUF_INIT;
	struct params p = { STRVEC_INIT };
	struct xml_doc *doc = NULL;
	char *code = NULL;
	int rc = -1;

	if (*given) {
		keypath = xasprintf("%s/id_rsa", cr->dir);
		if (ssh_import_key(given, keypath) < 0)
			goto out;
		persist_str(cr, "SSHKeyPath", keypath);
		if (*keyname && dj_bool(d, "ExistingKey", 0)) {
			drv_log("Using the existing key pair %s", keyname);
			rc = 0;
			goto out;
		}
		pubpath = xasprintf("%s.pub", given);
		char *dpub = xasprintf("%s.pub", keypath);
		int crc = ssh_import_key(pubpath, dpub);
		free(dpub);
		if (crc < 0)
			goto out;
	} else {
		drv_log("Creating SSH key...");
		keypath = xasprintf("%s/id_ed25519", cr->dir);
		unlink(keypath);
		char *op = xasprintf("%s.pub", keypath);
		unlink(op);
		free(op);
		if (ssh_keygen(keypath, "ed25519", cr->name) < 0)
			goto out;
		persist_str(cr, "SSHKeyPath", keypath);
		pubpath = xasprintf("%s.pub", keypath);
	}
	if (sb_read_file(&pub, pubpath, 64u << 10) < 0)
		goto out;
	sb_rtrim(&pub);
	char *material = b64(pub.buf, pub.len);
	P(&p, "KeyName", cr->name);
	P(&p, "PublicKeyMaterial", material);
	free(material);
	P(&p, "TagSpecification.1.ResourceType", "key-pair");
	add_tags(&p, "TagSpecification.1.", cr->name, 0, 0, NULL);
	drv_log("Importing key pair %s...", cr->name);
	if (ec2_call(&cr->c, "ImportKeyPair", &p, &doc, &code) < 0) {
		if (!code_is(code, "InvalidKeyPair.Duplicate"))
			goto out;
		/* a retried request whose first try went through: ours if it carries our tag */
		struct params q = { STRVEC_INIT };
		P(&q, "Filter.1.Name", "key-name");
		P(&q, "Filter.1.Value.1", cr->name);
		P(&q, "Filter.2.Name", "tag:" TAG_NAME);
		P(&q, "Filter.2.Value.1", cr->name);
		int qr = ec2_call(&cr->c, "DescribeKeyPairs", &q, &doc, NULL);
		params_free(&q);
		if (qr < 0 || !xml_find(xml_root(doc), "keySet/item")) {
			dm_seterr("There is already a keypair with the name %s.  Please either remove that keypair or use "
			          "--amazonec2-keypair-name.", cr->name);
			goto out;
		}
		char *kid = first_text(doc, "keySet/item", "keyPairId");
		persist_str(cr, "KeyName", cr->name);
		persist_str(cr, "KeyPairId", kid ? kid : "");
		free(kid);
		rc = 0;
		goto out;
	}
	char *kid = xml_text(xml_root(doc), "keyPairId");
	json_t *o = json_object();
	dj_set_str(cr->d, "KeyName", cr->name);
	dj_set_str(cr->d, "KeyPairId", kid ? kid : "");
	dj_set_str(o, "KeyName", cr->name);
	dj_set_str(o, "KeyPairId", kid ? kid : "");
	drv_persist(o);
	free(kid);
	rc = 0;
out:
	params_free(&p);
	xml_free(doc);
	free(code);
	free(keypath);
	free(pubpath);
	sb_release(&pub);
	return rc;
}

/* Ingress rules the group lacks: tcp ssh, engine, swarm (master), open ports. */
static int configure_group(struct creating *cr, const char *gid, struct xml_doc *desc)
{
	struct strvec want = STRVEC_INIT;   /* "port/proto" */
	struct params p = { STRVEC_INIT };
	struct xml_doc *doc = NULL;
	char *code = NULL;
	json_t *ports = json_object_get(cr->d, "OpenPorts"), *x;
	size_t i, n = 0;
	int rc = 0;

	sv_pushf(&want, "%lld/tcp", dj_int(cr->d, "SSHPort", 22));
	sv_pushf(&want, "%d/tcp", ENGINE_PORT);
	if (swarm_master(cr->host))
		sv_pushf(&want, "%d/tcp", SWARM_PORT);
	json_array_foreach(ports, i, x) {
		const char *s = json_string_value(x);
		if (s && *s)
			sv_push_owned(&want, strchr(s, '/') ? xstrdup(s) : xasprintf("%s/tcp", s));
	}
	for (i = 0; i < want.n; i++) {
		char *port = xstrndup(want.v[i], strcspn(want.v[i], "/")), *proto = strchr(want.v[i], '/') + 1;
		long pn;
		int have = 0;
		if (parse_long(port, 1, 65535, &pn, "--amazonec2-open-port") < 0) {
			free(port);
			rc = -1;
			goto out;
		}
		/* present already (from 0.0.0.0/0)? */
		if (desc)
			for (const struct xml_node *g = xml_find(xml_root(desc), "securityGroupInfo/item"); g; g = xml_next(g)) {
				char *id = xml_text(g, "groupId");
				if (id && !strcmp(id, gid))
					for (const struct xml_node *pm = xml_find(g, "ipPermissions/item"); pm; pm = xml_next(pm)) {
						char *pr = xml_text(pm, "ipProtocol"), *fp = xml_text(pm, "fromPort");
						char *tp = xml_text(pm, "toPort");
						if (pr && fp && tp && !strcmp(pr, proto) && atol(fp) <= pn && atol(tp) >= pn)
							have = 1;
						free(pr);
						free(fp);
						free(tp);
					}
				free(id);
			}
		if (!have) {
			n++;
			Pf(&p, proto, "IpPermissions.%zu.IpProtocol", n);
			Pf(&p, port, "IpPermissions.%zu.FromPort", n);
			Pf(&p, port, "IpPermissions.%zu.ToPort", n);
			Pf(&p, "0.0.0.0/0", "IpPermissions.%zu.IpRanges.1.CidrIp", n);
		}
		free(port);
	}
	if (n) {
		P(&p, "GroupId", gid);
		if (ec2_call(&cr->c, "AuthorizeSecurityGroupIngress", &p, &doc, &code) < 0 &&
		    !code_is(code, "InvalidPermission.Duplicate"))
			rc = -1;
	}
out:
	sv_clear(&want);
	params_free(&p);
	xml_free(doc);
	free(code);
	return rc;
}

static void persist_groups(struct creating *cr, json_t *ids, json_t *created)
{
	json_t *o = json_object();
	dj_set(cr->d, "SecurityGroupIds", json_deep_copy(ids));
	dj_set(cr->d, "CreatedSecurityGroupIds", json_deep_copy(created));
	dj_set(o, "SecurityGroupIds", json_deep_copy(ids));
	dj_set(o, "CreatedSecurityGroupIds", json_deep_copy(created));
	drv_persist(o);
}

static int create_groups(struct creating *cr)
{
	json_t *names = json_object_get(cr->d, "SecurityGroupNames"), *x;
	json_t *ids = json_array(), *created = json_deep_copy(json_object_get(cr->d, "CreatedSecurityGroupIds"));
	const char *vpc = dj_str(cr->d, "VpcId", "");
	size_t i;
	int rc = -1;

	if (!json_is_array(created)) {
		json_decref(created);
		created = json_array();
	}
	drv_log("Configuring security groups...");
	json_array_foreach(names, i, x) {
		const char *gname = json_string_value(x);
		struct params p = { STRVEC_INIT };
		struct xml_doc *doc = NULL;
		char *gid = NULL, *code = NULL;
		if (!gname || !*gname)
			continue;
		P(&p, "Filter.1.Name", "group-name");
		P(&p, "Filter.1.Value.1", gname);
		P(&p, "Filter.2.Name", "vpc-id");
		P(&p, "Filter.2.Value.1", vpc);
		if (ec2_call(&cr->c, "DescribeSecurityGroups", &p, &doc, NULL) < 0) {
			params_free(&p);
			goto out;
		}
		params_free(&p);
		gid = first_text(doc, "securityGroupInfo/item", "groupId");
		if (!gid) {
			struct xml_doc *cd = NULL;
			drv_log("Creating security group %s in %s", gname, vpc);
			P(&p, "GroupName", gname);
			P(&p, "GroupDescription", "Docker Machine");
			P(&p, "VpcId", vpc);
			P(&p, "TagSpecification.1.ResourceType", "security-group");
			add_tags(&p, "TagSpecification.1.", cr->name, 0, 1, NULL);
			int crc = ec2_call(&cr->c, "CreateSecurityGroup", &p, &cd, &code);
			params_free(&p);
			if (crc < 0 && code_is(code, "InvalidGroup.Duplicate")) {
				/* a retried request that went through, or another create racing us */
				xml_free(doc);
				doc = NULL;
				P(&p, "Filter.1.Name", "group-name");
				P(&p, "Filter.1.Value.1", gname);
				P(&p, "Filter.2.Name", "vpc-id");
				P(&p, "Filter.2.Value.1", vpc);
				crc = ec2_call(&cr->c, "DescribeSecurityGroups", &p, &doc, NULL);
				params_free(&p);
				gid = crc == 0 ? first_text(doc, "securityGroupInfo/item", "groupId") : NULL;
				if (!gid)
					crc = -1;
			} else if (crc == 0) {
				gid = xml_text(xml_root(cd), "groupId");
				if (gid) {
					json_array_append_new(created, json_string(gid));
					json_array_append_new(ids, json_string(gid));
					persist_groups(cr, ids, created);
					json_array_remove(ids, json_array_size(ids) - 1);
				}
				xml_free(doc);
				doc = NULL;
			}
			xml_free(cd);
			free(code);
			code = NULL;
			if (crc < 0 || !gid) {
				xml_free(doc);
				free(gid);
				goto out;
			}
		}
		json_array_append_new(ids, json_string(gid));
		persist_groups(cr, ids, created);
		if (!dj_bool(cr->d, "SecurityGroupReadOnly", 0) && configure_group(cr, gid, doc) < 0) {
			xml_free(doc);
			free(gid);
			goto out;
		}
		xml_free(doc);
		free(gid);
	}
	rc = 0;
out:
	json_decref(ids);
	json_decref(created);
	return rc;
}

/* RunInstances / LaunchSpecification members shared by both (prefix "" or
 * "LaunchSpecification."). */
static void launch_params(struct creating *cr, struct params *p, const char *pre, const char *userdata)
{
	json_t *d = cr->d, *g = json_object_get(d, "SecurityGroupIds"), *x;
	char *az = xasprintf("%s%s", dj_str(d, "Region", ""), dj_str(d, "Zone", "a"));
	char num[32];
	size_t i;

	Pf(p, dj_str(d, "AMI", ""), "%sImageId", pre);
	Pf(p, dj_str(d, "InstanceType", "t2.micro"), "%sInstanceType", pre);
	Pf(p, dj_str(d, "KeyName", ""), "%sKeyName", pre);
	Pf(p, az, "%sPlacement.AvailabilityZone", pre);
	Pf(p, "0", "%sNetworkInterface.1.DeviceIndex", pre);
	Pf(p, dj_str(d, "SubnetId", ""), "%sNetworkInterface.1.SubnetId", pre);
	json_array_foreach(g, i, x)
		Pf(p, json_string_value(x), "%sNetworkInterface.1.SecurityGroupId.%zu", pre, i + 1);
	Pf(p, dj_bool(d, "PrivateIPOnly", 0) ? "false" : "true", "%sNetworkInterface.1.AssociatePublicIpAddress", pre);
	Pf(p, "true", "%sNetworkInterface.1.DeleteOnTermination", pre);
	Pf(p, dj_str(d, "DeviceName", "/dev/sda1"), "%sBlockDeviceMapping.1.DeviceName", pre);
	snprintf(num, sizeof num, "%lld", dj_int(d, "RootSize", 16));
	Pf(p, num, "%sBlockDeviceMapping.1.Ebs.VolumeSize", pre);
	Pf(p, dj_str(d, "VolumeType", "gp2"), "%sBlockDeviceMapping.1.Ebs.VolumeType", pre);
	Pf(p, "true", "%sBlockDeviceMapping.1.Ebs.DeleteOnTermination", pre);
	if (*dj_str(d, "IamInstanceProfile", ""))
		Pf(p, dj_str(d, "IamInstanceProfile", ""), "%sIamInstanceProfile.Name", pre);
	Pf(p, dj_bool(d, "UseEbsOptimizedInstance", 0) ? "true" : "false", "%sEbsOptimized", pre);
	Pf(p, dj_bool(d, "Monitoring", 0) ? "true" : "false", "%sMonitoring.Enabled", pre);
	if (userdata)
		Pf(p, userdata, "%sUserData", pre);
	free(az);
}

static int read_userdata(const char *path, char **out)
{
	struct strbuf sb = STRBUF_INIT;
	*out = NULL;
	if (!*path)
		return 0;
	if (sb_read_file(&sb, path, USERDATA_CAP) < 0) {
		sb_release(&sb);
		return dm_seterr("%s: %s", err_userdata, dm_strerr());
	}
	*out = b64(sb.buf, sb.len);
	sb_release(&sb);
	return 0;
}

static int run_instance(struct creating *cr)
{
	struct params p = { STRVEC_INIT };
	struct xml_doc *doc = NULL;
	char *ud = NULL, *token = client_token(), *id = NULL, *resv = NULL;
	const char *tags = dj_str(cr->d, "Tags", "");
	int rc = -1;

	if (read_userdata(dj_str(cr->d, "UserDataFile", ""), &ud) < 0)
		goto out;
	if (dj_bool(cr->d, "RequestSpotInstance", 0)) {
		char *sir = NULL;
		P(&p, "SpotPrice", dj_str(cr->d, "SpotPrice", "0.50"));
		P(&p, "InstanceCount", "1");
		P(&p, "Type", "one-time");
		P(&p, "ClientToken", token);
		if (dj_int(cr->d, "BlockDurationMinutes", 0) > 0) {
			char num[32];
			snprintf(num, sizeof num, "%lld", dj_int(cr->d, "BlockDurationMinutes", 0));
			P(&p, "BlockDurationMinutes", num);
		}
		launch_params(cr, &p, "LaunchSpecification.", ud);
		P(&p, "TagSpecification.1.ResourceType", "spot-instances-request");
		add_tags(&p, "TagSpecification.1.", cr->name, 1, 0, tags);
		drv_log("Requesting a spot instance (price %s)...", dj_str(cr->d, "SpotPrice", ""));
		if (ec2_call(&cr->c, "RequestSpotInstances", &p, &doc, NULL) < 0)
			goto out;
		sir = first_text(doc, "spotInstanceRequestSet/item", "spotInstanceRequestId");
		if (!sir) {
			dm_seterr("RequestSpotInstances: no spotInstanceRequestId in the reply");
			goto out;
		}
		persist_str(cr, "SpotInstanceRequestId", sir);
		drv_log("Waiting for the spot request %s to be fulfilled...", sir);
		long long end = now_ms() + WAIT_RUNNING_MS;
		for (;;) {
			struct params q = { STRVEC_INIT };
			xml_free(doc);
			doc = NULL;
			P(&q, "SpotInstanceRequestId.1", sir);
			int qr = ec2_call(&cr->c, "DescribeSpotInstanceRequests", &q, &doc, NULL);
			params_free(&q);
			if (qr < 0) {
				free(sir);
				goto out;
			}
			char *st = first_text(doc, "spotInstanceRequestSet/item", "state");
			id = first_text(doc, "spotInstanceRequestSet/item", "instanceId");
			if (id && *id) {
				free(st);
				break;
			}
			free(id);
			id = NULL;
			if (st && strcmp(st, "open") && strcmp(st, "active")) {
				char *msg = first_text(doc, "spotInstanceRequestSet/item", "status/message");
				dm_seterr("spot instance request %s is %s: %s", sir, st, msg ? msg : "");
				free(msg);
				free(st);
				free(sir);
				goto out;
			}
			free(st);
			if (now_ms() >= end) {
				dm_seterr("timed out waiting for the spot instance request %s", sir);
				free(sir);
				goto out;
			}
			sleep_ms(poll_ms());
		}
		free(sir);
		persist_str(cr, "InstanceId", id);
		/* the instance of a spot request does not inherit its tags */
		params_free(&p);
		xml_free(doc);
		doc = NULL;
		P(&p, "ResourceId.1", id);
		add_tags(&p, "", cr->name, 1, 0, tags);
		if (ec2_call(&cr->c, "CreateTags", &p, &doc, NULL) < 0)
			goto out;
	} else {
		P(&p, "MinCount", "1");
		P(&p, "MaxCount", "1");
		P(&p, "ClientToken", token);
		launch_params(cr, &p, "", ud);
		P(&p, "TagSpecification.1.ResourceType", "instance");
		add_tags(&p, "TagSpecification.1.", cr->name, 1, 0, tags);
		P(&p, "TagSpecification.2.ResourceType", "volume");
		add_tags(&p, "TagSpecification.2.", cr->name, 1, 0, tags);
		drv_log("Launching instance...");
		if (ec2_call(&cr->c, "RunInstances", &p, &doc, NULL) < 0)
			goto out;
		id = first_text(doc, "instancesSet/item", "instanceId");
		resv = xml_text(xml_root(doc), "reservationId");
		if (!id) {
			dm_seterr("RunInstances: no instanceId in the reply");
			goto out;
		}
		json_t *o = json_object();
		dj_set_str(cr->d, "InstanceId", id);
		dj_set_str(o, "InstanceId", id);
		dj_set_str(o, "ReservationId", resv ? resv : "");
		drv_persist(o);
	}
	rc = 0;
out:
	params_free(&p);
	xml_free(doc);
	free(ud);
	free(token);
	free(id);
	free(resv);
	return rc;
}

static void do_create(const char *verb, json_t *host)
{
	json_t *fl = drv_host_flags(host), *in = drv_host_driver(host);
	struct creating cr = { host, NULL, drv_host_name(host), { 0 }, NULL };
	struct inst got = { 0 };

	/* A create whose caller died must not go on making resources. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1) {
		drv_error(NULL, "the caller exited");
		return;
	}
	if (!cr.name || !*cr.name || !(cr.dir = drv_machine_dir(host))) {
		drv_error(NULL, "amazonec2: the host record has no StorePath/Name");
		return;
	}
	if (fl && !check_flags(fl))
		goto done;
	/* the state: set-config's and precreate-check's answers (in the host), else the flags */
	cr.d = in && json_object_get(in, "Region") ? json_deep_copy(in) : json_object();
	if (fl) {
		json_t *f = driver_from_flags(host, fl), *v;
		const char *k;
		json_object_foreach(f, k, v)
			if (!json_object_get(cr.d, k) || (json_is_string(json_object_get(cr.d, k)) &&
			                                   !*json_string_value(json_object_get(cr.d, k)) &&
			                                   json_is_string(v) && *json_string_value(v)))
				dj_set(cr.d, k, json_incref(v));
		json_decref(f);
	}
	if (!*dj_str(cr.d, "AMI", "") || !*dj_str(cr.d, "SubnetId", "") || !*dj_str(cr.d, "VpcId", "")) {
		drv_error(NULL, "amazonec2: create needs the AMI, VPC and subnet that precreate-check finds");
		goto done;
	}
	if (client_for_driver(cr.d, &cr.c) < 0) {
		drv_error(NULL, dm_strerr());
		goto done;
	}
	if (create_key(&cr) < 0 || create_groups(&cr) < 0 || run_instance(&cr) < 0) {
		drv_error(NULL, dm_strerr());
		goto done;
	}
	drv_log("Waiting for instance %s to be running...", dj_str(cr.d, "InstanceId", ""));
	int want_ip = dj_bool(cr.d, "PrivateIPOnly", 0) || dj_bool(cr.d, "UsePrivateIP", 0) ? 2 : 1;
	if (wait_state(&cr.c, dj_str(cr.d, "InstanceId", ""), "running", want_ip, WAIT_RUNNING_MS, &got) < 0) {
		drv_error(NULL, dm_strerr());
		goto done;
	}
	json_t *o = json_object();
	dj_set_str(o, "IPAddress", want_ip == 2 ? got.private_ip : got.ip);
	dj_set_str(o, "PrivateIPAddress", got.private_ip ? got.private_ip : "");
	drv_persist(o);
	drv_log("Created instance %s (%s)", dj_str(cr.d, "InstanceId", ""), want_ip == 2 ? got.private_ip : got.ip);
	drv_ok();
done:
	inst_free(&got);
	json_decref(cr.d);
	free(cr.dir);
	ec2_free(&cr.c);
}

/* ---- power verbs ---- */

static const char *address_of(json_t *d, struct inst *i)
{
	if (dj_bool(d, "PrivateIPOnly", 0) || dj_bool(d, "UsePrivateIP", 0))
		return i->private_ip;
	return i->ip;
}

static void do_power(const char *verb, json_t *host)
{
	json_t *d = drv_host_driver(host);
	const char *id = dj_str(d, "InstanceId", "");
	struct ec2 c;
	struct params p = { STRVEC_INIT };
	struct xml_doc *doc = NULL;
	struct inst got = { 0 };
	const char *action = !strcmp(verb, "start") ? "StartInstances" : !strcmp(verb, "restart") ? "RebootInstances"
	                                                                                          : "StopInstances";
	if (!*id) {
		drv_error(NULL, "amazonec2: the machine has no instance");
		return;
	}
	if (client_for_driver(d, &c) < 0) {
		drv_error(NULL, dm_strerr());
		return;
	}
	P(&p, "InstanceId.1", id);
	if (!strcmp(verb, "kill"))
		P(&p, "Force", "true");
	if (ec2_call(&c, action, &p, &doc, NULL) < 0) {
		drv_error(NULL, dm_strerr());
		goto out;
	}
	if (!strcmp(verb, "start")) {
		int want_ip = dj_bool(d, "PrivateIPOnly", 0) || dj_bool(d, "UsePrivateIP", 0) ? 2 : 1;
		if (wait_state(&c, id, "running", want_ip, WAIT_RUNNING_MS, &got) < 0) {
			drv_error(NULL, dm_strerr());
			goto out;
		}
		json_t *o = json_object();
		dj_set_str(o, "IPAddress", address_of(d, &got) ? address_of(d, &got) : "");
		dj_set_str(o, "PrivateIPAddress", got.private_ip ? got.private_ip : "");
		drv_persist(o);
	} else if (strcmp(verb, "restart")) {
		if (wait_state(&c, id, "stopped", 0, WAIT_STOP_MS, NULL) < 0) {
			drv_error(NULL, dm_strerr());
			goto out;
		}
	}
	drv_ok();
out:
	inst_free(&got);
	params_free(&p);
	xml_free(doc);
	ec2_free(&c);
}

/* ---- remove ---- */

static void push_unique(struct strvec *sv, const char *s)
{
	if (s && *s && !sv_contains(sv, s))
		sv_push(sv, s);
}

/* The tag filter as Filter.N (N = *n + 1). */
static void tag_filter(struct params *p, size_t *n, const char *name)
{
	(*n)++;
	Pf(p, "tag:" TAG_NAME, "Filter.%zu.Name", *n);
	Pf(p, name, "Filter.%zu.Value.1", *n);
}

static int remove_spot(struct ec2 *c, json_t *d, const char *name, struct strvec *insts)
{
	struct strvec reqs = STRVEC_INIT;
	struct params p = { STRVEC_INIT };
	struct xml_doc *doc = NULL;
	size_t n = 0;
	int rc = 0;

	push_unique(&reqs, dj_str(d, "SpotInstanceRequestId", ""));
	tag_filter(&p, &n, name);
	if (ec2_call(c, "DescribeSpotInstanceRequests", &p, &doc, NULL) < 0) {
		rc = -1;
		goto out;
	}
	for (const struct xml_node *r = xml_find(xml_root(doc), "spotInstanceRequestSet/item"); r; r = xml_next(r)) {
		char *id = xml_text(r, "spotInstanceRequestId"), *iid = xml_text(r, "instanceId");
		push_unique(&reqs, id);
		push_unique(insts, iid);
		free(id);
		free(iid);
	}
	for (size_t i = 0; i < reqs.n; i++) {
		struct params q = { STRVEC_INIT };
		struct xml_doc *cd = NULL;
		char *code = NULL;
		P(&q, "SpotInstanceRequestId.1", reqs.v[i]);
		drv_log("Cancelling spot request %s...", reqs.v[i]);
		if (ec2_call(c, "CancelSpotInstanceRequests", &q, &cd, &code) < 0 &&
		    !code_is(code, "InvalidSpotInstanceRequestID.NotFound"))
			rc = -1;
		params_free(&q);
		xml_free(cd);
		free(code);
	}
out:
	sv_clear(&reqs);
	params_free(&p);
	xml_free(doc);
	return rc;
}

static int terminate(struct ec2 *c, json_t *d, const char *name, struct strvec *insts)
{
	struct params p = { STRVEC_INIT };
	struct xml_doc *doc = NULL;
	size_t n = 0;
	int rc = 0;

	push_unique(insts, dj_str(d, "InstanceId", ""));
	tag_filter(&p, &n, name);
	n++;
	Pf(&p, "instance-state-name", "Filter.%zu.Name", n);
	static const char *const live[] = { "pending", "running", "stopping", "stopped" };
	for (size_t i = 0; i < ARRAY_SIZE(live); i++)
		Pf(&p, live[i], "Filter.%zu.Value.%zu", n, i + 1);
	if (ec2_call(c, "DescribeInstances", &p, &doc, NULL) < 0) {
		params_free(&p);
		return -1;
	}
	params_free(&p);
	struct inst *v = NULL;
	size_t nv = parse_instances(doc, &v);
	for (size_t i = 0; i < nv; i++)
		push_unique(insts, v[i].id);
	insts_free(v, nv);
	xml_free(doc);
	for (size_t i = 0; i < insts->n; i++) {
		struct xml_doc *td = NULL;
		char *code = NULL;
		P(&p, "InstanceId.1", insts->v[i]);
		drv_log("Terminating instance %s...", insts->v[i]);
		if (ec2_call(c, "TerminateInstances", &p, &td, &code) < 0 && !code_is(code, "InvalidInstanceID.NotFound"))
			rc = -1;
		params_free(&p);
		xml_free(td);
		free(code);
	}
	return rc;
}

static int remove_keys(struct ec2 *c, json_t *d, const char *name)
{
	struct strvec ids = STRVEC_INIT;
	struct params p = { STRVEC_INIT };
	struct xml_doc *doc = NULL;
	size_t n = 0;
	int rc = 0;

	if (!dj_bool(d, "ExistingKey", 0) && *dj_str(d, "KeyName", "")) {
		P(&p, "KeyName", dj_str(d, "KeyName", ""));
		drv_log("Deleting key pair %s...", dj_str(d, "KeyName", ""));
		if (ec2_call(c, "DeleteKeyPair", &p, &doc, NULL) < 0)
			rc = -1;
		params_free(&p);
		xml_free(doc);
		doc = NULL;
	}
	tag_filter(&p, &n, name);
	if (ec2_call(c, "DescribeKeyPairs", &p, &doc, NULL) < 0) {
		params_free(&p);
		return -1;
	}
	params_free(&p);
	for (const struct xml_node *k = xml_find(xml_root(doc), "keySet/item"); k; k = xml_next(k)) {
		char *id = xml_text(k, "keyPairId");
		push_unique(&ids, id);
		free(id);
	}
	xml_free(doc);
	for (size_t i = 0; i < ids.n; i++) {
		struct xml_doc *dd = NULL;
		P(&p, "KeyPairId", ids.v[i]);
		drv_log("Deleting key pair %s...", ids.v[i]);
		if (ec2_call(c, "DeleteKeyPair", &p, &dd, NULL) < 0)
			rc = -1;
		params_free(&p);
		xml_free(dd);
	}
	sv_clear(&ids);
	return rc;
}

/* Does a group carry docker-machine-managed=true? */
static int group_managed(const struct xml_node *g)
{
	int yes = 0;
	for (const struct xml_node *t = xml_find(g, "tagSet/item"); t; t = xml_next(t)) {
		char *k = xml_text(t, "key"), *v = xml_text(t, "value");
		if (k && v && !strcmp(k, TAG_MANAGED) && !strcmp(v, "true"))
			yes = 1;
		free(k);
		free(v);
	}
	return yes;
}

/* Delete the groups dm created (tagged managed) that no instance uses any more. */
static int remove_groups(struct ec2 *c, json_t *d, const char *name, struct strvec *insts)
{
	struct strvec cand = STRVEC_INIT, managed = STRVEC_INIT;
	struct params p = { STRVEC_INIT };
	struct xml_doc *doc = NULL;
	json_t *a, *x;
	size_t i, n = 0;
	int rc = 0;

	a = json_object_get(d, "SecurityGroupIds");
	json_array_foreach(a, i, x)
		push_unique(&cand, json_string_value(x));
	a = json_object_get(d, "CreatedSecurityGroupIds");
	json_array_foreach(a, i, x)
		push_unique(&cand, json_string_value(x));
	/* by filter, not GroupId.N: a group already gone is not an error */
	tag_filter(&p, &n, name);
	if (ec2_call(c, "DescribeSecurityGroups", &p, &doc, NULL) < 0) {
		params_free(&p);
		return -1;
	}
	params_free(&p);
	for (const struct xml_node *g = xml_find(xml_root(doc), "securityGroupInfo/item"); g; g = xml_next(g)) {
		char *id = xml_text(g, "groupId");
		if (group_managed(g))
			push_unique(&managed, id);
		free(id);
	}
	xml_free(doc);
	doc = NULL;
	if (cand.n) {
		P(&p, "Filter.1.Name", "group-id");
		for (i = 0; i < cand.n; i++)
			Pf(&p, cand.v[i], "Filter.1.Value.%zu", i + 1);
		if (ec2_call(c, "DescribeSecurityGroups", &p, &doc, NULL) < 0) {
			params_free(&p);
			rc = -1;
			goto out;
		}
		params_free(&p);
		for (const struct xml_node *g = xml_find(xml_root(doc), "securityGroupInfo/item"); g; g = xml_next(g)) {
			char *id = xml_text(g, "groupId");
			if (group_managed(g))
				push_unique(&managed, id);
			free(id);
		}
		xml_free(doc);
		doc = NULL;
	}
	if (!managed.n)
		goto out;
	/* our instances hold the groups until they are terminated */
	for (i = 0; i < insts->n; i++)
		if (wait_state(c, insts->v[i], "terminated", 0, WAIT_TERMINATE_MS, NULL) < 0) {
			rc = -1;
			goto out;
		}
	for (i = 0; i < managed.n; i++) {
		struct inst *v = NULL;
		size_t nv;
		char *code = NULL;
		P(&p, "Filter.1.Name", "instance.group-id");
		P(&p, "Filter.1.Value.1", managed.v[i]);
		P(&p, "Filter.2.Name", "instance-state-name");
		P(&p, "Filter.2.Value.1", "pending");
		P(&p, "Filter.2.Value.2", "running");
		P(&p, "Filter.2.Value.3", "stopping");
		P(&p, "Filter.2.Value.4", "stopped");
		P(&p, "Filter.2.Value.5", "shutting-down");
		if (ec2_call(c, "DescribeInstances", &p, &doc, NULL) < 0) {
			params_free(&p);
			rc = -1;
			goto out;
		}
		params_free(&p);
		nv = parse_instances(doc, &v);
		insts_free(v, nv);
		xml_free(doc);
		doc = NULL;
		if (nv) {
			drv_log("Security group %s is still used by %zu instance(s): kept", managed.v[i], nv);
			continue;
		}
		P(&p, "GroupId", managed.v[i]);
		drv_log("Deleting security group %s...", managed.v[i]);
		if (ec2_call(c, "DeleteSecurityGroup", &p, &doc, &code) < 0 && !code_is(code, "InvalidGroup.NotFound"))
			rc = -1;
		params_free(&p);
		xml_free(doc);
		doc = NULL;
		free(code);
	}
out:
	sv_clear(&cand);
	sv_clear(&managed);
	return rc;
}

static void do_remove(const char *verb, json_t *host)
{
	json_t *d = drv_host_driver(host);
	const char *name = drv_host_name(host);
	struct strvec insts = STRVEC_INIT;
	struct strbuf errs = STRBUF_INIT;
	struct ec2 c;

	if (!d || !name) {
		drv_ok();      /* nothing was ever made */
		return;
	}
	if (client_for_driver(d, &c) < 0) {
		drv_error(NULL, dm_strerr());
		return;
	}
	/* each step runs even when one before failed; the first error is answered */
	if (remove_spot(&c, d, name, &insts) < 0 && !errs.len)
		sb_adds(&errs, dm_strerr());
	if (terminate(&c, d, name, &insts) < 0 && !errs.len)
		sb_adds(&errs, dm_strerr());
	if (remove_keys(&c, d, name) < 0 && !errs.len)
		sb_adds(&errs, dm_strerr());
	if (remove_groups(&c, d, name, &insts) < 0 && !errs.len)
		sb_adds(&errs, dm_strerr());
	if (errs.len)
		drv_error(NULL, errs.buf);
	else
		drv_ok();
	sb_release(&errs);
	sv_clear(&insts);
	ec2_free(&c);
}

/* ---- ssh-info ---- */

/* The address now (a stopped and started instance gets a new public one),
 * else the recorded one when EC2 cannot be asked.  Caller frees. */
static char *live_address(json_t *d)
{
	const char *id = dj_str(d, "InstanceId", "");
	char *ids[1] = { (char *)id }, *ip = NULL;
	struct inst *v = NULL;
	size_t n = 0;
	struct ec2 c;

	if (*id && client_for_driver(d, &c) == 0) {
		if (describe_ids(&c, ids, 1, &v, &n) == 0 && n == 1 && address_of(d, &v[0]) && *address_of(d, &v[0]))
			ip = xstrdup(address_of(d, &v[0]));
		else
			dm_debugf("amazonec2: no live address of %s (%s): using the recorded one", id, dm_strerr());
		insts_free(v, n);
		ec2_free(&c);
	}
	return ip ? ip : xstrdup(dj_str(d, "IPAddress", ""));
}

static void do_ssh_info(const char *verb, json_t *host)
{
	json_t *d = drv_host_driver(host);
	char *dir = drv_machine_dir(host), *kh = dir ? xasprintf("%s/known_hosts", dir) : NULL;
	char *ip = live_address(d);
	if (!*ip) {
		drv_error(NULL, "IP address is not set");
	} else {
		drv_answer_ssh(ip, dj_int(d, "SSHPort", 22) ? dj_int(d, "SSHPort", 22) : 22,
		               *dj_str(d, "SSHUser", "") ? dj_str(d, "SSHUser", "") : "ubuntu",
		               dj_str(d, "SSHKeyPath", ""), kh);
	}
	free(ip);
	free(dir);
	free(kh);
}

/* ---- batched read verbs ---- */

/* Hosts that share one client (region, endpoint, credentials). */
static const char *client_key(json_t *d, struct strbuf *sb)
{
	sb_reset(sb);
	sb_addf(sb, "%s|%s|%d|%s", dj_str(d, "Region", ""), dj_str(d, "Endpoint", ""), dj_bool(d, "DisableSSL", 0),
	        dj_str(d, "AccessKey", ""));
	return sb->buf;
}

static void answer_host(const char *verb, json_t *host, struct inst *i)
{
	json_t *d = drv_host_driver(host), *a;
	const char *name = drv_host_name(host), *ip = i ? address_of(d, i) : NULL;
	const char *st = i ? map_state(i->state) : "";
	char url[300];

	if (!i) {
		drv_error(name, "the instance does not exist any more");
		return;
	}
	if (ip && *ip)
		snprintf(url, sizeof url, "tcp://%s:%d", ip, ENGINE_PORT);
	else
		url[0] = 0;
	if (!strcmp(verb, "ip") && !(ip && *ip)) {
		drv_error(name, "No IP for instance");
		return;
	}
	if (!strcmp(verb, "url") && !(!strcmp(st, "Running") && *url)) {
		drv_error(name, "Host is not running");
		return;
	}
	a = json_object();
	if (name)
		dj_set_str(a, "Name", name);
	if (!strcmp(verb, "state")) {
		dj_set_str(a, "State", st);
		if (!strcmp(st, "Running") && *url) {
			dj_set_str(a, "URL", url);
			dj_set_str(a, "IP", ip);
		}
	} else if (!strcmp(verb, "ip")) {
		dj_set_str(a, "IP", ip);
	} else {
		dj_set_str(a, "URL", url);
	}
	drv_emit(a);
}

static void do_batch(const char *verb, json_t **hosts, size_t n)
{
	char *done = xcalloc(n ? n : 1, 1);
	struct strbuf key = STRBUF_INIT, k2 = STRBUF_INIT;

	for (size_t i = 0; i < n; i++) {
		json_t *d = drv_host_driver(hosts[i]);
		if (!d || !*dj_str(d, "InstanceId", "")) {
			if (!strcmp(verb, "state") && d)   /* never created: no state (0.16.2: None) */
				drv_answer(drv_host_name(hosts[i]), "State", json_string(""));
			else
				drv_error(drv_host_name(hosts[i]), "amazonec2: the machine has no instance");
			done[i] = 1;
		}
	}
	for (size_t i = 0; i < n; i++) {
		struct strvec ids = STRVEC_INIT;
		struct ec2 c;
		struct inst *v = NULL;
		size_t nv = 0;
		if (done[i])
			continue;
		client_key(drv_host_driver(hosts[i]), &key);
		for (size_t j = i; j < n; j++)
			if (!done[j] && !strcmp(client_key(drv_host_driver(hosts[j]), &k2), key.buf))
				push_unique(&ids, dj_str(drv_host_driver(hosts[j]), "InstanceId", ""));
		int rc = client_for_driver(drv_host_driver(hosts[i]), &c);
		if (rc == 0)
			rc = describe_ids(&c, ids.v, ids.n, &v, &nv);
		for (size_t j = i; j < n; j++) {
			if (done[j] || strcmp(client_key(drv_host_driver(hosts[j]), &k2), key.buf))
				continue;
			done[j] = 1;
			if (rc < 0) {
				drv_error(drv_host_name(hosts[j]), dm_strerr());
				continue;
			}
			struct inst *hit = NULL;
			for (size_t k = 0; k < nv; k++)
				if (!strcmp(v[k].id, dj_str(drv_host_driver(hosts[j]), "InstanceId", "")))
					hit = &v[k];
			answer_host(verb, hosts[j], hit);
		}
		insts_free(v, nv);
		sv_clear(&ids);
		if (rc == 0 || c.url)
			ec2_free(&c);
	}
	sb_release(&key);
	sb_release(&k2);
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

static const struct drv_spec spec = { "amazonec2", flags, ARRAY_SIZE(flags), verbs, ARRAY_SIZE(verbs) };

int main(int argc, char **argv)
{
	return drv_main(&spec, argc, argv);
}
