// SPDX-License-Identifier: MIT
/*
 * Quantized networks (.nhq, docs/model-format.md): a small float network with
 * every layer kind (conv, residual ADD, pools, FC) is quantized here, then
 * written, read back and run. Checked: byte-exact round trips, rejection of
 * every truncation, of every flipped byte, and of inconsistent content whose
 * checksum was fixed up; runner on the CPU context equal bit for bit to the
 * reference run at every node, counters equal to the static cost; and, when
 * the Fashion-MNIST package is installed, a nearest-class-mean classifier
 * quantized to n = 2, b = 8 keeps an accuracy floor.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#include "nhot.h"
#include "nhot_fmodel.h"
#include "nhot_model.h"

#define FMNIST_DIR	"/usr/share/datasets/fashion-mnist"
#define TINY_IMAGES	24

static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

/* Uniform in [-1, 1). */
static float rng_float(uint64_t *s)
{
	return (float)((double)(rng_next(s) >> 11) / (double)(1ULL << 52) - 1.0);
}

static int add_node(struct nhot_fnet *net, uint32_t op, uint32_t act, int in0, int in1,
		    uint32_t out_c, uint32_t kernel, uint32_t stride, uint32_t pad)
{
	struct nhot_fnode spec;

	memset(&spec, 0, sizeof(spec));
	spec.op = op;
	spec.act = act;
	spec.in[0] = in0;
	spec.in[1] = in1;
	spec.out_c = out_c;
	if (op == NHOT_FOP_CONV2D || op == NHOT_FOP_AVGPOOL || op == NHOT_FOP_MAXPOOL) {
		spec.kernel_h = spec.kernel_w = kernel;
		spec.stride_h = spec.stride_w = stride;
		spec.pad_top = spec.pad_bottom = spec.pad_left = spec.pad_right = pad;
	}
	if (op == NHOT_FOP_CONV2D) {
		spec.dilation_h = spec.dilation_w = 1;
		spec.groups = 1;
	}
	return nhot_fnet_add(net, &spec);
}

/*
 * input 8x8x2 -> conv3x3/1 pad 1 (6, relu) -> conv3x3 pad 1 (6) -> add (relu)
 * -> maxpool 2/2 -> avgpool 3/1 pad 1 -> conv1x1 (4, relu6) -> global avgpool
 * -> fc 5. Random weights, fixed seed.
 */
static struct nhot_fnet *tiny_fnet(uint64_t seed)
{
	struct nhot_fnet *net;
	uint32_t i;
	size_t j;
	int ok = 1;

	if (nhot_fnet_create(8, 8, 2, &net))
		return NULL;
	ok &= add_node(net, NHOT_FOP_CONV2D, NHOT_FACT_RELU, 0, -1, 6, 3, 1, 1) == 1;
	ok &= add_node(net, NHOT_FOP_CONV2D, NHOT_FACT_NONE, 1, -1, 6, 3, 1, 1) == 2;
	ok &= add_node(net, NHOT_FOP_ADD, NHOT_FACT_RELU, 1, 2, 0, 0, 0, 0) == 3;
	ok &= add_node(net, NHOT_FOP_MAXPOOL, NHOT_FACT_NONE, 3, -1, 0, 2, 2, 0) == 4;
	ok &= add_node(net, NHOT_FOP_AVGPOOL, NHOT_FACT_NONE, 4, -1, 0, 3, 1, 1) == 5;
	ok &= add_node(net, NHOT_FOP_CONV2D, NHOT_FACT_RELU6, 5, -1, 4, 1, 1, 0) == 6;
	ok &= add_node(net, NHOT_FOP_GLOBAL_AVGPOOL, NHOT_FACT_NONE, 6, -1, 0, 0, 0, 0) == 7;
	ok &= add_node(net, NHOT_FOP_FC, NHOT_FACT_NONE, 7, -1, 5, 0, 0, 0) == 8;
	if (!ok) {
		nhot_fnet_free(net);
		return NULL;
	}
	for (i = 1; i < net->node_count; i++) {
		struct nhot_fnode *n = &net->nodes[i];

		for (j = 0; n->weights && j < (size_t)n->out_c * n->k; j++)
			n->weights[j] = rng_float(&seed) * 0.6f;
		for (j = 0; n->bias && j < n->out_c; j++)
			n->bias[j] = rng_float(&seed) * 0.2f;
	}
	return net;
}

