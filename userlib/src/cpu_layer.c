// SPDX-License-Identifier: MIT
/*
 * Prepared layers: nhot_cpu_layer_prepare(), _run() and _free().
 *
 * nhot_cpu_run() trusts nothing between calls: to reuse a layer's decoded
 * weights it compares the caller's codes with the copy they were decoded
 * from, every call (13% of a 49x320x1280 layer). An inference runtime knows
 * its weights do not change; oneDNN's users reorder theirs once, outside the
 * run. A prepared layer is that contract made safe: it copies the
 * descriptor, the codes and the params, checks them all once (-EILSEQ,
 * -EOVERFLOW), sums what every run would sum again (each row's weights for
 * the input zero point, the NAF terms for the counters), and lets the
 * backend decode its panels and build its constants once, pinned to the
 * layer. A run then reads only the input and writes the output, with the
 * bits nhot_cpu_run() gives for the same descriptor, codes and params.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_internal.h"

struct nhot_cpu_layer {
	struct nhot_layer layer;
	struct nhot_layer_shape shape;
	uint8_t *weights;		/* the codes, then CPU_ALIGN zero bytes */
	struct nhot_chan_params *params;
	struct cpu_prepared prep;
};

/* Each row's sum of values and each code index's NAF terms over all rows. */
static int sum_rows_and_terms(struct nhot_cpu_layer *pl)
{
	const struct nhot_layer *l = &pl->layer;
	size_t k = pl->shape.k, o, i;
	uint8_t terms[256];
	int8_t *q;
	int ret, v;

	q = malloc((size_t)l->out_c * k);
	if (!q)
		return -ENOMEM;
	/* The layer check bounded out_c * k; the codes are checked here (-EILSEQ). */
	ret = nhot_unpack((int)l->w_n, (int)l->w_b, pl->weights, (size_t)pl->shape.weight_bytes,
			  l->out_c, k, q);
	if (ret)
		goto out;
	for (v = -128; v < 128; v++)
		terms[(uint8_t)v] = (uint8_t)nhot_naf_weight(v);
	for (o = 0; o < l->out_c; o++) {
		const int8_t *row = q + o * k;
		int32_t sum = 0;

		for (i = 0; i < k; i++) {
			sum += row[i];
			pl->prep.colterms[i] += terms[(uint8_t)row[i]];
		}
		pl->prep.rowsum[o] = sum;
	}
out:
	free(q);
	return ret;
}

int nhot_cpu_layer_prepare(const struct nhot_layer *layer, const uint8_t *weights,
			   size_t weights_len, const struct nhot_chan_params *params,
			   size_t params_len, struct nhot_cpu_layer **out)
{
	struct nhot_cpu_layer *pl;
	struct nhot_tensors t;
	int ret;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!layer || !weights || !params)
		return -EINVAL;
	pl = calloc(1, sizeof(*pl));
	if (!pl)
		return -ENOMEM;
	pl->layer = *layer;
	ret = nhot_layer_check(&pl->layer, &pl->shape);
	if (ret)
		goto out_free;
	ret = -EINVAL;
	if (layer->type != NHOT_LAYER_CONV2D && layer->type != NHOT_LAYER_FC)
		goto out_free;
	ret = -ERANGE;
	if (weights_len < pl->shape.weight_bytes || params_len < pl->shape.params_bytes)
		goto out_free;

	ret = -ENOMEM;
	pl->weights = cpu_zalloc((size_t)pl->shape.weight_bytes + CPU_ALIGN);
	pl->params = cpu_alloc((size_t)pl->shape.params_bytes);
	pl->prep.rowsum = cpu_zalloc((size_t)layer->out_c * sizeof(*pl->prep.rowsum));
	pl->prep.colterms = cpu_zalloc((size_t)pl->shape.k * sizeof(*pl->prep.colterms));
	if (!pl->weights || !pl->params || !pl->prep.rowsum || !pl->prep.colterms)
		goto out_free;
	memcpy(pl->weights, weights, (size_t)pl->shape.weight_bytes);
	memcpy(pl->params, params, (size_t)pl->shape.params_bytes);

	/* nhot_ref_run()'s order: the codes, then the params. */
	ret = sum_rows_and_terms(pl);
	if (ret)
		goto out_free;
	ret = cpu_params_check(&pl->layer, pl->params);
	if (ret)
		goto out_free;

	/* The backend's own form: it reads no input and writes no output. */
	memset(&t, 0, sizeof(t));
	t.weights = pl->weights;
	t.weights_len = pl->shape.weight_bytes;
	t.params = pl->params;
	t.params_len = pl->shape.params_bytes;
	ret = cpu_run(&pl->layer, &t, &pl->prep, 1, NULL);
	if (ret)
		goto out_free;
	*out = pl;
	return 0;

out_free:
	nhot_cpu_layer_free(pl);
	return ret;
}

int nhot_cpu_layer_run(struct nhot_cpu_layer *pl, const uint8_t *input, size_t input_len,
		       uint8_t *output, size_t output_len, struct nhot_counters *counters)
{
	struct nhot_tensors t = {
		.input = input,
		.input_len = input_len,
		.output = output,
		.output_len = output_len,
	};

	if (counters)
		memset(counters, 0, sizeof(*counters));
	if (!pl)
		return -EINVAL;
	t.weights = pl->weights;
	t.weights_len = pl->shape.weight_bytes;
	t.params = pl->params;
	t.params_len = pl->shape.params_bytes;
	return cpu_run(&pl->layer, &t, &pl->prep, 0, counters);
}

void nhot_cpu_layer_free(struct nhot_cpu_layer *pl)
{
	if (!pl)
		return;
	cpu_panels_unpin(pl->prep.panels);
	cpu_free(pl->prep.colterms);
	cpu_free(pl->prep.rowsum);
	cpu_free(pl->params);
	cpu_free(pl->weights);
	free(pl);
}
