// SPDX-License-Identifier: MIT
/*
 * nhot-train's engine: the backward pass of every op checked against finite
 * differences, the forward pass against libnhot's reference, the softmax
 * cross-entropy gradient, the weight-transform hook (straight-through),
 * AdamW making progress, the architecture's reproducibility, and the IDX
 * reader's rejections.
 *
 * Every network here is piecewise linear in each parameter (ReLU, ReLU6,
 * max, sums), so a central difference is exact up to float rounding unless
 * it crosses a kink; the data come from fixed seeds, so a pass is a pass
 * every time.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

/* The harness's TEST() wrappers leave parameters unused. */
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"

#include "adam.h"
#include "arch.h"
#include "idx.h"
#include "rng.h"
#include "tnet.h"

#define EPS	1e-3

static struct nhot_fnode conv(int in, uint32_t out_c, uint32_t k, uint32_t stride, uint32_t pad,
			      uint32_t dil, uint32_t groups, uint32_t act)
{
	struct nhot_fnode s = {
		.op = NHOT_FOP_CONV2D, .act = act, .in = { in, -1 }, .out_c = out_c,
		.kernel_h = k, .kernel_w = k, .stride_h = stride, .stride_w = stride,
		.dilation_h = dil, .dilation_w = dil, .pad_top = pad, .pad_bottom = pad,
		.pad_left = pad, .pad_right = pad, .groups = groups,
	};
	return s;
}

static struct nhot_fnode node(uint32_t op, int a, int b, uint32_t act)
{
	struct nhot_fnode s = { .op = op, .act = act, .in = { a, b } };
	return s;
}

static struct nhot_fnode pool(uint32_t op, int in, uint32_t k, uint32_t stride, uint32_t pad)
{
	struct nhot_fnode s = {
		.op = op, .in = { in, -1 }, .kernel_h = k, .kernel_w = k, .stride_h = stride,
		.stride_w = stride, .pad_bottom = pad, .pad_right = pad,
	};
	return s;
}

static void randomize(struct nhot_fnet *net, uint64_t seed)
{
	struct rng r = { seed };
	uint32_t i;
	size_t j;

	for (i = 0; i < net->node_count; i++) {
		struct nhot_fnode *nd = &net->nodes[i];

		for (j = 0; nd->weights && j < (size_t)nd->out_c * nd->k; j++)
			nd->weights[j] = (float)(rng_normal(&r) / sqrt(nd->k));
		for (j = 0; nd->bias && j < nd->out_c; j++)
			nd->bias[j] = (float)(0.2 * rng_normal(&r));
	}
}

static float *random_input(const struct nhot_fnet *net, int batch, uint64_t seed)
{
	size_t n = (size_t)batch * nhot_fnode_elems(&net->nodes[0]), i;
	float *x = malloc(n * sizeof(float));
	struct rng r = { seed };

	for (i = 0; x && i < n; i++)
		x[i] = (float)(2.0 * rng_uniform(&r) - 1.0);
	return x;
}

/* sum(last output * R), in double: the loss whose gradient the checks use. */
static double probe_loss(struct tnet *t, const float *x, int batch, const float *r)
{
	uint32_t last = t->net->node_count - 1;
	size_t n = (size_t)batch * nhot_fnode_elems(&t->net->nodes[last]), i;
	double l = 0.0;

	if (tnet_forward(t, x, batch))
		return NAN;
	for (i = 0; i < n; i++)
		l += (double)t->out[last][i] * r[i];
	return l;
}

/* Compares the analytic gradient g of one parameter p with the central difference. */
static int check_param(struct __test_metadata *_metadata, struct tnet *t, const float *x,
		       int batch, const float *r, float *p, float g, const char *what,
		       uint32_t node_i, size_t j)
{
	float saved = *p;
	double lp, lm, num;

	*p = saved + (float)EPS;
	lp = probe_loss(t, x, batch, r);
	*p = saved - (float)EPS;
	lm = probe_loss(t, x, batch, r);
	*p = saved;
	num = (lp - lm) / (2 * EPS);
	EXPECT_GE(2e-3 + 1e-2 * fabs(num), fabs(num - g))
		TH_LOG("node %u %s[%zu]: numeric %.6f analytic %.6f", node_i, what, j, num, g);
	return fabs(num - g) <= 2e-3 + 1e-2 * fabs(num);
}

