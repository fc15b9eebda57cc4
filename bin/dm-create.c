/* dm-create - create a machine: certificates, the driver's resources, then
 * provisioning.  Journaled: the store entry exists from the moment the first
 * resource may exist, every provider ID the driver reports is saved at once,
 * and any failure or SIGINT/SIGTERM/SIGHUP removes everything made so far.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cert.h"
#include "cli.h"
#include "dm.h"
#include "driver.h"
#include "host.h"
#include "json.h"
#include "machine.h"
#include "proc.h"

#define DEFAULT_DRIVER "qemu"

static const struct opt create_opts[] = {
	{ "driver", 'd', OPT_STRING, DEFAULT_DRIVER, "MACHINE_DRIVER", "Driver to create machine with.",
	  COMP_DRIVER, NULL, 0 },
	{ "engine-install-url", 0, OPT_STRING, "https://get.docker.com", "MACHINE_DOCKER_INSTALL_URL",
	  "Custom URL to use for engine installation", 0, NULL, 0 },
	{ "engine-opt", 0, OPT_SLICE, NULL, NULL,
	  "Specify arbitrary flags to include with the created engine in the form flag=value", 0, NULL, 0 },
	{ "engine-insecure-registry", 0, OPT_SLICE, NULL, NULL,
	  "Specify insecure registries to allow with the created engine", 0, NULL, 0 },
	{ "engine-registry-mirror", 0, OPT_SLICE, NULL, "ENGINE_REGISTRY_MIRROR",
	  "Specify registry mirrors to use", 0, NULL, 0 },
	{ "engine-label", 0, OPT_SLICE, NULL, NULL, "Specify labels for the created engine", 0, NULL, 0 },
	{ "engine-storage-driver", 0, OPT_STRING, NULL, NULL, "Specify a storage driver to use with the engine",
	  0, NULL, 0 },
	{ "engine-env", 0, OPT_SLICE, NULL, NULL, "Specify environment variables to set in the engine", 0,
	  NULL, 0 },
	{ "swarm", 0, OPT_BOOL, NULL, NULL, "Configure Machine to join a Swarm cluster", 0, NULL, 0 },
	{ "swarm-image", 0, OPT_STRING, "swarm:latest", "MACHINE_SWARM_IMAGE",
	  "Specify Docker image to use for Swarm", 0, NULL, 0 },
	{ "swarm-master", 0, OPT_BOOL, NULL, NULL, "Configure Machine to be a Swarm master", 0, NULL, 0 },
	{ "swarm-discovery", 0, OPT_STRING, NULL, NULL, "Discovery service to use with Swarm", 0, NULL, 0 },
	{ "swarm-strategy", 0, OPT_STRING, "spread", NULL, "Define a default scheduling strategy for Swarm",
	  0, NULL, 0 },
	{ "swarm-opt", 0, OPT_SLICE, NULL, NULL, "Define arbitrary flags for Swarm master", 0, NULL, 0 },
	{ "swarm-join-opt", 0, OPT_SLICE, NULL, NULL, "Define arbitrary flags for Swarm join", 0, NULL, 0 },
	{ "swarm-host", 0, OPT_STRING, "tcp://0.0.0.0:3376", NULL, "ip/socket to listen on for Swarm master",
	  0, NULL, 0 },
	{ "swarm-addr", 0, OPT_STRING, NULL, NULL,
	  "addr to advertise for Swarm (default: detect and use the machine IP)", 0, NULL, 0 },
	{ "swarm-experimental", 0, OPT_BOOL, NULL, NULL, "Enable Swarm experimental features", 0, NULL, 0 },
	{ "tls-san", 0, OPT_SLICE, NULL, NULL, "Support extra SANs for TLS certs", 0, NULL, 0 },
	{ "tls-key-type", 0, OPT_STRING, "ecdsa", "MACHINE_TLS_KEY_TYPE",
	  "Key type of new certificates: ecdsa (P-256) or rsa (2048)", COMP_LIST, "ecdsa rsa", 0 },
};

/* ---- the option table: shared flags + the driver's ---- */

