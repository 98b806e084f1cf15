// SPDX-License-Identifier: MIT
/*
 * The value set S(n, b) and the code of each value: its index in the set
 * sorted ascending (docs/arith.md 1.1 and 1.4).
 */
#include <errno.h>
#include <string.h>

#include "format_internal.h"

int nhot_set_table_build(int n, int b, struct nhot_set_table *t)
{
	int qmax, q, k;

	if (!nhot_nb_valid(n, b) || !t)
		return -EINVAL;
	qmax = (1 << (b - 1)) - 1;
	t->size = 0;
	for (q = -NHOT_Q_MAX; q <= NHOT_Q_MAX; q++) {
		t->code_of[q + NHOT_Q_MAX] = -1;
		if (q < -qmax || q > qmax || nhot_naf_weight(q) > n)
			continue;
		t->code_of[q + NHOT_Q_MAX] = (int16_t)t->size;
		t->value[t->size++] = (int16_t)q;
	}
	for (k = 0; (1 << k) < t->size; k++)
		;
	t->code_bits = k;
	return 0;
}

int nhot_set_size(int n, int b)
{
	struct nhot_set_table t;
	int ret = nhot_set_table_build(n, b, &t);

	return ret ? ret : t.size;
}

int nhot_set_values(int n, int b, int16_t *values, size_t cap)
{
	struct nhot_set_table t;
	int ret = nhot_set_table_build(n, b, &t);

	if (ret)
		return ret;
	if (cap < (size_t)t.size)
		return -ENOSPC;
	if (!values)
		return -EINVAL;
	memcpy(values, t.value, (size_t)t.size * sizeof(*values));
	return t.size;
}

int nhot_code_bits(int n, int b)
{
	struct nhot_set_table t;
	int ret = nhot_set_table_build(n, b, &t);

	return ret ? ret : t.code_bits;
}

int nhot_encode_value(int q, int n, int b)
{
	struct nhot_set_table t;
	int ret = nhot_set_table_build(n, b, &t);

	if (ret)
		return ret;
	if (q < -NHOT_Q_MAX || q > NHOT_Q_MAX || t.code_of[q + NHOT_Q_MAX] < 0)
		return -EINVAL;
	return t.code_of[q + NHOT_Q_MAX];
}

int nhot_decode_value(unsigned int code, int n, int b, int *q)
{
	struct nhot_set_table t;
	int ret = nhot_set_table_build(n, b, &t);

	if (ret)
		return ret;
	if (!q)
		return -EINVAL;
	if (code >= (unsigned int)t.size)
		return -EILSEQ;
	*q = t.value[code];
	return 0;
}