/*
 * The whole check of one network: forward against nhot_fnet_forward(), then
 * every weight and bias gradient against finite differences. Returns the
 * number of parameters checked.
 */
static size_t check(struct __test_metadata *_metadata, struct nhot_fnet *net, int batch,
		    uint64_t seed, int grads)
{
	uint32_t last = net->node_count - 1, i;
	float *x = random_input(net, batch, seed), *r, **ref;
	size_t nout = (size_t)batch * nhot_fnode_elems(&net->nodes[last]), j, checked = 0;
	struct tnet t;
	struct rng rg = { seed + 1 };

	if (grads)
		randomize(net, seed + 2);
	r = malloc(nout * sizeof(float));
	ref = calloc(net->node_count, sizeof(*ref));
	if (!x || !r || !ref || tnet_init(&t, net, batch)) {
		ASSERT_TRUE(0) TH_LOG("setup");
	}
	for (j = 0; j < nout; j++)
		r[j] = (float)(2.0 * rng_uniform(&rg) - 1.0);

	ASSERT_EQ(0, tnet_forward(&t, x, batch));
	ASSERT_EQ(0, nhot_fnet_forward(net, x, batch, ref));
	for (i = 0; i < net->node_count; i++)
		for (j = 0; j < (size_t)batch * nhot_fnode_elems(&net->nodes[i]); j++)
			ASSERT_GE(1e-5 * (1 + fabs(ref[i][j])), fabs(ref[i][j] - t.out[i][j]))
				TH_LOG("node %u value %zu: %f vs reference %f", i, j, t.out[i][j],
				       ref[i][j]);
	nhot_fnet_outputs_free(net, ref);
	if (!grads)
		goto out;

	memcpy(t.dout[last], r, nout * sizeof(float));
	tnet_zero_grad(&t);
	tnet_backward(&t);
	for (i = 0; i < net->node_count; i++) {
		struct nhot_fnode *nd = &net->nodes[i];

		if (!nd->weights)
			continue;
		for (j = 0; j < (size_t)nd->out_c * nd->k; j++, checked++)
			check_param(_metadata, &t, x, batch, r, &nd->weights[j], t.dw[i][j],
				    "w", i, j);
		for (j = 0; j < nd->out_c; j++, checked++)
			check_param(_metadata, &t, x, batch, r, &nd->bias[j], t.db[i][j],
				    "b", i, j);
	}
out:
	tnet_release(&t);
	free(ref);
	free(r);
	free(x);
	return checked;
}

static size_t grad_check(struct __test_metadata *_metadata, struct nhot_fnet *net, int batch,
			 uint64_t seed)
{
	return check(_metadata, net, batch, seed, 1);
}

/* in 5x5x3 -> pre 1x1 (4, linear) -> [layer under test] -> ... : pre's gradient checks d/dx. */
static struct nhot_fnet *with_pre(uint32_t h, uint32_t w, uint32_t c, uint32_t pre_c)
{
	struct nhot_fnode s = conv(0, pre_c, 1, 1, 0, 1, 1, NHOT_FACT_NONE);
	struct nhot_fnet *net;

	if (nhot_fnet_create(h, w, c, &net))
		return NULL;
	if (nhot_fnet_add(net, &s) != 1) {
		nhot_fnet_free(net);
		return NULL;
	}
	return net;
}

static int add(struct nhot_fnet *net, struct nhot_fnode s)
{
	return nhot_fnet_add(net, &s);
}

TEST(grad_conv3x3_im2col)
{
	struct nhot_fnet *net = with_pre(6, 5, 3, 4);

	ASSERT_NE(NULL, net);
	ASSERT_EQ(2, add(net, conv(1, 5, 3, 2, 1, 1, 1, NHOT_FACT_RELU6)));
	ASSERT_LT(0u, grad_check(_metadata, net, 2, 11));
	nhot_fnet_free(net);
}

TEST(grad_conv_asymmetric_pad_and_dilation)
{
	struct nhot_fnet *net = with_pre(7, 7, 2, 3);
	struct nhot_fnode s = conv(1, 4, 3, 1, 2, 2, 1, NHOT_FACT_RELU);

	ASSERT_NE(NULL, net);
	s.pad_top = 0;
	s.pad_right = 1;
	ASSERT_EQ(2, add(net, s));
	ASSERT_LT(0u, grad_check(_metadata, net, 2, 12));
	nhot_fnet_free(net);
}