static void random_images(uint64_t seed, uint8_t *px, float *f, size_t bytes)
{
	size_t i;

	for (i = 0; i < bytes; i++) {
		px[i] = (uint8_t)(rng_next(&seed) >> 56);
		f[i] = px[i] / 255.0f;
	}
}

/* The tiny network quantized with S(n, b), and its test images. */
static struct nhot_qnet *tiny_qnet(int n, int b, uint8_t *px, size_t px_len)
{
	struct nhot_quant_opts o = { .n = n, .b = b };
	struct nhot_fnet *f = tiny_fnet(42);
	struct nhot_qnet *q = NULL;
	float *fl = malloc(px_len * sizeof(float));
	char err[NHOT_QNET_ERR_LEN];

	if (f && fl) {
		random_images(7, px, fl, px_len);
		if (nhot_qnet_quantize(f, fl, TINY_IMAGES, &o, &q, err, sizeof(err)))
			fprintf(stderr, "quantize: %s\n", err);
	}
	free(fl);
	nhot_fnet_free(f);
	return q;
}

#define TINY_PX	(TINY_IMAGES * 8 * 8 * 2)

FIXTURE(tiny) {
	struct nhot_qnet *net;
	uint8_t *file;
	size_t len;
	uint8_t px[TINY_PX];
	char err[NHOT_QNET_ERR_LEN];
};

FIXTURE_SETUP(tiny)
{
	self->net = tiny_qnet(2, 8, self->px, TINY_PX);
	ASSERT_NE(NULL, self->net);
	ASSERT_EQ(0, nhot_qnet_serialize(self->net, &self->file, &self->len,
					 self->err, sizeof(self->err)));
}

FIXTURE_TEARDOWN(tiny)
{
	nhot_qnet_free(self->net);
	free(self->file);
}

/* Parses a modified copy; returns the loader's result. */
static int parse_copy(const uint8_t *buf, size_t len, char *err)
{
	struct nhot_qnet *net = NULL;
	int rc = nhot_qnet_parse(buf, len, &net, err, NHOT_QNET_ERR_LEN);

	nhot_qnet_free(net);
	return rc;
}

