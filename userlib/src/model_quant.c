// SPDX-License-Identifier: MIT
/*
 * Post-training weight quantization helpers: the per-channel scale that
 * minimises the squared rounding error onto S(n, b), and the NAF digit counts
 * per kernel tap (docs/model-format.md "Counting").
 */
#include <errno.h>
#include <math.h>

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

static int set_max(int n, int b, int *max)
{
	int16_t vals[NHOT_SET_MAX];
	int cnt = nhot_set_values(n, b, vals, NHOT_SET_MAX);

	if (cnt < 0)
		return cnt;
	*max = vals[cnt - 1];
	return 0;
}

/* Squared error of quantizing w with scale s; codes into q when not NULL. */
static int scale_error(const float *w, size_t count, int n, int b, double s,
		       double *err, int8_t *q)
{
	double e = 0;
	size_t i;
	int v, rc;

	for (i = 0; i < count; i++) {
		rc = nhot_round((double)w[i] / s, n, b, &v);
		if (rc)
			return rc;
		e += ((double)w[i] - s * v) * ((double)w[i] - s * v);
		if (q)
			q[i] = (int8_t)v;
	}
	*err = e;
	return 0;
}

int nhot_choose_scale(const float *w, size_t count, int n, int b,
		      double *scale, int8_t *q)
{
	double maxabs = 0, base, best_s = 1, best_e = INFINITY, e, s;
	int smax, rc, j;
	size_t i;

	if (!w || !scale)
		return -EINVAL;
	rc = set_max(n, b, &smax);
	if (rc)
		return rc;
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
	base = maxabs / smax;
	for (j = 0; j < F_STEPS; j++) {
		s = base * (F_LO + (F_HI - F_LO) * j / (F_STEPS - 1));
		rc = scale_error(w, count, n, b, s, &e, NULL);
		if (rc)
			return rc;
		/* Strictly better only: among equals the smallest f wins. */
		if (e < best_e) {
			best_e = e;
			best_s = s;
		}
	}
	*scale = best_s;
	if (!q)
		return 0;
	return scale_error(w, count, n, b, best_s, &e, q);
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
