// SPDX-License-Identifier: MIT
/*
 * Post-training weight quantization helpers: the per-channel scale that
 * minimises the squared rounding error onto S(n, b), and the NAF digit counts
 * per kernel tap (docs/model-format.md "Counting").
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "nhot_model.h"

/*
 * Candidate scales are base * f for f on an even grid over [F_LO, F_HI],
 * base = max|w| / max S. Above 1 the largest weight no longer maps to the
 * top of the set, which can still pay off on the sparse grids of small n;
 * well below 0.3 the clamping error dominates for every set tried.
 */
#define F_LO	0.30
#define F_HI	1.20
#define F_STEPS	91

/**
 * struct sorted_set - S(n, b) ascending, for rounding many weights: the
 * search below rounds tens of millions of values, nhot_round() rebuilds the
 * set on every call. The final codes still come from nhot_round().
 */
struct sorted_set {
	int16_t v[NHOT_SET_MAX];
	int size;
};

/* nhot_round()'s rule (docs/arith.md 1.2) over a prebuilt set; x not NaN. */
static int round_sorted(const struct sorted_set *s, double x)
{
	int lo = 0, hi = s->size - 1, mid;
	double twice;

	if (x <= s->v[0])
		return s->v[0];
	if (x >= s->v[hi])
		return s->v[hi];
	/* Invariant: v[lo] <= x < v[hi]. */
	while (hi - lo > 1) {
		mid = (lo + hi) / 2;
		if (s->v[mid] <= x)
			lo = mid;
		else
			hi = mid;
	}
	twice = 2.0 * x;
	if (twice < s->v[lo] + s->v[hi])
		return s->v[lo];
	if (twice > s->v[lo] + s->v[hi])
		return s->v[hi];
	return abs(s->v[lo]) < abs(s->v[hi]) ? s->v[lo] : s->v[hi];
}

/* Squared error of quantizing w with scale sc. */
static double scale_error(const float *w, size_t count, const struct sorted_set *set,
			  double sc)
{
	double e = 0, d;
	size_t i;

	for (i = 0; i < count; i++) {
		d = (double)w[i] - sc * round_sorted(set, (double)w[i] / sc);
		e += d * d;
	}
	return e;
}

int nhot_choose_scale(const float *w, size_t count, int n, int b,
		      double *scale, int8_t *q)
{
	double maxabs = 0, base, best_s = 1, best_e = INFINITY, e, s;
	struct sorted_set set;
	int rc, j, v;
	size_t i;

	if (!w || !scale)
		return -EINVAL;
	set.size = nhot_set_values(n, b, set.v, NHOT_SET_MAX);
	if (set.size < 0)
		return set.size;
	for (i = 0; i < count; i++) {
		if (!isfinite(w[i]))
			return -EINVAL;
		if (fabs(w[i]) > maxabs)
			maxabs = fabs(w[i]);
	}
	if (maxabs == 0) {
		*scale = 1;
		for (i = 0; q && i < count; i++)
			q[i] = 0;
		return 0;
	}
	base = maxabs / set.v[set.size - 1];
	for (j = 0; j < F_STEPS; j++) {
		s = base * (F_LO + (F_HI - F_LO) * j / (F_STEPS - 1));
		e = scale_error(w, count, &set, s);
		/* Strictly better only: among equals the smallest f wins. */
		if (e < best_e) {
			best_e = e;
			best_s = s;
		}
	}
	*scale = best_s;
	for (i = 0; q && i < count; i++) {
		rc = nhot_round((double)w[i] / best_s, n, b, &v);
		if (rc)
			return rc;
		q[i] = (int8_t)v;
	}
	return 0;
}

uint32_t nhot_layer_taps(const struct nhot_layer *l)
{
	if (l->type == NHOT_LAYER_CONV2D)
		return l->kernel_h * l->kernel_w;
	return l->type == NHOT_LAYER_FC ? 1 : 0;
}

void nhot_tap_digits(const int8_t *q, size_t rows, size_t k, size_t cg,
		     uint64_t *taps)
{
	size_t r, j;

	for (r = 0; r < rows; r++)
		for (j = 0; j < k; j++)
			taps[j / cg] += (uint64_t)nhot_naf_weight(q[r * k + j]);
}
