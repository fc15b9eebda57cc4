/* t-host.c - the host record: host_new against 0.16.2's bytes, options, redaction. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host.h"
#include "json.h"
#include "tap.h"

static char datadir[4200];

static void find_data(void)
{
	char exe[4096], *slash;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = 0;
	slash = strrchr(exe, '/');
	if (slash)
		*slash = 0;
	snprintf(datadir, sizeof(datadir), "%s/data", exe);
}

static char *slurp(const char *rel)
{
	struct strbuf sb = STRBUF_INIT;
	char *p = xasprintf("%s/%s", datadir, rel);
	int r = sb_read_file(&sb, p, 0);
	free(p);
	if (r < 0) {
		sb_release(&sb);
		return NULL;
	}
	return sb_detach(&sb);
}

static char *encode(json_t *v, int indent)
{
	struct strbuf sb = STRBUF_INIT;
	dj_encode(v, indent, 0, &sb);
	return sb_detach(&sb);
}

/* What dm-driver-none's create answers for URL. */
static json_t *none_driver(const char *ip, const char *url)
{
	return json_pack("{s:s,s:s,s:i,s:s,s:s}", "IPAddress", ip, "SSHUser", "", "SSHPort", 0,
	                 "SSHKeyPath", "", "URL", url);
}

static void test_new_matches_0162(struct store *st)
{
	char *want = slurp("inspect_foo.out"), *got;
	json_t *h = host_new(st, "foo", "none", NULL), *d;
	ok(want != NULL, "fixture inspect_foo.out");
	d = none_driver("127.0.0.1:52376", "tcp://127.0.0.1:52376");
	host_merge_driver(h, d);
	json_decref(d);
	got = encode(h, 4);
	if (want)
		want[strlen(want) - 1] = 0;   /* inspect adds a newline */
	is_str(got, want, "host_new + none driver = 0.16.2's inspect foo, byte for byte");
	free(got);
	free(want);
	json_decref(h);

	/* baz: two engine labels */
	{
		struct strvec labels = STRVEC_INIT;
		struct host_opts ho = { 0 };
		sv_push(&labels, "env=test");
		sv_push(&labels, "tier=2");
		ho.labels = &labels;
		h = host_new(st, "baz", "none", &ho);
		d = none_driver("127.0.0.1:52378", "tcp://127.0.0.1:52378");
		host_merge_driver(h, d);
		json_decref(d);
		got = encode(h, 4);
		want = slurp("store-go/machines/baz/config.json");
		is_str(got, want, "host_new with labels = 0.16.2's baz config.json");
		free(got);
		free(want);
		json_decref(h);
		sv_clear(&labels);
	}
}

