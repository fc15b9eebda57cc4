/* image.c - the qemu driver's image cache, downloads, checks and overlays. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "image.h"
#include "json.h"
#include "proc.h"

#define INFO_CAP (1u << 20)
#define SUMS_CAP (1u << 20)
#define QEMU_IMG_TIMEOUT_MS 60000

#if defined(__aarch64__)
#define DEBIAN_ARCH "arm64"
#else
#define DEBIAN_ARCH "amd64"
#endif
#define DEBIAN_DIR "https://cloud.debian.org/images/cloud/bookworm/latest/"
#define DEBIAN_FILE "debian-12-genericcloud-" DEBIAN_ARCH ".qcow2"

const char *image_default_url(void)
{
	return DEBIAN_DIR DEBIAN_FILE;
}

const char *image_default_sums_url(void)
{
	return DEBIAN_DIR "SHA512SUMS";
}

static void say(const struct image_src *src, const char *fmt, ...) ATTR_PRINTF(2, 3);
static void say(const struct image_src *src, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;
	if (!src->log)
		return;
	va_start(ap, fmt);
	sb_vaddf(&sb, fmt, ap);
	va_end(ap);
	src->log(sb.buf);
	sb_release(&sb);
}

/* ---- checksums ---- */

static int is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') || (s[i] >= 'A' && s[i] <= 'F')))
			return 0;
	return 1;
}

static void lower_hex(char *dst, const char *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = (char)(src[i] >= 'A' && src[i] <= 'F' ? src[i] - 'A' + 'a' : src[i]);
	dst[n] = 0;
}

int image_parse_checksum(const char *spec, const char **algo, char hex[129])
{
	const char *h = spec;
	size_t n;
	*algo = NULL;
	if (str_starts(spec, "sha256:"))
		*algo = "sha256", h = spec + 7;
	else if (str_starts(spec, "sha512:"))
		*algo = "sha512", h = spec + 7;
	n = strlen(h);
	if (!*algo)
		*algo = n == 64 ? "sha256" : n == 128 ? "sha512" : NULL;
	if (!*algo || n != (strcmp(*algo, "sha256") ? 128u : 64u) || !is_hex(h, n))
		return dm_seterr("invalid checksum \"%s\": expected sha256:HEX (64 digits) or sha512:HEX (128)",
		                 spec);
	lower_hex(hex, h, n);
	return 0;
}

int image_sums_lookup(const char *text, const char *fname, char hex[129])
{
	size_t fl = strlen(fname);
	for (const char *line = text; line && *line;) {
		const char *nl = strchr(line, '\n'), *e = nl ? nl : line + strlen(line);
		const char *sp = line;
		size_t hl;
		while (sp < e && *sp != ' ' && *sp != '\t')
			sp++;
		hl = (size_t)(sp - line);
		if ((hl == 64 || hl == 128) && is_hex(line, hl)) {
			const char *name = sp;
			size_t nlen;
			while (name < e && (*name == ' ' || *name == '\t'))
				name++;
			if (name < e && *name == '*')
				name++;
			nlen = (size_t)(e - name);
			while (nlen && (name[nlen - 1] == '\r' || name[nlen - 1] == ' '))
				nlen--;
			if (nlen == fl && !memcmp(name, fname, fl)) {
				lower_hex(hex, line, hl);
				return 0;
			}
		} else if (str_starts(line, "SHA")) {
			/* BSD style: SHA512 (name) = HEX */
			const char *o = memchr(line, '(', (size_t)(e - line));
			if (o && (size_t)(e - o) > fl + 4 && !memcmp(o + 1, fname, fl) && o[1 + fl] == ')' &&
			    !memcmp(o + 2 + fl, " = ", 3)) {
				const char *hx = o + 5 + fl;
				size_t n = (size_t)(e - hx);
				while (n && (hx[n - 1] == '\r' || hx[n - 1] == ' '))
					n--;
				if ((n == 64 || n == 128) && is_hex(hx, n)) {
					lower_hex(hex, hx, n);
					return 0;
				}
			}
		}
		line = nl ? nl + 1 : NULL;
	}
	return dm_seterr("no checksum for %s in the checksum file", fname);
}

static const EVP_MD *md_of(const char *algo)
{
	return !strcmp(algo, "sha512") ? EVP_sha512() : EVP_sha256();
}

