/* awscred.h - AWS credentials: flags, environment, shared credentials file.
 *
 * Resolution order (the AWS SDK's default chain, as 0.16.2 used it):
 *   1. the access and secret key given as flags (both non-empty), with the
 *      session token flag;
 *   2. the environment: AWS_ACCESS_KEY_ID (or AWS_ACCESS_KEY) and
 *      AWS_SECRET_ACCESS_KEY (or AWS_SECRET_KEY), AWS_SESSION_TOKEN;
 *   3. the shared credentials file $AWS_SHARED_CREDENTIALS_FILE, else
 *      $HOME/.aws/credentials, profile $AWS_PROFILE, else
 *      $AWS_DEFAULT_PROFILE, else "default": aws_access_key_id,
 *      aws_secret_access_key, aws_session_token.
 * The EC2 instance-role endpoint is not consulted.
 *
 * Secrets: the strings are owned by the struct and wiped by awscred_free.
 */
#ifndef AWSCRED_H
#define AWSCRED_H

#include "util.h"

struct aws_cred {
	char *access_key, *secret_key, *session_token;  /* session_token may be NULL */
	char *source;    /* "flags", "environment", "shared credentials file PATH (profile P)" */
};

/* Resolve as above.  Returns 0 with *out filled; 1 when no source has
 * credentials (out zeroed, no error); -1 with the error set when the shared
 * file exists but cannot be read or is larger than 1 MiB.  The flag
 * arguments may be NULL. */
int awscred_resolve(const char *flag_access, const char *flag_secret, const char *flag_token,
                    struct aws_cred *out);

/* Look up profile in INI text (the credentials file format: [name] sections,
 * key = value, '#' and ';' comments, keys case-insensitive).  0 found (both
 * keys), 1 absent or incomplete. */
int awscred_parse_ini(const char *text, const char *profile, struct aws_cred *out);

void awscred_free(struct aws_cred *c);

#endif