static void test_opts(struct store *st)
{
	struct strvec eo = STRVEC_INIT, env = STRVEC_INIT, ins = STRVEC_INIT, mir = STRVEC_INIT,
	              so = STRVEC_INIT, sjo = STRVEC_INIT, san = STRVEC_INIT;
	struct host_opts ho = { 0 };
	json_t *h, *e, *s, *a;
	char *got;
	sv_push(&eo, "log-level=debug");
	sv_push(&env, "HTTP_PROXY=http://p:3128");
	sv_push(&ins, "reg.local:5000");
	sv_push(&mir, "https://mirror.local");
	sv_push(&so, "heartbeat=5s");
	sv_push(&sjo, "advertise=x");
	sv_push(&san, "dm.example");
	sv_push(&san, "10.0.0.1");
	ho.install_url = "https://test.docker.com";
	ho.engine_opt = &eo;
	ho.engine_env = &env;
	ho.insecure_registry = &ins;
	ho.registry_mirror = &mir;
	ho.storage_driver = "overlay2";
	ho.swarm = 1;
	ho.swarm_master = 1;
	ho.swarm_experimental = 1;
	ho.swarm_discovery = "token://t";
	ho.swarm_host = "tcp://0.0.0.0:3377";
	ho.swarm_addr = "1.2.3.4:2376";
	ho.swarm_image = "swarm:1.2";
	ho.swarm_strategy = "binpack";
	ho.swarm_opt = &so;
	ho.swarm_join_opt = &sjo;
	ho.tls_san = &san;
	h = host_new(st, "n1", "generic", &ho);
	e = host_engine(h);
	s = host_swarm(h);
	a = host_auth(h);
	ok(e && s && a, "accessors find the option objects");
	got = encode(e, 0);
	is_str(got, "{\"ArbitraryFlags\":[\"log-level=debug\"],\"Dns\":null,\"GraphDir\":\"\","
	       "\"Env\":[\"HTTP_PROXY=http://p:3128\"],\"Ipv6\":false,\"InsecureRegistry\":[\"reg.local:5000\"],"
	       "\"Labels\":[],\"LogLevel\":\"\",\"StorageDriver\":\"overlay2\",\"SelinuxEnabled\":false,"
	       "\"TlsVerify\":true,\"RegistryMirror\":[\"https://mirror.local\"],"
	       "\"InstallURL\":\"https://test.docker.com\"}", "EngineOptions from flags");
	free(got);
	got = encode(s, 0);
	is_str(got, "{\"IsSwarm\":true,\"Address\":\"1.2.3.4:2376\",\"Discovery\":\"token://t\",\"Agent\":true,"
	       "\"Master\":true,\"Host\":\"tcp://0.0.0.0:3377\",\"Image\":\"swarm:1.2\",\"Strategy\":\"binpack\","
	       "\"Heartbeat\":0,\"Overcommit\":0,\"ArbitraryFlags\":[\"heartbeat=5s\"],"
	       "\"ArbitraryJoinFlags\":[\"advertise=x\"],\"Env\":null,\"IsExperimental\":true}",
	       "SwarmOptions from flags");
	free(got);
	got = encode(json_object_get(a, "ServerCertSANs"), 0);
	is_str(got, "[\"dm.example\",\"10.0.0.1\"]", "--tls-san -> ServerCertSANs");
	free(got);
	is_str(host_name(h), "n1", "host_name");
	is_str(host_driver_name(h), "generic", "host_driver_name");
	is_str(dj_str(host_driver(h), "MachineName", NULL), "n1", "Driver.MachineName");
	is_str(dj_str(host_driver(h), "StorePath", NULL), st->base, "Driver.StorePath = the store");
	json_decref(h);

	/* only --swarm-master: IsSwarm yes, Agent no */
	memset(&ho, 0, sizeof(ho));
	ho.swarm_master = 1;
	h = host_new(st, "n2", "none", &ho);
	ok(dj_bool(host_swarm(h), "IsSwarm", 0) && !dj_bool(host_swarm(h), "Agent", 1),
	   "--swarm-master alone: IsSwarm true, Agent false");
	json_decref(h);

	sv_clear(&eo);
	sv_clear(&env);
	sv_clear(&ins);
	sv_clear(&mir);
	sv_clear(&so);
	sv_clear(&sjo);
	sv_clear(&san);
}

static void test_tls_overrides(void)
{
	struct store st;
	json_t *h, *a;
	char *p;
	setenv("MACHINE_TLS_CA_CERT", "/tls/ca.pem", 1);
	setenv("MACHINE_TLS_CA_KEY", "/tls/ca-key.pem", 1);
	setenv("MACHINE_TLS_CLIENT_CERT", "/tls/cert.pem", 1);
	setenv("MACHINE_TLS_CLIENT_KEY", "/tls/key.pem", 1);
	store_init(&st, "/s");
	h = host_new(&st, "n1", "none", NULL);
	a = host_auth(h);
	is_str(dj_str(a, "CaCertPath", NULL), "/tls/ca.pem", "--tls-ca-cert replaces CaCertPath");
	is_str(dj_str(a, "CaPrivateKeyPath", NULL), "/tls/ca-key.pem", "--tls-ca-key");
	is_str(dj_str(a, "ClientCertPath", NULL), "/tls/cert.pem", "--tls-client-cert");
	is_str(dj_str(a, "ClientKeyPath", NULL), "/tls/key.pem", "--tls-client-key");
	is_str(dj_str(a, "CertDir", NULL), "/s/certs", "CertDir stays the store's");
	is_str(dj_str(a, "ServerCertPath", NULL), "/s/machines/n1/server.pem", "ServerCertPath");
	p = host_cert_path(&st, h);
	is_str(p, "/s/machines/n1", "host_cert_path = AuthOptions.StorePath");
	free(p);
	json_object_del(a, "StorePath");
	p = host_cert_path(&st, h);
	is_str(p, "/s/machines/n1", "host_cert_path without StorePath");
	free(p);
	json_decref(h);
	store_free(&st);
	unsetenv("MACHINE_TLS_CA_CERT");
	unsetenv("MACHINE_TLS_CA_KEY");
	unsetenv("MACHINE_TLS_CLIENT_CERT");
	unsetenv("MACHINE_TLS_CLIENT_KEY");
}

