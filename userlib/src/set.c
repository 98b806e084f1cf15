// SPDX-License-Identifier: MIT
/*
 * The value set S(n, b) and the code of each value: its index in the set
 * sorted ascending (docs/arith.md 1.1 and 1.4).
 */
#include <errno.h>
#include <pthread.h>
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

static struct nhot_set_table set_tables[NHOT_MAX_N + 1][NHOT_MAX_B + 1];
static pthread_once_t set_tables_once = PTHREAD_ONCE_INIT;

static void set_tables_build(void)
{
	int n, b;

	for (n = NHOT_MIN_N; n <= NHOT_MAX_N; n++)
		for (b = NHOT_MIN_B; b <= NHOT_MAX_B; b++)
			nhot_set_table_build(n, b, &set_tables[n][b]);
}

const struct nhot_set_table *nhot_set_table_get(int n, int b)
{
	if (!nhot_nb_valid(n, b))
		return NULL;
	pthread_once(&set_tables_once, set_tables_build);
	return &set_tables[n][b];
}

int nhot_set_size(int n, int b)
{
	const struct nhot_set_table *t = nhot_set_table_get(n, b);

	return t ? t->size : -EINVAL;
}

int nhot_set_values(int n, int b, int16_t *values, size_t cap)
{
	const struct nhot_set_table *t = nhot_set_table_get(n, b);

	if (!t)
		return -EINVAL;
	if (cap < (size_t)t->size)
		return -ENOSPC;
	if (!values)
		return -EINVAL;
	memcpy(values, t->value, (size_t)t->size * sizeof(*values));
	return t->size;
}

int nhot_code_bits(int n, int b)
{
	const struct nhot_set_table *t = nhot_set_table_get(n, b);

	return t ? t->code_bits : -EINVAL;
}

int nhot_encode_value(int q, int n, int b)
{
	const struct nhot_set_table *t = nhot_set_table_get(n, b);

	if (!t)
		return -EINVAL;
	if (q < -NHOT_Q_MAX || q > NHOT_Q_MAX || t->code_of[q + NHOT_Q_MAX] < 0)
		return -EINVAL;
	return t->code_of[q + NHOT_Q_MAX];
}

int nhot_decode_value(unsigned int code, int n, int b, int *q)
{
	const struct nhot_set_table *t = nhot_set_table_get(n, b);

	if (!t)
		return -EINVAL;
	if (!q)
		return -EINVAL;
	if (code >= (unsigned int)t->size)
		return -EILSEQ;
	*q = t->value[code];
	return 0;
}
