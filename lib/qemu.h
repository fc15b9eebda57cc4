/* qemu.h - running local QEMU virtual machines: the command line, the QMP
 * control socket, the accelerator choice, loopback ports, and the cloud-init
 * NoCloud seed (an ISO 9660 image written here, no external tool).
 *
 * Network rule: the VM's user-mode network forwards host ports on 127.0.0.1
 * only; with `restrict` it reaches nothing else (slirp restrict=on).  The
 * optional private link between VMs is a QEMU socket/dgram netdev on
 * 127.0.0.1 too.
 *
 * Functions return 0 or -1 with the error set (dm_seterr); none exits.
 */
#ifndef QEMU_H
#define QEMU_H

#include <jansson.h>
#include <sys/types.h>

#include "util.h"

/* ---- the command line ---- */
struct qemu_vm {
	const char *binary;        /* qemu-system-ARCH (path or name) */
	const char *name;          /* machine name: -name dm-NAME */
	const char *accel;         /* "kvm", "hvf" or "tcg" */
	int cpus, memory_mb;
	const char *disk;          /* qcow2 overlay */
	const char *seed;          /* NoCloud ISO, NULL = none */
	const char *kernel, *initrd, *append;   /* direct kernel boot; NULL = firmware boot */
	int ssh_port;              /* 127.0.0.1:ssh_port -> guest :22 */
	int engine_port;           /* 127.0.0.1:engine_port -> guest :engine_port; 0 = none */
	int restrict_net;          /* slirp restrict=on */
	const char *network;       /* private link spec (qemu_network_parse), NULL = none */
	const char *mac;           /* MAC of the private link NIC */
	const char *pidfile, *qmp, *console;
};
/* Append the argv (binary first, -daemonize last) to av; -1 when a field is
 * invalid (bad accel, bad network spec). */
int qemu_argv(const struct qemu_vm *vm, struct strvec *av);
/* The default binary for this host: qemu-system-x86_64 / qemu-system-aarch64. */
const char *qemu_default_binary(void);

/* Private link spec: "listen:PORT" | "connect:PORT" (TCP socket netdev) or
 * "dgram:LOCALPORT:REMOTEPORT" (UDP), all on 127.0.0.1.  Appends the netdev
 * option text ("socket,id=…,listen=127.0.0.1:PORT") to out when out != NULL. */
int qemu_network_parse(const char *spec, const char *id, struct strbuf *out);
/* A locally administered MAC 52:54:00:xx:xx:xx derived from name (stable). */
void qemu_mac_for(const char *name, char mac[18]);

/* ---- ports on 127.0.0.1 ---- */
/* A port nobody listens on now (bind to port 0, read it back). */
int qemu_free_port(int *port);
/* 1 if port can be bound on 127.0.0.1 now, else 0. */
int qemu_port_available(int port);

/* ---- the running process ---- */
/* PID from pidfile when it is alive and its command line names qmp (our
 * QEMU, not a recycled PID); 0 when not running; never -1. */
pid_t qemu_running_pid(const char *pidfile, const char *qmp);
/* Start argv (QEMU with -daemonize): returns when the daemon has forked
 * and written its pidfile.  QEMU's stderr is returned in the error text. */
int qemu_start(char *const argv[], long long deadline_ms);

/* ---- QMP ---- */
/* Connect to the QMP socket, read the greeting, negotiate capabilities.
 * *fd is the connected socket. */
int qmp_open(const char *sock, long long deadline_ms, int *fd);
/* Send {"execute":cmd[,"arguments":args]} and wait for its "return"
 * (events are skipped).  *ret (may be NULL) gets a new reference to the
 * return value.  An {"error"} reply is -1 with its desc. */
int qmp_exec(int fd, const char *cmd, json_t *args, json_t **ret, long long deadline_ms);
/* One call on a fresh connection (open, exec, close). */
int qmp_call(const char *sock, const char *cmd, json_t **ret, long long deadline_ms);
/* The machine state for a QMP "status" (query-status): running -> Running,
 * paused/suspended -> Paused, shutdown -> Stopping, inmigrate/prelaunch/
 * restore-vm -> Starting, save-vm -> Saved, internal-error/io-error/
 * guest-panicked -> Error; anything else "". */
const char *qemu_state_of_status(const char *status);

/* ---- accelerator ---- */
/* The accelerator to use.  want: "kvm", "hvf", "tcg" or "auto".  auto:
 * hvf on macOS; kvm when /dev/kvm can be opened read-write AND a bounded
 * probe boot of probe_kernel (or probe_disk with firmware boot) under KVM
 * prints the kernel's "Linux version" line followed by a later boot message
 * within probe_ms; else tcg.  The verdict is cached in cache_file (JSON,
 * keyed by the binary and the probed image) when cache_file != NULL.
 * *why (may be NULL) receives a one-line reason (static or owned by the
 * caller: free it). */
int qemu_accel_choose(const char *want, const char *binary, const char *probe_kernel,
                      const char *probe_disk, int probe_ms, const char *cache_file,
                      const char **accel, char **why);

/* ---- cloud-init NoCloud seed ---- */
struct seed_file {
	const char *name;          /* "user-data", "meta-data", "network-config" */
	const char *data;
	size_t len;
};
/* Write an ISO 9660 image with volume label `label` ("cidata") holding the
 * files in its root directory (names as given, 1-30 chars of [a-z0-9._-];
 * readers map ISO names to lower case).  Written temp + rename, mode 0600. */
int seed_iso_write(const char *path, const char *label, const struct seed_file *files, size_t n);
/* Build the ISO in memory (what seed_iso_write writes).  out gets the bytes. */
int seed_iso_build(const char *label, const struct seed_file *files, size_t n, struct strbuf *out);

struct cloud_init {
	const char *hostname;      /* machine name */
	const char *instance_id;   /* stable per machine */
	const char *user;          /* SSH user, created with sudo NOPASSWD */
	const char *authorized_key;    /* "ssh-ed25519 AAAA… comment" */
	const char *hostkey_private;   /* OpenSSH private ed25519 host key text */
	const char *hostkey_public;    /* its public line */
	const char *user_data;     /* the user's own user-data (or NULL) */
	size_t user_data_len;
};
/* user-data: a MIME multipart with our #cloud-config (user, key, hostname,
 * host keys, no other host keys generated), the user's part when given
 * (#cloud-config, #!script, #include, #cloud-boothook, #part-handler or
 * #upstart-job), and a final script that adds the user to the docker group
 * when it exists and disables cloud-init for later boots (boots after the
 * first need no seed processing: faster starts).  -1 for user-data of an
 * unknown type. */
int cloud_init_user_data(const struct cloud_init *ci, struct strbuf *out);
int cloud_init_meta_data(const struct cloud_init *ci, struct strbuf *out);

#endif
