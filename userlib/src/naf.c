// SPDX-License-Identifier: MIT
/*
 * The non-adjacent form (docs/arith.md 1.1) and the term form that the
 * shift-add datapath consumes (1.3).
 */
#include <errno.h>
#include <stdlib.h>

#include "nhot.h"

/* |q| <= 2^15 has a NAF of at most 17 digits. */
#define NAF_ARG_MAX	(1 << 15)
#define NAF_DIGITS_MAX	17

/*
 * Reitwiesner's algorithm exactly as the document writes it. digit[i] is the
 * coefficient of 2^i; returns the number of digits produced.
 */
static int naf_digits(int q, int8_t digit[NAF_DIGITS_MAX])
{
	int i = 0;

	while (q != 0) {
		if (q % 2 != 0) {
			int mod4 = ((q % 4) + 4) % 4;	/* q mod 4 in 0..3 */

			digit[i] = (int8_t)(2 - mod4);
			q -= digit[i];
		} else {
			digit[i] = 0;
		}
		q /= 2;		/* exact: q is even here */
		i++;
	}
	return i;
}

int nhot_naf_weight(int q)
{
	int8_t digit[NAF_DIGITS_MAX];
	int len, i, nnz = 0;

	if (q < -NAF_ARG_MAX || q > NAF_ARG_MAX)
		return -EINVAL;
	len = naf_digits(q, digit);
	for (i = 0; i < len; i++)
		nnz += digit[i] != 0;
	return nnz;
}

int nhot_terms(int q, struct nhot_term terms[NHOT_TERMS_MAX])
{
	int8_t digit[NAF_DIGITS_MAX];
	int len, i, count = 0;

	/* Every |q| <= 127 is in S(4, 8), and has at most 4 NAF digits. */
	if (!terms || q < -127 || q > 127)
		return -EINVAL;
	len = naf_digits(q, digit);
	for (i = len - 1; i >= 0; i--) {
		if (digit[i] == 0)
			continue;
		terms[count].sign = digit[i];
		terms[count].exponent = (uint8_t)i;
		count++;
	}
	return count;
}