static void fix_crc(uint8_t *buf, size_t len)
{
	uint32_t crc = nhot_crc32(0, buf + 16, len - 16);

	memcpy(buf + 12, &crc, 4);	/* the test host is little endian, as the file */
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static void wr32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

/* Offset of node i's record. */
static size_t node_off(const uint8_t *buf, uint32_t i)
{
	size_t off = NHOT_QNET_HEADER_BYTES;

	while (i--)
		off += rd32(buf + off);
	return off;
}

/* Word w of node i's layer descriptor (struct nhot_layer field order). */
static uint8_t *layer_word(uint8_t *buf, uint32_t i, uint32_t w)
{
	return buf + node_off(buf, i) + 16 + 4 * w;
}

TEST_F(tiny, round_trip_is_byte_exact)
{
	struct nhot_qnet *back = NULL;
	uint8_t *again = NULL;
	size_t len2 = 0;
	char path[] = "/tmp/nhot-test-model-XXXXXX";
	int fd;

	ASSERT_EQ(8U, self->net->node_count);
	ASSERT_EQ(0, nhot_qnet_parse(self->file, self->len, &back, self->err,
				     sizeof(self->err)));
	ASSERT_EQ(0, nhot_qnet_serialize(back, &again, &len2, self->err, sizeof(self->err)));
	ASSERT_EQ(self->len, len2);
	EXPECT_EQ(0, memcmp(self->file, again, len2));
	EXPECT_EQ(5U, nhot_qnet_classes(back));
	EXPECT_EQ(self->net->nodes[0].w_scales[3], back->nodes[0].w_scales[3]);
	EXPECT_EQ(self->net->nodes[7].params[4].mult, back->nodes[7].params[4].mult);
	nhot_qnet_free(back);
	free(again);

	/* The same through a file. */
	fd = mkstemp(path);
	ASSERT_LE(0, fd);
	close(fd);
	ASSERT_EQ(0, nhot_qnet_save(self->net, path, self->err, sizeof(self->err)));
	ASSERT_EQ(0, nhot_qnet_load(path, &back, self->err, sizeof(self->err)));
	ASSERT_EQ(0, nhot_qnet_serialize(back, &again, &len2, self->err, sizeof(self->err)));
	EXPECT_EQ(0, memcmp(self->file, again, len2));
	nhot_qnet_free(back);
	free(again);
	unlink(path);
	EXPECT_EQ(-ENOENT, nhot_qnet_load(path, &back, self->err, sizeof(self->err)));
	EXPECT_NE(NULL, strstr(self->err, path));
}

TEST_F(tiny, every_truncation_rejected)
{
	size_t l;

	for (l = 0; l < self->len; l++) {
		int rc = parse_copy(self->file, l, self->err);

		if (rc != -EBADMSG)
			TH_LOG("length %zu: %d (%s)", l, rc, self->err);
		ASSERT_EQ(-EBADMSG, rc);
	}
	/* And one byte of trailing data. */
	{
		uint8_t *longer = calloc(1, self->len + 1);

		ASSERT_NE(NULL, longer);
		memcpy(longer, self->file, self->len);
		EXPECT_EQ(-EBADMSG, parse_copy(longer, self->len + 1, self->err));
		free(longer);
	}
}

TEST_F(tiny, every_flipped_byte_rejected)
{
	uint8_t *copy = malloc(self->len);
	size_t i;

	ASSERT_NE(NULL, copy);
	for (i = 0; i < self->len; i++) {
		int rc;

		memcpy(copy, self->file, self->len);
		copy[i] ^= 0xff;
		rc = parse_copy(copy, self->len, self->err);
		if (rc >= 0)
			TH_LOG("byte %zu flipped and accepted", i);
		ASSERT_GT(0, rc);
		/* Past the magic and version: the checksum, or the size check first. */
		if (i >= 12 && rc != -EBADMSG)
			ASSERT_EQ(-EFBIG, rc);
	}
	free(copy);
	EXPECT_EQ(0, parse_copy(self->file, self->len, self->err));
}

/* One inconsistency per case, checksum fixed so only the content check can catch it. */
TEST_F(tiny, inconsistent_content_rejected)
{
	uint8_t *c = malloc(self->len);
	size_t o;

#define MUTATE(expect, stmt) do {					\
		memcpy(c, self->file, self->len);			\
		stmt;							\
		fix_crc(c, self->len);					\
		EXPECT_EQ(expect, parse_copy(c, self->len, self->err));	\
		TH_LOG("%s -> %s", #stmt, self->err);			\
	} while (0)

	ASSERT_NE(NULL, c);
	/* Node 1 reads 8x8x6 but claims 8x8x5 input channels. */
	MUTATE(-EINVAL, wr32(layer_word(c, 1, 5), 5));
	/* Node 2 (ADD) reads a later node. */
	MUTATE(-EINVAL, wr32(c + node_off(c, 2) + 8, 5));
	/* A second input on a conv. */
	MUTATE(-EINVAL, wr32(c + node_off(c, 0) + 8, 0));
	/* Input zero point not the source's. */
	MUTATE(-EINVAL, wr32(layer_word(c, 1, 20), rd32(layer_word(c, 1, 20)) ^ 1));
	/* A layer nhot_layer_check() rejects (stride 0). */
	MUTATE(-EOVERFLOW, wr32(layer_word(c, 0, 9), 0));
	/* Batch other than 1. */
	MUTATE(-EINVAL, wr32(layer_word(c, 0, 2), 2));
	/* Unknown layer type. */
	MUTATE(-EOPNOTSUPP, wr32(layer_word(c, 6, 0), 99));
	/* A pool whose output zero point is not its input's. */
	MUTATE(-EINVAL, wr32(c + node_off(c, 3) + 152, rd32(c + node_off(c, 3) + 152) + 1));
	/* Record size lying. */
	MUTATE(-EBADMSG, wr32(c + node_off(c, 0), rd32(c + node_off(c, 0)) + 4));
	/* Weight byte count not matching nhot_row_bytes(). */
	MUTATE(-EBADMSG, wr32(c + node_off(c, 7) + 160, rd32(c + node_off(c, 7) + 160) - 8));
	/* An invalid weight code: 7-bit codes of 127 >= |S(2, 8)| = 87. */
	o = node_off(c, 7) + 176 + 5 * 20 + 8;
	MUTATE(-EILSEQ, c[o] = 0xff);
	/* Bias beyond 2^30. */
	o = node_off(c, 7) + 176 + 5 * 8;
	MUTATE(-EOVERFLOW, wr32(c + o, 0x7fffffff));
	/* Shift 0. */
	MUTATE(-EINVAL, wr32(c + o + 8, 0));
	/* A negative weight scale. */
	MUTATE(-EINVAL, c[node_off(c, 7) + 176 + 7] = 0xbf);
	/* Uniform-8 digits beyond 4 per weight. */
	o = node_off(c, 7) + 176 + 5 * 20;
	MUTATE(-EINVAL, wr32(c + o + 4, 0x10000));
	/* Oversized counts. */
	MUTATE(-EFBIG, wr32(c + 28, NHOT_QNET_MAX_NODES + 1));
	MUTATE(-EBADMSG, wr32(c + 28, 9));
	MUTATE(-EFBIG, wr32(layer_word(c, 7, 6), 100000));
	MUTATE(-EFBIG, wr32(c + node_off(c, 7) + 164, 1));
	MUTATE(-EINVAL, wr32(c + 32, 0));
	/* Another version. */
	MUTATE(-EPROTONOSUPPORT, wr32(c + 8, 2));
	/* A reserved word. */
	MUTATE(-EBADMSG, wr32(c + 60, 1));
	free(c);
}

TEST_F(tiny, runner_matches_reference_and_static_cost)
{
	struct nhot_qnet_stats st = { 0 };
	struct nhot_qnet_runner *r = NULL;
	struct nhot_qnet_cost cost;
	struct nhot_ctx *ctx = NULL;
	uint8_t **ref = NULL, logits[TINY_IMAGES * 5];
	int classes[TINY_IMAGES];
	const uint8_t *out;
	uint32_t i, distinct = 0;
	size_t len;

	ASSERT_EQ(0, nhot_open("cpu", &ctx));
	ASSERT_EQ(0, nhot_qnet_runner_create(ctx, self->net, TINY_IMAGES, &r));
	ASSERT_EQ(0, nhot_qnet_runner_run(r, self->px, TINY_IMAGES, logits, classes, &st));
	ASSERT_EQ(0, nhot_qnet_ref_run(self->net, self->px, TINY_IMAGES, &ref));
	for (i = 0; i < self->net->node_count; i++) {
		out = nhot_qnet_runner_output(r, i, &len);
		ASSERT_NE(NULL, out);
		ASSERT_EQ(self->net->nodes[i].shape.output_bytes * TINY_IMAGES, len);
		EXPECT_EQ(0, memcmp(out, ref[i], len)) TH_LOG("node %u differs", i);
	}
	/* The outputs carry information: logits are not all one value. */
	for (i = 1; i < sizeof(logits); i++)
		distinct += logits[i] != logits[0];
	EXPECT_LT(0U, distinct);
	for (i = 0; i < TINY_IMAGES; i++)
		EXPECT_EQ(nhot_argmax_u8(logits + 5 * i, 5), classes[i]);
	nhot_qnet_cost(self->net, &cost);
	EXPECT_EQ(cost.macs * TINY_IMAGES, st.macs);
	EXPECT_EQ(cost.shift_adds * TINY_IMAGES, st.shift_adds);
	EXPECT_GT(cost.macs * 2, cost.shift_adds);	/* n = 2: at most 2 per MAC */
	EXPECT_LT(0U, cost.shift_adds);
	EXPECT_LE(cost.shift_adds, cost.u8_zero_skip + cost.macs);
	EXPECT_EQ(self->net->node_count, st.jobs);

	/* A smaller batch in the same buffers; batches beyond the maximum refused. */
	EXPECT_EQ(0, nhot_qnet_runner_run(r, self->px, 3, logits, NULL, NULL));
	EXPECT_EQ(0, memcmp(logits, ref[7], 15));
	EXPECT_EQ(-EINVAL, nhot_qnet_runner_run(r, self->px, TINY_IMAGES + 1, logits,
						 NULL, NULL));
	nhot_qnet_outputs_free(self->net, ref);
	nhot_qnet_runner_free(r);
	EXPECT_EQ(-EOVERFLOW, nhot_qnet_runner_create(ctx, self->net, NHOT_MAX_BATCH + 1, &r));
	nhot_close(ctx);
}

/* The uniform-8 model's own digits are exactly the zero-skip baseline an n-hot model records. */
TEST(uniform8_digits_agree)
{
	uint8_t px[TINY_PX];
	struct nhot_qnet *u = tiny_qnet(4, 8, px, TINY_PX);
	struct nhot_qnet *h = tiny_qnet(2, 8, px, TINY_PX);
	struct nhot_qnet *p = tiny_qnet(1, 8, px, TINY_PX);
	struct nhot_qnet_cost cu, ch, cp;

	ASSERT_NE(NULL, u);
	ASSERT_NE(NULL, h);
	ASSERT_NE(NULL, p);
	nhot_qnet_cost(u, &cu);
	nhot_qnet_cost(h, &ch);
	nhot_qnet_cost(p, &cp);
	EXPECT_EQ(cu.shift_adds, cu.u8_zero_skip);
	EXPECT_EQ(cu.u8_zero_skip, ch.u8_zero_skip);
	EXPECT_EQ(cu.macs, ch.macs);
	EXPECT_LT(ch.shift_adds, cu.shift_adds);
	EXPECT_LT(cp.shift_adds, ch.shift_adds);
	EXPECT_GE(cp.macs, cp.shift_adds);	/* pot: at most one term per weight */
	EXPECT_LT(ch.weight_bytes, cu.weight_bytes);	/* 7-bit codes vs 8 */
	nhot_qnet_free(u);
	nhot_qnet_free(h);
	nhot_qnet_free(p);
}

TEST(choose_scale_minimises_error)
{
	float w[64];
	int8_t q[64];
	uint64_t seed = 99;
	double s, e_best = 0, e_naive = 0;
	int i, v, n;

	for (i = 0; i < 64; i++)
		w[i] = rng_float(&seed) * rng_float(&seed);	/* peaked at 0, like weights */
	for (n = 1; n <= 4; n++) {
		int16_t set[NHOT_SET_MAX];
		int cnt = nhot_set_values(n, 8, set, NHOT_SET_MAX);
		double maxabs = 0, naive;

		ASSERT_LT(0, cnt);
		ASSERT_EQ(0, nhot_choose_scale(w, 64, n, 8, &s, q));
		for (i = 0; i < 64; i++)
			maxabs = fmax(maxabs, fabs(w[i]));
		naive = maxabs / set[cnt - 1];
		e_best = e_naive = 0;
		for (i = 0; i < 64; i++) {
			ASSERT_EQ(0, nhot_round(w[i] / naive, n, 8, &v));
			e_naive += (w[i] - naive * v) * (w[i] - naive * v);
			e_best += (w[i] - s * q[i]) * (w[i] - s * q[i]);
			ASSERT_LE(0, nhot_encode_value(q[i], n, 8));
		}
		EXPECT_LE(e_best, e_naive);
	}
	memset(w, 0, sizeof(w));
	ASSERT_EQ(0, nhot_choose_scale(w, 64, 2, 8, &s, q));
	EXPECT_EQ(1.0, s);
	w[3] = NAN;
	EXPECT_EQ(-EINVAL, nhot_choose_scale(w, 64, 2, 8, &s, q));
	EXPECT_EQ(-EINVAL, nhot_choose_scale(w, 64, 5, 8, &s, q));
}

/* ---------------------------------------------------------------------- */
/* Fashion-MNIST: a nearest-class-mean classifier as one FC layer          */

TEST(fashion_mnist_class_means_accuracy_floor)
{
	struct nhot_idx tr = { 0 }, trl = { 0 }, te = { 0 }, tel = { 0 };
	struct nhot_quant_opts o = { .n = 2, .b = 8 };
	const unsigned int test_n = 2000, calib_n = 256;
	struct nhot_fnet *f = NULL;
	struct nhot_qnet *q = NULL;
	struct nhot_ctx *ctx = NULL;
	struct nhot_qnet_runner *r = NULL;
	char err[NHOT_QNET_ERR_LEN];
	double mean[10][784] = { { 0 } }, cnt[10] = { 0 };
	int *cls = NULL, *fcls = NULL;
	float *calib = NULL, *tf = NULL;
	unsigned int i, j, c, ok = 0, fok = 0;

	if (access(FMNIST_DIR "/t10k-images-idx3-ubyte.gz", R_OK))
		SKIP(return, "dataset-fashion-mnist not installed");
	ASSERT_EQ(0, nhot_idx_load(FMNIST_DIR "/train-images-idx3-ubyte.gz", &tr, err, sizeof(err)));
	ASSERT_EQ(0, nhot_idx_load(FMNIST_DIR "/train-labels-idx1-ubyte.gz", &trl, err, sizeof(err)));
	ASSERT_EQ(0, nhot_idx_load(FMNIST_DIR "/t10k-images-idx3-ubyte.gz", &te, err, sizeof(err)));
	ASSERT_EQ(0, nhot_idx_load(FMNIST_DIR "/t10k-labels-idx1-ubyte.gz", &tel, err, sizeof(err)));
	ASSERT_EQ(60000U, tr.count);
	ASSERT_EQ(10000U, tel.count);
	ASSERT_EQ(28U, te.rows);
	/* A third of the training set gives the same means to ~0.3%, faster under ASan. */
	for (i = 0; i < tr.count / 3; i++) {
		ASSERT_GT(10, trl.data[i]);
		for (j = 0; j < 784; j++)
			mean[trl.data[i]][j] += tr.data[(size_t)i * 784 + j] / 255.0;
		cnt[trl.data[i]]++;
	}
	/* score_c = mu_c . x - |mu_c|^2 / 2: the nearest mean in Euclidean distance. */
	ASSERT_EQ(0, nhot_fnet_create(28, 28, 1, &f));
	ASSERT_EQ(1, add_node(f, NHOT_FOP_FC, NHOT_FACT_NONE, 0, -1, 10, 0, 0, 0));
	for (c = 0; c < 10; c++) {
		double norm = 0;

		for (j = 0; j < 784; j++) {
			mean[c][j] /= cnt[c];
			f->nodes[1].weights[c * 784 + j] = (float)mean[c][j];
			norm += mean[c][j] * mean[c][j];
		}
		f->nodes[1].bias[c] = (float)(-norm / 2);
	}
	calib = malloc(sizeof(float) * 784 * calib_n);
	tf = malloc(sizeof(float) * 784 * test_n);
	cls = calloc(test_n, sizeof(int));
	fcls = calloc(test_n, sizeof(int));
	ASSERT_TRUE(calib && tf && cls && fcls);
	for (j = 0; j < 784 * calib_n; j++)
		calib[j] = tr.data[j] / 255.0f;
	for (j = 0; j < 784 * test_n; j++)
		tf[j] = te.data[j] / 255.0f;
	ASSERT_EQ(0, nhot_qnet_quantize(f, calib, calib_n, &o, &q, err, sizeof(err)));
	ASSERT_EQ(0, nhot_fnet_classify(f, tf, (int)test_n, fcls, NULL));
	ASSERT_EQ(0, nhot_open("cpu", &ctx));
	ASSERT_EQ(0, nhot_qnet_runner_create(ctx, q, test_n, &r));
	ASSERT_EQ(0, nhot_qnet_runner_run(r, te.data, test_n, NULL, cls, NULL));
	for (i = 0; i < test_n; i++) {
		ok += cls[i] == tel.data[i];
		fok += fcls[i] == tel.data[i];
	}
	TH_LOG("nearest class mean on %u test images: float %.3f, n=2 b=8 %.3f",
	       test_n, (double)fok / test_n, (double)ok / test_n);
	/* Nearest-class-mean on Fashion-MNIST is ~0.68; chance is 0.10. */
	EXPECT_LE(0.60 * test_n, fok);
	EXPECT_LE(0.60 * test_n, ok);
	EXPECT_LE(fok, ok + 0.03 * test_n);
	nhot_qnet_runner_free(r);
	nhot_close(ctx);
	nhot_qnet_free(q);
	nhot_fnet_free(f);
	free(calib);
	free(tf);
	free(cls);
	free(fcls);
	nhot_idx_free(&tr);
	nhot_idx_free(&trl);
	nhot_idx_free(&te);
	nhot_idx_free(&tel);
}

TEST(idx_loader_rejects_bad_files)
{
	char path[] = "/tmp/nhot-test-idx-XXXXXX";
	struct nhot_idx idx;
	char err[NHOT_QNET_ERR_LEN];
	const uint8_t bad[] = { 0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3 };
	const uint8_t good[] = { 0, 0, 8, 1, 0, 0, 0, 3, 7, 8, 9 };
	FILE *f;
	int fd = mkstemp(path);

	ASSERT_LE(0, fd);
	close(fd);
	f = fopen(path, "wb");
	ASSERT_NE(NULL, f);
	fwrite(bad, 1, sizeof(bad), f);
	fclose(f);
	EXPECT_EQ(-EBADMSG, nhot_idx_load(path, &idx, err, sizeof(err)));
	EXPECT_EQ(NULL, idx.data);
	f = fopen(path, "wb");
	fwrite(good, 1, sizeof(good), f);
	fclose(f);
	ASSERT_EQ(0, nhot_idx_load(path, &idx, err, sizeof(err)));
	EXPECT_EQ(3U, idx.count);
	EXPECT_EQ(9, idx.data[2]);
	nhot_idx_free(&idx);
	unlink(path);
	EXPECT_GT(0, nhot_idx_load(path, &idx, err, sizeof(err)));
}

/* ---------------------------------------------------------------------- */
/* The fuzzer's seeds must load and run; its regression inputs must fail   */

static int read_file(const char *path, uint8_t **data, size_t *len)
{
	FILE *f = fopen(path, "rb");
	long n;

	if (!f)
		return -1;
	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		fclose(f);
		return -1;
	}
	*data = malloc(n ? (size_t)n : 1);
	*len = (size_t)n;
	if (!*data || fread(*data, 1, *len, f) != *len) {
		free(*data);
		fclose(f);
		return -1;
	}
	fclose(f);
	return 0;
}

