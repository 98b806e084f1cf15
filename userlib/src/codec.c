// SPDX-License-Identifier: MIT
/*
 * Packing weight codes into rows (docs/arith.md 1.4). This side addresses a
 * code by its byte and bit offset, reading at most two bytes, the document's
 * second description; the reference implementation (ref.c) reads bit by bit,
 * the first one, so the tests compare two independent readings.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "format_internal.h"

size_t nhot_row_bytes(int n, int b, size_t k_count)
{
	int k = nhot_code_bits(n, b);

	if (k < 0 || k_count > (SIZE_MAX - 7) / (size_t)k)
		return 0;
	return (k_count * (size_t)k + 7) / 8;
}

/* rows * row_bytes, or 0 when it does not fit a size_t. */
static size_t tensor_bytes(size_t rows, size_t row_bytes)
{
	if (row_bytes && rows > SIZE_MAX / row_bytes)
		return 0;
	return rows * row_bytes;
}

/* Code i of a row: bit (i*k) % 8 of byte (i*k) / 8 on, into the next byte if it straddles. */
static unsigned int row_get(const uint8_t *row, size_t i, int k)
{
	size_t bit = i * (size_t)k;
	const uint8_t *p = row + bit / 8;
	unsigned int shift = bit % 8;
	unsigned int v = p[0] >> shift;

	if (shift + (unsigned int)k > 8)
		v |= (unsigned int)p[1] << (8 - shift);
	return v & ((1u << k) - 1);
}

/* ORs code into position i of a zeroed row. */
static void row_put(uint8_t *row, size_t i, int k, unsigned int code)
{
	size_t bit = i * (size_t)k;
	uint8_t *p = row + bit / 8;
	unsigned int shift = bit % 8;

	p[0] |= (uint8_t)(code << shift);
	if (shift + (unsigned int)k > 8)
		p[1] |= (uint8_t)(code >> (8 - shift));
}

int nhot_pack(int n, int b, const int8_t *q, size_t rows, size_t k_count,
	      uint8_t *out, size_t out_len)
{
	const struct nhot_set_table *t = nhot_set_table_get(n, b);
	size_t row_bytes, total, r, i;

	if (!t)
		return -EINVAL;
	row_bytes = nhot_row_bytes(n, b, k_count);
	total = tensor_bytes(rows, row_bytes);
	if (k_count && (!row_bytes || (rows && !total)))
		return -EINVAL;		/* the tensor does not fit a size_t */
	if (!q || !out)
		return -EINVAL;
	if (out_len < total)
		return -ENOSPC;
	/* Check every value first, so that out is untouched on error. */
	for (r = 0; r < rows; r++) {
		for (i = 0; i < k_count; i++) {
			int v = q[r * k_count + i];

			if (v < -NHOT_Q_MAX || t->code_of[v + NHOT_Q_MAX] < 0)
				return -EINVAL;
		}
	}
	memset(out, 0, total);
	for (r = 0; r < rows; r++)
		for (i = 0; i < k_count; i++)
			row_put(out + r * row_bytes, i, t->code_bits,
				(unsigned int)t->code_of[q[r * k_count + i] + NHOT_Q_MAX]);
	return 0;
}

int nhot_unpack(int n, int b, const uint8_t *packed, size_t packed_len,
		size_t rows, size_t k_count, int8_t *q)
{
	const struct nhot_set_table *t = nhot_set_table_get(n, b);
	size_t row_bytes, total, r, i;

	if (!t)
		return -EINVAL;
	row_bytes = nhot_row_bytes(n, b, k_count);
	total = tensor_bytes(rows, row_bytes);
	if (k_count && (!row_bytes || (rows && !total)))
		return -EINVAL;
	if (!q || !packed)
		return -EINVAL;
	if (packed_len < total)
		return -ENOSPC;
	for (r = 0; r < rows; r++) {
		for (i = 0; i < k_count; i++) {
			unsigned int code = row_get(packed + r * row_bytes, i, t->code_bits);

			if (code >= (unsigned int)t->size)
				return -EILSEQ;
			q[r * k_count + i] = (int8_t)t->value[code];
		}
	}
	return 0;
}