TEST(grad_conv_pointwise)
{
	struct nhot_fnet *net = with_pre(4, 4, 3, 5);

	ASSERT_NE(NULL, net);
	ASSERT_EQ(2, add(net, conv(1, 6, 1, 1, 0, 1, 1, NHOT_FACT_NONE)));
	ASSERT_LT(0u, grad_check(_metadata, net, 3, 13));
	nhot_fnet_free(net);
}

TEST(grad_depthwise)
{
	struct nhot_fnet *net = with_pre(6, 6, 2, 4);

	ASSERT_NE(NULL, net);
	ASSERT_EQ(2, add(net, conv(1, 4, 3, 2, 1, 1, 4, NHOT_FACT_RELU6)));
	ASSERT_EQ(3, add(net, conv(2, 4, 3, 1, 1, 1, 4, NHOT_FACT_NONE)));
	ASSERT_LT(0u, grad_check(_metadata, net, 2, 14));
	nhot_fnet_free(net);
}

TEST(grad_grouped_conv)
{
	/* groups 2: 2 input and 3 output channels per group. */
	struct nhot_fnet *net = with_pre(5, 5, 2, 4);

	ASSERT_NE(NULL, net);
	ASSERT_EQ(2, add(net, conv(1, 6, 3, 1, 1, 1, 2, NHOT_FACT_NONE)));
	ASSERT_EQ(2 * 3 * 3u, net->nodes[2].k / 1);
	ASSERT_LT(0u, grad_check(_metadata, net, 2, 15));
	nhot_fnet_free(net);
}

TEST(grad_fc)
{
	struct nhot_fnet *net = with_pre(3, 3, 2, 3);
	struct nhot_fnode s = node(NHOT_FOP_FC, 1, -1, NHOT_FACT_RELU);

	ASSERT_NE(NULL, net);
	s.out_c = 4;
	ASSERT_EQ(2, add(net, s));
	s.in[0] = 2;
	s.out_c = 3;
	s.act = NHOT_FACT_NONE;
	ASSERT_EQ(3, add(net, s));
	ASSERT_LT(0u, grad_check(_metadata, net, 3, 16));
	nhot_fnet_free(net);
}

TEST(grad_residual_add)
{
	struct nhot_fnet *net = with_pre(4, 4, 2, 3);

	ASSERT_NE(NULL, net);
	ASSERT_EQ(2, add(net, conv(1, 3, 3, 1, 1, 1, 1, NHOT_FACT_RELU6)));
	ASSERT_EQ(3, add(net, node(NHOT_FOP_ADD, 1, 2, NHOT_FACT_RELU)));
	ASSERT_EQ(4, add(net, node(NHOT_FOP_ADD, 3, 3, NHOT_FACT_NONE)));	/* x + x */
	ASSERT_LT(0u, grad_check(_metadata, net, 2, 17));
	nhot_fnet_free(net);
}

TEST(grad_avgpool_with_padding)
{
	struct nhot_fnet *net = with_pre(5, 5, 2, 3);

	ASSERT_NE(NULL, net);
	ASSERT_EQ(2, add(net, pool(NHOT_FOP_AVGPOOL, 1, 2, 2, 1)));
	ASSERT_EQ(3u, net->nodes[2].out_h);
	ASSERT_EQ(3, add(net, conv(2, 2, 1, 1, 0, 1, 1, NHOT_FACT_NONE)));
	ASSERT_LT(0u, grad_check(_metadata, net, 2, 18));
	nhot_fnet_free(net);
}

TEST(grad_maxpool)
{
	struct nhot_fnet *net = with_pre(5, 5, 2, 3);

	ASSERT_NE(NULL, net);
	ASSERT_EQ(2, add(net, pool(NHOT_FOP_MAXPOOL, 1, 3, 2, 1)));
	ASSERT_EQ(3, add(net, conv(2, 2, 1, 1, 0, 1, 1, NHOT_FACT_NONE)));
	ASSERT_LT(0u, grad_check(_metadata, net, 2, 19));
	nhot_fnet_free(net);
}

TEST(grad_global_avgpool)
{
	struct nhot_fnet *net = with_pre(4, 3, 2, 5);

	ASSERT_NE(NULL, net);
	ASSERT_EQ(2, add(net, node(NHOT_FOP_GLOBAL_AVGPOOL, 1, -1, NHOT_FACT_NONE)));
	ASSERT_LT(0u, grad_check(_metadata, net, 3, 20));
	nhot_fnet_free(net);
}

