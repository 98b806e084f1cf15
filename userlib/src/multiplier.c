// SPDX-License-Identifier: MIT
/*
 * A real requantization multiplier as M * 2^-s with M in [2^30, 2^31) and s in
 * 1..62 (docs/arith.md 1.5).
 */
#include <errno.h>
#include <math.h>

#include "nhot.h"

int nhot_quantize_multiplier(double real, uint32_t *mult, uint32_t *shift)
{
	double frac, scaled;
	uint64_t m;
	int exp, s;

	if (!mult || !shift || isnan(real) || real < 0)
		return -EINVAL;
	if (real == 0) {
		*mult = 0;
		*shift = 1;
		return 0;
	}
	if (isinf(real))
		return -ERANGE;
	frac = frexp(real, &exp);		/* real = frac * 2^exp, frac in [0.5, 1) */
	scaled = ldexp(frac, 31);		/* exact: in [2^30, 2^31) */
	m = (uint64_t)floor(scaled + 0.5);	/* + 0.5 is exact at this magnitude */
	if (m == (uint64_t)1 << 31) {		/* rounded up to the next power of two */
		m >>= 1;
		exp++;
	}
	s = 31 - exp;
	if (s < 1 || s > NHOT_MAX_SHIFT)
		return -ERANGE;
	*mult = (uint32_t)m;
	*shift = (uint32_t)s;
	return 0;
}
