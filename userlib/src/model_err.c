// SPDX-License-Identifier: MIT
/* The one-line reasons the model loader, writer and IDX reader give. */
#include <stdarg.h>
#include <stdio.h>

#include "model_err.h"

int model_fail(char *err, size_t err_len, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err && err_len) {
		va_start(ap, fmt);
		vsnprintf(err, err_len, fmt, ap);
		va_end(ap);
	}
	return rc;
}