/* The softmax cross-entropy gradient, through the FC bias it reaches directly. */
TEST(grad_softmax_xent)
{
	struct nhot_fnet *net = with_pre(2, 2, 1, 2);
	struct nhot_fnode s = node(NHOT_FOP_FC, 1, -1, NHOT_FACT_NONE);
	const uint8_t labels[3] = { 2, 0, 3 };
	float *x;
	struct tnet t;
	uint32_t o;
	int correct;

	ASSERT_NE(NULL, net);
	s.out_c = 4;
	ASSERT_EQ(2, add(net, s));
	randomize(net, 21);
	x = random_input(net, 3, 22);
	ASSERT_NE(NULL, x);
	ASSERT_EQ(0, tnet_init(&t, net, 3));
	ASSERT_EQ(0, tnet_forward(&t, x, 3));
	tnet_softmax_xent(&t, labels, &correct);
	ASSERT_LE(0, correct);
	ASSERT_GE(3, correct);
	tnet_zero_grad(&t);
	tnet_backward(&t);
	for (o = 0; o < 4; o++) {
		float saved = net->nodes[2].bias[o];
		double lp, lm;

		net->nodes[2].bias[o] = saved + (float)EPS;
		tnet_forward(&t, x, 3);
		lp = tnet_softmax_xent(&t, labels, NULL);
		net->nodes[2].bias[o] = saved - (float)EPS;
		tnet_forward(&t, x, 3);
		lm = tnet_softmax_xent(&t, labels, NULL);
		net->nodes[2].bias[o] = saved;
		/* smooth: second-order error only */
		EXPECT_GE(1e-4, fabs((lp - lm) / (2 * EPS) - t.db[2][o])) TH_LOG("class %u", o);
	}
	tnet_release(&t);
	free(x);
	nhot_fnet_free(net);
}

/* A hook that doubles the weights; counts its calls. */
static int calls;

static int double_weights(const struct nhot_fnode *nd, const float *master, float *eff,
			  void *ctx)
{
	size_t j;

	(void)ctx;
	calls++;
	for (j = 0; j < (size_t)nd->out_c * nd->k; j++)
		eff[j] = 2.0f * master[j];
	return 0;
}

static int failing_hook(const struct nhot_fnode *nd, const float *master, float *eff, void *ctx)
{
	(void)nd;
	(void)master;
	(void)eff;
	(void)ctx;
	return -EDOM;
}

TEST(wtransform_hook_is_straight_through)
{
	struct nhot_fnet *a = with_pre(4, 4, 2, 3), *b = with_pre(4, 4, 2, 3);
	struct tnet ta, tb;
	float *x;
	uint32_t i;
	size_t j;

	ASSERT_NE(NULL, a);
	ASSERT_NE(NULL, b);
	ASSERT_EQ(2, add(a, conv(1, 3, 3, 1, 1, 1, 3, NHOT_FACT_RELU6)));
	ASSERT_EQ(2, add(b, conv(1, 3, 3, 1, 1, 1, 3, NHOT_FACT_RELU6)));
	randomize(a, 30);
	randomize(b, 30);
	/* b holds the doubled weights for real. */
	for (i = 1; i < 3; i++)
		for (j = 0; j < (size_t)b->nodes[i].out_c * b->nodes[i].k; j++)
			b->nodes[i].weights[j] *= 2.0f;
	x = random_input(a, 2, 31);
	ASSERT_NE(NULL, x);
	ASSERT_EQ(0, tnet_init(&ta, a, 2));
	ASSERT_EQ(0, tnet_init(&tb, b, 2));
	ASSERT_EQ(0, tnet_set_wtransform(&ta, double_weights, NULL));
	calls = 0;
	ASSERT_EQ(0, tnet_forward(&ta, x, 2));
	ASSERT_EQ(2, calls);
	ASSERT_EQ(0, tnet_forward(&tb, x, 2));
	ASSERT_EQ(0, memcmp(ta.out[2], tb.out[2], 2 * nhot_fnode_elems(&a->nodes[2]) * 4));
	/* The master weights are untouched. */
	ASSERT_NE(2.0f * a->nodes[1].weights[0], a->nodes[1].weights[0]);

	for (j = 0; j < 2 * nhot_fnode_elems(&a->nodes[2]); j++)
		ta.dout[2][j] = tb.dout[2][j] = (float)j / 7.0f - 1.0f;
	tnet_zero_grad(&ta);
	tnet_zero_grad(&tb);
	tnet_backward(&ta);
	tnet_backward(&tb);
	/* Straight-through: the gradient is the one of the effective weights. */
	for (i = 1; i < 3; i++)
		ASSERT_EQ(0, memcmp(ta.dw[i], tb.dw[i], (size_t)a->nodes[i].out_c * a->nodes[i].k * 4));

	ASSERT_EQ(0, tnet_set_wtransform(&ta, failing_hook, NULL));
	ASSERT_EQ(-EDOM, tnet_forward(&ta, x, 2));
	ASSERT_EQ(0, tnet_set_wtransform(&ta, NULL, NULL));
	ASSERT_EQ(0, tnet_forward(&ta, x, 2));
	ASSERT_EQ(-EINVAL, tnet_forward(&ta, x, 3));	/* beyond batch_cap */
	tnet_release(&ta);
	tnet_release(&tb);
	free(x);
	nhot_fnet_free(a);
	nhot_fnet_free(b);
}

