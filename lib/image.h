/* image.h - VM disk images for the qemu driver: a content-addressed cache
 * in the store's cache/, checked downloads, safety checks on qcow2 files,
 * and per-machine overlays.
 *
 * Cache layout (all under CACHE/qemu, directories 0700, blobs 0444):
 *   images/sha256-HEX | images/sha512-HEX   content blobs (disk, kernel, initrd)
 *   index/HEX.json      what a local path (device, inode, size, mtime) or
 *                       a URL (+ checksum) resolved to, so nothing is hashed
 *                       or fetched twice
 * A local image is copied into the cache (hashing on the way), so a machine
 * never depends on the file it was made from, and a later change to that file
 * cannot corrupt the machine's overlay.
 *
 * Safety (CVE-2023-32684 and kin): an image is used only when
 * `qemu-img info --output=json` reports format qcow2 or raw, and for qcow2
 * no backing file and no external data file (either would let an image
 * read files of the host).
 *
 * Functions return 0 or -1 with the error set; none exits.
 */
#ifndef IMAGE_H
#define IMAGE_H

#include "util.h"

/* The official Debian 12 genericcloud image for this host's architecture and
 * the SHA512SUMS file published next to it. */
const char *image_default_url(void);
const char *image_default_sums_url(void);

struct image_src {
	const char *spec;          /* URL (http, https, file://), a file, or an image
	                            * directory made by tools/build-image.sh
	                            * (disk.qcow2 + vmlinuz + initrd + cmdline) */
	const char *checksum;      /* "sha256:HEX", "sha512:HEX", bare HEX, or NULL/"" */
	const char *kernel, *initrd; /* direct boot files (paths/URLs), override the directory's */
	const char *qemu_img;      /* qemu-img binary ("qemu-img" if NULL) */
	void (*log)(const char *text);   /* progress lines for the user; may be NULL */
};

struct image_ref {
	char *disk;                /* cached blob, read-only */
	char *format;              /* "qcow2" or "raw" */
	long long virtual_size;    /* bytes */
	char *kernel, *initrd;     /* cached blobs or NULL */
	char *append;              /* the directory's cmdline, or NULL */
	char *digest;              /* "sha256:HEX" / "sha512:HEX" of the disk */
};

/* Resolve src into the cache under cache_dir (the store's cache/):
 * download (progress on stderr, resume, checksum), copy or reuse, check. */
int image_resolve(const char *cache_dir, const struct image_src *src, struct image_ref *out);
void image_ref_free(struct image_ref *r);

/* qemu-img info checks of one file: *format "qcow2"/"raw" (caller frees),
 * *vsize bytes.  -1 for other formats, a backing file or a data file. */
int image_check(const char *qemu_img, const char *path, char **format, long long *vsize);
/* The checks on qemu-img info's JSON text (for tests). */
int image_check_info(const char *json_text, size_t len, char **format, long long *vsize);

/* Create the machine's disk: a qcow2 overlay of base, size bytes (at least
 * the base's virtual size). */
int image_overlay(const char *qemu_img, const struct image_ref *base, const char *path,
                  long long size);

/* Parse a checksum spec into algo ("sha256"/"sha512") and lower-case hex. */
int image_parse_checksum(const char *spec, const char **algo, char hex[129]);
/* The hex digest for file name fname in a SHA*SUMS text ("HEX  name" or
 * "HEX *name" lines; BSD "SHA512 (name) = HEX" too). */
int image_sums_lookup(const char *text, const char *fname, char hex[129]);
/* Hash a file: algo "sha256" or "sha512", hex out. */
int image_hash_file(const char *path, const char *algo, char hex[129]);

#endif