static enum opt_type flag_type(const char *t)
{
	if (!strcmp(t, "bool"))
		return OPT_BOOL;
	if (!strcmp(t, "int"))
		return OPT_INT;
	if (!strcmp(t, "stringslice") || !strcmp(t, "slice"))
		return OPT_SLICE;
	return OPT_STRING;
}

static int optcmp(const void *a, const void *b)
{
	return strcmp(((const struct opt *)a)->name, ((const struct opt *)b)->name);
}

/* Build the table; *drvflags gets the driver's describe "Flags" (borrowed from *desc). */
static struct opt *build_table(json_t *desc, size_t *n)
{
	json_t *flags = desc ? json_object_get(desc, "Flags") : NULL, *f;
	size_t i, k = ARRAY_SIZE(create_opts);
	struct opt *t = xcalloc(k + json_array_size(flags) + 1, sizeof(*t));
	memcpy(t, create_opts, sizeof(create_opts));
	json_array_foreach(flags, i, f) {
		struct opt *o = &t[k++];
		json_t *v = json_object_get(f, "Value");
		o->name = xstrdup(dj_str(f, "Name", "?"));
		o->type = flag_type(dj_str(f, "Type", "string"));
		o->usage = xstrdup(dj_str(f, "Usage", ""));
		o->envvar = *dj_str(f, "EnvVar", "") ? xstrdup(dj_str(f, "EnvVar", "")) : NULL;
		if (json_is_string(v) && *json_string_value(v))
			o->defval = xstrdup(json_string_value(v));
		else if (json_is_integer(v))
			o->defval = xasprintf("%lld", (long long)json_integer_value(v));
		o->flags = (dj_bool(f, "Secret", 0) ? OPTF_SECRET : 0) |
		           (dj_bool(f, "Required", 0) ? OPTF_REQUIRED : 0);
		if (strstr(o->name, "ssh-key") || strstr(o->name, "-file") || strstr(o->name, "user-data"))
			o->comp = COMP_FILE;
	}
	qsort(t, k, sizeof(*t), optcmp);
	*n = k;
	return t;
}

/* The driver named on the command line (-d X, --driver X, -d=X, --driver=X), else env/default. */
static const char *scan_driver(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--"))
			break;
		if ((!strcmp(a, "-d") || !strcmp(a, "--driver") || !strcmp(a, "-driver")) && i + 1 < argc)
			return argv[i + 1];
		if (str_starts(a, "-d=") || str_starts(a, "--driver=") || str_starts(a, "-driver="))
			return strchr(a, '=') + 1;
	}
	const char *env = getenv("MACHINE_DRIVER");
	return env && *env ? env : DEFAULT_DRIVER;
}

/* {"flag-name": value} for every driver flag. */
static json_t *driver_flag_values(struct optset *os, json_t *desc)
{
	json_t *out = json_object(), *flags = json_object_get(desc, "Flags"), *f;
	size_t i;
	json_array_foreach(flags, i, f) {
		const char *name = dj_str(f, "Name", "");
		struct optval *v = opts_get(os, name);
		switch (v->opt->type) {
		case OPT_BOOL:
			dj_set_bool(out, name, v->on);
			break;
		case OPT_INT:
			dj_set_int(out, name, v->num);
			break;
		case OPT_STRING:
			dj_set_str(out, name, v->str ? v->str : "");
			break;
		case OPT_SLICE: {
			json_t *a = json_array();
			for (size_t k = 0; k < v->list.n; k++)
				json_array_append_new(a, json_string(v->list.v[k]));
			dj_set(out, name, a);
			break;
		}
		}
	}
	return out;
}

/* ---- the worker: every step of the create ---- */

struct create {
	struct store st;
	struct optset os;
	const char *name, *driver;
	json_t *desc, *flags, *host;
	int created_fd;          /* pipe to the parent: 'C' once the store entry exists */
};

static void log_cb(void *ctx, const char *text)
{
	struct create *c = ctx;
	printf("(%s) %s\n", c->name, text);
	fflush(stdout);
}

static int persist_cb(void *ctx, json_t *driver)
{
	struct create *c = ctx;
	return machine_persist(&c->st, c->host, driver);
}

