/* provision.h - turning an SSH-reachable Linux box into a TLS Docker host
 * (DESIGN §6; reference §2 ConfigureAuth, §3 provisioning, appendix §C).
 *
 * Pieces, each usable on its own (the unit tests drive the pure ones):
 *   osr_parse            /etc/os-release text -> struct os_release (0.16.2 rules)
 *   provisioner_detect   the provisioner for an os-release, from one ordered table
 *   provision_render     the daemon options file (systemd drop-in, boot2docker
 *                        profile, DOCKER_OPTS file) from EngineOptions
 *   provision_host       every step over SSH, printing 0.16.2's step messages
 *   provision_upgrade    the engine upgrade through the OS package manager
 *
 * Waits are bounded: MACHINE_SSH_WAIT_TIMEOUT (seconds, default 30) for the
 * machine to run and answer `exit 0` over SSH (short attempts),
 * MACHINE_DOCKER_WAIT_TIMEOUT (seconds, default 60) for the engine's TLS
 * port to answer a handshake after the restart.
 *
 * Functions return 0 or -1 with the error set (dm_seterr) in 0.16.2's words
 * where it had them; none exits.
 */
#ifndef PROVISION_H
#define PROVISION_H

#include <jansson.h>

#include "store.h"
#include "util.h"

#define OSR_CAP (64u << 10)     /* bytes of /etc/os-release read */

/* ---- os-release ----
 * KEY=VAL lines.  A line must split on '=' into exactly two parts, else it
 * is skipped (counted in bad_lines; empty lines are not counted).  A value
 * starting with '"' loses its first and last byte (0.16.2); a value wrapped
 * in single quotes loses them too (os-release(5)).  A trailing '\r' is
 * dropped.  The last assignment of a key wins.  Input longer than OSR_CAP
 * is refused (-1, "os-release exceeds N bytes"); NUL bytes end a value. */
struct os_release {
	char *id, *id_like, *name, *pretty_name, *version, *version_id;
	int bad_lines;
};
int osr_parse(const char *text, size_t len, struct os_release *osr);
void osr_free(struct os_release *osr);

/* ---- the provisioner table ---- */
enum prov_init {
	INIT_SYSTEMD,            /* systemctl daemon-reload + systemctl -f restart docker */
	INIT_UPSTART,            /* service docker restart */
	INIT_B2D,                /* /etc/init.d/docker restart */
	INIT_RANCHER,            /* system-docker restart docker */
};
enum prov_pkg { PKG_NONE, PKG_APT, PKG_YUM, PKG_PACMAN, PKG_ZYPPER };
enum prov_install {
	INSTALL_NONE,            /* Docker comes with the OS */
	INSTALL_URL,             /* curl -sSL --engine-install-url | sh - */
	INSTALL_PKG,             /* the distribution's `docker` package */
};
enum daemon_form {
	FORM_SYSTEMD,            /* [Service] ExecStart= drop-in */
	FORM_B2D,                /* boot2docker profile: EXTRA_ARGS, DOCKER_HOST, … */
	FORM_DOCKER_OPTS,        /* DOCKER_OPTS='…' + export lines (/etc/default/docker) */
};

struct provisioner {
	const char *name;        /* as in "Provisioning with NAME..." */
	const char *ids;         /* os-release IDs it is for, space-separated */
	enum prov_init init;
	enum prov_pkg pkg;
	enum prov_install install;
	enum daemon_form form;
	const char *opts_file;   /* remote daemon options file */
	const char *cert_dir;    /* remote dir of ca.pem, server.pem, server-key.pem */
	const char *storage;     /* default storage driver, NULL = none rendered */
};

/* Deterministic choice: the first table entry naming ID (ubuntu: upstart for
 * VERSION_ID < 15.04); else, for each ID_LIKE word in order, the first entry
 * naming that word (so ID_LIKE=suse -> openSUSE, ID_LIKE=arch -> arch).
 * NULL with the error "OS type not recognized" when nothing matches. */
const struct provisioner *provisioner_detect(const struct os_release *osr);
/* Entry by name ("debian"), NULL if none. */
const struct provisioner *provisioner_find(const char *name);

