/* t-store.c - store paths, names, listing, load/migrate/save, locks. */
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
#include "tap.h"

static char datadir[4200];

static void find_data(void)
{
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;
	exe[n > 0 ? n : 0] = 0;
	slash = strrchr(exe, '/');
	if (slash)
		*slash = 0;
	snprintf(datadir, sizeof(datadir), "%s/data", exe);
}

static char *slurp(const char *path)
{
	struct strbuf sb = STRBUF_INIT;
	if (sb_read_file(&sb, path, 0) < 0) {
		sb_release(&sb);
		return NULL;
	}
	return sb_detach(&sb);
}

static void put(const char *path, const char *text)
{
	char *dir = xstrdup(path);
	*strrchr(dir, '/') = 0;
	mkdir_p(dir, 0700);
	free(dir);
	if (write_file_atomic(path, text, strlen(text), 0600) < 0)
		printf("# put %s: %s\n", path, dm_strerr());
}

static char *encode(json_t *h)
{
	struct strbuf sb = STRBUF_INIT;
	dj_encode(h, 4, 0, &sb);
	return sb_detach(&sb);
}

static int mode_of(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0 ? (int)(sb.st_mode & 07777) : -1;
}

static int exists(const char *path)
{
	struct stat sb;
	return lstat(path, &sb) == 0;
}

static void test_init(void)
{
	struct store st;
	const char *home = getenv("HOME");
	char *oldhome = home ? xstrdup(home) : NULL;

	ok(store_init(&st, "/a/b/") == 0, "init with -s path");
	is_str(st.base, "/a/b", "trailing slash dropped");
	is_str(st.machines, "/a/b/machines", "machines dir");
	is_str(st.certs, "/a/b/certs", "certs dir");
	is_str(st.cache, "/a/b/cache", "cache dir");
	store_free(&st);

	setenv("MACHINE_STORAGE_PATH", "/env/store", 1);
	store_init(&st, NULL);
	is_str(st.base, "/env/store", "MACHINE_STORAGE_PATH");
	store_free(&st);
	store_init(&st, "/flag");
	is_str(st.base, "/flag", "-s wins over MACHINE_STORAGE_PATH");
	store_free(&st);
	unsetenv("MACHINE_STORAGE_PATH");

	setenv("HOME", "/home/u", 1);
	store_init(&st, NULL);
	is_str(st.base, "/home/u/.docker/machine", "HOME default");
	store_free(&st);

	{
		char cwd[4096], *want;
		if (!getcwd(cwd, sizeof(cwd)))
			cwd[0] = 0;
		want = xasprintf("%s/rel/store", cwd);
		store_init(&st, "./rel//x/../store");
		is_str(st.base, want, "relative path made absolute and cleaned");
		store_free(&st);
		free(want);
	}

	setenv("MACHINE_TLS_CA_CERT", "/x/ca.pem", 1);
	store_init(&st, "/s");
	is_str(st.ca_cert, "/x/ca.pem", "MACHINE_TLS_CA_CERT override");
	is_str(st.client_key, "/s/certs/key.pem", "no override: the default in certs/");
	store_free(&st);
	unsetenv("MACHINE_TLS_CA_CERT");

	{
		char *p;
		store_init(&st, "/s");
		p = store_config_path(&st, "n1");
		is_str(p, "/s/machines/n1/config.json", "config path");
		free(p);
		p = store_machine_dir(&st, "n1");
		is_str(p, "/s/machines/n1", "machine dir");
		free(p);
		store_free(&st);
	}
	if (oldhome)
		setenv("HOME", oldhome, 1);
	free(oldhome);
}

