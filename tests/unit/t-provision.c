/* t-provision.c - lib/provision: os-release parsing, the provisioner
 * choice, and the daemon options rendered with hostile values, checked by
 * parsing them back: the systemd forms with a reference reader written here
 * from systemd.syntax(7)/systemd.service(5) (unquote, C unescape, then
 * specifiers, then $ substitution), the shell forms by sourcing them with
 * sh and word-splitting the argument variable as the init scripts do. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"
#include "provision.h"
#include "tap.h"

/* ---- os-release ---- */

static void test_osr(void)
{
	static const struct {
		const char *text;
		size_t len;          /* 0 = strlen */
		const char *id, *id_like, *version_id, *name;
		int bad;
	} cases[] = {
		{ "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\n"
		  "VERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nVERSION_CODENAME=bookworm\nID=debian\n"
		  "HOME_URL=\"https://www.debian.org/\"\n", 0, "debian", NULL, "12", "Debian GNU/Linux", 0 },
		{ "ID=\"ubuntu\"\nID_LIKE=debian\nVERSION_ID=\"22.04\"", 0, "ubuntu", "debian", "22.04", NULL, 0 },
		{ "ID='fedora'\n", 0, "fedora", NULL, NULL, NULL, 0 },
		{ "ID=\"\n", 0, "", NULL, NULL, NULL, 0 },                 /* lone quote: no crash */
		{ "ID=\"\"\n", 0, "", NULL, NULL, NULL, 0 },
		{ "ID=\"abc\n", 0, "ab", NULL, NULL, NULL, 0 },            /* 0.16.2 drops the last byte */
		{ "ID='x\n", 0, "'x", NULL, NULL, NULL, 0 },               /* unmatched single quote kept */
		{ "# comment\ngarbage\nA=b=c\n\nID=arch\n", 0, "arch", NULL, NULL, NULL, 3 },
		{ "ID=debian\r\nVERSION_ID=\"11\"\r\n", 0, "debian", NULL, "11", NULL, 0 },
		{ "ID=a\nID=b\n", 0, "b", NULL, NULL, NULL, 0 },           /* last wins */
		{ "ID=deb\0ian\nVERSION_ID=1\n", 24, "deb", NULL, "1", NULL, 0 },
		{ "=\n==\nID\n", 0, NULL, NULL, NULL, NULL, 2 },
		{ "", 0, NULL, NULL, NULL, NULL, 0 },
		{ "ID_LIKE=\"suse opensuse\"\nID=\"opensuse-leap\"", 0, "opensuse-leap", "suse opensuse", NULL,
		  NULL, 0 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct os_release o;
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].text);
		int rc = osr_parse(cases[i].text, len, &o);
		is_int(rc, 0, "osr %zu parses", i);
		ok(cases[i].id ? o.id && !strcmp(o.id, cases[i].id) : !o.id, "osr %zu ID %s", i,
		   o.id ? o.id : "(null)");
		ok(cases[i].id_like ? o.id_like && !strcmp(o.id_like, cases[i].id_like) : !o.id_like,
		   "osr %zu ID_LIKE", i);
		ok(cases[i].version_id ? o.version_id && !strcmp(o.version_id, cases[i].version_id)
		                       : !o.version_id, "osr %zu VERSION_ID", i);
		ok(cases[i].name ? o.name && !strcmp(o.name, cases[i].name) : !o.name, "osr %zu NAME", i);
		is_int(o.bad_lines, cases[i].bad, "osr %zu bad lines", i);
		osr_free(&o);
	}

	/* huge input: refused beyond the cap, a long line within it is fine */
	{
		struct os_release o;
		char *big = xmalloc(OSR_CAP + 2);
		memset(big, 'x', OSR_CAP + 1);
		memcpy(big, "ID=", 3);
		is_int(osr_parse(big, OSR_CAP + 1, &o), -1, "os-release over the cap is refused");
		ok(strstr(dm_strerr(), "exceeds") != NULL, "cap error: %s", dm_strerr());
		osr_free(&o);
		is_int(osr_parse(big, OSR_CAP, &o), 0, "a 64 KiB line parses");
		is_int((long long)strlen(o.id), OSR_CAP - 3, "its value is kept whole");
		osr_free(&o);
		for (size_t k = 0; k < OSR_CAP; k++)   /* binary junk */
			big[k] = (char)(k * 7 + 3);
		is_int(osr_parse(big, OSR_CAP, &o), 0, "binary junk does not crash");
		osr_free(&o);
		free(big);
	}
}