static void test_merge(struct store *st)
{
	json_t *h = host_new(st, "m", "x", NULL), *d;
	char *got;
	d = json_pack("{s:s,s:s,s:i}", "Token", "t0k", "IPAddress", "1.2.3.4", "SSHPort", 2222);
	host_merge_driver(h, d);
	json_decref(d);
	got = encode(host_driver(h), 0);
	is_str(got, "{\"IPAddress\":\"1.2.3.4\",\"MachineName\":\"m\",\"SSHUser\":\"\",\"SSHPort\":2222,"
	       "\"SSHKeyPath\":\"\",\"StorePath\":\"/s\",\"SwarmMaster\":false,\"SwarmHost\":\"\","
	       "\"SwarmDiscovery\":\"\",\"Token\":\"t0k\"}", "merge: replaced keys keep their place, new keys last");
	free(got);
	json_object_del(h, "Driver");
	ok(host_driver(h) == NULL, "no Driver");
	d = json_pack("{s:s}", "A", "b");
	host_merge_driver(h, d);
	json_decref(d);
	is_str(dj_str(host_driver(h), "A", NULL), "b", "merge into a host without Driver");
	json_decref(h);
}

static void test_redact(void)
{
	static const struct {
		const char *name;
		int secret;
	} cases[] = {
		{ "AccessToken", 1 }, { "APIToken", 1 }, { "SecretKey", 1 }, { "ClientSecret", 1 },
		{ "Password", 1 }, { "SSHPassword", 1 }, { "passwd", 1 }, { "AccessKey", 1 },
		{ "PrivateKey", 1 }, { "ApiKey", 1 }, { "APIKEY", 1 }, { "Credentials", 1 },
		{ "SSHKeyPath", 0 }, { "PrivateKeyPath", 0 }, { "CredentialsFile", 0 }, { "IPAddress", 0 },
		{ "MachineName", 0 }, { "SSHKey", 0 }, { "Region", 0 }, { "KeyPairName", 0 },
	};
	struct strvec extra = STRVEC_INIT;
	json_t *h, *r;
	char *got;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		is_int(host_is_secret_field(cases[i].name), cases[i].secret, "secret field? %s", cases[i].name);
	h = json_pack("{s:{s:s,s:s,s:s,s:s,s:{s:s},s:s},s:s}", "Driver", "AccessToken", "abc", "SecretKey", "",
	              "SSHKeyPath", "/k", "UserData", "x", "Nested", "Password", "p", "Region", "r",
	              "Name", "n");
	sv_push(&extra, "userdata");
	sv_push(&extra, "mydriver-region-x");   /* matches nothing: "Region" is not its end */
	r = host_redact(h, &extra);
	got = encode(r, 0);
	/* Go's encoder escapes < and > */
	is_str(got, "{\"Driver\":{\"AccessToken\":\"(redacted)\",\"SecretKey\":\"\","
	       "\"SSHKeyPath\":\"/k\",\"UserData\":\"(redacted)\","
	       "\"Nested\":{\"Password\":\"(redacted)\"},\"Region\":\"r\"},"
	       "\"Name\":\"n\"}", "redacted copy (empty secrets stay empty, caller list, nested)");
	is_str(json_string_value(dj_path(r, "Driver.AccessToken")), "(redacted)", "the marker");
	free(got);
	is_str(json_string_value(dj_path(h, "Driver.AccessToken")), "abc", "original untouched");
	json_decref(r);
	json_decref(h);
	sv_clear(&extra);

	/* driver flag names (describe "Secret": true) mark their fields */
	h = json_pack("{s:{s:s,s:s,s:s}}", "Driver", "ServiceAccount", "sa", "UserKey", "uk", "Zone", "z");
	sv_push(&extra, "google-service-account");
	sv_push(&extra, "exoscale-user-key");
	sv_push(&extra, "google-zone-x");
	r = host_redact(h, &extra);
	is_str(json_string_value(dj_path(r, "Driver.ServiceAccount")), "(redacted)", "flag name marks its field");
	is_str(json_string_value(dj_path(r, "Driver.UserKey")), "(redacted)", "flag suffix marks its field");
	is_str(json_string_value(dj_path(r, "Driver.Zone")), "z", "non-matching flag leaves the field");
	json_decref(r);
	json_decref(h);
	sv_clear(&extra);
}

int main(void)
{
	struct store st;
	find_data();
	unsetenv("MACHINE_TLS_CA_CERT");
	unsetenv("MACHINE_TLS_CA_KEY");
	unsetenv("MACHINE_TLS_CLIENT_CERT");
	unsetenv("MACHINE_TLS_CLIENT_KEY");
	store_init(&st, "/home/user/.docker/machine");
	test_new_matches_0162(&st);
	test_opts(&st);
	store_free(&st);
	store_init(&st, "/s");
	test_merge(&st);
	store_free(&st);
	test_tls_overrides();
	test_redact();
	return done_testing();
}