TEST(adamw_fits_a_small_batch)
{
	struct nhot_fnet *net;
	uint8_t labels[32];
	double first = 0, loss = 0;
	struct adam opt;
	struct tnet t;
	float *x;
	int step, i;

	ASSERT_EQ(0, arch_mobilenet_build(28, 28, 10, 7, &net));
	x = random_input(net, 32, 40);
	ASSERT_NE(NULL, x);
	for (i = 0; i < 32; i++)
		labels[i] = i % 10;
	ASSERT_EQ(0, tnet_init(&t, net, 32));
	ASSERT_EQ(0, adam_init(&opt, &t, 1e-4));
	for (step = 0; step < 40; step++) {
		ASSERT_EQ(0, tnet_forward(&t, x, 32));
		loss = tnet_softmax_xent(&t, labels, NULL);
		if (!step)
			first = loss;
		tnet_zero_grad(&t);
		tnet_backward(&t);
		adam_step(&opt, 3e-3);
	}
	TH_LOG("loss %.4f -> %.4f", first, loss);
	ASSERT_LT(loss, 0.5 * first);
	ASSERT_EQ(0, nhot_fnet_validate(net));
	adam_release(&opt);
	tnet_release(&t);
	free(x);
	nhot_fnet_free(net);
}

TEST(arch_is_reproducible_and_runs)
{
	struct nhot_fnet *a, *b, *c;
	void *da, *db, *dc;
	size_t la, lb, lc;
	uint32_t i, adds = 0;

	ASSERT_EQ(0, arch_mobilenet_build(28, 28, 10, 5, &a));
	ASSERT_EQ(0, arch_mobilenet_build(28, 28, 10, 5, &b));
	ASSERT_EQ(0, arch_mobilenet_build(28, 28, 10, 6, &c));
	ASSERT_EQ(0, nhot_fnet_serialize(a, &da, &la));
	ASSERT_EQ(0, nhot_fnet_serialize(b, &db, &lb));
	ASSERT_EQ(0, nhot_fnet_serialize(c, &dc, &lc));
	ASSERT_EQ(la, lb);
	ASSERT_EQ(0, memcmp(da, db, la));
	ASSERT_EQ(la, lc);
	ASSERT_NE(0, memcmp(da, dc, la));
	ASSERT_EQ(12u, a->node_count);
	ASSERT_EQ((uint32_t)NHOT_FOP_FC, a->nodes[11].op);
	ASSERT_EQ(10u, a->nodes[11].out_c);
	ASSERT_EQ((uint32_t)NHOT_FOP_GLOBAL_AVGPOOL, a->nodes[10].op);
	for (i = 0; i < a->node_count; i++) {
		if (a->nodes[i].op == NHOT_FOP_ADD)
			adds++;
		if (a->nodes[i].op == NHOT_FOP_CONV2D && a->nodes[i].groups > 1)
			ASSERT_EQ(a->nodes[i].groups, a->nodes[i].out_c);	/* depthwise */
	}
	ASSERT_EQ(1u, adds);
	/* The trainer's forward pass agrees with libnhot's on the real network. */
	check(_metadata, a, 3, 50, 0);
	free(da);
	free(db);
	free(dc);
	nhot_fnet_free(a);
	nhot_fnet_free(b);
	nhot_fnet_free(c);
}

/* ---- IDX files ------------------------------------------------------------- */

struct idx_dir {
	char path[64];
};

