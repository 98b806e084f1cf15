// SPDX-License-Identifier: MIT
/*
 * Opening a file that a loader reads (a .nhq or .nhf model, an IDX data
 * set): regular files only, and never a wait.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model_err.h"

int model_open_regular(const char *path, struct stat *st, char *err, size_t err_len)
{
	int fd, rc;

	/* O_NONBLOCK: a FIFO is refused below instead of blocking until a writer comes. */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return model_fail(err, err_len, -errno, "%s: %s", path, strerror(errno));
	if (fstat(fd, st)) {
		rc = model_fail(err, err_len, -errno, "%s: %s", path, strerror(errno));
		close(fd);
		return rc;
	}
	if (!S_ISREG(st->st_mode)) {
		close(fd);
		return model_fail(err, err_len, -EINVAL, "%s: not a regular file", path);
	}
	return fd;
}
