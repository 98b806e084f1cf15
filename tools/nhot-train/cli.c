// SPDX-License-Identifier: MIT
/* Command-line helpers of nhot-train (cli.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

void cli_usage_error(const char *who, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", who);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see %s --help)\n", who);
	exit(CLI_EXIT_USAGE);
}

long long cli_int(const char *who, const char *opt, const char *s, long long lo, long long hi)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		cli_usage_error(who, "%s wants an integer in %lld..%lld, not '%s'", opt, lo, hi, s);
	return v;
}

double cli_real(const char *who, const char *opt, const char *s, double lo, double hi)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= lo && v <= hi))
		cli_usage_error(who, "%s wants a number in %g..%g, not '%s'", opt, lo, hi, s);
	return v;
}
