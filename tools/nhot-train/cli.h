/* SPDX-License-Identifier: MIT */
/*
 * Command-line helpers shared by nhot-train's commands: a usage error is one
 * "WHO: why (see WHO --help)" line on stderr and exit status 2.
 */
#ifndef NHOT_TRAIN_CLI_H
#define NHOT_TRAIN_CLI_H

#define CLI_EXIT_USAGE	2

/* Prints "who: " fmt " (see who --help)" on stderr and exits with CLI_EXIT_USAGE. */
void cli_usage_error(const char *who, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 2, 3)));

/* s as an integer in lo..hi, or a usage error naming opt. */
long long cli_int(const char *who, const char *opt, const char *s, long long lo, long long hi);

/* s as a number in lo..hi, or a usage error naming opt. */
double cli_real(const char *who, const char *opt, const char *s, double lo, double hi);

#endif
