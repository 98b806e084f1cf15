// SPDX-License-Identifier: MIT
/*
 * nhot-quant table -n N -b B: the value set S(N, B) of docs/arith.md 1.1,
 * one integer a line, ascending (so line i + 1 holds the value of code i).
 */
#include <stdio.h>
#include <string.h>

#include "cmds.h"
#include "nhot.h"

static const char table_usage[] =
	"usage: nhot-quant table -n N -b B\n"
	"  Prints S(N, B), the integers of |q| <= 2^(B-1) - 1 whose non-adjacent form\n"
	"  has at most N nonzero digits, one a line, ascending. N in 1..4, B in 2..8.\n";

int cmd_table(int argc, char **argv)
{
	int16_t values[NHOT_SET_MAX];
	int n, b, size, i;

	i = cli_parse_nb(argc, argv, table_usage, &n, &b);
	if (i)
		return i == 1 ? 0 : i;
	size = nhot_set_values(n, b, values, NHOT_SET_MAX);
	if (size < 0) {
		fprintf(stderr, "nhot-quant table: S(%d, %d): %s\n", n, b, strerror(-size));
		return 1;
	}
	for (i = 0; i < size; i++)
		printf("%d\n", values[i]);
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "nhot-quant table: write error\n");
		return 1;
	}
	return 0;
}
