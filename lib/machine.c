/* machine.c - questions and lifecycle actions on machines. See machine.h. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "driver.h"
#include "cli.h"
#include "host.h"
#include "json.h"
#include "machine.h"
#include "swarm.h"
#include "tlscheck.h"

#define CHECK_TIMEOUT_MS 20000

json_t *machine_load(const struct store *st, const char *name)
{
	json_t *h;
	if (store_load(st, name, &h, NULL) < 0)
		return NULL;
	return h;
}

json_t *machine_load_one(const struct store *st, const struct strvec *args)
{
	static const char one[] = "Error: Expected one machine name as an argument";
	struct strvec names = STRVEC_INIT;
	json_t *h = NULL;
	if (args->n > 1)
		dm_seterr(one);
	else if (cli_names(st, args, 1, &names) == 0) {
		if (names.n != 1)
			dm_seterr(one);
		else
			h = machine_load(st, names.v[0]);
	}
	sv_clear(&names);
	return h;
}

char *machine_ask(json_t *h, const char *verb, const char *field, int timeout_ms)
{
	json_t *ans = NULL;
	char *out = NULL;
	if (driver_call(host_driver_name(h), verb, h, NULL, NULL, timeout_ms, &ans, NULL) < 0)
		return NULL;
	const char *s = dj_str(ans, field, NULL);
	if (!s)
		dm_seterr("driver %s: %s: answer without \"%s\"", host_driver_name(h), verb, field);
	else
		out = xstrdup(s);
	json_decref(ans);
	return out;
}

void machine_tls(json_t *h, struct tls_client *tc)
{
	json_t *a = host_auth(h);
	tc->ca_cert = dj_str(a, "CaCertPath", "");
	tc->client_cert = dj_str(a, "ClientCertPath", "");
	tc->client_key = dj_str(a, "ClientKeyPath", "");
}

int machine_check_connection(const struct store *st, json_t *h, int swarm, char **urlp)
{
	struct tls_client tc;
	char *url, *hostport = NULL;
	(void)st;
	url = machine_ask(h, "url", "URL", MACHINE_DRIVER_TIMEOUT_MS);
	if (!url)
		return -1;
	if (swarm && !dj_bool(host_swarm(h), "Master", 0)) {
		free(url);
		return dm_seterr("\"%s\" is not a swarm master. The --swarm flag is intended for use "
		                 "with swarm masters", host_name(h));
	}
	if (url_hostport(url, &hostport) < 0) {
		char *msg = xstrdup(dm_strerr());
		dm_seterr("Error parsing URL %s: %s", url, msg);
		free(msg);
		free(url);
		return -1;
	}
	machine_tls(h, &tc);
	if (tls_check(hostport, &tc, CHECK_TIMEOUT_MS) < 0) {
		char *inner = xstrdup(dm_strerr());
		dm_seterr("Error checking and/or regenerating the certs: There was an error validating "
		          "certificates for host \"%s\": %s\n"
		          "You can attempt to regenerate them using 'docker-machine regenerate-certs [name]'.\n"
		          "Be advised that this will trigger a Docker daemon restart which might stop "
		          "running containers.\n",
		          hostport, inner);
		free(inner);
		free(hostport);
		free(url);
		return -1;
	}
	free(hostport);
	if (swarm) {
		/* Swarm mode: the master's engine is the manager (swarm.h). */
		char *surl = NULL;
		int r = swarm_manager_url(h, url, &surl);
		free(url);
		if (r < 0)
			return -1;
		url = surl;
	}
	*urlp = url;
	return 0;
}

int machine_persist(const struct store *st, json_t *h, json_t *driver)
{
	int fd = store_lock_machine(st, host_name(h)), r;
	if (fd < 0)
		return -1;
	host_merge_driver(h, driver);
	r = store_save(st, h);
	store_unlock(fd);
	return r;
}

/* ---- lifecycle ---- */

struct action {
	const struct store *st;
	const char *name;
	const char *verb;
	char *error;         /* NULL on success */
	pthread_t tid;
};