static void test_names(void)
{
	static const struct {
		const char *name;
		int valid;
	} cases[] = {
		{ "foo", 1 }, { "Foo-1.example", 1 }, { "0", 1 }, { "a.", 1 }, { "a-", 1 },
		{ "", 0 }, { ".", 0 }, { "..", 0 }, { ".hidden", 0 }, { "-x", 0 }, { "bad name!", 0 },
		{ "a/b", 0 }, { "a_b", 0 }, { "é", 0 }, { "a\tb", 0 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		is_int(store_valid_name(cases[i].name), cases[i].valid, "valid name case %zu", i);
	is_int(store_valid_name(NULL), 0, "NULL name");
}

static void test_list(const char *tmp)
{
	struct store st;
	struct strvec names = STRVEC_INIT;
	char *base = xasprintf("%s/nostore", tmp), *p;
	static const char *const dirs[] = { "n10", "n2", "N1", "b", ".hidden", "a" };

	store_init(&st, base);
	ok(store_list(&st, &names) == 0, "missing store lists");
	is_int((long long)names.n, 0, "missing store: empty list");
	ok(!exists(base), "listing a missing store creates nothing");
	{
		json_t *h;
		ok(store_load(&st, "x", &h, NULL) < 0, "load from a missing store fails");
		ok(!exists(base), "loading from a missing store creates nothing");
	}
	ok(!store_exists(&st, "x"), "exists: no");
	store_free(&st);
	free(base);

	base = xasprintf("%s/liststore", tmp);
	store_init(&st, base);
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		p = xasprintf("%s/%s", st.machines, dirs[i]);
		mkdir_p(p, 0700);
		free(p);
	}
	p = xasprintf("%s/afile", st.machines);
	put(p, "x");
	free(p);
	p = xasprintf("%s/link", st.machines);
	if (symlink(st.machines, p) < 0)
		printf("# symlink: %s\n", strerror(errno));
	free(p);
	ok(store_list(&st, &names) == 0, "list");
	{
		struct strbuf sb = STRBUF_INIT;
		for (size_t i = 0; i < names.n; i++)
			sb_addf(&sb, "%s%s", i ? " " : "", names.v[i]);
		is_str(sb.buf, "a b N1 n2 n10", "natural order, dirs only, no dot dirs, no symlinks");
		sb_release(&sb);
	}
	ok(store_exists(&st, "n2"), "exists: yes");
	ok(!store_exists(&st, ".."), "exists: '..' is not a machine");
	ok(!store_exists(&st, "../machines"), "exists: no slash names");
	sv_clear(&names);
	store_free(&st);
	free(base);
}

/* A store written by 0.16.2 loads and saves byte for byte. */
static void test_go_store(const char *tmp)
{
	static const char *const names[] = { "foo", "baz" };
	struct store st;
	char *base = xasprintf("%s/gostore", tmp);
	store_init(&st, base);
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		char *src = xasprintf("%s/store-go/machines/%s/config.json", datadir, names[i]);
		char *orig = slurp(src), *dst = store_config_path(&st, names[i]), *enc, *disk;
		json_t *h = NULL;
		int migrated = -1;
		ok(orig != NULL, "fixture %s readable", src);
		if (!orig)
			continue;
		put(dst, orig);
		ok(store_load(&st, names[i], &h, &migrated) == 0, "load %s: %s", names[i],
		   h ? "ok" : dm_strerr());
		is_int(migrated, 0, "%s: v3 needs no migration", names[i]);
		enc = encode(h);
		is_str(enc, orig, "%s: load + encode reproduces the file", names[i]);
		ok(store_save(&st, h) == 0, "save %s", names[i]);
		disk = slurp(dst);
		is_str(disk, orig, "%s: load + save reproduces the file byte for byte", names[i]);
		is_int(mode_of(dst), 0600, "%s: config.json 0600", names[i]);
		{
			char *bak = xasprintf("%s.bak", dst), *dir = store_machine_dir(&st, names[i]);
			ok(!exists(bak), "%s: no .bak for a current file", names[i]);
			is_int(mode_of(dir), 0700, "%s: machine dir 0700", names[i]);
			free(bak);
			free(dir);
		}
		json_decref(h);
		free(enc);
		free(disk);
		free(orig);
		free(dst);
		free(src);
	}
	store_free(&st);
	free(base);
}

