// SPDX-License-Identifier: MIT
/*
 * round_S(x): the element of S(n, b) nearest to x, ties to the smaller
 * magnitude, clamped at +-max S (docs/arith.md 1.2).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "format_internal.h"

int nhot_round(double x, int n, int b, int *q)
{
	const struct nhot_set_table *t = nhot_set_table_get(n, b);
	int i, lo, hi;
	double twice;

	if (!t)
		return -EINVAL;
	if (!q || isnan(x))
		return -EINVAL;
	if (x <= t->value[0]) {
		*q = t->value[0];
		return 0;
	}
	if (x >= t->value[t->size - 1]) {
		*q = t->value[t->size - 1];
		return 0;
	}
	/* Now value[0] < x < value[size - 1]: find value[i - 1] <= x < value[i]. */
	for (i = 1; t->value[i] <= x; i++)
		;
	lo = t->value[i - 1];
	hi = t->value[i];
	if (x == lo) {
		*q = lo;
		return 0;
	}
	/*
	 * Compare x with the midpoint as 2x against lo + hi: both are exact
	 * doubles (|x| < 128), whereas x - lo and hi - x may round.
	 */
	twice = 2.0 * x;
	if (twice < lo + hi)
		*q = lo;
	else if (twice > lo + hi)
		*q = hi;
	else	/* a tie: lo and hi never straddle 0, which is in S */
		*q = abs(lo) < abs(hi) ? lo : hi;
	return 0;
}