/* ---- the provisioner choice ---- */

static void test_detect(void)
{
	static const struct { const char *text, *want; } cases[] = {
		{ "ID=ubuntu\nVERSION_ID=\"22.04\"\n", "ubuntu(systemd)" },
		{ "ID=ubuntu\nVERSION_ID=\"15.04\"\n", "ubuntu(systemd)" },
		{ "ID=ubuntu\nVERSION_ID=\"14.04\"\n", "ubuntu(upstart)" },
		{ "ID=ubuntu\nVERSION_ID=\"9.10\"\n", "ubuntu(upstart)" },
		{ "ID=ubuntu\n", "ubuntu(systemd)" },
		{ "ID=debian\nVERSION_ID=\"12\"\n", "debian" },
		{ "ID=raspbian\nID_LIKE=debian\n", "raspbian" },
		{ "ID=\"centos\"\nID_LIKE=\"rhel fedora\"\n", "centos" },
		{ "ID=\"rhel\"\nID_LIKE=\"fedora\"\n", "redhat" },
		{ "ID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\n", "rocky" },
		{ "ID=\"almalinux\"\n", "almalinux" },
		{ "ID=\"ol\"\n", "ol" },
		{ "ID=fedora\nVERSION_ID=40\n", "fedora" },
		{ "ID=\"amzn\"\nID_LIKE=\"centos rhel fedora\"\n", "amzn" },
		{ "ID=arch\n", "arch" },
		{ "ID=manjaro\nID_LIKE=arch\n", "arch" },
		{ "ID=\"opensuse-leap\"\nID_LIKE=\"suse opensuse\"\n", "openSUSE" },
		{ "ID=\"sles\"\n", "openSUSE" },
		{ "ID=foo\nID_LIKE=\"suse\"\n", "openSUSE" },
		{ "ID=coreos\n", "coreOS" },
		{ "ID=flatcar\nID_LIKE=coreos\n", "coreOS" },
		{ "ID=boot2docker\n", "boot2docker" },
		{ "ID=rancheros\n", "rancheros" },
		{ "ID=linuxmint\nID_LIKE=\"ubuntu debian\"\nVERSION_ID=\"21.1\"\n", "ubuntu(systemd)" },
		{ "ID=pop\nID_LIKE=\"nosuch debian\"\n", "debian" },
		{ "ID=gentoo\n", NULL },
		{ "ID=ubuntux\n", NULL },
		{ "ID=\nID_LIKE=\n", NULL },
		{ "", NULL },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct os_release o;
		const struct provisioner *p, *again;
		osr_parse(cases[i].text, strlen(cases[i].text), &o);
		p = provisioner_detect(&o);
		if (cases[i].want) {
			ok(p && !strcmp(p->name, cases[i].want), "detect %zu: %s (got %s)", i, cases[i].want,
			   p ? p->name : dm_strerr());
		} else {
			ok(!p, "detect %zu: not recognized", i);
			is_str(dm_strerr(), "OS type not recognized", "detect %zu: the 0.16.2 message", i);
		}
		for (int k = 0; k < 20; k++)   /* the same answer every time */
			if ((again = provisioner_detect(&o)) != p)
				break;
		ok(again == p, "detect %zu is deterministic", i);
		osr_free(&o);
	}
	ok(provisioner_find("debian") && !strcmp(provisioner_find("debian")->opts_file,
	   "/etc/systemd/system/docker.service.d/10-machine.conf"), "debian: the systemd drop-in");
	ok(!strcmp(provisioner_find("boot2docker")->cert_dir, "/var/lib/boot2docker"), "b2d cert dir");
	ok(provisioner_find("coreOS")->storage == NULL, "coreOS: no storage driver by default");
}

/* ---- a reference reader of systemd's quoting ---- */

static int hexval(int c)
{
	return isdigit(c) ? c - '0' : isxdigit(c) ? (tolower(c) - 'a' + 10) : -1;
}