/* Before the store entry exists, driver updates are only merged in memory. */
static int merge_cb(void *ctx, json_t *driver)
{
	struct create *c = ctx;
	host_merge_driver(c->host, driver);
	return 0;
}

static int bootstrap_certs(struct create *c)
{
	struct cert_paths cp = { c->st.certs, c->st.ca_cert, c->st.ca_key, c->st.client_cert,
		                 c->st.client_key };
	enum cert_keytype kt = !strcmp(opts_str(&c->os, "tls-key-type"), "rsa") ? CERT_RSA : CERT_ECDSA;
	int lock, r;
	if (mkdir_p(c->st.certs, 0700) < 0)
		return -1;
	lock = store_lock_certs(&c->st);
	r = cert_bootstrap(&cp, kt, stdout);
	if (lock >= 0)
		store_unlock(lock);
	fflush(stdout);
	return r;
}

static int run_provision(struct create *c)
{
	char *bin = proc_find_libexec("dm-provision");
	char *argv[] = { (char *)"dm-provision", (char *)"--create", (char *)c->name, NULL };
	struct proc p;
	int st;
	if (!bin)
		return dm_seterr("Error creating machine: provisioning needs dm-provision, which is not installed");
	if (proc_spawn(&p, (char *[]){ bin, argv[1], argv[2], NULL }, NULL, 0) < 0)
		return -1;
	st = proc_wait(&p, 0);
	free(bin);
	return st == 0 ? 0 : -2;    /* -2: dm-provision printed its error */
}

static int worker(struct create *c)
{
	json_t *ans = NULL;
	struct driver_cb cb = { log_cb, persist_cb, c }, early = { log_cb, merge_cb, c };
	int code = 0;
	char *dir;

	if (bootstrap_certs(c) < 0) {
		dm_errorf("Error creating machine: %s", dm_strerr());
		return DM_EXIT_FAIL;
	}
	printf("Running pre-create checks...\n");
	fflush(stdout);
	if (driver_call(c->driver, "precreate-check", c->host, c->flags, &early, MACHINE_DRIVER_TIMEOUT_MS,
	                &ans, &code) < 0) {
		dm_errorf("Error with pre-create check: \"%s\"", dm_strerr());
		return DM_EXIT_PRECREATE;
	}
	json_decref(ans);

	/* The store entry: created exclusively, then announced to the parent. */
	if (mkdir_p(c->st.machines, 0700) < 0) {
		dm_errorf("Error creating machine: %s", dm_strerr());
		return DM_EXIT_FAIL;
	}
	dir = store_machine_dir(&c->st, c->name);
	if (mkdir(dir, 0700) < 0) {
		if (errno == EEXIST)
			dm_errorf("Docker machine \"%s\" already exists", c->name);
		else
			dm_errorf("Error creating machine: mkdir %s: %s", dir, strerror(errno));
		free(dir);
		return DM_EXIT_FAIL;
	}
	free(dir);
	if (write(c->created_fd, "C", 1) != 1) {
		dm_errorf("Error creating machine: lost the parent process");
		return DM_EXIT_FAIL;
	}
	if (store_save(&c->st, c->host) < 0) {
		dm_errorf("Error creating machine: %s", dm_strerr());
		return DM_EXIT_FAIL;
	}

	printf("Creating machine...\n");
	fflush(stdout);
	ans = NULL;
	if (driver_call(c->driver, "create", c->host, c->flags, &cb, 30 * 60 * 1000, &ans, NULL) < 0) {
		dm_errorf("Error creating machine: Error in driver during machine creation: %s", dm_strerr());
		return DM_EXIT_FAIL;
	}
	json_decref(ans);
	if (store_save(&c->st, c->host) < 0) {
		dm_errorf("Error creating machine: %s", dm_strerr());
		return DM_EXIT_FAIL;
	}
	if (strcmp(c->driver, "none") != 0) {
		int r = run_provision(c);
		if (r == -1)
			dm_errorf("%s", dm_strerr());
		if (r < 0)
			return DM_EXIT_FAIL;
	}
	printf("To see how to connect your Docker Client to the Docker Engine running on this virtual "
	       "machine, run: %s env %s\n", cli_argv0(), c->name);
	return 0;
}