static const struct {
	const char *verb, *ing, *want, *already, *done;
} verbs[] = {
	{ "start", "Starting", "Running", "Machine \"%s\" is already running.", "Started" },
	{ "stop", "Stopping", "Stopped", "Machine \"%s\" is already stopped.", NULL },
	{ "restart", "Restarting", "Running", NULL, "Restarted" },
	{ "kill", "Killing", "Stopped", "Machine \"%s\" is already stopped.", NULL },
};

static int verb_index(const char *verb)
{
	for (size_t i = 0; i < ARRAY_SIZE(verbs); i++)
		if (!strcmp(verbs[i].verb, verb))
			return (int)i;
	return -1;
}

static int persist_cb(void *ctx, json_t *driver)
{
	struct action *a = ctx;
	json_t *h = machine_load(a->st, a->name);
	int r;
	if (!h)
		return -1;
	r = machine_persist(a->st, h, driver);
	json_decref(h);
	return r;
}

static void log_cb(void *ctx, const char *text)
{
	(void)ctx;
	printf("%s\n", text);
	fflush(stdout);
}

static void *action_run(void *arg)
{
	struct action *a = arg;
	int vi = verb_index(a->verb);
	json_t *h = machine_load(a->st, a->name), *ans = NULL;
	char *state = NULL;
	struct driver_cb cb = { log_cb, persist_cb, a };

	if (!h)
		goto fail;
	if (verbs[vi].already) {
		state = machine_ask(h, "state", "State", MACHINE_DRIVER_TIMEOUT_MS);
		if (state && !strcmp(state, verbs[vi].want)) {
			dm_seterr(verbs[vi].already, a->name);
			goto fail;
		}
	}
	if (driver_call(host_driver_name(h), a->verb, h, NULL, &cb, MACHINE_DRIVER_TIMEOUT_MS, &ans,
	                NULL) < 0)
		goto fail;
	json_decref(ans);
	/* Wait (bounded) until the machine reaches the state the action aims at. */
	for (int tries = 0; tries < 180; tries++) {
		json_decref(h);
		h = machine_load(a->st, a->name);
		free(state);
		state = h ? machine_ask(h, "state", "State", 30000) : NULL;
		if (!state)
			goto fail;
		if (!strcmp(state, verbs[vi].want))
			break;
		if (tries == 179) {
			dm_seterr("Maximum number of retries (180) exceeded");
			goto fail;
		}
		sleep(1);
	}
	free(state);
	json_decref(h);
	return NULL;
fail:
	a->error = xstrdup(dm_strerr());
	free(state);
	json_decref(h);
	return NULL;
}

int machine_lifecycle(const struct store *st, const struct strvec *names, const char *verb)
{
	int vi = verb_index(verb), status = 0;
	struct action *acts;
	if (vi < 0)
		return dm_seterr("unknown action %s", verb), 1;
	acts = xcalloc(names->n, sizeof(*acts));
	for (size_t i = 0; i < names->n; i++) {
		printf("%s \"%s\"...\n", verbs[vi].ing, names->v[i]);
		fflush(stdout);
	}
	for (size_t i = 0; i < names->n; i++) {
		acts[i] = (struct action){ st, names->v[i], verb, NULL, 0 };
		if (pthread_create(&acts[i].tid, NULL, action_run, &acts[i]) != 0)
			action_run(&acts[i]), acts[i].tid = 0;
	}
	for (size_t i = 0; i < names->n; i++)
		if (acts[i].tid)
			pthread_join(acts[i].tid, NULL);
	for (size_t i = 0; i < names->n; i++) {
		if (acts[i].error) {
			dm_errorf("%s", acts[i].error);
			free(acts[i].error);
			status = 1;
		}
	}
	if (!status && verbs[vi].done)
		printf("%s machines may have new IP addresses. You may need to re-run the "
		       "`docker-machine env` command.\n", verbs[vi].done);
	free(acts);
	return status;
}

int machine_lifecycle_main(int argc, char **argv, const char *verb)
{
	struct cmd_spec spec = { .opts = NULL, .nopts = 0, .args = COMP_MACHINE };
	struct optset os;
	struct store st;
	struct strvec names = STRVEC_INIT;
	int status = 0;

	dm_init(argc, argv);
	cli_spec(&spec, verb);
	if (cli_parse(&os, &spec, argc, argv, &status) < 0)
		return dm_finish(status);
	if (cli_store(&st) < 0 || cli_names(&st, &os.args, 1, &names) < 0) {
		dm_errorf("%s", dm_strerr());
		return dm_finish(1);
	}
	status = machine_lifecycle(&st, &names, verb);
	sv_clear(&names);
	store_free(&st);
	opts_free(&os);
	return dm_finish(status);
}