/* extract_first_word(EXTRACT_UNQUOTE|EXTRACT_CUNESCAPE) over the whole
 * value, then the specifier pass (%% -> %; any other % is an error) and,
 * for exec lines, $ substitution ($$ -> $; any other $ would expand). */
static int sd_words(const char *s, int exec, struct strvec *out)
{
	for (;;) {
		struct strbuf w = STRBUF_INIT, r = STRBUF_INIT;
		int q = 0;
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s)
			return 0;
		while (*s && (q || (*s != ' ' && *s != '\t'))) {
			if (!q && (*s == '"' || *s == '\'')) {
				q = *s++;
				continue;
			}
			if (q && *s == q) {
				q = 0;
				s++;
				continue;
			}
			if (*s == '\\') {
				int c = *++s, h1, h2;
				if (!c)
					return -1;
				s++;
				switch (c) {
				case 'n': c = '\n'; break;
				case 't': c = '\t'; break;
				case 'r': c = '\r'; break;
				case 'a': c = '\a'; break;
				case 'b': c = '\b'; break;
				case 'f': c = '\f'; break;
				case 'v': c = '\v'; break;
				case 's': c = ' '; break;
				case '\\': case '"': case '\'': break;
				case 'x':
					if ((h1 = hexval((unsigned char)s[0])) < 0 ||
					    (h2 = hexval((unsigned char)s[1])) < 0)
						return -1;
					c = h1 * 16 + h2;
					s += 2;
					break;
				default:
					return -1;
				}
				sb_addc(&w, c);
				continue;
			}
			sb_addc(&w, *s++);
		}
		if (q)
			return -1;
		for (const char *p = w.buf; *p; p++) {
			if (*p == '%') {
				if (p[1] != '%')
					return -1;
				p++;
			} else if (exec && *p == '$') {
				if (p[1] != '$')
					return -1;
				p++;
			}
			sb_addc(&r, *p);
		}
		sv_push(out, r.buf);
		sb_release(&w);
		sb_release(&r);
	}
}

static const char *hostile[] = {
	"a b", "\"", "'", "$HOME", "${HOME}", "`id`", "$(id)", "back\\slash", "trailing\\",
	"new\nline", "tab\there", "cr\rx", "100%", "%n%%", "semi ; colon", ";", "$$", "\\;",
	"-leading", "#hash", "", "a=b=c", "\x01\x7f", "ünï", "{brace}", "*", "x'\"y\"'z",
	"  spaced  ", "\\n literal",
};

static json_t *strarr(const char *const *v, size_t n, const char *prefix)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++) {
		char *s = xasprintf("%s%s", prefix, v[i]);
		json_array_append_new(a, json_string(s));
		free(s);
	}
	return a;
}

static json_t *engine_opts(void)
{
	json_t *e = json_object();
	dj_set(e, "ArbitraryFlags", json_array());
	dj_set(e, "Dns", json_null());
	dj_set_str(e, "GraphDir", "");
	dj_set(e, "Env", json_array());
	dj_set_bool(e, "Ipv6", 0);
	dj_set(e, "InsecureRegistry", json_array());
	dj_set(e, "Labels", json_array());
	dj_set_str(e, "LogLevel", "");
	dj_set_str(e, "StorageDriver", "");
	dj_set_bool(e, "SelinuxEnabled", 0);
	dj_set_bool(e, "TlsVerify", 1);
	dj_set(e, "RegistryMirror", json_array());
	dj_set_str(e, "InstallURL", "https://get.docker.com");
	return e;
}

/* The value after "KEY=" of every line starting with it. */
static void lines_with(const char *text, const char *key, struct strvec *out)
{
	size_t kl = strlen(key);
	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		if (n >= kl && !memcmp(p, key, kl)) {
			char *v = xstrndup(p + kl, n - kl);
			sv_push_owned(out, v);
		}
		p += n + (nl ? 1 : 0);
	}
}

