/* t-awscred - credential resolution order and the shared credentials file. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "awscred.h"
#include "tap.h"

static const char ini[] =
	"# comment\n"
	"[default]\n"
	"aws_access_key_id = AKIDDEFAULT\n"
	"aws_secret_access_key=secretdefault\n"
	"\n"
	"; another comment\n"
	"[work]\r\n"
	"  AWS_ACCESS_KEY_ID = AKIDWORK  \r\n"
	"aws_secret_access_key = sec/ret+work=\r\n"
	"aws_session_token = tokwork\r\n"
	"[half]\n"
	"aws_access_key_id = AKIDHALF\n"
	"[ spaced ]\n"
	"aws_access_key_id = AKIDSP\n"
	"aws_secret_access_key = SP\n";

static void ini_cases(void)
{
	static const struct {
		const char *profile;
		int rc;
		const char *ak, *sk, *tok;
	} t[] = {
		{ "default", 0, "AKIDDEFAULT", "secretdefault", NULL },
		{ "work", 0, "AKIDWORK", "sec/ret+work=", "tokwork" },
		{ "half", 1, NULL, NULL, NULL },
		{ "spaced", 0, "AKIDSP", "SP", NULL },
		{ "missing", 1, NULL, NULL, NULL },
	};
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		struct aws_cred c;
		int rc = awscred_parse_ini(ini, t[i].profile, &c);
		is_int(rc, t[i].rc, "ini [%s]: rc", t[i].profile);
		if (rc == 0) {
			is_str(c.access_key, t[i].ak, "ini [%s]: access key", t[i].profile);
			is_str(c.secret_key, t[i].sk, "ini [%s]: secret key", t[i].profile);
			if (t[i].tok)
				is_str(c.session_token, t[i].tok, "ini [%s]: token", t[i].profile);
			else
				ok(c.session_token == NULL, "ini [%s]: no token", t[i].profile);
		}
		awscred_free(&c);
	}
}

static const char *envs[] = { "AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY",
	"AWS_SESSION_TOKEN", "AWS_SHARED_CREDENTIALS_FILE", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "HOME" };

static void clear_env(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(envs); i++)
		unsetenv(envs[i]);
}

static void resolve_cases(void)
{
	const char *dir = tap_tmpdir();
	char *home = xasprintf("%s/home", dir), *awsdir = xasprintf("%s/home/.aws", dir);
	char *homefile = xasprintf("%s/credentials", awsdir), *other = xasprintf("%s/other", dir);
	char *unreadable = xasprintf("%s/unreadable", dir), *big = xasprintf("%s/big", dir);
	mkdir_p(awsdir, 0700);
	write_file_atomic(homefile, ini, strlen(ini), 0600);
	const char *o = "[default]\naws_access_key_id=AKIDOTHER\naws_secret_access_key=OTHER\n";
	write_file_atomic(other, o, strlen(o), 0600);
	write_file_atomic(unreadable, o, strlen(o), 0000);
	struct strbuf b = STRBUF_INIT;
	for (int i = 0; i < 120000; i++)
		sb_adds(&b, "# padding\n");
	write_file_atomic(big, b.buf, b.len, 0600);
	sb_release(&b);

	/* env settings as NAME=VALUE pairs; then the flags; then the expectation */
	static const struct {
		const char *env[6];
		const char *fak, *fsk, *ftok;
		int rc;
		const char *ak, *sk, *tok, *source;
	} t[] = {
		{ { NULL }, "AKIDFLAG", "FLAGSECRET", "FLAGTOK", 0, "AKIDFLAG", "FLAGSECRET", "FLAGTOK", "flags" },
		{ { "AWS_ACCESS_KEY_ID=AKIDENV", "AWS_SECRET_ACCESS_KEY=ENV", NULL }, "AKIDFLAG", "FLAGSECRET", NULL,
		  0, "AKIDFLAG", "FLAGSECRET", NULL, "flags" },
		/* one flag alone does not count: the chain goes on */
		{ { "AWS_ACCESS_KEY_ID=AKIDENV", "AWS_SECRET_ACCESS_KEY=ENV", "AWS_SESSION_TOKEN=ENVTOK", NULL },
		  "AKIDFLAG", "", NULL, 0, "AKIDENV", "ENV", "ENVTOK", "environment" },
		{ { "AWS_ACCESS_KEY=AKIDOLD", "AWS_SECRET_KEY=OLD", NULL }, NULL, NULL, NULL,
		  0, "AKIDOLD", "OLD", NULL, "environment" },
		/* an env access key without secret falls through to the file */
		{ { "AWS_ACCESS_KEY_ID=AKIDENV", "HOME=@home", NULL }, NULL, NULL, NULL,
		  0, "AKIDDEFAULT", "secretdefault", NULL, "shared credentials file @homefile (profile default)" },
		{ { "HOME=@home", "AWS_PROFILE=work", NULL }, NULL, NULL, NULL,
		  0, "AKIDWORK", "sec/ret+work=", "tokwork", "shared credentials file @homefile (profile work)" },
		{ { "HOME=@home", "AWS_DEFAULT_PROFILE=work", NULL }, NULL, NULL, NULL,
		  0, "AKIDWORK", "sec/ret+work=", "tokwork", "shared credentials file @homefile (profile work)" },
		{ { "HOME=@home", "AWS_PROFILE=nope", NULL }, NULL, NULL, NULL, 1, NULL, NULL, NULL, NULL },
		{ { "HOME=@home", "AWS_SHARED_CREDENTIALS_FILE=@other", NULL }, NULL, NULL, NULL,
		  0, "AKIDOTHER", "OTHER", NULL, "shared credentials file @other (profile default)" },
		{ { "HOME=@home", "AWS_SHARED_CREDENTIALS_FILE=@dir/absent", NULL }, NULL, NULL, NULL,
		  1, NULL, NULL, NULL, NULL },
		{ { "HOME=@dir", NULL }, NULL, NULL, NULL, 1, NULL, NULL, NULL, NULL },
		{ { NULL }, NULL, NULL, NULL, 1, NULL, NULL, NULL, NULL },
		{ { "AWS_SHARED_CREDENTIALS_FILE=@big", NULL }, NULL, NULL, NULL, -1, NULL, NULL, NULL, NULL },
		{ { "AWS_SHARED_CREDENTIALS_FILE=@unreadable", NULL }, NULL, NULL, NULL, -1, NULL, NULL, NULL, NULL },
	};
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		struct aws_cred c;
		clear_env();
		for (size_t j = 0; t[i].env[j]; j++) {
			char *kv = xstrdup(t[i].env[j]), *eq = strchr(kv, '='), *val;
			*eq = 0;
			val = eq + 1;
			if (!strcmp(val, "@home"))
				val = home;
			else if (!strcmp(val, "@other"))
				val = other;
			else if (!strcmp(val, "@big"))
				val = big;
			else if (!strcmp(val, "@unreadable"))
				val = unreadable;
			else if (!strcmp(val, "@dir"))
				val = (char *)dir;
			char *v2 = str_starts(val, "@dir/") ? xasprintf("%s%s", dir, val + 4) : xstrdup(val);
			setenv(kv, v2, 1);
			free(v2);
			free(kv);
		}
		int rc = awscred_resolve(t[i].fak, t[i].fsk, t[i].ftok, &c);
		if (t[i].rc == -1 && geteuid() == 0 && t[i].env[0] && strstr(t[i].env[0], "@unreadable")) {
			ok(1, "case %zu: # skip root reads mode 0000 files", i);
			awscred_free(&c);
			continue;
		}
		is_int(rc, t[i].rc, "case %zu: rc (%s)", i, rc < 0 ? dm_strerr() : "");
		if (rc == 0 && t[i].rc == 0) {
			is_str(c.access_key, t[i].ak, "case %zu: access key", i);
			is_str(c.secret_key, t[i].sk, "case %zu: secret key", i);
			is_str(c.session_token ? c.session_token : "(none)", t[i].tok ? t[i].tok : "(none)",
			       "case %zu: token", i);
			struct strbuf want = STRBUF_INIT;
			const char *s = t[i].source;
			if (strstr(s, "@homefile"))
				sb_addf(&want, "shared credentials file %s%s", homefile, strstr(s, " (profile"));
			else if (strstr(s, "@other"))
				sb_addf(&want, "shared credentials file %s%s", other, strstr(s, " (profile"));
			else
				sb_adds(&want, s);
			is_str(c.source, want.buf, "case %zu: source", i);
			sb_release(&want);
		}
		if (rc < 0)
			ok(strstr(dm_strerr(), "AWS shared credentials file") != NULL, "case %zu: message names the file: %s",
			   i, dm_strerr());
		awscred_free(&c);
	}
	free(home);
	free(awsdir);
	free(homefile);
	free(other);
	free(unreadable);
	free(big);
}

int main(void)
{
	plan_lazy();
	ini_cases();
	resolve_cases();
	return done_testing();
}
