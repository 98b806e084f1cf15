/* SPDX-License-Identifier: MIT */
/*
 * libnhot functions for the tools and tests built in this tree only.
 *
 * They live in libnhot.a, which the tools link, but they are not part of
 * the library's ABI: libnhot.map keeps them local to libnhot.so, make
 * install does not install this header, and they may change at any time.
 * Each returns 0 or a negative errno and, when err is not NULL, writes one
 * line into err that names the file and says what is wrong.
 */
#ifndef NHOT_PRIVATE_H
#define NHOT_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include "nhot_fmodel.h"
#include "nhot_model.h"

/* Room for any message below: a path and a reason. */
#define NHOT_PRIVATE_ERR_LEN	512

/*
 * Replaces the regular file path with len bytes of data, or creates it, so
 * that path holds either its old contents or all of the new ones, never a
 * part: the bytes go to a new temporary file in the same directory (a random
 * name created with O_EXCL, so nothing planted there can redirect the write),
 * are fsync()ed, and the file is renamed over path. Every write, the fsync
 * and the close are checked; on any error the temporary file is removed and
 * path is left as it was.
 *
 * A symbolic link is followed (as cp does): the file it points to is
 * replaced and the link stays. An existing path that is not a regular file
 * (a device such as /dev/full, a FIFO, a directory, a socket) is refused with
 * -EINVAL and left untouched; so is a dangling link (-ENOENT). A replaced
 * file keeps its permission bits; a new one gets 0666 less the umask.
 * Errors: -EINVAL as above, -ENOENT, -EACCES, -ENOSPC, -EDQUOT, -EIO and the
 * other errno values of open(2), write(2), fsync(2), rename(2); -ENOMEM.
 */
int nhot_file_replace(const char *path, const void *data, size_t len,
		      char *err, size_t err_len);

/*
 * The checks nhot_file_replace() makes before writing, alone: 0 when path
 * does not exist yet or is (a link to) a regular file, else its error and
 * reason. A tool calls it before hours of work, not instead of the writer's.
 */
int nhot_file_check_target(const char *path, char *err, size_t err_len);

/* 1 when a and b both exist and are the same file (links followed), else 0. */
int nhot_file_same(const char *a, const char *b);

/*
 * nhot_fnet_load() and nhot_fnet_save() with the same return values, and a
 * one-line reason in err: "PATH: checksum mismatch (a damaged file)",
 * "PATH: not a float model (bad magic)", ...
 */
int nhot_fnet_load_err(const char *path, struct nhot_fnet **net, char *err, size_t err_len);
int nhot_fnet_save_err(const struct nhot_fnet *net, const char *path, char *err,
		       size_t err_len);

/*
 * Which job of the runner's last nhot_qnet_runner_run() failed: 0 with
 * *node (its node index) and *status (enum nhot_job_status, e.g.
 * NHOT_JOB_TIMEDOUT) set, or -ENOENT when the run did not get as far as
 * the jobs' results (a submit or wait error) or every job ended DONE.
 */
int nhot_qnet_runner_failed_job(const struct nhot_qnet_runner *r, uint32_t *node,
				uint32_t *status);

#endif /* NHOT_PRIVATE_H */
