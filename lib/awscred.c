/* awscred.c - AWS credentials; see awscred.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "awscred.h"

#define CRED_FILE_CAP (1u << 20)

static char *dup_nonempty(const char *s)
{
	return s && *s ? xstrdup(s) : NULL;
}

static void wipe_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

void awscred_free(struct aws_cred *c)
{
	wipe_free(c->access_key);
	wipe_free(c->secret_key);
	wipe_free(c->session_token);
	free(c->source);
	memset(c, 0, sizeof(*c));
}

static char *trim(char *s, char *end)
{
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		end--;
	*end = 0;
	return s;
}

int awscred_parse_ini(const char *text, const char *profile, struct aws_cred *out)
{
	char *copy = xstrdup(text), *line, *next;
	int in = 0;
	struct aws_cred c = { 0 };

	memset(out, 0, sizeof(*out));
	for (line = copy; line; line = next) {
		char *nl = strchr(line, '\n'), *end = nl ? nl : line + strlen(line), *s;
		next = nl ? nl + 1 : NULL;
		s = trim(line, end);
		if (!*s || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			char *close = strchr(s, ']');
			if (!close) {
				in = 0;
				continue;
			}
			char *name = trim(s + 1, close);
			in = !strcmp(name, profile);
			continue;
		}
		if (!in)
			continue;
		char *eq = strchr(s, '=');
		if (!eq)
			continue;
		char *val = trim(eq + 1, s + strlen(s));
		char *key = trim(s, eq);
		char **slot = NULL;
		if (!strcasecmp(key, "aws_access_key_id"))
			slot = &c.access_key;
		else if (!strcasecmp(key, "aws_secret_access_key"))
			slot = &c.secret_key;
		else if (!strcasecmp(key, "aws_session_token") || !strcasecmp(key, "aws_security_token"))
			slot = &c.session_token;
		if (slot) {
			wipe_free(*slot);
			*slot = dup_nonempty(val);
		}
	}
	explicit_bzero(copy, strlen(text));
	free(copy);
	if (!c.access_key || !c.secret_key) {
		awscred_free(&c);
		return 1;
	}
	*out = c;
	return 0;
}

int awscred_resolve(const char *flag_access, const char *flag_secret, const char *flag_token,
                    struct aws_cred *out)
{
	const char *ak, *sk, *file, *profile, *home;
	char *path = NULL;
	struct strbuf sb;
	int rc;

	memset(out, 0, sizeof(*out));
	if (flag_access && *flag_access && flag_secret && *flag_secret) {
		out->access_key = xstrdup(flag_access);
		out->secret_key = xstrdup(flag_secret);
		out->session_token = dup_nonempty(flag_token);
		out->source = xstrdup("flags");
		return 0;
	}
	ak = getenv("AWS_ACCESS_KEY_ID");
	if (!ak || !*ak)
		ak = getenv("AWS_ACCESS_KEY");
	sk = getenv("AWS_SECRET_ACCESS_KEY");
	if (!sk || !*sk)
		sk = getenv("AWS_SECRET_KEY");
	if (ak && *ak && sk && *sk) {
		out->access_key = xstrdup(ak);
		out->secret_key = xstrdup(sk);
		out->session_token = dup_nonempty(getenv("AWS_SESSION_TOKEN"));
		out->source = xstrdup("environment");
		return 0;
	}
	file = getenv("AWS_SHARED_CREDENTIALS_FILE");
	if (file && *file) {
		path = xstrdup(file);
	} else {
		home = getenv("HOME");
		if (!home || !*home)
			return 1;
		path = xasprintf("%s/.aws/credentials", home);
	}
	profile = getenv("AWS_PROFILE");
	if (!profile || !*profile)
		profile = getenv("AWS_DEFAULT_PROFILE");
	if (!profile || !*profile)
		profile = "default";
	if (access(path, F_OK) < 0 && errno == ENOENT) {
		free(path);
		return 1;
	}
	sb_init(&sb, CRED_FILE_CAP);
	if (sb_read_file(&sb, path, CRED_FILE_CAP) < 0) {
		rc = dm_seterr("AWS shared credentials file: %s", dm_strerr());
		sb_release(&sb);
		free(path);
		return rc;
	}
	rc = awscred_parse_ini(sb.buf, profile, out);
	explicit_bzero(sb.buf, sb.len);
	sb_release(&sb);
	if (rc == 0)
		out->source = xasprintf("shared credentials file %s (profile %s)", path, profile);
	free(path);
	return rc;
}
