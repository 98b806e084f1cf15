/* SPDX-License-Identifier: MIT */
/*
 * libnhot private: the n-hot value set S(n, b) as the format sources and the
 * reference implementation share it (docs/arith.md section 1).
 */
#ifndef NHOT_FORMAT_INTERNAL_H
#define NHOT_FORMAT_INTERNAL_H

#include <stdint.h>

#include "nhot.h"

/* Largest |q| of any S(n, b): 2^(NHOT_MAX_B - 1) - 1. */
#define NHOT_Q_MAX	127

/* GLOBAL_AVGPOOL: H * W at most 2^16, so a sum stays below 2^24 (section 3). */
#define NHOT_MAX_GLOBAL_POOL	65536

/* Non-zero when n and b are in the table of docs/arith.md section 1.6. */
static inline int nhot_nb_valid(int n, int b)
{
	return n >= NHOT_MIN_N && n <= NHOT_MAX_N && b >= NHOT_MIN_B && b <= NHOT_MAX_B;
}

/*
 * The set as lookup tables. code_of[q + NHOT_Q_MAX] is the code of q, or -1
 * when q is not in the set.
 */
struct nhot_set_table {
	int size;
	int code_bits;
	int16_t value[NHOT_SET_MAX];
	int16_t code_of[2 * NHOT_Q_MAX + 1];
};

/* Fills t for a valid (n, b); -EINVAL otherwise. */
int nhot_set_table_build(int n, int b, struct nhot_set_table *t);

/*
 * The table of a valid (n, b), built once per process for every (n, b) and
 * read-only afterwards (thread safe); NULL for an invalid (n, b). Building a
 * table costs 255 NAF weights (~1 us): too much for every code_bits or
 * rounding call on a layer's or a model's path.
 */
const struct nhot_set_table *nhot_set_table_get(int n, int b);

/*
 * The buffers of a layer run that nhot_layer_check() accepted: every buffer
 * the layer uses present (-EINVAL) and long enough (-ERANGE), checked in the
 * order input, input2, weights, params, output. Shared by the reference and
 * the fast path so that both refuse the same calls with the same errno.
 */
int nhot_tensors_check(const struct nhot_layer *l, const struct nhot_tensors *t,
		       const struct nhot_layer_shape *s);

#endif /* NHOT_FORMAT_INTERNAL_H */