static int write_gz(const char *dir, const char *name, const uint8_t *p, size_t n)
{
	char path[128];
	gzFile f;
	int ok;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = gzopen(path, "wb");
	if (!f)
		return -1;
	ok = gzwrite(f, p, (unsigned int)n) == (int)n;
	return gzclose(f) == Z_OK && ok ? 0 : -1;
}

/* Writes PREFIX-images (count images of 2x3, pixel i*7) and labels; extra bytes appended to images. */
static int write_set(const char *dir, uint32_t count_img, uint32_t count_lab, uint8_t type,
		     size_t cut, int extra, uint8_t label_add)
{
	uint8_t img[16 + 6 * 8 + 1] = { 0, 0, type, 3, 0, 0, 0, (uint8_t)count_img, 0, 0, 0, 2,
					0, 0, 0, 3 };
	uint8_t lab[8 + 8] = { 0, 0, 8, 1, 0, 0, 0, (uint8_t)count_lab };
	size_t n = 16 + 6 * (size_t)count_img, i;

	for (i = 16; i < n; i++)
		img[i] = (uint8_t)(i * 7);
	for (i = 0; i < count_lab; i++)
		lab[8 + i] = (uint8_t)(i + label_add);
	if (write_gz(dir, "x-images-idx3-ubyte.gz", img, (cut ? cut : n) + (extra ? 1 : 0)))
		return -1;
	return write_gz(dir, "x-labels-idx1-ubyte.gz", lab, 8 + count_lab);
}

TEST(idx_reader)
{
	char dir[] = "/tmp/test_train_idx.XXXXXX", err[256];
	struct dataset ds;

	ASSERT_NE(NULL, mkdtemp(dir));
	ASSERT_EQ(0, write_set(dir, 4, 4, 8, 0, 0, 3));
	ASSERT_EQ(0, dataset_load(dir, "x", &ds, err, sizeof(err))) TH_LOG("%s", err);
	ASSERT_EQ(4u, ds.count);
	ASSERT_EQ(2u, ds.rows);
	ASSERT_EQ(3u, ds.cols);
	EXPECT_EQ((uint8_t)(17 * 7) / 255.0f, ds.images[1]);
	EXPECT_EQ(6, ds.labels[3]);
	dataset_free(&ds);

	ASSERT_EQ(-ENOENT, dataset_load(dir, "nothing", &ds, err, sizeof(err)));
	ASSERT_EQ(0, write_set(dir, 4, 4, 9, 0, 0, 0));		/* not unsigned bytes */
	EXPECT_EQ(-EBADMSG, dataset_load(dir, "x", &ds, err, sizeof(err)));
	ASSERT_EQ(0, write_set(dir, 4, 3, 8, 0, 0, 0));		/* counts differ */
	EXPECT_EQ(-EBADMSG, dataset_load(dir, "x", &ds, err, sizeof(err)));
	ASSERT_EQ(0, write_set(dir, 4, 4, 8, 16 + 20, 0, 0));	/* truncated pixels */
	EXPECT_EQ(-EBADMSG, dataset_load(dir, "x", &ds, err, sizeof(err)));
	ASSERT_EQ(0, write_set(dir, 4, 4, 8, 10, 0, 0));		/* truncated header */
	EXPECT_EQ(-EBADMSG, dataset_load(dir, "x", &ds, err, sizeof(err)));
	ASSERT_EQ(0, write_set(dir, 4, 4, 8, 0, 1, 0));		/* a byte too many */
	EXPECT_EQ(-EBADMSG, dataset_load(dir, "x", &ds, err, sizeof(err)));
	ASSERT_EQ(0, write_set(dir, 4, 4, 8, 0, 0, 7));		/* label 10 */
	EXPECT_EQ(-EBADMSG, dataset_load(dir, "x", &ds, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "label 10"));
	ASSERT_EQ(0, write_set(dir, 0, 0, 8, 0, 0, 0));		/* empty */
	EXPECT_EQ(-EBADMSG, dataset_load(dir, "x", &ds, err, sizeof(err)));
	EXPECT_EQ(NULL, ds.images);

	snprintf(err, sizeof(err), "%s/x-images-idx3-ubyte.gz", dir);
	unlink(err);
	snprintf(err, sizeof(err), "%s/x-labels-idx1-ubyte.gz", dir);
	unlink(err);
	rmdir(dir);
}

TEST_HARNESS_MAIN