static void test_errors(const char *tmp)
{
	struct store st;
	char *base = xasprintf("%s/errstore", tmp), *p, *want;
	json_t *h = NULL;
	store_init(&st, base);

	ok(store_load(&st, "nosuch", &h, NULL) < 0 && !h, "missing machine");
	is_str(dm_strerr(), "Docker machine \"nosuch\" does not exist. Use \"docker-machine ls\" to list "
	       "machines. Use \"docker-machine create\" to add a new one.", "missing machine message");

	p = store_machine_dir(&st, "empty");
	mkdir_p(p, 0700);
	free(p);
	ok(store_load(&st, "empty", &h, NULL) < 0, "empty dir");
	want = xasprintf("open %s/machines/empty/config.json: no such file or directory", base);
	is_str(dm_strerr(), want, "empty dir message");
	free(want);

	static const struct {
		const char *name, *text, *err;
	} cases[] = {
		{ "broken", "", "Error getting migrated host: unexpected end of JSON input" },
		{ "trunc", "{\"ConfigVersion\": 3,", "Error getting migrated host: unexpected end of JSON input" },
		{ "future", "{\"ConfigVersion\": 4}",
		  "Error getting migrated host: config version is from the future -- you should upgrade your "
		  "Docker Machine client" },
		{ "array", "[1]", "Error getting migrated host: json: cannot unmarshal array into Go value of "
		  "type host.Metadata" },
		{ "strver", "{\"ConfigVersion\": \"3\"}", "Error getting migrated host: json: cannot unmarshal "
		  "string into Go struct field Metadata.ConfigVersion of type int" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		p = store_config_path(&st, cases[i].name);
		put(p, cases[i].text);
		free(p);
		h = NULL;
		ok(store_load(&st, cases[i].name, &h, NULL) < 0 && !h, "%s fails", cases[i].name);
		is_str(dm_strerr(), cases[i].err, "%s message", cases[i].name);
	}
	p = store_config_path(&st, "garbage");
	put(p, "{nope}");
	free(p);
	ok(store_load(&st, "garbage", &h, NULL) < 0, "invalid JSON fails");
	ok(str_starts(dm_strerr(), "Error getting migrated host: "), "invalid JSON message: %s", dm_strerr());

	/* size cap */
	{
		size_t n = DM_CAP_CONFIG + 10;
		char *big = xmalloc(n + 1);
		memset(big, ' ', n);
		big[0] = '{';
		big[n - 1] = '}';
		big[n] = 0;
		p = store_config_path(&st, "huge");
		put(p, big);
		free(p);
		free(big);
		ok(store_load(&st, "huge", &h, NULL) < 0, "config over the cap fails");
		ok(strstr(dm_strerr(), "exceeds") != NULL, "cap message: %s", dm_strerr());
	}
	store_free(&st);
	free(base);
}

static void test_migrate(const char *tmp)
{
	struct store st;
	char *base = xasprintf("%s/migstore", tmp);
	store_init(&st, base);
	for (int v = 0; v <= 2; v++) {
		char *src = xasprintf("%s/migrate/v%d.json", datadir, v);
		char *exp = xasprintf("%s/migrate/v%d.v3.json", datadir, v);
		char *orig = slurp(src), *want = slurp(exp), *got, *name = xasprintf("old%d", v);
		char *cfg = store_config_path(&st, name), *bak = xasprintf("%s.bak", cfg), *disk;
		json_t *h = NULL;
		int migrated = 0;
		ok(orig && want, "fixtures v%d", v);
		if (!orig || !want)
			continue;
		/* in memory, against the base the fixture was written for */
		dj_parse(orig, strlen(orig), &h);
		ok(store_migrate(h, "/home/user/.docker/machine", &migrated) == 0, "migrate v%d", v);
		is_int(migrated, 1, "v%d: migrated flag", v);
		dj_set_str(h, "Name", name);
		got = encode(h);
		is_str(got, want, "v%d -> v3 as expected", v);
		free(got);
		json_decref(h);

		/* through the store: load migrates in memory and writes nothing */
		put(cfg, orig);
		ok(store_load(&st, name, &h, &migrated) == 0, "load v%d", v);
		is_int(migrated, 1, "load v%d: migrated", v);
		is_str(json_string_value(dj_path(h, "Driver.StorePath")), st.base,
		       "v%d: Driver.StorePath = the store", v);
		is_int(dj_int(h, "ConfigVersion", -1), 3, "v%d: ConfigVersion 3", v);
		disk = slurp(cfg);
		is_str(disk, orig, "v%d: load leaves config.json alone", v);
		ok(!exists(bak), "v%d: load writes no .bak", v);
		free(disk);

		ok(store_save(&st, h) == 0, "save migrated v%d", v);
		disk = slurp(bak);
		is_str(disk, orig, "v%d: .bak holds the original bytes", v);
		is_int(mode_of(bak), 0600, "v%d: .bak 0600", v);
		free(disk);
		json_decref(h);
		h = NULL;
		ok(store_load(&st, name, &h, &migrated) == 0 && migrated == 0, "v%d: reload needs no migration", v);
		/* a second save keeps the .bak of the original */
		store_save(&st, h);
		disk = slurp(bak);
		is_str(disk, orig, "v%d: .bak kept on later saves", v);
		free(disk);
		json_decref(h);
		free(src);
		free(exp);
		free(orig);
		free(want);
		free(name);
		free(cfg);
		free(bak);
	}
	store_free(&st);
	free(base);
}

static void test_save_remove_lock(const char *tmp)
{
	struct store st;
	char *base = xasprintf("%s/rwstore", tmp), *p, *text;
	json_t *h = json_pack("{s:i,s:{},s:s,s:{},s:s}", "ConfigVersion", 3, "Driver", "DriverName", "none",
	                      "HostOptions", "Name", "n1");
	int fd, fd2;
	store_init(&st, base);
	ok(store_save(&st, h) == 0, "save into a fresh store");
	is_int(mode_of(st.base), 0700, "store dir 0700");
	is_int(mode_of(st.machines), 0700, "machines dir 0700");
	p = store_config_path(&st, "n1");
	text = slurp(p);
	is_str(text, "{\n    \"ConfigVersion\": 3,\n    \"Driver\": {},\n    \"DriverName\": \"none\",\n"
	       "    \"HostOptions\": {},\n    \"Name\": \"n1\"\n}", "4-space indent, no trailing newline");
	free(text);
	free(p);
	dj_set_str(h, "Name", "bad name!");
	ok(store_save(&st, h) < 0, "save refuses a bad name");
	json_decref(h);

	fd = store_lock_machine(&st, "n1");
	ok(fd >= 0, "lock machine");
	p = xasprintf("%s/n1/.lock", st.machines);
	fd2 = open(p, O_RDWR | O_CLOEXEC);
	ok(fd2 >= 0 && flock(fd2, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK, "lock is held");
	store_unlock(fd);
	ok(flock(fd2, LOCK_EX | LOCK_NB) == 0, "unlocked");
	close(fd2);
	is_int(mode_of(p), 0600, "lock file 0600");
	free(p);
	{
		struct strvec names = STRVEC_INIT;
		store_list(&st, &names);
		is_int((long long)names.n, 1, "the lock file is not a machine");
		sv_clear(&names);
	}
	fd = store_lock_certs(&st);
	ok(fd >= 0, "lock certs");
	is_int(mode_of(st.certs), 0700, "certs dir 0700");
	store_unlock(fd);

	ok(store_remove(&st, "n1") == 0, "remove");
	ok(!store_exists(&st, "n1"), "removed");
	ok(store_remove(&st, "n1") < 0, "remove missing fails");
	store_free(&st);
	free(base);
}

static void test_timing(const char *tmp)
{
	struct store st;
	struct strvec names = STRVEC_INIT;
	char *base = xasprintf("%s/bigstore", tmp);
	char *src = xasprintf("%s/store-go/machines/foo/config.json", datadir), *orig = slurp(src);
	long long t0, t1;
	int bad = 0;
	store_init(&st, base);
	for (int i = 0; i < 100 && orig; i++) {
		char *n = xasprintf("m%d", i), *p = store_config_path(&st, n);
		put(p, orig);
		free(n);
		free(p);
	}
	t0 = now_ms();
	store_list(&st, &names);
	for (size_t i = 0; i < names.n; i++) {
		json_t *h;
		if (store_load(&st, names.v[i], &h, NULL) < 0)
			bad++;
		else
			json_decref(h);
	}
	t1 = now_ms();
	is_int((long long)names.n, 100, "100 machines listed");
	is_int(bad, 0, "100 machines loaded");
	printf("# timing: store_list + store_load of 100 machines: %lld ms\n", t1 - t0);
	ok(t1 - t0 < 200, "list + load of 100 machines under 200 ms (%lld ms)", t1 - t0);
	sv_clear(&names);
	store_free(&st);
	free(base);
	free(src);
	free(orig);
}

int main(void)
{
	const char *tmp = tap_tmpdir();
	find_data();
	test_init();
	test_names();
	test_list(tmp);
	test_go_store(tmp);
	test_errors(tmp);
	test_migrate(tmp);
	test_save_remove_lock(tmp);
	test_timing(tmp);
	return done_testing();
}