static void test_systemd_reference(void)
{
	static const char want[] =
		"[Service]\n"
		"ExecStart=\n"
		"ExecStart=/usr/bin/dockerd -H tcp://0.0.0.0:2376 -H unix:///var/run/docker.sock "
		"--storage-driver overlay2 --tlsverify --tlscacert /etc/docker/ca.pem "
		"--tlscert /etc/docker/server.pem --tlskey /etc/docker/server-key.pem --label spam=eggs "
		"--label provider=generic --insecure-registry r.co --registry-mirror https://m "
		"--log-driver=none\n"
		"Environment=\"TEST=VALUE\"\n";
	static const char want_b2d[] =
		"\nEXTRA_ARGS='\n--label spam=eggs\n--label provider=virtualbox\n--insecure-registry r.co\n"
		"--registry-mirror https://m\n--log-driver=none\n\n'\n"
		"CACERT=/var/lib/boot2docker/ca.pem\nDOCKER_HOST='-H tcp://0.0.0.0:2376'\n"
		"DOCKER_STORAGE=overlay2\nDOCKER_TLS=auto\nSERVERKEY=/var/lib/boot2docker/server-key.pem\n"
		"SERVERCERT=/var/lib/boot2docker/server.pem\n\nexport TEST=VALUE\n";
	json_t *e = engine_opts();
	struct strbuf out = STRBUF_INIT;
	struct daemon_cfg c = { e, "generic", "/usr/bin/dockerd", "/etc/docker", 2376, "overlay2" };
	const char *one;

	json_array_append_new(json_object_get(e, "Labels"), json_string("spam=eggs"));
	json_array_append_new(json_object_get(e, "InsecureRegistry"), json_string("r.co"));
	json_array_append_new(json_object_get(e, "RegistryMirror"), json_string("https://m"));
	json_array_append_new(json_object_get(e, "ArbitraryFlags"), json_string("log-driver=none"));
	json_array_append_new(json_object_get(e, "Env"), json_string("TEST=VALUE"));
	is_int(provision_render(&c, FORM_SYSTEMD, &out), 0, "render the reference example");
	is_str(out.buf, want, "systemd drop-in as 0.16.2 renders it (minus its stray spaces)");
	sb_reset(&out);
	c.driver_name = "virtualbox";
	c.cert_dir = "/var/lib/boot2docker";
	is_int(provision_render(&c, FORM_B2D, &out), 0, "render the b2d profile");
	is_str(out.buf, want_b2d, "boot2docker profile as 0.16.2 means it");

	/* the other fields */
	sb_reset(&out);
	dj_set(e, "Dns", strarr((const char *[]){ "10.0.0.2" }, 1, ""));
	dj_set_str(e, "GraphDir", "/data/docker");
	dj_set_bool(e, "Ipv6", 1);
	dj_set_str(e, "LogLevel", "debug");
	dj_set_bool(e, "SelinuxEnabled", 1);
	provision_render(&c, FORM_SYSTEMD, &out);
	one = strstr(out.buf, "--dns 10.0.0.2 --data-root /data/docker --ipv6 --log-level debug "
	             "--selinux-enabled --log-driver=none");
	ok(one != NULL, "Dns, GraphDir, Ipv6, LogLevel, SelinuxEnabled are rendered");
	sb_reset(&out);
	dj_set_str(e, "StorageDriver", "");
	c.storage = NULL;
	provision_render(&c, FORM_SYSTEMD, &out);
	ok(!strstr(out.buf, "--storage-driver"), "no storage driver: no flag");
	sb_release(&out);
	json_decref(e);
}