/* Calls fn on every file of dir; returns how many, or -1 without the folder. */
static int each_file(const char *dir, void (*fn)(struct __test_metadata *, const char *),
		     struct __test_metadata *_metadata)
{
	char path[512];
	struct dirent *e;
	DIR *d = opendir(dir);
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		fn(_metadata, path);
		n++;
	}
	closedir(d);
	return n;
}

static void seed_loads_and_runs(struct __test_metadata *_metadata, const char *path)
{
	char err[NHOT_QNET_ERR_LEN];
	struct nhot_qnet *net = NULL;
	struct nhot_qnet_runner *r = NULL;
	struct nhot_ctx *ctx = NULL;
	uint8_t **ref = NULL, img[4096];
	const uint8_t *out;
	size_t len;
	uint32_t i;

	ASSERT_EQ(0, nhot_qnet_load(path, &net, err, sizeof(err))) TH_LOG("%s", err);
	ASSERT_GE(sizeof(img), nhot_qnet_input_bytes(net));
	memset(img, 0x5a, sizeof(img));
	ASSERT_EQ(0, nhot_qnet_ref_run(net, img, 1, &ref));
	ASSERT_EQ(0, nhot_open("cpu", &ctx));
	ASSERT_EQ(0, nhot_qnet_runner_create(ctx, net, 1, &r));
	ASSERT_EQ(0, nhot_qnet_runner_run(r, img, 1, NULL, NULL, NULL));
	for (i = 0; i < net->node_count; i++) {
		out = nhot_qnet_runner_output(r, i, &len);
		ASSERT_NE(NULL, out);
		EXPECT_EQ(0, memcmp(out, ref[i], len)) TH_LOG("%s node %u", path, i);
	}
	nhot_qnet_runner_free(r);
	nhot_close(ctx);
	nhot_qnet_outputs_free(net, ref);
	nhot_qnet_free(net);
}

static void regression_rejected(struct __test_metadata *_metadata, const char *path)
{
	char err[NHOT_QNET_ERR_LEN] = "";
	struct nhot_qnet *net = NULL;
	uint8_t *data = NULL;
	size_t len = 0;

	ASSERT_EQ(0, read_file(path, &data, &len));
	EXPECT_GT(0, nhot_qnet_parse(data, len, &net, err, sizeof(err))) TH_LOG("%s", path);
	EXPECT_EQ(NULL, net);
	EXPECT_NE(0, err[0]);
	TH_LOG("%s: %s", path, err);
	free(data);
}

/* make test runs from the top of the tree, where fuzz/ is. */
TEST(fuzz_corpus_replays)
{
	int seeds = each_file("fuzz/corpus", seed_loads_and_runs, _metadata);

	if (seeds < 0)
		SKIP(return, "no fuzz/corpus here (run from the top of the tree)");
	EXPECT_LT(0, seeds);
	EXPECT_LE(0, each_file("fuzz/regress", regression_rejected, _metadata));
}

TEST_HARNESS_MAIN
