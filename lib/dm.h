/* dm.h - project-wide constants: exit status table, version, limits.
 *
 * Exit status (every binary, see EXIT STATUS in the man pages):
 *   DM_EXIT_OK         0  success
 *   DM_EXIT_FAIL       1  the operation failed (message on stderr)
 *   DM_EXIT_USAGE      2  bad command line (unknown flag, bad value)
 *   DM_EXIT_PRECREATE  3  create: the driver's pre-create check failed
 * dm-ssh returns the remote command's own status instead.
 */
#ifndef DM_H
#define DM_H

enum {
	DM_EXIT_OK = 0,
	DM_EXIT_FAIL = 1,
	DM_EXIT_USAGE = 2,
	DM_EXIT_PRECREATE = 3,
};

/* Size caps for anything read from a file, a pipe or the network. */
#define DM_CAP_CONFIG   (4u << 20)   /* config.json */
#define DM_CAP_LINE     (1u << 20)   /* one driver protocol line */
#define DM_CAP_HTTP     (8u << 20)   /* one HTTP reply body */

extern const char dm_version[];      /* "0.16.2" */
extern const char dm_build[];        /* short commit id */
extern const char dm_libexecdir[];   /* compiled-in helper directory */

#endif