static void test_systemd_hostile(void)
{
	size_t n = ARRAY_SIZE(hostile);
	json_t *e = engine_opts();
	struct strbuf out = STRBUF_INIT;
	struct strvec args = STRVEC_INIT, exec = STRVEC_INIT, envl = STRVEC_INIT;
	struct daemon_cfg c = { e, "gen eric$", "/opt/my docker/dockerd", "/etc/do'cker", 2376,
		                "over lay" };
	const char *names[ARRAY_SIZE(hostile)];
	char buf[ARRAY_SIZE(hostile)][8];

	for (size_t i = 0; i < n; i++) {
		snprintf(buf[i], sizeof(buf[i]), "K%zu=", i);
		names[i] = buf[i];
	}
	dj_set(e, "Labels", strarr(hostile, n, "l="));
	dj_set(e, "InsecureRegistry", strarr(hostile, n, ""));
	dj_set(e, "RegistryMirror", strarr(hostile, n, "https://"));
	dj_set(e, "ArbitraryFlags", strarr(hostile, n, "opt="));
	dj_set(e, "Dns", strarr(hostile, 3, ""));
	dj_set_str(e, "GraphDir", "/var/lib/my docker$");
	dj_set_str(e, "LogLevel", "a\"b");
	{
		json_t *env = json_array();
		for (size_t i = 0; i < n; i++) {
			char *s = xasprintf("%s%s", names[i], hostile[i]);
			json_array_append_new(env, json_string(s));
			free(s);
		}
		dj_set(e, "Env", env);
	}
	is_int(provision_render(&c, FORM_SYSTEMD, &out), 0, "render hostile values");
	lines_with(out.buf, "ExecStart=", &exec);
	is_int((long long)exec.n, 2, "two ExecStart= lines");
	ok(exec.n == 2 && !*exec.v[0], "the first resets ExecStart");
	{
		struct strvec words = STRVEC_INIT;
		size_t k;
		ok(exec.n == 2 && sd_words(exec.v[1], 1, &words) == 0, "ExecStart parses back");
		sv_push(&args, c.dockerd);
		provision_daemon_args(&c, &args);
		is_int((long long)words.n, (long long)args.n, "same number of words");
		for (k = 0; k < args.n && k < words.n; k++)
			if (strcmp(args.v[k], words.v[k]))
				break;
		ok(k == args.n && k == words.n, "every word arrives intact (first difference at %zu: %s)",
		   k, k < words.n ? words.v[k] : "-");
		sv_clear(&words);
	}
	for (size_t i = 0; i < n; i++) {   /* each hostile value reached dockerd as given */
		char *lab = xasprintf("l=%s", hostile[i]);
		ok(sv_contains(&args, lab), "label %zu in the arguments", i);
		free(lab);
	}
	lines_with(out.buf, "Environment=", &envl);
	is_int((long long)envl.n, (long long)n, "one Environment= line per variable");
	for (size_t i = 0; i < n && i < envl.n; i++) {
		struct strvec w = STRVEC_INIT;
		char *want = xasprintf("%s%s", names[i], hostile[i]);
		ok(sd_words(envl.v[i], 0, &w) == 0 && w.n == 1 && !strcmp(w.v[0], want),
		   "Environment %zu parses back to its assignment", i);
		free(want);
		sv_clear(&w);
	}
	/* no raw control character ever reaches the file */
	{
		int clean = 1;
		for (const unsigned char *p = (const unsigned char *)out.buf; *p; p++)
			if ((*p < 0x20 && *p != '\n') || *p == 0x7f)
				clean = 0;
		ok(clean, "no raw control characters in the unit file");
		is_int((long long)(strchr(out.buf, '\0') - out.buf), (long long)out.len, "no NUL");
	}
	sv_clear(&args);
	sv_clear(&exec);
	sv_clear(&envl);
	sb_release(&out);

	/* bad environment entries are refused */
	static const char *bad[] = { "NOEQ", "=x", "1A=x", "A-B=x", "A B=x", "" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		json_t *env = json_array();
		json_array_append_new(env, json_string(bad[i]));
		dj_set(e, "Env", env);
		sb_reset(&out);
		is_int(provision_render(&c, FORM_SYSTEMD, &out), -1, "env \"%s\" refused", bad[i]);
	}
	sb_release(&out);
	json_decref(e);
}

/* ---- the shell forms, sourced by sh ---- */

/* Source file with sh (set -f, as word splitting is all the init scripts
 * do), print the words of $var and then the values of names[], NUL-ended. */
