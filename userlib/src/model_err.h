/* SPDX-License-Identifier: MIT */
/* Private helpers shared by the model_*.c files. */
#ifndef NHOT_MODEL_ERR_H
#define NHOT_MODEL_ERR_H

#include <stddef.h>

/*
 * Writes the printf-style message into err (when err and err_len are
 * non-zero) and returns rc, so a rejection is one statement:
 *	return model_fail(err, err_len, -EBADMSG, "bad magic");
 */
int model_fail(char *err, size_t err_len, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif /* NHOT_MODEL_ERR_H */
