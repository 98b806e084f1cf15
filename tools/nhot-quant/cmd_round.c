// SPDX-License-Identifier: MIT
/*
 * nhot-quant round -n N -b B: reads decimal numbers, one a line, and prints
 * each rounded onto S(N, B) (docs/arith.md 1.2: nearest, ties to the smaller
 * magnitude, clamped to +-max S).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "nhot.h"

static const char round_usage[] =
	"usage: nhot-quant round -n N -b B < NUMBERS\n"
	"  Reads decimal numbers (like -12, 3.5, 1e-3), one a line, and prints each\n"
	"  rounded to the nearest element of S(N, B); ties go to the smaller magnitude,\n"
	"  numbers beyond the range to its end. N in 1..4, B in 2..8.\n";

/*
 * A decimal number: [+-] digits [. digits] [e [+-] digits], with at least one
 * digit before the exponent. strtod() alone would also take "nan", "inf" and
 * hex floats, which are not decimal numbers.
 */
static int is_decimal(const char *s)
{
	int digits = 0;

	if (*s == '+' || *s == '-')
		s++;
	for (; isdigit((unsigned char)*s); s++)
		digits++;
	if (*s == '.')
		for (s++; isdigit((unsigned char)*s); s++)
			digits++;
	if (!digits)
		return 0;
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (!isdigit((unsigned char)*s))
			return 0;
		while (isdigit((unsigned char)*s))
			s++;
	}
	return *s == '\0';
}

/* The line without surrounding blanks and its end of line, in place. */
static char *trim(char *line)
{
	size_t len = strlen(line);

	while (len && isspace((unsigned char)line[len - 1]))
		line[--len] = '\0';
	while (isspace((unsigned char)*line))
		line++;
	return line;
}

int cmd_round(int argc, char **argv)
{
	unsigned long lineno = 0;
	size_t cap = 0;
	char *line = NULL;
	int n, b, ret;

	ret = cli_parse_nb(argc, argv, round_usage, &n, &b);
	if (ret)
		return ret == 1 ? 0 : ret;
	for (;;) {
		ssize_t len = getline(&line, &cap, stdin);
		char *s;
		double x;
		int q;

		if (len < 0)
			break;
		lineno++;
		if ((size_t)len != strlen(line)) {	/* an embedded NUL byte */
			ret = cli_usage_error("round", "line %lu: not a decimal number", lineno);
			goto out;
		}
		s = trim(line);
		if (!is_decimal(s)) {
			ret = cli_usage_error("round", "line %lu: not a decimal number: '%.40s'",
					      lineno, s);
			goto out;
		}
		x = strtod(s, NULL);	/* out of range: +-HUGE_VAL or 0, both fine */
		ret = nhot_round(x, n, b, &q);
		if (ret) {
			fprintf(stderr, "nhot-quant round: line %lu: %s\n", lineno,
				strerror(-ret));
			ret = 1;
			goto out;
		}
		printf("%d\n", q);
	}
	if (ferror(stdin)) {
		fprintf(stderr, "nhot-quant round: read error: %s\n", strerror(errno));
		ret = 1;
		goto out;
	}
	ret = 0;
out:
	free(line);
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "nhot-quant round: write error\n");
		ret = ret ? ret : 1;
	}
	return ret;
}