static int sh_source(const char *file, const char *var, const char *const *names, size_t n,
                     struct strvec *words, struct strvec *vals)
{
	struct strbuf script = STRBUF_INIT, out = STRBUF_INIT;
	FILE *f;
	int rc;
	sb_addf(&script, "env -i /bin/sh -c 'set -f; . \"$1\"; set -- $%s; printf \"%%s\\0\" \"$@\"; "
	        "printf \"\\1\\0\"; ", var);
	for (size_t i = 0; i < n; i++)
		sb_addf(&script, "printf \"%%s\\0\" \"$K%zu\"; ", i);
	sb_addf(&script, "' sh '%s'", file);
	(void)names;
	f = popen(script.buf, "r");
	if (!f)
		return -1;
	sb_read_fd(&out, fileno(f), 1u << 20);
	rc = pclose(f);
	{
		struct strvec *dst = words;
		for (size_t off = 0; off < out.len;) {
			const char *s = out.buf + off;
			size_t l = strlen(s);
			if (l == 1 && s[0] == 1)
				dst = vals;
			else
				sv_push(dst, s);
			off += l + 1;
		}
	}
	sb_release(&script);
	sb_release(&out);
	return rc;
}

static void test_shell_forms(void)
{
	/* arguments: no whitespace possible (the consumers word-split) */
	static const char *args_h[] = { "\"", "'", "$HOME", "`id`", "$(id)", "back\\slash",
		                        "trailing\\", "100%", "a;b", "ünï", "*", "x'\"y\"'z", "#h" };
	size_t n = ARRAY_SIZE(hostile), na = ARRAY_SIZE(args_h);
	json_t *e = engine_opts(), *env = json_array();
	char path[4096];
	const enum daemon_form forms[] = { FORM_DOCKER_OPTS, FORM_B2D };

	for (size_t i = 0; i < n; i++) {
		char *s = xasprintf("K%zu=%s", i, hostile[i]);
		json_array_append_new(env, json_string(s));
		free(s);
	}
	dj_set(e, "Env", env);
	dj_set(e, "Labels", strarr(args_h, na, "l="));
	dj_set(e, "ArbitraryFlags", strarr(args_h, na, "opt="));
	snprintf(path, sizeof(path), "%s/profile", tap_tmpdir());

	for (size_t fi = 0; fi < ARRAY_SIZE(forms); fi++) {
		struct daemon_cfg c = { e, "generic", NULL, "/etc/docker", 2376, "overlay2" };
		struct strbuf out = STRBUF_INIT;
		struct strvec words = STRVEC_INIT, vals = STRVEC_INIT, want = STRVEC_INIT;
		const char *var = forms[fi] == FORM_B2D ? "EXTRA_ARGS" : "DOCKER_OPTS";
		size_t k;
		is_int(provision_render(&c, forms[fi], &out), 0, "%s: render", var);
		write_file_atomic(path, out.buf, out.len, 0600);
		is_int(sh_source(path, var, NULL, n, &words, &vals), 0, "%s: sh sources it", var);
		provision_daemon_args(&c, &want);
		k = forms[fi] == FORM_B2D ? 13 : 0;   /* b2d: only the extra arguments */
		is_int((long long)words.n, (long long)(want.n - k), "%s: word count", var);
		size_t j = 0;
		for (; j < words.n && k + j < want.n; j++)
			if (strcmp(words.v[j], want.v[k + j]))
				break;
		ok(j == words.n && k + j == want.n, "%s: every argument arrives intact (at %zu: %s)", var,
		   j, j < words.n ? words.v[j] : "-");
		is_int((long long)vals.n, (long long)n, "%s: every variable exported", var);
		for (size_t i = 0; i < n && i < vals.n; i++)
			is_str(vals.v[i], hostile[i], "%s: K%zu intact", var, i);
		sv_clear(&words);
		sv_clear(&vals);
		sv_clear(&want);
		sb_release(&out);
	}
	/* an argument with whitespace cannot pass through these files */
	dj_set(e, "Labels", strarr((const char *[]){ "a b" }, 1, "l="));
	for (size_t fi = 0; fi < ARRAY_SIZE(forms); fi++) {
		struct daemon_cfg c = { e, "generic", NULL, "/etc/docker", 2376, "overlay2" };
		struct strbuf out = STRBUF_INIT;
		is_int(provision_render(&c, forms[fi], &out), -1, "form %zu refuses a spaced argument", fi);
		ok(strstr(dm_strerr(), "whitespace") != NULL, "and says why: %s", dm_strerr());
		sb_release(&out);
	}
	json_decref(e);
}

int main(void)
{
	plan_lazy();
	test_osr();
	test_detect();
	test_systemd_reference();
	test_systemd_hostile();
	test_shell_forms();
	return done_testing();
}
