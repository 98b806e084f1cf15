/* SPDX-License-Identifier: MIT */
/* Private helpers shared by the model_*.c files. */
#ifndef NHOT_MODEL_ERR_H
#define NHOT_MODEL_ERR_H

#include <stddef.h>

struct stat;

/*
 * Writes the printf-style message into err (when err and err_len are
 * non-zero) and returns rc, so a rejection is one statement:
 *	return model_fail(err, err_len, -EBADMSG, "bad magic");
 */
int model_fail(char *err, size_t err_len, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/*
 * Opens path for reading if it is a regular file (a FIFO or a device is
 * refused at once, never waited on) and fills st. Returns the descriptor, or
 * a negative errno with the reason in err: -EINVAL "PATH: not a regular
 * file", or open(2)'s and fstat(2)'s errors.
 */
int model_open_regular(const char *path, struct stat *st, char *err, size_t err_len);

#endif /* NHOT_MODEL_ERR_H */
