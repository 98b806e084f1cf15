// SPDX-License-Identifier: MIT
/*
 * nhot-quant: option parsing shared by the subcommands that take a value set
 * S(n, b).
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "cmds.h"
#include "nhot.h"

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "nhot-quant %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (try --help)\n");
	return 2;
}

/* A whole decimal integer in lo..hi, or a usage error naming the option. */
static int parse_bounded(const char *cmd, char opt, const char *s, int lo, int hi, int *v)
{
	char *end;
	long l;

	errno = 0;
	l = strtol(s, &end, 10);
	if (end == s || *end)
		return cli_usage_error(cmd, "-%c: '%s' is not an integer", opt, s);
	if (errno || l < lo || l > hi)
		return cli_usage_error(cmd, "-%c %s: out of range %d..%d", opt, s, lo, hi);
	*v = (int)l;
	return 0;
}

int cli_parse_nb(int argc, char **argv, const char *usage, int *n, int *b)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd = argv[0];
	int have_n = 0, have_b = 0, c, ret;

	optind = 1;
	opterr = 0;		/* our own one-line messages */
	while ((c = getopt_long(argc, argv, ":n:b:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			ret = parse_bounded(cmd, 'n', optarg, NHOT_MIN_N, NHOT_MAX_N, n);
			if (ret)
				return ret;
			have_n = 1;
			break;
		case 'b':
			ret = parse_bounded(cmd, 'b', optarg, NHOT_MIN_B, NHOT_MAX_B, b);
			if (ret)
				return ret;
			have_b = 1;
			break;
		case 'h':
			fputs(usage, stdout);
			return 1;
		case ':':
			return cli_usage_error(cmd, "-%c needs a value", optopt);
		default:
			if (optopt)
				return cli_usage_error(cmd, "unknown option '-%c'", optopt);
			return cli_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	if (!have_n)
		return cli_usage_error(cmd, "-n N is required");
	if (!have_b)
		return cli_usage_error(cmd, "-b B is required");
	return 0;
}
