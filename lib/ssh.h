/* ssh.h - talking to machines over SSH: argv for the external ssh/scp/rsync
 * (built here, never through a local shell), a bounded remote command runner,
 * the libssh2 native client, key generation, and the one quoting function
 * for text sent to a remote shell.
 *
 * Host keys are pinned per machine in machines/NAME/known_hosts:
 *   SSH_HK_TOFU    StrictHostKeyChecking=accept-new: trust on first use
 *                  (create / first provisioning), the key is written there;
 *   SSH_HK_STRICT  StrictHostKeyChecking=yes: a missing or changed key is
 *                  refused, and the message names the file;
 *   SSH_HK_AUTO    TOFU while the file does not exist yet (a store made by
 *                  0.16.2 has none), STRICT once it does.
 * ssh's own diagnostics stay visible (no LogLevel=quiet).
 *
 * All functions return 0 (or a status, as stated) or -1 with the error set
 * (dm_seterr); none exits.
 */
#ifndef SSH_H
#define SSH_H

#include "util.h"

#define SSH_CONNECT_TIMEOUT 10   /* seconds, ConnectTimeout default */

enum ssh_hostkey { SSH_HK_STRICT = 0, SSH_HK_TOFU, SSH_HK_AUTO };

struct ssh_target {
	const char *host;          /* IP or name; required */
	int port;                  /* 0 = 22 */
	const char *user;          /* NULL or "" = root */
	const char *key;           /* private key; NULL or "" = ssh's defaults (no -i) */
	const char *known_hosts;   /* pinned host keys; NULL = no pinning at all
	                            * (UserKnownHostsFile=/dev/null, no checking):
	                            * only for callers that pin elsewhere */
	enum ssh_hostkey hostkey;
	int connect_timeout;       /* seconds; 0 = SSH_CONNECT_TIMEOUT */
};

/* Flags for ssh_argv. */
enum {
	SSH_TTY = 1,        /* -t: allocate a tty (interactive shell) */
	SSH_BATCH = 2,      /* BatchMode=yes: never prompt */
};

/* ---- quoting ----
 * Append s to sb as one word for a POSIX shell: 'text', each ' as '\''.
 * The empty string gives ''.  Safe for any byte except NUL. */
void sh_quote(struct strbuf *sb, const char *s);
/* Append the words of argv, each sh_quote'd, separated by one space. */
void sh_quote_argv(struct strbuf *sb, char *const argv[]);

/* ---- argv building (pure: no I/O except stat of known_hosts for AUTO) ---- */
/* The options every tool shares (ssh, scp, rsync -e, sshfs), as "-o" pairs:
 * -F /dev/null first when with_F, then ConnectTimeout, ControlMaster=no,
 * ControlPath=none, PasswordAuthentication=no, ServerAliveInterval=60,
 * UserKnownHostsFile, StrictHostKeyChecking (and BatchMode=yes when batch).
 * known_hosts paths are double-quoted for ssh's config parser. */
void ssh_common_opts(const struct ssh_target *t, int batch, struct strvec *av);
/* ssh [common] [-o IdentitiesOnly=yes -i key] -p port [-t] user@host [-- cmd…]
 * cmd: NULL (interactive login) or the words for the remote shell; ssh
 * joins them with spaces, as the remote login shell will read them. */
void ssh_argv(const struct ssh_target *t, unsigned flags, char *const cmd[], struct strvec *av);
/* The StrictHostKeyChecking value the target resolves to ("yes", "accept-new", "no"). */
const char *ssh_hostkey_policy(const struct ssh_target *t);
/* 1 if known_hosts names a key for host:port (a line starting "host " or
 * "[host]:port "; hashed entries are not recognised). */
int ssh_known_host(const char *known_hosts, const char *host, int port);

/* ---- scp / rsync (dm-scp) ----
 * One end of a copy: t NULL for a local path; user overrides t->user. */
struct scp_loc {
	const struct ssh_target *t;
	const char *user;
	const char *path;
};
enum { SCP_RECURSIVE = 1, SCP_QUIET = 2 };
/* The "[user@]host:path" argument (IPv6 hosts in brackets) or the local path.
 * Caller frees. */
char *scp_location(const struct scp_loc *l);
/* scp [common opts, known_hosts of both ends] -3 [-r] [-q]
 *     [-o IdentitiesOnly=yes] -o Port=P -o IdentityFile="key" (per remote end) SRC DST
 * as 0.16.2 orders it.  StrictHostKeyChecking=yes only when both ends resolve to yes. */
void ssh_scp_argv(const struct scp_loc *src, const struct scp_loc *dst, unsigned flags,
                  struct strvec *av);
/* rsync [--progress] -e "ssh OPTS" [-r] SRC DST; OPTS as for scp, each word
 * quoted for rsync's own -e splitter.  rsync cannot copy between two remote
 * ends: -1 with the error set. */
int ssh_rsync_argv(const struct scp_loc *src, const struct scp_loc *dst, unsigned flags,
                   struct strvec *av);

/* ---- running remote commands ----
 * Run cmd (one string, read by the remote shell: quote with sh_quote) on
 * the target with BatchMode, stdin from in/inlen (NULL = empty), stdout and
 * stderr collected in out/err (either may be NULL to discard; capped at
 * 8 MiB each).  deadline_ms: absolute now_ms() time, 0 = none.
 * Returns the remote exit status (0-255; 255 = ssh itself failed), or -1:
 * deadline passed (the client was killed), spawn failure, or host key
 * refused ("host key for H:P does not match the one pinned in FILE …").
 * For any status 255 the error is set too (from ssh's last stderr line).
 * Uses the native client when ssh_native_enabled(). */
int ssh_run(const struct ssh_target *t, const char *cmd, const char *in, size_t inlen,
            struct strbuf *out, struct strbuf *err, long long deadline_ms);
/* Same through the external ssh always / libssh2 always. */
int ssh_run_external(const struct ssh_target *t, const char *cmd, const char *in, size_t inlen,
                     struct strbuf *out, struct strbuf *err, long long deadline_ms);
int ssh_run_native(const struct ssh_target *t, const char *cmd, const char *in, size_t inlen,
                   struct strbuf *out, struct strbuf *err, long long deadline_ms);
/* Native client wanted: ssh_set_native(1) (--native-ssh), $MACHINE_NATIVE_SSH
 * true, or no `ssh` in PATH. */
int ssh_native_enabled(void);
void ssh_set_native(int on);

/* Connect once with trust-on-first-use so known_hosts holds the host's key
 * (what create does before provisioning).  0, or -1 with the error set. */
int ssh_pin_hostkey(const struct ssh_target *t, long long deadline_ms);

/* ---- keys ----
 * Make a new key pair at path (+ path.pub) with ssh-keygen: type "ed25519"
 * (NULL = default) or "rsa" (2048 bits, as 0.16.2).  Fails if path exists.
 * Both files end up mode 0600. */
int ssh_keygen(const char *path, const char *type, const char *comment);
/* Copy a user's key file (private or .pub) into a machine directory as a new
 * 0600 file, replacing dst; the copy in memory is wiped.  0, or -1 with
 * the error "unable to copy ssh key: …". */
int ssh_import_key(const char *src, const char *dst);

#endif