/* ---- the daemon options ---- */
struct daemon_cfg {
	json_t *engine;          /* HostOptions.EngineOptions (borrowed) */
	const char *driver_name; /* the provider=NAME label */
	const char *dockerd;     /* daemon binary ("/usr/sbin/dockerd"), FORM_SYSTEMD only */
	const char *cert_dir;    /* remote cert dir */
	int port;                /* engine TLS port */
	const char *storage;     /* storage driver to render; NULL or "" = none */
};
/* Render the options file for form.  Every EngineOptions field is used:
 * ArbitraryFlags (--k=v), Labels (+ provider=DRIVER), InsecureRegistry,
 * RegistryMirror, Dns, GraphDir (--data-root), Ipv6, LogLevel,
 * SelinuxEnabled, Env.  FORM_SYSTEMD quotes each ExecStart word and each
 * Environment= assignment per systemd.service(5)/systemd.syntax(7)
 * (C escapes in double quotes, % as %%, $ as $$ in ExecStart), so any byte
 * but NUL arrives intact.  The shell forms quote with sh_quote; since their
 * consumers word-split the argument variable, an argument containing
 * whitespace is refused there (-1).  Env entries must be NAME=VALUE with a
 * valid NAME (-1 otherwise).  Output appended to out. */
int provision_render(const struct daemon_cfg *c, enum daemon_form form, struct strbuf *out);
/* The dockerd arguments of c (the words after the binary), for tests and
 * callers that need them as a vector. */
void provision_daemon_args(const struct daemon_cfg *c, struct strvec *args);

/* One word of an ExecStart= line (bare when made of [A-Za-z0-9_./:=,+@-]
 * only, else double-quoted with escapes), and one quoted Environment=
 * assignment ("K=V" with C escapes, % as %%). */
void systemd_quote_exec(struct strbuf *sb, const char *word);
void systemd_quote_env(struct strbuf *sb, const char *assignment);

/* ---- running ---- */
enum {
	PROV_CREATE = 1,         /* create variant: wait for Running, the detecting
	                          * messages, and the final connection check */
};
struct provision_opts {
	unsigned flags;
	int ssh_wait_ms;         /* 0 = MACHINE_SSH_WAIT_TIMEOUT or 30 s */
	int docker_wait_ms;      /* 0 = MACHINE_DOCKER_WAIT_TIMEOUT or 60 s */
};

/* Provision h (a loaded host record; the caller holds its machine lock):
 * step messages on stdout (flushed per line), 0.16.2's order:
 *   [create] Waiting for machine to be running, this may take a few minutes...
 *   [create] Detecting operating system of created instance...
 *   Waiting for SSH to be available...
 *   Detecting the provisioner...
 *   Provisioning with NAME...
 *   [Installing Docker...]
 *   Copying certs to the local machine directory...
 *   Copying certs to the remote machine...
 *   Setting Docker configuration on the remote daemon...
 *   [swarm]  Configuring swarm... + one line (swarm_provision, swarm.h)
 *   [create] Checking connection to Docker...
 *   [create] Docker is up and running!
 * Returns 0, or -1 with the error set to the complete message after the
 * caller's prefix (create: "Error creating machine: " is part of it). */
int provision_host(const struct store *st, json_t *h, const struct provision_opts *po);

/* Upgrade the engine through the OS package manager (apt-get install
 * --only-upgrade of the installed docker packages, yum/dnf upgrade, pacman,
 * zypper).  Prints the SSH/detect messages, "Upgrading docker...",
 * "Restarting docker..." and the versions before and after; an upgrade that
 * changed nothing is reported as such and does not restart the engine. */
int provision_upgrade(const struct store *st, json_t *h, const struct provision_opts *po);

/* Run fn(name, ctx) for each name at once (one child process per name when
 * there are several; output goes straight to stdout/stderr).  fn returns an
 * exit status.  Returns the first non-zero status, 0 when all succeeded. */
int provision_each(const struct strvec *names, int (*fn)(const char *name, void *ctx), void *ctx);

#endif
