// SPDX-License-Identifier: MIT
/*
 * The fine-tuning's weight fake quantization (fakequant.c) against the
 * library it must agree with: its codes are nhot_round()'s for every set,
 * ties and clamps included; a pass gives exactly nhot_choose_scale()'s
 * scale times its codes (what nhot-quant quantize stores); the scale search
 * repeats every refresh passes only; bad weights and foreign nodes fail.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The harness's TEST() wrappers leave parameters unused. */
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"

#include "arch.h"
#include "fakequant.h"
#include "nhot_model.h"
#include "rng.h"

/* Node 9 of the architecture: the 1x1 head, 256 channels of 32 weights. */
#define HEAD_NODE	9

TEST(codes_equal_nhot_round_for_every_set)
{
	struct nhot_fnet net = { 0 };
	struct fq_weights fq;
	float x[1200];
	int8_t q[1200];
	struct rng r = { 7 };
	int n, b, i, want;

	/* Halves (ties), quarters, out of range, and random values. */
	for (i = 0; i < 600; i++)
		x[i] = (float)((i - 300) * 0.5);
	for (i = 600; i < 1200; i++)
		x[i] = (float)(300.0 * (rng_uniform(&r) - 0.5));
	net.node_count = 0;
	for (n = 1; n <= 4; n++) {
		for (b = 2; b <= 8; b++) {
			ASSERT_EQ(0, fq_weights_init(&fq, &net, n, b, 1));
			fq_weights_codes(&fq, x, 1200, 1.0, q);
			for (i = 0; i < 1200; i++) {
				ASSERT_EQ(0, nhot_round(x[i], n, b, &want));
				ASSERT_EQ(want, q[i]) {
					TH_LOG("n=%d b=%d x=%g", n, b, x[i]);
				}
			}
			fq_weights_release(&fq);
		}
	}
}

/* Every weighted node: effective == s * q of nhot_choose_scale(), bit for bit. */
TEST(pass_equals_nhot_quant_weights)
{
	static const int sets[][2] = { { 1, 8 }, { 2, 8 }, { 3, 8 }, { 4, 8 }, { 4, 4 } };
	struct nhot_fnet *net;
	struct fq_weights fq;
	uint32_t i, c, s;
	size_t j;

	ASSERT_EQ(0, arch_mobilenet_build(28, 28, 10, 3, &net));
	for (s = 0; s < sizeof(sets) / sizeof(sets[0]); s++) {
		ASSERT_EQ(0, fq_weights_init(&fq, net, sets[s][0], sets[s][1], 1));
		for (i = 1; i < net->node_count; i++) {
			const struct nhot_fnode *nd = &net->nodes[i];
			float *eff;
			int8_t *q;

			if (!nd->weights)
				continue;
			eff = malloc((size_t)nd->out_c * nd->k * sizeof(float));
			q = malloc(nd->k);
			ASSERT_TRUE(eff && q);
			ASSERT_EQ(0, fq_weights_transform(nd, nd->weights, eff, &fq));
			for (c = 0; c < nd->out_c; c++) {
				double scale;

				ASSERT_EQ(0, nhot_choose_scale(nd->weights + (size_t)c * nd->k, nd->k,
							       sets[s][0], sets[s][1], &scale, q));
				for (j = 0; j < nd->k; j++)
					ASSERT_EQ((float)(scale * q[j]), eff[(size_t)c * nd->k + j]);
			}
			free(q);
			free(eff);
		}
		fq_weights_release(&fq);
	}
	nhot_fnet_free(net);
}

/* With refresh 3 the scales of pass 1 serve passes 2 and 3; pass 4 searches again. */
TEST(scales_refresh_every_refresh_passes)
{
	struct nhot_fnet *net;
	struct nhot_fnode *nd;
	struct fq_weights fq;
	double first, fresh;
	float *eff;
	size_t count;
	int pass;

	ASSERT_EQ(0, arch_mobilenet_build(28, 28, 10, 5, &net));
	nd = &net->nodes[HEAD_NODE];
	count = (size_t)nd->out_c * nd->k;
	eff = malloc(count * sizeof(float));
	ASSERT_NE(NULL, eff);
	ASSERT_EQ(0, fq_weights_init(&fq, net, 2, 8, 3));
	ASSERT_EQ(0, fq_weights_transform(nd, nd->weights, eff, &fq));
	first = fq.scales[HEAD_NODE][0];
	/* Doubling the weights doubles the best scale, once it is searched again. */
	for (size_t j = 0; j < count; j++)
		nd->weights[j] *= 2.0f;
	for (pass = 2; pass <= 3; pass++) {
		ASSERT_EQ(0, fq_weights_transform(nd, nd->weights, eff, &fq));
		ASSERT_EQ(first, fq.scales[HEAD_NODE][0]);
	}
	ASSERT_EQ(0, fq_weights_transform(nd, nd->weights, eff, &fq));
	ASSERT_EQ(0, nhot_choose_scale(nd->weights, nd->k, 2, 8, &fresh, NULL));
	ASSERT_EQ(fresh, fq.scales[HEAD_NODE][0]);
	ASSERT_NE(first, fresh);
	fq_weights_release(&fq);
	free(eff);
	nhot_fnet_free(net);
}

TEST(bad_input_fails_cleanly)
{
	struct nhot_fnet *net, *other;
	struct nhot_fnode *nd;
	struct fq_weights fq;
	float *eff;
	int pass;

	ASSERT_EQ(-EINVAL, fq_weights_init(&fq, NULL, 2, 8, 1));
	ASSERT_EQ(NULL, fq.scales);
	ASSERT_EQ(0, arch_mobilenet_build(28, 28, 10, 1, &net));
	ASSERT_EQ(0, arch_mobilenet_build(28, 28, 10, 1, &other));
	ASSERT_EQ(-EINVAL, fq_weights_init(&fq, net, 5, 8, 1));
	ASSERT_EQ(-EINVAL, fq_weights_init(&fq, net, 2, 9, 1));
	ASSERT_EQ(-EINVAL, fq_weights_init(&fq, net, 2, 8, 0));
	nd = &net->nodes[HEAD_NODE];
	eff = malloc((size_t)nd->out_c * nd->k * sizeof(float));
	ASSERT_NE(NULL, eff);
	/* A non-finite weight fails on a searching pass and on a reusing one. */
	ASSERT_EQ(0, fq_weights_init(&fq, net, 2, 8, 2));
	ASSERT_EQ(0, fq_weights_transform(nd, nd->weights, eff, &fq));
	nd->weights[5] = NAN;
	for (pass = 2; pass <= 3; pass++)
		ASSERT_EQ(-EINVAL, fq_weights_transform(nd, nd->weights, eff, &fq));
	nd->weights[5] = 0.0f;
	/* A node without weights, and one of another network. */
	ASSERT_EQ(-EINVAL, fq_weights_transform(&net->nodes[10], NULL, eff, &fq));
	ASSERT_EQ(-EINVAL, fq_weights_transform(&other->nodes[HEAD_NODE],
						other->nodes[HEAD_NODE].weights, eff, &fq));
	fq_weights_release(&fq);
	free(eff);
	nhot_fnet_free(other);
	nhot_fnet_free(net);
}

TEST_HARNESS_MAIN