static void to_hex(const unsigned char *d, unsigned n, char hex[129])
{
	static const char x[] = "0123456789abcdef";
	for (unsigned i = 0; i < n; i++) {
		hex[2 * i] = x[d[i] >> 4];
		hex[2 * i + 1] = x[d[i] & 15];
	}
	hex[2 * n] = 0;
}

/* Copy src to dst (when dst != NULL) while hashing with sha256 and, when
 * algo2 is set, a second digest. */
static int copy_hash(const char *src, const char *dst, char hex256[129], const char *algo2, char hex2[129])
{
	EVP_MD_CTX *c1 = EVP_MD_CTX_new(), *c2 = algo2 ? EVP_MD_CTX_new() : NULL;
	unsigned char buf[1 << 16], d[EVP_MAX_MD_SIZE];
	unsigned dl;
	int in = open(src, O_RDONLY | O_CLOEXEC), out = -1, rc = -1;
	ssize_t r;

	EVP_DigestInit_ex(c1, EVP_sha256(), NULL);
	if (c2)
		EVP_DigestInit_ex(c2, md_of(algo2), NULL);
	if (in < 0) {
		dm_seterr_errno("open %s", src);
		goto out;
	}
	if (dst && (out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0) {
		dm_seterr_errno("create %s", dst);
		goto out;
	}
	for (;;) {
		r = read(in, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			dm_seterr_errno("read %s", src);
			goto out;
		}
		if (r == 0)
			break;
		EVP_DigestUpdate(c1, buf, (size_t)r);
		if (c2)
			EVP_DigestUpdate(c2, buf, (size_t)r);
		for (ssize_t off = 0; out >= 0 && off < r;) {
			ssize_t w = write(out, buf + off, (size_t)(r - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				dm_seterr_errno("write %s", dst);
				goto out;
			}
			off += w;
		}
	}
	if (out >= 0 && fsync(out) < 0) {
		dm_seterr_errno("fsync %s", dst);
		goto out;
	}
	EVP_DigestFinal_ex(c1, d, &dl);
	to_hex(d, dl, hex256);
	if (c2) {
		EVP_DigestFinal_ex(c2, d, &dl);
		to_hex(d, dl, hex2);
	}
	rc = 0;
out:
	if (in >= 0)
		close(in);
	if (out >= 0 && close(out) < 0 && rc == 0)
		rc = dm_seterr_errno("close %s", dst);
	if (rc < 0 && out >= 0)
		unlink(dst);
	EVP_MD_CTX_free(c1);
	EVP_MD_CTX_free(c2);
	return rc;
}

int image_hash_file(const char *path, const char *algo, char hex[129])
{
	char h256[129];
	if (!strcmp(algo, "sha256"))
		return copy_hash(path, NULL, hex, NULL, NULL);
	return copy_hash(path, NULL, h256, algo, hex);
}

/* ---- qemu-img checks ---- */

int image_check_info(const char *text, size_t len, char **format, long long *vsize)
{
	json_t *v = NULL, *fs;
	const char *fmt;
	int rc = -1;
	if (dj_parse(text, len, &v) < 0 || !json_is_object(v)) {
		json_decref(v);
		return dm_seterr("qemu-img info: unreadable output");
	}
	fmt = dj_str(v, "format", "");
	fs = dj_path(v, "format-specific.data");
	if (strcmp(fmt, "qcow2") && strcmp(fmt, "raw"))
		dm_seterr("image format \"%s\" is not supported (qcow2 or raw only)", fmt);
	else if (json_object_get(v, "backing-filename") || json_object_get(v, "full-backing-filename") ||
	         json_object_get(v, "backing-filename-format"))
		dm_seterr("refusing an image with a backing file (%s): it could read files of this host",
		          dj_str(v, "backing-filename", "?"));
	else if (fs && json_object_get(fs, "data-file"))
		dm_seterr("refusing an image with an external data file (%s): it could read files of this host",
		          dj_str(fs, "data-file", "?"));
	else if (dj_int(v, "virtual-size", 0) <= 0)
		dm_seterr("qemu-img info: no virtual size");
	else {
		*format = xstrdup(fmt);
		*vsize = dj_int(v, "virtual-size", 0);
		rc = 0;
	}
	json_decref(v);
	return rc;
}

int image_check(const char *qemu_img, const char *path, char **format, long long *vsize)
{
	char *argv[] = { (char *)(qemu_img ? qemu_img : "qemu-img"), (char *)"info", (char *)"--output=json",
		         (char *)path, NULL };
	struct strbuf out = STRBUF_INIT;
	int st, rc;
	out.cap = INFO_CAP;
	st = proc_run(argv, NULL, 0, &out, now_ms() + QEMU_IMG_TIMEOUT_MS);
	if (st != 0) {
		if (st > 0)
			dm_seterr("qemu-img info %s: exit status %d", path, st);
		sb_release(&out);
		return -1;
	}
	rc = image_check_info(out.buf, out.len, format, vsize);
	if (rc < 0) {
		char *m = xstrdup(dm_strerr());
		dm_seterr("%s: %s", path, m);
		free(m);
	}
	sb_release(&out);
	return rc;
}

int image_overlay(const char *qemu_img, const struct image_ref *base, const char *path, long long size)
{
	char sz[32];
	if (size < base->virtual_size)
		size = base->virtual_size;
	snprintf(sz, sizeof(sz), "%lld", size);
	char *argv[] = { (char *)(qemu_img ? qemu_img : "qemu-img"), (char *)"create", (char *)"-q",
		         (char *)"-f", (char *)"qcow2", (char *)"-F", base->format, (char *)"-b", base->disk,
		         (char *)path, sz, NULL };
	struct strbuf out = STRBUF_INIT;
	int st;
	out.cap = INFO_CAP;
	st = proc_run(argv, NULL, 0, &out, now_ms() + QEMU_IMG_TIMEOUT_MS);
	sb_release(&out);
	if (st != 0) {
		if (st > 0)
			dm_seterr("qemu-img create %s: exit status %d", path, st);
		return -1;
	}
	return 0;
}

/* ---- downloads ----
 * Through the curl program rather than libcurl: linking libcurl would load
 * some thirty shared libraries into every run of the driver, and `state`
 * (ls, status) must answer in a few milliseconds.  Resume (-C -), retries
 * and redirects are curl's; http and https only, also after redirects. */

static int download(const struct image_src *src, const char *url, const char *path, int resume)
{
	struct strvec av = STRVEC_INIT;
	struct proc p;
	int tty = isatty(2), st = 0, rc = -1;
	long long next = now_ms() + 5000;
	char *curl = proc_find("curl", getenv("PATH"));

	if (!curl)
		return dm_seterr("downloading %s needs the curl program (Debian: apt-get install curl)", url);
	sv_push(&av, curl);
	sv_push(&av, "--fail");
	sv_push(&av, "--location");
	sv_push(&av, "--max-redirs");
	sv_push(&av, "10");
	sv_push(&av, "--proto");
	sv_push(&av, "=http,https");
	sv_push(&av, "--proto-redir");
	sv_push(&av, "=http,https");
	sv_push(&av, "--retry");
	sv_push(&av, "4");
	sv_push(&av, "--retry-delay");
	sv_push(&av, "2");
	sv_push(&av, "--connect-timeout");
	sv_push(&av, "30");
	sv_push(&av, "--speed-limit");
	sv_push(&av, "1");
	sv_push(&av, "--speed-time");
	sv_push(&av, "60");
	if (resume)
		sv_push(&av, "--continue-at"), sv_push(&av, "-");
	sv_push(&av, tty ? "--progress-bar" : "--silent");
	if (!tty)
		sv_push(&av, "--show-error");
	sv_push(&av, "--output");
	sv_push(&av, path);
	sv_push(&av, "--");
	sv_push(&av, url);
	if (proc_spawn(&p, sv_argv(&av), NULL, 0) < 0)
		goto out;
	for (;;) {
		pid_t w = waitpid(p.pid, &st, WNOHANG);
		if (w == p.pid)
			break;
		if (w < 0 && errno != EINTR) {
			dm_seterr_errno("waitpid");
			goto out;
		}
		if (!tty && now_ms() >= next) {
			struct stat sb;
			if (stat(path, &sb) == 0)
				say(src, "Downloading: %.1f MiB so far", (double)sb.st_size / 1048576);
			next += 5000;
		}
		usleep(100 * 1000);
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		rc = 0;
	else if (WIFEXITED(st) && WEXITSTATUS(st) == 33 && resume) {
		unlink(path);     /* the server cannot resume: start over */
		rc = download(src, url, path, 0);
	} else if (WIFEXITED(st))
		dm_seterr("GET %s: curl failed (exit status %d%s)", url, WEXITSTATUS(st),
		          WEXITSTATUS(st) == 22 ? ": HTTP error" : WEXITSTATUS(st) == 6 || WEXITSTATUS(st) == 7
		          ? ": cannot connect" : "");
	else
		dm_seterr("GET %s: curl killed by signal %d", url, WTERMSIG(st));
out:
	sv_clear(&av);
	free(curl);
	return rc;
}

/* ---- the cache ---- */

struct cache {
	char *images, *index;
};

static int cache_open(const char *cache_dir, struct cache *c)
{
	char *q = xasprintf("%s/qemu", cache_dir);
	c->images = xasprintf("%s/images", q);
	c->index = xasprintf("%s/index", q);
	free(q);
	if (mkdir_p(c->images, 0700) < 0 || mkdir_p(c->index, 0700) < 0)
		return -1;
	return 0;
}

static void cache_close(struct cache *c)
{
	free(c->images);
	free(c->index);
}

static char *index_path(struct cache *c, const char *kind, const char *key)
{
	EVP_MD_CTX *x = EVP_MD_CTX_new();
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned dl;
	char hex[129];
	EVP_DigestInit_ex(x, EVP_sha256(), NULL);
	EVP_DigestUpdate(x, kind, strlen(kind) + 1);
	EVP_DigestUpdate(x, key, strlen(key));
	EVP_DigestFinal_ex(x, d, &dl);
	EVP_MD_CTX_free(x);
	to_hex(d, dl, hex);
	return xasprintf("%s/%s.json", c->index, hex);
}

static json_t *index_read(const char *path)
{
	struct strbuf sb = STRBUF_INIT;
	json_t *v = NULL;
	if (sb_read_file(&sb, path, 64u << 10) == 0 && dj_parse(sb.buf, sb.len, &v) == 0 && !json_is_object(v)) {
		json_decref(v);
		v = NULL;
	}
	sb_release(&sb);
	return v;
}

static void index_write(const char *path, json_t *v)
{
	struct strbuf sb = STRBUF_INIT;
	dj_encode(v, 4, 0, &sb);
	sb_addc(&sb, '\n');
	if (write_file_atomic(path, sb.buf, sb.len, 0600) < 0)
		dm_debugf("image cache index: %s", dm_strerr());
	sb_release(&sb);
}

static int blob_ok(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Move a verified temp file to images/NAME (0444); *blob = the path. */
static int blob_commit(struct cache *c, const char *tmp, const char *name, char **blob)
{
	char *dst = xasprintf("%s/%s", c->images, name);
	if (chmod(tmp, 0444) < 0 || rename(tmp, dst) < 0) {
		dm_seterr_errno("cache %s", dst);
		unlink(tmp);
		free(dst);
		return -1;
	}
	*blob = dst;
	return 0;
}

static char *tmp_name(struct cache *c)
{
	return xasprintf("%s/.tmp-%ld-%lld", c->images, (long)getpid(), now_ms());
}

/* A local file into the cache (copy + hash), reusing the index entry when the
 * file did not change.  digest gets "sha256:HEX". */
static int fetch_local(struct cache *c, const struct image_src *src, const char *path, const char *checksum,
                       char **blob, char **digest)
{
	struct stat st;
	char *real = realpath(path, NULL), *ip = NULL, *tmp = NULL;
	char h256[129], h2[129], want[129];
	const char *algo = NULL;
	json_t *ix;
	int rc = -1;

	if (!real || stat(real, &st) < 0 || !S_ISREG(st.st_mode)) {
		dm_seterr(real ? "%s: not a regular file" : "%s: %s", path, strerror(errno));
		free(real);
		return -1;
	}
	if (checksum && *checksum && image_parse_checksum(checksum, &algo, want) < 0)
		goto out;
	ip = index_path(c, "local", real);
	ix = index_read(ip);
	if (ix && dj_int(ix, "Dev", -1) == (long long)st.st_dev && dj_int(ix, "Ino", -1) == (long long)st.st_ino &&
	    dj_int(ix, "Size", -1) == (long long)st.st_size && dj_int(ix, "Mtime", -1) == (long long)st.st_mtime &&
	    dj_int(ix, "MtimeNs", -1) == (long long)st.st_mtim.tv_nsec && blob_ok(dj_str(ix, "Blob", "")) &&
	    (!algo || !strcmp(dj_str(ix, algo, ""), want))) {
		*blob = xstrdup(dj_str(ix, "Blob", ""));
		*digest = xasprintf("sha256:%s", dj_str(ix, "sha256", ""));
		json_decref(ix);
		rc = 0;
		goto out;
	}
	json_decref(ix);
	say(src, "Copying %s into the image cache...", real);
	tmp = tmp_name(c);
	if (copy_hash(real, tmp, h256, algo && strcmp(algo, "sha256") ? algo : NULL, h2) < 0)
		goto out;
	if (algo && strcmp(!strcmp(algo, "sha256") ? h256 : h2, want)) {
		dm_seterr("%s: %s checksum mismatch: got %s, want %s", path, algo,
		          !strcmp(algo, "sha256") ? h256 : h2, want);
		unlink(tmp);
		goto out;
	}
	{
		char *name = xasprintf("sha256-%s", h256);
		char *dst = xasprintf("%s/%s", c->images, name);
		if (blob_ok(dst)) {
			unlink(tmp);
			*blob = dst;
		} else if (blob_commit(c, tmp, name, blob) < 0) {
			free(dst);
			free(name);
			goto out;
		} else {
			free(dst);
		}
		free(name);
	}
	*digest = xasprintf("sha256:%s", h256);
	ix = json_object();
	dj_set_str(ix, "Path", real);
	dj_set_int(ix, "Dev", (long long)st.st_dev);
	dj_set_int(ix, "Ino", (long long)st.st_ino);
	dj_set_int(ix, "Size", (long long)st.st_size);
	dj_set_int(ix, "Mtime", (long long)st.st_mtime);
	dj_set_int(ix, "MtimeNs", (long long)st.st_mtim.tv_nsec);
	dj_set_str(ix, "Blob", *blob);
	dj_set_str(ix, "sha256", h256);
	if (algo && strcmp(algo, "sha256"))
		dj_set_str(ix, algo, h2);
	index_write(ip, ix);
	json_decref(ix);
	rc = 0;
out:
	free(real);
	free(ip);
	free(tmp);
	return rc;
}

/* A URL into the cache.  With a checksum (given, or from the default
 * image's SHA512SUMS) the blob is named by it; without, by the URL. */
static int fetch_url(struct cache *c, const struct image_src *src, const char *url, const char *checksum,
                     int is_default, char **blob, char **digest)
{
	const char *algo = NULL;
	char want[129], h256[129];
	char *ip = NULL, *name = NULL, *dst = NULL, *part = NULL;
	json_t *ix;
	int rc = -1;

	if (checksum && *checksum) {
		if (image_parse_checksum(checksum, &algo, want) < 0)
			return -1;
	} else if (is_default) {
		char *sums = xasprintf("%s/.sums-%ld", c->images, (long)getpid());
		struct strbuf sb = STRBUF_INIT;
		unlink(sums);
		say(src, "Fetching %s...", image_default_sums_url());
		if (download(src, image_default_sums_url(), sums, 0) < 0 ||
		    sb_read_file(&sb, sums, SUMS_CAP) < 0 || image_sums_lookup(sb.buf, DEBIAN_FILE, want) < 0) {
			char *m = xstrdup(dm_strerr());
			dm_seterr("cannot get the checksum of the default image: %s", m);
			free(m);
			unlink(sums);
			free(sums);
			sb_release(&sb);
			return -1;
		}
		unlink(sums);
		free(sums);
		sb_release(&sb);
		algo = strlen(want) == 128 ? "sha512" : "sha256";
	}
	if (algo) {
		name = xasprintf("%s-%s", algo, want);
		dst = xasprintf("%s/%s", c->images, name);
		if (blob_ok(dst)) {
			*blob = dst;
			*digest = xasprintf("%s:%s", algo, want);
			free(name);
			return 0;
		}
	} else {
		ip = index_path(c, "url", url);
		ix = index_read(ip);
		if (ix && !strcmp(dj_str(ix, "URL", ""), url) && blob_ok(dj_str(ix, "Blob", ""))) {
			*blob = xstrdup(dj_str(ix, "Blob", ""));
			*digest = xasprintf("sha256:%s", dj_str(ix, "sha256", ""));
			say(src, "Using the cached download of %s", url);
			json_decref(ix);
			free(ip);
			return 0;
		}
		json_decref(ix);
		say(src, "Warning: no checksum given for %s: the download is not verified "
		    "(use --qemu-image-checksum)", url);
	}
	/* a stable partial-download name, so an interrupted download resumes */
	{
		char *ipx = index_path(c, "download", url);
		char *base = strrchr(ipx, '/') + 1;
		part = xasprintf("%s/.dl-%.*s", c->images, 32, base);
		free(ipx);
	}
	say(src, "Downloading %s...", url);
	if (download(src, url, part, 1) < 0)
		goto out;
	if (algo) {
		char got[129];
		if (image_hash_file(part, algo, got) < 0)
			goto out;
		if (strcmp(got, want)) {
			dm_seterr("%s: %s checksum mismatch: got %s, want %s (the download was removed)", url, algo,
			          got, want);
			unlink(part);
			goto out;
		}
	}
	if (image_hash_file(part, "sha256", h256) < 0)
		goto out;
	if (!name)
		name = xasprintf("sha256-%s", h256);
	if (blob_commit(c, part, name, blob) < 0)
		goto out;
	*digest = algo ? xasprintf("%s:%s", algo, want) : xasprintf("sha256:%s", h256);
	if (ip) {
		ix = json_object();
		dj_set_str(ix, "URL", url);
		dj_set_str(ix, "Blob", *blob);
		dj_set_str(ix, "sha256", h256);
		index_write(ip, ix);
		json_decref(ix);
	}
	rc = 0;
out:
	free(ip);
	free(name);
	free(dst);
	free(part);
	return rc;
}

static int is_url(const char *s)
{
	return str_starts(s, "http://") || str_starts(s, "https://");
}

/* Fetch one thing (path, file:// or URL). */
static int fetch(struct cache *c, const struct image_src *src, const char *spec, const char *checksum,
                 char **blob, char **digest)
{
	char *dig = NULL;
	int rc;
	if (str_starts(spec, "file://"))
		rc = fetch_local(c, src, spec + 7, checksum, blob, &dig);
	else if (is_url(spec))
		rc = fetch_url(c, src, spec, checksum, !strcmp(spec, image_default_url()), blob, &dig);
	else if (strstr(spec, "://"))
		rc = dm_seterr("%s: unsupported URL scheme (http, https or file)", spec);
	else
		rc = fetch_local(c, src, spec, checksum, blob, &dig);
	if (digest)
		*digest = dig;
	else
		free(dig);
	return rc;
}

int image_resolve(const char *cache_dir, const struct image_src *src, struct image_ref *out)
{
	struct cache c;
	struct stat st;
	const char *spec = src->spec && *src->spec ? src->spec : image_default_url();
	char *disk = NULL, *kernel = src->kernel && *src->kernel ? xstrdup(src->kernel) : NULL;
	char *initrd = src->initrd && *src->initrd ? xstrdup(src->initrd) : NULL;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (cache_open(cache_dir, &c) < 0)
		return -1;
	if (!strstr(spec, "://") && stat(spec, &st) == 0 && S_ISDIR(st.st_mode)) {
		/* an image directory from tools/build-image.sh */
		struct strbuf cl = STRBUF_INIT;
		char *p = xasprintf("%s/cmdline", spec);
		disk = xasprintf("%s/disk.qcow2", spec);
		if (!kernel)
			kernel = xasprintf("%s/vmlinuz", spec);
		if (!initrd) {
			char *ip = xasprintf("%s/initrd", spec);
			if (access(ip, F_OK) == 0)
				initrd = ip;
			else
				free(ip);
		}
		if (sb_read_file(&cl, p, 4096) == 0) {
			sb_rtrim(&cl);
			char *nl = strchr(cl.buf, '\n');
			if (nl)
				*nl = 0;
			if (*cl.buf)
				out->append = xstrdup(cl.buf);
		}
		sb_release(&cl);
		free(p);
	} else {
		disk = xstrdup(spec);
	}
	if (fetch(&c, src, disk, src->checksum, &out->disk, &out->digest) < 0)
		goto out;
	if (image_check(src->qemu_img, out->disk, &out->format, &out->virtual_size) < 0)
		goto out;
	if (kernel && fetch(&c, src, kernel, NULL, &out->kernel, NULL) < 0)
		goto out;
	if (initrd && fetch(&c, src, initrd, NULL, &out->initrd, NULL) < 0)
		goto out;
	rc = 0;
out:
	if (rc < 0)
		image_ref_free(out);
	free(disk);
	free(kernel);
	free(initrd);
	cache_close(&c);
	return rc;
}

void image_ref_free(struct image_ref *r)
{
	free(r->disk);
	free(r->format);
	free(r->kernel);
	free(r->initrd);
	free(r->append);
	free(r->digest);
	memset(r, 0, sizeof(*r));
}
