// SPDX-License-Identifier: MIT
/*
 * nhot_file_replace(): the one way libnhot writes a file (nhot_private.h).
 *
 * The old writers opened "PATH.tmp" with O_CREAT|O_TRUNC and renamed it over
 * PATH: a symlink planted at PATH.tmp redirected the write, a device given as
 * PATH (-o /dev/full) was replaced by a regular file, and a short write
 * could go unreported. Here the target is checked first (a regular file, a
 * link to one, or nothing yet), the temporary file gets a random name and is
 * created with O_EXCL (which never follows a link), and every step's error is
 * reported with the temporary file removed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model_err.h"
#include "nhot_private.h"

/* Attempts at a free temporary name before giving up with -EEXIST. */
#define TMP_NAME_TRIES	64

/* The file being written: where it goes and the temporary file on its way. */
struct replace {
	char *target;	/* path, or the file its symlink resolves to */
	char *tmp;	/* DIR/.NAME.XXXXXXXX.tmp, in the target's directory */
	mode_t mode;	/* an existing target's permission bits */
	int exists;
	int fd;
};

static const char *file_kind(mode_t mode)
{
	if (S_ISCHR(mode))
		return "a character device";
	if (S_ISBLK(mode))
		return "a block device";
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISSOCK(mode))
		return "a socket";
	return "not a regular file";
}

/*
 * Sets r->target: path itself, or for a symbolic link the file it resolves
 * to (so the link survives), and checks that an existing target is a
 * regular file.
 */
static int replace_resolve(struct replace *r, const char *path, char *err, size_t err_len)
{
	struct stat st;

	if (lstat(path, &st)) {
		if (errno != ENOENT)
			return model_fail(err, err_len, -errno, "%s: %s", path, strerror(errno));
		r->target = strdup(path);
		return r->target ? 0 : model_fail(err, err_len, -ENOMEM, "out of memory");
	}
	if (S_ISLNK(st.st_mode)) {
		r->target = realpath(path, NULL);
		if (!r->target)
			return model_fail(err, err_len, -errno, "%s: a symbolic link to %s",
					  path, errno == ENOENT ? "nothing (dangling)" :
					  strerror(errno));
		if (stat(r->target, &st))
			return model_fail(err, err_len, -errno, "%s: %s", r->target,
					  strerror(errno));
	} else {
		r->target = strdup(path);
		if (!r->target)
			return model_fail(err, err_len, -ENOMEM, "out of memory");
	}
	if (!S_ISREG(st.st_mode))
		return model_fail(err, err_len, -EINVAL,
				  "%s: is %s, not a regular file: refusing to replace it",
				  path, file_kind(st.st_mode));
	r->exists = 1;
	r->mode = st.st_mode & 0777;
	return 0;
}

/* r->tmp: DIR/.NAME.RANDOM.tmp beside r->target, or NULL on ENOMEM. */
static int tmp_name(struct replace *r, const char *name, int dir_len, unsigned int try)
{
	uint32_t rnd;

	if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd))
		rnd = (uint32_t)getpid() * 2654435761u + try;
	free(r->tmp);
	if (asprintf(&r->tmp, "%.*s.%s.%08x.tmp", dir_len, r->target, name, rnd) < 0)
		r->tmp = NULL;
	return r->tmp ? 0 : -ENOMEM;
}

/*
 * Creates r->tmp next to r->target with O_EXCL: a fresh file, never a link.
 * On failure r->tmp is NULL, so that nothing the caller does not own is
 * unlinked.
 */
static int replace_create_tmp(struct replace *r, char *err, size_t err_len)
{
	const char *slash = strrchr(r->target, '/');
	const char *name = slash ? slash + 1 : r->target;
	int dir_len = slash ? (int)(slash - r->target) + 1 : 0;
	unsigned int try;
	int e = EEXIST;

	if (!*name)
		return model_fail(err, err_len, -EISDIR, "%s: names a directory, not a file",
				  r->target);
	for (try = 0; try < TMP_NAME_TRIES && e == EEXIST; try++) {
		if (tmp_name(r, name, dir_len, try))
			return model_fail(err, err_len, -ENOMEM, "out of memory");
		r->fd = open(r->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
		if (r->fd >= 0)
			break;
		e = errno;
	}
	if (r->fd < 0) {
		free(r->tmp);
		r->tmp = NULL;
		return model_fail(err, err_len, -e, "%s: cannot create a file in its directory: %s",
				  r->target, strerror(e));
	}
	/* A replaced file keeps its mode; a new one has 0666 less the umask. */
	if (r->exists && fchmod(r->fd, r->mode))
		return model_fail(err, err_len, -errno, "%s: %s", r->tmp, strerror(errno));
	return 0;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
	ssize_t n;

	while (len) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Writes, flushes to disk and closes r->fd; every step checked. */
static int replace_fill(struct replace *r, const void *data, size_t len,
			char *err, size_t err_len)
{
	int rc, fd = r->fd;

	r->fd = -1;
	rc = write_all(fd, data, len);
	if (!rc && fsync(fd))
		rc = -errno;
	if (close(fd) && !rc)
		rc = -errno;
	if (rc)
		return model_fail(err, err_len, rc, "%s: write failed: %s", r->target,
				  strerror(-rc));
	return 0;
}

/* So that the rename itself survives a crash; a failure here changes nothing. */
static void sync_parent(const struct replace *r)
{
	const char *slash = strrchr(r->target, '/');
	char *dir;
	int fd;

	if (slash == r->target)
		dir = strdup("/");
	else
		dir = slash ? strndup(r->target, (size_t)(slash - r->target)) : strdup(".");
	if (!dir)
		return;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(dir);
}

int nhot_file_check_target(const char *path, char *err, size_t err_len)
{
	struct replace r = { .fd = -1 };
	int rc;

	if (!path || !*path)
		return model_fail(err, err_len, -EINVAL, "no file name");
	rc = replace_resolve(&r, path, err, err_len);
	free(r.target);
	return rc;
}

int nhot_file_same(const char *a, const char *b)
{
	struct stat sa, sb;

	if (!a || !b || stat(a, &sa) || stat(b, &sb))
		return 0;
	return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

int nhot_file_replace(const char *path, const void *data, size_t len,
		      char *err, size_t err_len)
{
	struct replace r = { .fd = -1 };
	int rc;

	if (!path || !*path || (!data && len))
		return model_fail(err, err_len, -EINVAL, "no file name");
	rc = replace_resolve(&r, path, err, err_len);
	if (rc)
		goto out;
	rc = replace_create_tmp(&r, err, err_len);
	if (rc)
		goto out_unlink;
	rc = replace_fill(&r, data, len, err, err_len);
	if (rc)
		goto out_unlink;
	if (rename(r.tmp, r.target)) {
		rc = model_fail(err, err_len, -errno, "%s: %s", r.target, strerror(errno));
		goto out_unlink;
	}
	sync_parent(&r);
	goto out;

out_unlink:
	if (r.fd >= 0)
		close(r.fd);
	if (r.tmp)
		unlink(r.tmp);
out:
	free(r.tmp);
	free(r.target);
	return rc;
}
