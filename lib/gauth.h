/* gauth.h - Google OAuth2 access tokens for API calls.
 *
 * Credentials, in the order gauth_load() tries them:
 *   1. a static bearer token given by the caller (--google-auth-token);
 *   2. the JSON file named by $GOOGLE_APPLICATION_CREDENTIALS;
 *   3. $CLOUDSDK_CONFIG/application_default_credentials.json, else
 *      ~/.config/gcloud/application_default_credentials.json
 *      (written by `gcloud auth application-default login`).
 * A JSON file is either "type":"service_account" (client_email, private_key
 * PEM, private_key_id, token_uri) or "type":"authorized_user" (client_id,
 * client_secret, refresh_token).
 *
 * Service account: an RS256 JWT {iss, scope, aud=token URI, iat, exp=iat+3600}
 * signed with the key (OpenSSL EVP) is exchanged at the token URI with
 * grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer.  Authorized user:
 * grant_type=refresh_token.  The token URI is $GOOGLE_OAUTH_TOKEN_URI when
 * set, else the file's token_uri, else https://oauth2.googleapis.com/token.
 *
 * Secrets (private key, refresh token, client secret, access token) are never
 * logged: token requests are sent with the body marked secret.
 * Functions return 0, or -1 with the error set (dm_seterr); none exits.
 */
#ifndef GAUTH_H
#define GAUTH_H

#include "util.h"

#define GAUTH_TOKEN_URI "https://oauth2.googleapis.com/token"
#define GAUTH_SCOPE_COMPUTE "https://www.googleapis.com/auth/compute"
#define GAUTH_JWT_GRANT "urn:ietf:params:oauth:grant-type:jwt-bearer"

enum gauth_kind { GAUTH_NONE = 0, GAUTH_STATIC, GAUTH_SERVICE_ACCOUNT, GAUTH_AUTHORIZED_USER };

struct gauth {
	enum gauth_kind kind;
	char *source;          /* file the credentials came from, or "--google-auth-token" */
	char *scope;           /* space-separated scopes for a service account */
	char *token_uri;
	/* service_account */
	char *client_email, *private_key, *private_key_id;
	/* authorized_user */
	char *client_id, *client_secret, *refresh_token;
	/* the current access token and when it expires (time(NULL) seconds; 0 = never) */
	char *token;
	long long expires;
};
#define GAUTH_INIT { 0 }

/* Find credentials as above (static_token NULL or "" to skip step 1; scope
 * NULL = GAUTH_SCOPE_COMPUTE).  No network.  With nothing found the error is
 * "google: could not find default credentials. See
 * https://developers.google.com/accounts/docs/application-default-credentials
 * for more information." */
int gauth_load(struct gauth *a, const char *static_token, const char *scope);
/* Credentials from the text of a JSON key file (source names it in errors). */
int gauth_from_json(struct gauth *a, const char *text, size_t len, const char *source, const char *scope);
/* A valid access token (borrowed, valid until the next call or gauth_free):
 * the static one, or the cached one while more than 60 s remain, else a new
 * one from the token URI.  Errors: "oauth2: cannot fetch token: HTTP 400:
 * invalid_grant: <description>" and the like. */
int gauth_token(struct gauth *a, const char **token);
void gauth_free(struct gauth *a);

/* ---- the pieces (for tests) ---- */
/* The signed JWT assertion for a service account at time iat (seconds). */
int gauth_jwt(const struct gauth *a, long long iat, struct strbuf *out);
/* The urlencoded body of the token request at time now. */
int gauth_token_form(const struct gauth *a, long long now, struct strbuf *out);
/* base64url without padding (RFC 7515 §2). */
void gauth_b64url(struct strbuf *sb, const void *data, size_t n);

#endif