/* ---- url / ip / status ---- */

struct field_ctx {
	const char *field;
	char **values;     /* per name */
	char **errors;
};

static void on_field(void *ctx, size_t i, json_t *ans)
{
	struct field_ctx *fc = ctx;
	const char *v;
	if (!ans) {
		fc->errors[i] = xstrdup("timeout waiting for the driver");
		return;
	}
	if ((v = dj_str(ans, "Error", NULL)))
		fc->errors[i] = xstrdup(v);
	else if ((v = dj_str(ans, fc->field, NULL)))
		fc->values[i] = xstrdup(v);
	else
		fc->errors[i] = xasprintf("driver answer without \"%s\"", fc->field);
}

int machine_print_field(const struct store *st, const struct strvec *args, int multi,
                        const char *verb, const char *field, int json)
{
	struct strvec names = STRVEC_INIT;
	json_t **hosts;
	char **values, **errors;
	size_t n, i;
	int status = 0, from_stdin = sv_contains(args, "-");

	if (!multi && !from_stdin && args->n > 1) {
		dm_errorf("Error: Expected one machine name as an argument");
		return 1;
	}
	if (cli_names(st, args, 1, &names) < 0) {
		dm_errorf("%s", dm_strerr());
		return 1;
	}
	n = names.n;
	hosts = xcalloc(n + 1, sizeof(*hosts));
	values = xcalloc(n + 1, sizeof(*values));
	errors = xcalloc(n + 1, sizeof(*errors));
	for (i = 0; i < n; i++)
		if (!(hosts[i] = machine_load(st, names.v[i])))
			errors[i] = xstrdup(dm_strerr());

	struct field_ctx fc = { field, values, errors };
	driver_ask_many(hosts, n, verb, on_field, &fc, now_ms() + MACHINE_DRIVER_TIMEOUT_MS);
	for (i = 0; i < n; i++) {
		if (errors[i]) {
			dm_errorf("%s", errors[i]);
			status = 1;
		} else if (json) {
			json_t *o = json_object();
			dj_set_str(o, "Name", names.v[i]);
			dj_set_str(o, field, values[i]);
			cli_print_json(o);
			json_decref(o);
		} else {
			printf("%s\n", values[i] ? values[i] : "");
		}
		free(values[i]);
		free(errors[i]);
		json_decref(hosts[i]);
	}
	free(hosts);
	free(values);
	free(errors);
	sv_clear(&names);
	return status;
}

/* ---- ssh ---- */

int machine_ssh_info(const struct store *st, json_t *h, struct machine_ssh *ms)
{
	json_t *s;
	memset(ms, 0, sizeof(*ms));
	if (driver_call(host_driver_name(h), "ssh-info", h, NULL, NULL, 60000, &ms->info, NULL) < 0)
		return -1;
	s = json_object_get(ms->info, "SSH");
	if (!json_is_object(s) || !*dj_str(s, "Host", "")) {
		json_decref(ms->info);
		ms->info = NULL;
		return dm_seterr("driver %s: ssh-info: answer without \"SSH\":{\"Host\"…}",
		                 host_driver_name(h));
	}
	ms->t.host = dj_str(s, "Host", "");
	ms->t.port = (int)dj_int(s, "Port", 22);
	ms->t.user = dj_str(s, "User", "");
	ms->t.key = dj_str(s, "KeyPath", "");
	if (*dj_str(s, "KnownHosts", "")) {
		ms->known_hosts = xstrdup(dj_str(s, "KnownHosts", ""));
	} else {
		char *dir = store_machine_dir(st, host_name(h));
		ms->known_hosts = xasprintf("%s/known_hosts", dir);
		free(dir);
	}
	ms->t.known_hosts = ms->known_hosts;
	ms->t.hostkey = SSH_HK_AUTO;
	return 0;
}

void machine_ssh_free(struct machine_ssh *ms)
{
	json_decref(ms->info);
	free(ms->known_hosts);
	memset(ms, 0, sizeof(*ms));
}
