// SPDX-License-Identifier: MIT
/*
 * The fine-tuning's activation fake quantization (fakequant_act.c) against
 * nhot-quant's quantization of the same network from the same calibration
 * images (nhot_qnet_quantize()): every node's grid has the scale, zero point
 * and clamp the integer model got; rounding puts values on that grid.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The harness's TEST() wrappers leave parameters unused. */
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"

#include "arch.h"
#include "fakequant_act.h"
#include "nhot_model.h"
#include "rng.h"

#define IMAGES	300

/* IMAGES random 28 x 28 images of whole pixel values, as the data set holds them. */
static int make_set(struct dataset *ds, uint64_t seed)
{
	struct rng r = { seed };
	size_t i;

	ds->count = IMAGES;
	ds->rows = ds->cols = 28;
	ds->images = malloc(sizeof(float) * IMAGES * 28 * 28);
	ds->labels = calloc(IMAGES, 1);
	if (!ds->images || !ds->labels)
		return -ENOMEM;
	for (i = 0; i < (size_t)IMAGES * 28 * 28; i++)
		ds->images[i] = (float)rng_below(&r, 256) / 255.0f;
	return 0;
}

TEST(grids_equal_nhot_quant)
{
	struct nhot_quant_opts qo = { .n = 2, .b = 8 };
	struct dataset ds = { 0 };
	struct nhot_fnet *net;
	struct nhot_qnet *q;
	struct fq_acts acts;
	char err[NHOT_QNET_ERR_LEN];
	uint32_t i;

	ASSERT_EQ(0, make_set(&ds, 11));
	ASSERT_EQ(0, arch_mobilenet_build(28, 28, 10, 4, &net));
	ASSERT_EQ(0, fq_acts_init(&acts, net, &ds));
	ASSERT_EQ(IMAGES, (int)acts.calib_count);
	/* Fewer images than nhot-quant's 1000: all of them, in order, on both sides. */
	ASSERT_EQ(0, nhot_qnet_quantize(net, ds.images, IMAGES, &qo, &q, err, sizeof(err))) {
		TH_LOG("%s", err);
	}
	for (i = 1; i < net->node_count; i++) {
		const struct fq_act_grid *g = &acts.grids[i];
		const struct nhot_qnode *nd = &q->nodes[i - 1];

		/* The ranges come from another float pass: equal to float rounding. */
		ASSERT_LT(fabs(g->scale - nd->out_scale), 1e-5 * nd->out_scale) {
			TH_LOG("node %u: scale %.9g, nhot-quant %.9g", i, g->scale, nd->out_scale);
		}
		ASSERT_EQ(nd->out_zero, (uint32_t)g->zero);
		ASSERT_EQ(nd->layer.act_min, (uint32_t)g->qmin) TH_LOG("node %u", i);
		ASSERT_EQ(nd->layer.act_max, (uint32_t)g->qmax) TH_LOG("node %u", i);
	}
	nhot_qnet_free(q);
	fq_acts_release(&acts);
	nhot_fnet_free(net);
	dataset_free(&ds);
}

TEST(apply_rounds_onto_the_grid_and_clamps)
{
	struct dataset ds = { 0 };
	struct nhot_fnet *net;
	struct fq_acts acts;
	float y[7], in[7];
	const struct fq_act_grid *g;
	uint32_t node = 1;	/* the stem: ReLU6 */
	double c;
	int j;

	ASSERT_EQ(0, make_set(&ds, 12));
	ASSERT_EQ(0, arch_mobilenet_build(28, 28, 10, 4, &net));
	ASSERT_EQ(0, fq_acts_init(&acts, net, &ds));
	g = &acts.grids[node];
	ASSERT_GT(g->scale, 0);
	in[0] = -1.0f;					/* below ReLU: the zero code */
	in[1] = 0.0f;
	in[2] = (float)(3.4 * g->scale);		/* rounds down to 3 steps */
	in[3] = (float)(3.6 * g->scale);		/* rounds up to 4 steps */
	in[4] = 100.0f;					/* above the range: the top code */
	in[5] = (float)(g->hi / 2);
	in[6] = 6.0f;
	memcpy(y, in, sizeof(y));
	fq_acts_apply(&acts, node, y, 7);
	for (j = 0; j < 7; j++) {
		c = y[j] / g->scale + g->zero;
		ASSERT_LT(fabs(c - nearbyint(c)), 1e-3);		/* on the grid */
		ASSERT_GE(nearbyint(c), g->qmin);
		ASSERT_LE(nearbyint(c), g->qmax);
		if (in[j] >= 0 && in[j] <= g->hi)
			ASSERT_LE(fabs(y[j] - in[j]), g->scale / 2 + 1e-6);
	}
	ASSERT_EQ(0.0f, y[0]);
	ASSERT_EQ(0.0f, y[1]);
	ASSERT_LT(fabs(y[2] - 3 * g->scale), 1e-6);
	ASSERT_LT(fabs(y[3] - 4 * g->scale), 1e-6);
	ASSERT_LT(fabs(y[4] - (g->qmax - g->zero) * g->scale), 1e-6);
	/* The input node is never rounded. */
	memcpy(y, in, sizeof(y));
	fq_acts_apply(&acts, 0, y, 7);
	ASSERT_EQ(0, memcmp(y, in, sizeof(y)));
	fq_acts_release(&acts);
	nhot_fnet_free(net);
	dataset_free(&ds);
}

TEST(bad_input)
{
	struct dataset ds = { 0 }, empty = { 0 };
	struct nhot_fnet *net;
	struct fq_acts acts;

	ASSERT_EQ(0, make_set(&ds, 13));
	ASSERT_EQ(0, arch_mobilenet_build(28, 28, 10, 4, &net));
	ASSERT_EQ(-EINVAL, fq_acts_init(&acts, NULL, &ds));
	ASSERT_EQ(-EINVAL, fq_acts_init(&acts, net, &empty));
	ds.rows = 27;	/* images of another size than the network's input */
	ASSERT_EQ(-EINVAL, fq_acts_init(&acts, net, &ds));
	ASSERT_EQ(NULL, acts.grids);
	nhot_fnet_free(net);
	dataset_free(&ds);
}

TEST_HARNESS_MAIN