/* ---- the parent: signals and rollback ---- */

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
}

static void rollback(struct create *c)
{
	json_t *h, *ans = NULL;
	if (!store_exists(&c->st, c->name))
		return;
	dm_errorf("Removing the partly created machine \"%s\"...", c->name);
	if (store_load(&c->st, c->name, &h, NULL) == 0) {
		if (driver_call(host_driver_name(h), "remove", h, NULL, NULL, MACHINE_DRIVER_TIMEOUT_MS,
		                &ans, NULL) < 0)
			dm_errorf("Error removing the machine's resources: %s (the store entry is kept; "
			          "run '%s rm -f %s' to retry)", dm_strerr(), cli_argv0(), c->name);
		else if (store_remove(&c->st, c->name) < 0)
			dm_errorf("%s", dm_strerr());
		json_decref(ans);
		json_decref(h);
	} else {
		store_remove(&c->st, c->name);
	}
}

static int run_journaled(struct create *c)
{
	int fds[2], status, created = 0, killed = 0;
	struct sigaction sa;
	pid_t pid, parent;
	char b;

	if (pipe(fds) < 0) {
		dm_errorf("Error creating machine: pipe: %s", strerror(errno));
		return DM_EXIT_FAIL;
	}
	fflush(stdout);
	parent = getpid();
	pid = fork();
	if (pid < 0) {
		dm_errorf("Error creating machine: fork: %s", strerror(errno));
		return DM_EXIT_FAIL;
	}
	if (pid == 0) {
		setpgid(0, 0);
		/* A parent killed with SIGKILL cannot roll back: stop with it, so the
		 * store entry (with every checkpointed ID) is what `rm` cleans. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(DM_EXIT_FAIL);
		close(fds[0]);
		c->created_fd = fds[1];
		_exit(dm_finish(worker(c)));
	}
	setpgid(pid, pid);
	close(fds[1]);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	for (;;) {
		pid_t w = waitpid(pid, &status, 0);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			break;
		if (got_signal && !killed) {
			killed = 1;
			kill(-pid, SIGTERM);
			/* give the worker's children 5 s, then force */
			for (int i = 0; i < 50 && waitpid(pid, &status, WNOHANG) == 0; i++)
				usleep(100000);
			kill(-pid, SIGKILL);
		}
	}
	kill(-pid, SIGKILL);    /* stray grandchildren of a dead worker */
	if (read(fds[0], &b, 1) == 1)
		created = 1;
	close(fds[0]);
	if (got_signal || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		if (got_signal)
			dm_errorf("Interrupted (signal %d)", (int)got_signal);
		if (created)
			rollback(c);
		if (got_signal)
			return 128 + got_signal;
		return WIFEXITED(status) && WEXITSTATUS(status) ? WEXITSTATUS(status) : DM_EXIT_FAIL;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct cmd_spec spec = { .args = COMP_NONE };
	struct create c;
	struct host_opts ho;
	json_t *ans = NULL;
	int status = 0;
	size_t nopts;

	dm_init(argc, argv);
	memset(&c, 0, sizeof(c));
	cli_spec(&spec, "create");
	c.driver = scan_driver(argc, argv);
	if (!store_valid_name(c.driver) || driver_describe(c.driver, &c.desc) < 0) {
		int help = 0;
		for (int i = 1; i < argc; i++)
			help |= !strcmp(argv[i], "-h") || !strcmp(argv[i], "--help") || !strcmp(argv[i], "-help");
		if (help || (argc > 1 && !strcmp(argv[1], "__complete"))) {
			/* Help and completion still work without the driver: shared flags only. */
			spec.opts = create_opts;
			spec.nopts = ARRAY_SIZE(create_opts);
			cli_parse(&c.os, &spec, argc, argv, &status);
			return dm_finish(status);
		}
		dm_errorf("Driver \"%s\" not found. Do you have the plugin binary \"docker-machine-driver-%s\" "
		          "accessible in your PATH?", c.driver, c.driver);
		return dm_finish(DM_EXIT_FAIL);
	}
	spec.opts = build_table(c.desc, &nopts);
	spec.nopts = nopts;
	if (cli_parse(&c.os, &spec, argc, argv, &status) < 0)
		return dm_finish(status);
	if (c.os.args.n > 1) {
		struct strbuf sb = STRBUF_INIT;
		for (size_t i = 1; i < c.os.args.n; i++)
			sb_addf(&sb, "%s%s", i > 1 ? " " : "", c.os.args.v[i]);
		dm_errorf("Invalid command line. Found extra arguments [%s]", sb.buf);
		return dm_finish(DM_EXIT_FAIL);
	}
	if (c.os.args.n == 0 || !*c.os.args.v[0]) {
		opts_help(&spec, opts_progname(), stdout);
		dm_errorf("Error: No machine name specified");
		return dm_finish(DM_EXIT_FAIL);
	}
	c.name = c.os.args.v[0];
	if (!store_valid_name(c.name)) {
		dm_errorf("Error creating machine: Invalid hostname specified. Allowed hostname chars are: "
		          "0-9a-zA-Z . -");
		return dm_finish(DM_EXIT_FAIL);
	}
	const char *kt = opts_str(&c.os, "tls-key-type");
	if (strcmp(kt, "ecdsa") && strcmp(kt, "rsa")) {
		dm_errorf("Error: --tls-key-type must be ecdsa or rsa, not \"%s\"", kt);
		return dm_finish(DM_EXIT_USAGE);
	}
	if (cli_store(&c.st) < 0) {
		dm_errorf("%s", dm_strerr());
		return dm_finish(DM_EXIT_FAIL);
	}
	if (store_exists(&c.st, c.name)) {
		dm_errorf("Docker machine \"%s\" already exists", c.name);
		return dm_finish(DM_EXIT_FAIL);
	}

	memset(&ho, 0, sizeof(ho));
	ho.install_url = opts_str(&c.os, "engine-install-url");
	ho.engine_opt = opts_list(&c.os, "engine-opt");
	ho.engine_env = opts_list(&c.os, "engine-env");
	ho.insecure_registry = opts_list(&c.os, "engine-insecure-registry");
	ho.registry_mirror = opts_list(&c.os, "engine-registry-mirror");
	ho.labels = opts_list(&c.os, "engine-label");
	ho.storage_driver = opts_str(&c.os, "engine-storage-driver");
	ho.swarm = opts_on(&c.os, "swarm");
	ho.swarm_master = opts_on(&c.os, "swarm-master");
	ho.swarm_experimental = opts_on(&c.os, "swarm-experimental");
	ho.swarm_discovery = opts_str(&c.os, "swarm-discovery");
	ho.swarm_host = opts_str(&c.os, "swarm-host");
	ho.swarm_addr = opts_str(&c.os, "swarm-addr");
	ho.swarm_image = opts_str(&c.os, "swarm-image");
	ho.swarm_strategy = opts_str(&c.os, "swarm-strategy");
	ho.swarm_opt = opts_list(&c.os, "swarm-opt");
	ho.swarm_join_opt = opts_list(&c.os, "swarm-join-opt");
	ho.tls_san = opts_list(&c.os, "tls-san");
	c.host = host_new(&c.st, c.name, c.driver, &ho);
	c.flags = driver_flag_values(&c.os, c.desc);

	/* SetConfigFromFlags: the driver checks its flags and returns its initial state. */
	struct driver_cb early = { NULL, merge_cb, &c };
	if (driver_call(c.driver, "set-config", c.host, c.flags, &early, MACHINE_DRIVER_TIMEOUT_MS, &ans,
	                NULL) < 0) {
		dm_errorf("Error setting machine configuration from flags provided: %s", dm_strerr());
		return dm_finish(DM_EXIT_FAIL);
	}
	if (json_is_object(json_object_get(ans, "Driver")))
		host_merge_driver(c.host, json_object_get(ans, "Driver"));
	json_decref(ans);

	status = run_journaled(&c);
	return dm_finish(status);
}
