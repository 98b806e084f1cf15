// SPDX-License-Identifier: MIT
/*
 * Float models (nhot_fmodel.h): building rules, the .nhf file (round trip,
 * every kind of truncation and corruption), and the forward pass on tiny
 * networks against values computed by hand.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The harness's TEST() wrappers leave parameters unused. */
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#include "nhot_fmodel.h"

#define HDR		32
#define REC		80

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

/* Recomputes the checksum after a test edited the bytes. */
static void reseal(uint8_t *p, size_t len)
{
	put32(p + len - 4, nhot_crc32(0, p, len - 4));
}

static struct nhot_fnode conv_spec(int in, uint32_t out_c, uint32_t k, uint32_t stride,
				   uint32_t pad, uint32_t groups, uint32_t act)
{
	struct nhot_fnode s = {
		.op = NHOT_FOP_CONV2D, .act = act, .in = { in, -1 }, .out_c = out_c,
		.kernel_h = k, .kernel_w = k, .stride_h = stride, .stride_w = stride,
		.dilation_h = 1, .dilation_w = 1, .pad_top = pad, .pad_bottom = pad,
		.pad_left = pad, .pad_right = pad, .groups = groups,
	};
	return s;
}

static struct nhot_fnode simple_spec(uint32_t op, int a, int b, uint32_t act)
{
	struct nhot_fnode s = { .op = op, .act = act, .in = { a, b } };
	return s;
}

/*
 * A small network with every op: input 6x6x2 -> conv 3x3/1 p1 (4) ->
 * depthwise 3x3/2 p1 -> conv 1x1 (4) -> add -> avgpool 2x2/1 -> maxpool 2x2/1
 * p(0,1) -> gap -> fc 3. Weights are a fixed pseudo-random pattern.
 */
static struct nhot_fnet *sample_net(void)
{
	struct nhot_fnode s;
	struct nhot_fnet *net;
	uint32_t i, seed = 12345;
	size_t j;

	if (nhot_fnet_create(6, 6, 2, &net))
		return NULL;
	s = conv_spec(0, 4, 3, 1, 1, 1, NHOT_FACT_RELU6);
	nhot_fnet_add(net, &s);					/* 1: 6x6x4 */
	s = conv_spec(1, 4, 3, 2, 1, 4, NHOT_FACT_RELU);
	nhot_fnet_add(net, &s);					/* 2: 3x3x4 */
	s = conv_spec(2, 4, 1, 1, 0, 1, NHOT_FACT_NONE);
	nhot_fnet_add(net, &s);					/* 3: 3x3x4 */
	s = simple_spec(NHOT_FOP_ADD, 2, 3, NHOT_FACT_NONE);
	nhot_fnet_add(net, &s);					/* 4 */
	s = simple_spec(NHOT_FOP_AVGPOOL, 4, -1, NHOT_FACT_NONE);
	s.kernel_h = s.kernel_w = 2;
	s.stride_h = s.stride_w = 1;
	nhot_fnet_add(net, &s);					/* 5: 2x2x4 */
	s.op = NHOT_FOP_MAXPOOL;
	s.in[0] = 5;
	s.pad_bottom = s.pad_right = 1;
	nhot_fnet_add(net, &s);					/* 6: 2x2x4 */
	s = simple_spec(NHOT_FOP_GLOBAL_AVGPOOL, 6, -1, NHOT_FACT_NONE);
	nhot_fnet_add(net, &s);					/* 7: 1x1x4 */
	s = simple_spec(NHOT_FOP_FC, 7, -1, NHOT_FACT_NONE);
	s.out_c = 3;
	if (nhot_fnet_add(net, &s) != 8) {
		nhot_fnet_free(net);
		return NULL;
	}
	for (i = 0; i < net->node_count; i++) {
		struct nhot_fnode *nd = &net->nodes[i];

		for (j = 0; nd->weights && j < (size_t)nd->out_c * nd->k; j++) {
			seed = seed * 1103515245u + 12345u;
			nd->weights[j] = (float)((seed >> 16) % 2001) / 1000.0f - 1.0f;
		}
		for (j = 0; nd->bias && j < nd->out_c; j++)
			nd->bias[j] = 0.125f * (float)j - 0.1f;
	}
	return net;
}

TEST(crc32_known_value)
{
	ASSERT_EQ(0xCBF43926u, nhot_crc32(0, "123456789", 9));
	/* Continuing a CRC equals computing it in one go. */
	ASSERT_EQ(0xCBF43926u, nhot_crc32(nhot_crc32(0, "1234", 4), "56789", 5));
}

TEST(build_derives_shapes)
{
	struct nhot_fnet *net = sample_net();
	static const uint32_t shape[9][4] = {	/* h, w, c, k */
		{ 6, 6, 2, 0 }, { 6, 6, 4, 18 }, { 3, 3, 4, 9 }, { 3, 3, 4, 4 },
		{ 3, 3, 4, 0 }, { 2, 2, 4, 0 }, { 2, 2, 4, 0 }, { 1, 1, 4, 0 }, { 1, 1, 3, 4 },
	};
	uint32_t i;

	ASSERT_NE(NULL, net);
	ASSERT_EQ(9u, net->node_count);
	ASSERT_EQ(0, nhot_fnet_validate(net));
	for (i = 0; i < 9; i++) {
		EXPECT_EQ(shape[i][0], net->nodes[i].out_h);
		EXPECT_EQ(shape[i][1], net->nodes[i].out_w);
		EXPECT_EQ(shape[i][2], net->nodes[i].out_c);
		EXPECT_EQ(shape[i][3], net->nodes[i].k);
		EXPECT_EQ(shape[i][3] != 0, net->nodes[i].weights != NULL);
	}
	EXPECT_EQ(36u, nhot_fnode_elems(&net->nodes[4]));
	nhot_fnet_free(net);
}

TEST(build_rejects_bad_specs)
{
	struct nhot_fnet *net;
	struct nhot_fnode s;

	ASSERT_EQ(-EINVAL, nhot_fnet_create(0, 28, 1, &net));
	ASSERT_EQ(-EINVAL, nhot_fnet_create(28, 28, 8193, &net));
	ASSERT_EQ(0, nhot_fnet_create(8, 8, 4, &net));

	s = conv_spec(1, 4, 3, 1, 1, 1, 0);		/* input index not earlier */
	EXPECT_EQ(-EINVAL, nhot_fnet_add(net, &s));
	s = conv_spec(-1, 4, 3, 1, 1, 1, 0);
	EXPECT_EQ(-EINVAL, nhot_fnet_add(net, &s));
	s = conv_spec(0, 4, 3, 1, 1, 3, 0);		/* groups do not divide 4 */
	EXPECT_EQ(-EINVAL, nhot_fnet_add(net, &s));
	s = conv_spec(0, 4, 3, 1, 3, 1, 0);		/* pad 3 >= kernel extent 3 */
	EXPECT_EQ(-EINVAL, nhot_fnet_add(net, &s));
	s = conv_spec(0, 4, 17, 1, 0, 1, 0);		/* kernel > 16 */
	EXPECT_EQ(-EINVAL, nhot_fnet_add(net, &s));
	s = conv_spec(0, 4, 9, 1, 0, 1, 0);		/* 9x9 window on 8x8: no output */
	EXPECT_EQ(-EINVAL, nhot_fnet_add(net, &s));
	s = conv_spec(0, 4, 3, 9, 1, 1, 0);		/* stride > 8 */
	EXPECT_EQ(-EINVAL, nhot_fnet_add(net, &s));
	s = conv_spec(0, 4, 3, 1, 1, 1, 3);		/* unknown activation */
	EXPECT_EQ(-EINVAL, nhot_fnet_add(net, &s));
	s = conv_spec(0, 4, 3, 1, 1, 1, 0);
	s.dilation_h = 0;
	EXPECT_EQ(-EINVAL, nhot_fnet_add(net, &s));
	s = conv_spec(0, 0, 3, 1, 1, 1, 0);		/* no output channels */
	EXPECT_EQ(-EINVAL, nhot_fnet_add(net, &s));
	s = conv_spec(0, 4, 3, 1, 1, 1, 0);
	s.in[1] = 0;					/* second input on a CONV2D */
	EXPECT_EQ(-EINVAL, nhot_fnet_add(net, &s));

	s = simple_spec(NHOT_FOP_FC, 0, -1, 0);
	s.out_c = 10;
	s.stride_h = 1;					/* a field FC does not use */
	EXPECT_EQ(-EINVAL, nhot_fnet_add(net, &s));
	s = simple_spec(NHOT_FOP_INPUT, -1, -1, 0);	/* a second input */
	s.out_h = s.out_w = s.out_c = 1;
	EXPECT_EQ(-EINVAL, nhot_fnet_add(net, &s));
	s = simple_spec(7, 0, -1, 0);			/* unknown op */
	EXPECT_EQ(-EINVAL, nhot_fnet_add(net, &s));
	s = simple_spec(NHOT_FOP_AVGPOOL, 0, -1, 0);
	s.kernel_h = s.kernel_w = 2;
	s.stride_h = s.stride_w = 2;
	s.dilation_h = s.dilation_w = 1;		/* pools take no dilation */
	EXPECT_EQ(-EINVAL, nhot_fnet_add(net, &s));

	s = conv_spec(0, 4, 3, 2, 1, 1, 0);		/* 4x4x4 */
	ASSERT_EQ(1, nhot_fnet_add(net, &s));
	s = simple_spec(NHOT_FOP_ADD, 0, 1, 0);		/* 8x8x4 + 4x4x4 */
	EXPECT_EQ(-EINVAL, nhot_fnet_add(net, &s));
	s = simple_spec(NHOT_FOP_ADD, 1, -1, 0);	/* ADD with one input */
	EXPECT_EQ(-EINVAL, nhot_fnet_add(net, &s));
	s = simple_spec(NHOT_FOP_ADD, 1, 1, 0);		/* x + x is fine */
	EXPECT_EQ(2, nhot_fnet_add(net, &s));
	EXPECT_EQ(3u, net->node_count);
	EXPECT_EQ(0, nhot_fnet_validate(net));

	/* validate() sees what add() would have refused. */
	net->nodes[1].out_h = 5;
	EXPECT_EQ(-EINVAL, nhot_fnet_validate(net));
	net->nodes[1].out_h = 4;
	net->nodes[1].weights[3] = NAN;
	EXPECT_EQ(-EINVAL, nhot_fnet_validate(net));
	net->nodes[1].weights[3] = 0.0f;
	net->nodes[1].bias[0] = INFINITY;
	EXPECT_EQ(-EINVAL, nhot_fnet_validate(net));
	net->nodes[1].bias[0] = 0.0f;
	EXPECT_EQ(0, nhot_fnet_validate(net));
	nhot_fnet_free(net);
	nhot_fnet_free(NULL);
}

static void expect_same_net(struct __test_metadata *_metadata, const struct nhot_fnet *a,
			    const struct nhot_fnet *b)
{
	uint32_t i;

	ASSERT_EQ(a->node_count, b->node_count);
	for (i = 0; i < a->node_count; i++) {
		const struct nhot_fnode *x = &a->nodes[i], *y = &b->nodes[i];

		/* Every field before the pointers (not the padding after k). */
		ASSERT_EQ(0, memcmp(x, y, offsetof(struct nhot_fnode, k) + sizeof(x->k))) {
			const uint32_t *wx = (const void *)x, *wy = (const void *)y;
			int j;

			for (j = 0; j < 19; j++)
				if (wx[j] != wy[j])
					TH_LOG("node %u word %d: %u vs %u", i, j, wx[j], wy[j]);
		}
		if (!x->weights) {
			ASSERT_EQ(NULL, y->weights);
			continue;
		}
		ASSERT_EQ(0, memcmp(x->weights, y->weights, (size_t)x->out_c * x->k * 4));
		ASSERT_EQ(0, memcmp(x->bias, y->bias, (size_t)x->out_c * 4));
	}
}

TEST(file_round_trip)
{
	char path[] = "/tmp/test_fmodel.XXXXXX";
	struct nhot_fnet *net = sample_net(), *back = NULL;
	void *d1, *d2;
	size_t l1, l2, expect;
	int fd;

	ASSERT_NE(NULL, net);
	ASSERT_EQ(0, nhot_fnet_serialize(net, &d1, &l1));
	/* header + 9 records + 4*18+4 + 4*9+4 + 4*4+4 + 3*4+3 floats + checksum */
	expect = HDR + 9 * REC + 4 * (76 + 40 + 20 + 15) + 4;
	ASSERT_EQ(expect, l1);
	ASSERT_EQ(0, memcmp(d1, "NHOTFNET", 8));

	fd = mkstemp(path);
	ASSERT_LE(0, fd);
	close(fd);
	ASSERT_EQ(0, nhot_fnet_save(net, path));
	ASSERT_EQ(0, nhot_fnet_load(path, &back));
	expect_same_net(_metadata, net, back);
	/* Saving what was loaded gives the same bytes. */
	ASSERT_EQ(0, nhot_fnet_serialize(back, &d2, &l2));
	ASSERT_EQ(l1, l2);
	ASSERT_EQ(0, memcmp(d1, d2, l1));
	unlink(path);
	EXPECT_EQ(-ENOENT, nhot_fnet_load(path, &back));
	EXPECT_EQ(NULL, back);
	EXPECT_EQ(-EINVAL, nhot_fnet_load("/tmp", &back));	/* not a regular file */
	EXPECT_EQ(-ENOENT, nhot_fnet_save(net, "/nonexistent-dir/x.nhf"));
	free(d1);
	free(d2);
	nhot_fnet_free(net);
}

TEST(save_refuses_invalid_net)
{
	char path[] = "/tmp/test_fmodel_inv.XXXXXX";
	struct nhot_fnet *net = sample_net();
	void *d;
	size_t l;
	int fd;

	ASSERT_NE(NULL, net);
	fd = mkstemp(path);
	ASSERT_LE(0, fd);
	close(fd);
	net->nodes[8].weights[0] = NAN;
	EXPECT_EQ(-EINVAL, nhot_fnet_save(net, path));
	EXPECT_EQ(-EINVAL, nhot_fnet_serialize(net, &d, &l));
	EXPECT_EQ(NULL, d);
	unlink(path);
	nhot_fnet_free(net);
}

TEST(truncation_at_every_length)
{
	struct nhot_fnet *net = sample_net(), *back;
	uint8_t *d, *copy;
	size_t l, cut;

	ASSERT_NE(NULL, net);
	ASSERT_EQ(0, nhot_fnet_serialize(net, (void **)&d, &l));
	for (cut = 0; cut < l; cut++) {
		/* An exact-size copy, so ASan catches any read past the end. */
		copy = malloc(cut ? cut : 1);
		ASSERT_NE(NULL, copy);
		memcpy(copy, d, cut);
		back = (void *)1;
		ASSERT_EQ(-EBADMSG, nhot_fnet_parse(copy, cut, &back)) TH_LOG("length %zu", cut);
		ASSERT_EQ(NULL, back);
		free(copy);
	}
	/* One byte too many. */
	copy = calloc(1, l + 1);
	ASSERT_NE(NULL, copy);
	memcpy(copy, d, l);
	EXPECT_EQ(-EBADMSG, nhot_fnet_parse(copy, l + 1, &back));
	free(copy);
	free(d);
	nhot_fnet_free(net);
}

TEST(flipped_bits_fail_the_checksum)
{
	struct nhot_fnet *net = sample_net(), *back;
	uint8_t *d;
	size_t l, i;
	int bit;

	ASSERT_NE(NULL, net);
	ASSERT_EQ(0, nhot_fnet_serialize(net, (void **)&d, &l));
	for (i = 0; i < l; i++) {
		for (bit = 0; bit < 8; bit += 3) {
			d[i] ^= 1 << bit;
			/* The magic identifies the file type, so a bad one is -EINVAL. */
			ASSERT_EQ(i < 8 ? -EINVAL : -EBADMSG, nhot_fnet_parse(d, l, &back))
				TH_LOG("byte %zu bit %d", i, bit);
			d[i] ^= 1 << bit;
		}
	}
	ASSERT_EQ(0, nhot_fnet_parse(d, l, &back));
	nhot_fnet_free(back);
	free(d);
	nhot_fnet_free(net);
}

/* Edits a 32-bit word at off, reseals, and returns what the parser says. */
static int parse_patched(const uint8_t *d, size_t l, size_t off, uint32_t v)
{
	struct nhot_fnet *back = NULL;
	uint8_t *c = malloc(l);
	int ret;

	if (!c)
		return -ENOMEM;
	memcpy(c, d, l);
	put32(c + off, v);
	reseal(c, l);
	ret = nhot_fnet_parse(c, l, &back);
	nhot_fnet_free(back);
	free(c);
	return ret;
}

/* Offset of word w of node n's record in the sample net's file. */
static size_t rec_word(const struct nhot_fnet *net, uint32_t n, uint32_t w)
{
	size_t off = HDR;
	uint32_t i;

	for (i = 0; i < n; i++)
		off += REC + (net->nodes[i].weights ?
			      4 * ((size_t)net->nodes[i].out_c * net->nodes[i].k + net->nodes[i].out_c) : 0);
	return off + 4 * w;
}

TEST(inconsistent_content_rejected)
{
	struct nhot_fnet *net = sample_net();
	uint8_t *d;
	size_t l;
	float nan = NAN;
	uint32_t nan_bits;

	ASSERT_NE(NULL, net);
	ASSERT_EQ(0, nhot_fnet_serialize(net, (void **)&d, &l));
	ASSERT_EQ(0, parse_patched(d, l, 8, 1));		/* the version it has: fine */

	/* Header. */
	EXPECT_EQ(-EINVAL, parse_patched(d, l, 8, 2));		/* version */
	EXPECT_EQ(-EINVAL, parse_patched(d, l, 8, 0));
	EXPECT_EQ(-EINVAL, parse_patched(d, l, 12, 36));	/* header_bytes */
	EXPECT_EQ(-EINVAL, parse_patched(d, l, 20, 1));		/* flags */
	EXPECT_EQ(-EINVAL, parse_patched(d, l, 16, 0));		/* node_count */
	EXPECT_EQ(-EINVAL, parse_patched(d, l, 16, 8));		/* fewer: bytes left over */
	EXPECT_EQ(-EINVAL, parse_patched(d, l, 16, 10));	/* more: runs past the end */
	EXPECT_EQ(-EINVAL, parse_patched(d, l, 16, NHOT_FNET_MAX_NODES + 1));
	EXPECT_EQ(-EINVAL, parse_patched(d, l, 16, 0xFFFFFFFF));

	/* Node records: shapes, k, indices, ops, reserved. */
	EXPECT_EQ(-EINVAL, parse_patched(d, l, rec_word(net, 0, 0), NHOT_FOP_CONV2D));
	EXPECT_EQ(-EINVAL, parse_patched(d, l, rec_word(net, 0, 4), 7));	/* input h */
	EXPECT_EQ(-EINVAL, parse_patched(d, l, rec_word(net, 1, 4), 5));	/* out_h */
	EXPECT_EQ(-EINVAL, parse_patched(d, l, rec_word(net, 2, 5), 4));	/* out_w */
	EXPECT_EQ(-EINVAL, parse_patched(d, l, rec_word(net, 4, 6), 5));	/* ADD out_c */
	EXPECT_EQ(-EINVAL, parse_patched(d, l, rec_word(net, 1, 18), 17));	/* k */
	EXPECT_EQ(-EINVAL, parse_patched(d, l, rec_word(net, 5, 18), 1));	/* k on a pool */
	EXPECT_EQ(-EINVAL, parse_patched(d, l, rec_word(net, 3, 2), 3));	/* reads itself */
	EXPECT_EQ(-EINVAL, parse_patched(d, l, rec_word(net, 3, 2), 0xFFFFFFFF));
	EXPECT_EQ(-EINVAL, parse_patched(d, l, rec_word(net, 4, 3), 9));	/* ADD in[1] later */
	EXPECT_EQ(-EINVAL, parse_patched(d, l, rec_word(net, 5, 3), 0));	/* pool with in[1] */
	EXPECT_EQ(-EINVAL, parse_patched(d, l, rec_word(net, 3, 0), 9));	/* unknown op */
	EXPECT_EQ(-EINVAL, parse_patched(d, l, rec_word(net, 3, 1), 3));	/* unknown act */
	EXPECT_EQ(-EINVAL, parse_patched(d, l, rec_word(net, 0, 1), 1));	/* act on input */
	EXPECT_EQ(-EINVAL, parse_patched(d, l, rec_word(net, 2, 17), 3));	/* groups */
	EXPECT_EQ(-EINVAL, parse_patched(d, l, rec_word(net, 7, 7), 1));	/* gap kernel */
	EXPECT_EQ(-EINVAL, parse_patched(d, l, rec_word(net, 2, 19), 1));	/* reserved */
	/* Oversized counts: rejected before any allocation of that size. */
	EXPECT_EQ(-EINVAL, parse_patched(d, l, rec_word(net, 8, 6), 0xFFFFFFFF));
	EXPECT_EQ(-EINVAL, parse_patched(d, l, rec_word(net, 8, 18), 0x40000000));
	EXPECT_EQ(-EINVAL, parse_patched(d, l, rec_word(net, 1, 6), 8192));
	/* A NaN or infinite parameter. */
	memcpy(&nan_bits, &nan, 4);
	EXPECT_EQ(-EINVAL, parse_patched(d, l, rec_word(net, 1, 20), nan_bits));
	EXPECT_EQ(-EINVAL, parse_patched(d, l, rec_word(net, 8, 20 + 12), 0x7F800000));
	free(d);
	nhot_fnet_free(net);
}

TEST(parse_bad_arguments)
{
	struct nhot_fnet *net;

	EXPECT_EQ(-EINVAL, nhot_fnet_parse(NULL, 100, &net));
	EXPECT_EQ(-EINVAL, nhot_fnet_parse("x", 1, NULL));
	EXPECT_EQ(-EINVAL, nhot_fnet_load(NULL, &net));
	EXPECT_EQ(-EINVAL, nhot_fnet_save(NULL, "/tmp/x.nhf"));
	EXPECT_EQ(-EINVAL, nhot_fnet_serialize(NULL, NULL, NULL));
}

/* ---- forward pass against hand-computed values ---------------------------- */

/* 1 x 3 x 3 x 1 image 1..9 */
static const float img9[9] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };

static void run1(struct __test_metadata *_metadata, const struct nhot_fnet *net,
		 const float *input, int batch, const float *expect, size_t count)
{
	float **out = calloc(net->node_count, sizeof(*out));
	size_t i;

	ASSERT_NE(NULL, out);
	ASSERT_EQ(0, nhot_fnet_forward(net, input, batch, out));
	ASSERT_EQ(count, (size_t)batch * nhot_fnode_elems(&net->nodes[net->node_count - 1]));
	ASSERT_EQ(0, memcmp(out[0], input, (size_t)batch * nhot_fnode_elems(&net->nodes[0]) * 4));
	for (i = 0; i < count; i++)
		EXPECT_EQ(expect[i], out[net->node_count - 1][i]) TH_LOG("value %zu", i);
	nhot_fnet_outputs_free(net, out);
	ASSERT_EQ(NULL, out[0]);
	free(out);
}

static void fill(float *v, size_t n, float x)
{
	while (n--)
		*v++ = x;
}

TEST(forward_conv_padding_and_relu6)
{
	struct nhot_fnode s = conv_spec(0, 2, 3, 1, 1, 1, NHOT_FACT_NONE);
	struct nhot_fnet *net;
	/* channel 0: all-ones kernel + 0.5; channel 1: centre tap * -1 */
	const float expect[18] = {
		12.5f, -1, 21.5f, -2, 16.5f, -3,
		27.5f, -4, 45.5f, -5, 33.5f, -6,
		24.5f, -7, 39.5f, -8, 28.5f, -9,
	};
	const float expect6[9] = { 6, 6, 6, 6, 6, 6, 6, 6, 6 };

	ASSERT_EQ(0, nhot_fnet_create(3, 3, 1, &net));
	ASSERT_EQ(1, nhot_fnet_add(net, &s));
	fill(net->nodes[1].weights, 9, 1.0f);
	net->nodes[1].weights[9 + 4] = -1.0f;
	net->nodes[1].bias[0] = 0.5f;
	run1(_metadata, net, img9, 1, expect, 18);

	/* The same through ReLU6 (channel 0 only: >= 6 everywhere). */
	s = conv_spec(0, 1, 3, 1, 1, 1, NHOT_FACT_RELU6);
	nhot_fnet_free(net);
	ASSERT_EQ(0, nhot_fnet_create(3, 3, 1, &net));
	ASSERT_EQ(1, nhot_fnet_add(net, &s));
	fill(net->nodes[1].weights, 9, 1.0f);
	run1(_metadata, net, img9, 1, expect6, 9);
	nhot_fnet_free(net);
}

TEST(forward_conv_stride_dilation_and_batch)
{
	struct nhot_fnode s = conv_spec(0, 1, 2, 1, 0, 1, NHOT_FACT_RELU);
	float in2[18];
	struct nhot_fnet *net;
	/* 2x2 kernel, dilation 2 on 3x3: the four corners 1+3+7+9 = 20, minus 2 bias */
	const float expect[2] = { 18, 0 };	/* second image negated: ReLU gives 0 */
	int i;

	s.dilation_h = s.dilation_w = 2;
	ASSERT_EQ(0, nhot_fnet_create(3, 3, 1, &net));
	ASSERT_EQ(1, nhot_fnet_add(net, &s));
	ASSERT_EQ(1u, net->nodes[1].out_h);
	fill(net->nodes[1].weights, 4, 1.0f);
	net->nodes[1].bias[0] = -2.0f;
	for (i = 0; i < 9; i++) {
		in2[i] = img9[i];
		in2[9 + i] = -img9[i];
	}
	run1(_metadata, net, in2, 2, expect, 2);
	nhot_fnet_free(net);

	/* 3x3 stride 2 pad 1 on 3x3 -> 2x2: windows centred on (0,0),(0,2),(2,0),(2,2). */
	s = conv_spec(0, 1, 3, 2, 1, 1, NHOT_FACT_NONE);
	ASSERT_EQ(0, nhot_fnet_create(3, 3, 1, &net));
	ASSERT_EQ(1, nhot_fnet_add(net, &s));
	fill(net->nodes[1].weights, 9, 1.0f);
	{
		const float e[4] = { 12, 16, 24, 28 };

		run1(_metadata, net, img9, 1, e, 4);
	}
	nhot_fnet_free(net);
}

TEST(forward_depthwise_and_grouped)
{
	/* 2x2x2 input: channel 0 = 1,2,3,4; channel 1 = 10,20,30,40 (NHWC interleaved). */
	const float in[8] = { 1, 10, 2, 20, 3, 30, 4, 40 };
	struct nhot_fnode s = conv_spec(0, 2, 2, 1, 0, 2, NHOT_FACT_NONE);
	struct nhot_fnet *net;
	const float w[8] = { 1, 0, 0, 1, 0, 0.5f, 0.5f, 0 };
	const float expect[2] = { 5, 26 };	/* 1+4; (20+30)/2 + 1 */
	/* groups 2, multiplier 2: out 0,1 read channel 0, out 2,3 read channel 1 (1x1). */
	const float expect_g[16] = {
		1, -1, 20, 10, 2, -2, 40, 20, 3, -3, 60, 30, 4, -4, 80, 40,
	};

	ASSERT_EQ(0, nhot_fnet_create(2, 2, 2, &net));
	ASSERT_EQ(1, nhot_fnet_add(net, &s));
	ASSERT_EQ(4u, net->nodes[1].k);
	memcpy(net->nodes[1].weights, w, sizeof(w));
	net->nodes[1].bias[1] = 1.0f;
	run1(_metadata, net, in, 1, expect, 2);
	nhot_fnet_free(net);

	s = conv_spec(0, 4, 1, 1, 0, 2, NHOT_FACT_NONE);
	ASSERT_EQ(0, nhot_fnet_create(2, 2, 2, &net));
	ASSERT_EQ(1, nhot_fnet_add(net, &s));
	ASSERT_EQ(1u, net->nodes[1].k);
	net->nodes[1].weights[0] = 1;
	net->nodes[1].weights[1] = -1;
	net->nodes[1].weights[2] = 2;
	net->nodes[1].weights[3] = 1;
	run1(_metadata, net, in, 1, expect_g, 16);
	nhot_fnet_free(net);
}

TEST(forward_add_fc_and_activations)
{
	struct nhot_fnode s = simple_spec(NHOT_FOP_ADD, 0, 0, NHOT_FACT_RELU6);
	struct nhot_fnet *net;
	const float in[4] = { -1, 1, 2.5f, 4 };
	const float expect_add[4] = { 0, 2, 5, 6 };
	const float expect_fc[2] = { 3.25f, 6 };	/* -1+1+2.5+4 - 3.25; relu6(2*4 - 1) */

	ASSERT_EQ(0, nhot_fnet_create(2, 2, 1, &net));
	ASSERT_EQ(1, nhot_fnet_add(net, &s));
	run1(_metadata, net, in, 1, expect_add, 4);
	nhot_fnet_free(net);

	s = simple_spec(NHOT_FOP_FC, 0, -1, NHOT_FACT_RELU6);
	s.out_c = 2;
	ASSERT_EQ(0, nhot_fnet_create(2, 2, 1, &net));
	ASSERT_EQ(1, nhot_fnet_add(net, &s));
	ASSERT_EQ(4u, net->nodes[1].k);
	fill(net->nodes[1].weights, 4, 1.0f);
	net->nodes[1].bias[0] = -3.25f + 4.0f;	/* 6.5 - 3.25 = 3.25 */
	net->nodes[1].weights[4 + 3] = 2.0f;
	net->nodes[1].bias[1] = -1.0f;
	{
		/* row 0: 6.5 + 0.75 = 7.25 -> 6 under ReLU6, so check without it */
		net->nodes[1].act = NHOT_FACT_NONE;
		const float e[2] = { 7.25f, 7 };

		run1(_metadata, net, in, 1, e, 2);
		net->nodes[1].act = NHOT_FACT_RELU6;
		net->nodes[1].bias[0] = -3.25f;
		run1(_metadata, net, in, 1, expect_fc, 2);
	}
	nhot_fnet_free(net);
}

TEST(forward_pools)
{
	struct nhot_fnode s = simple_spec(NHOT_FOP_AVGPOOL, 0, -1, NHOT_FACT_NONE);
	struct nhot_fnet *net;
	/* 2x2/2 with one row and column of padding after: padding not counted */
	const float expect_avg[4] = { 3, 4.5f, 7.5f, 9 };
	const float expect_max[4] = { 5, 6, 8, 9 };
	const float expect_gap[1] = { 5 };
	const float neg[4] = { -4, -3, -2, -1 };
	const float expect_negmax[1] = { -1 };	/* padding is not a 0 */

	s.kernel_h = s.kernel_w = 2;
	s.stride_h = s.stride_w = 2;
	s.pad_bottom = s.pad_right = 1;
	ASSERT_EQ(0, nhot_fnet_create(3, 3, 1, &net));
	ASSERT_EQ(1, nhot_fnet_add(net, &s));
	run1(_metadata, net, img9, 1, expect_avg, 4);
	net->nodes[1].op = NHOT_FOP_MAXPOOL;
	run1(_metadata, net, img9, 1, expect_max, 4);
	nhot_fnet_free(net);

	s = simple_spec(NHOT_FOP_GLOBAL_AVGPOOL, 0, -1, NHOT_FACT_NONE);
	ASSERT_EQ(0, nhot_fnet_create(3, 3, 1, &net));
	ASSERT_EQ(1, nhot_fnet_add(net, &s));
	run1(_metadata, net, img9, 1, expect_gap, 1);
	nhot_fnet_free(net);

	s = simple_spec(NHOT_FOP_MAXPOOL, 0, -1, NHOT_FACT_NONE);
	s.kernel_h = s.kernel_w = 2;
	s.stride_h = s.stride_w = 1;
	ASSERT_EQ(0, nhot_fnet_create(2, 2, 1, &net));
	ASSERT_EQ(1, nhot_fnet_add(net, &s));
	run1(_metadata, net, neg, 1, expect_negmax, 1);
	nhot_fnet_free(net);
}

TEST(forward_residual_graph)
{
	/* x -> conv1x1 (*2) -> add(x, conv) -> gap: (1+2+...+9) * 3 / 9 = 15 */
	struct nhot_fnode s = conv_spec(0, 1, 1, 1, 0, 1, NHOT_FACT_NONE);
	struct nhot_fnet *net;
	const float expect[1] = { 15 };

	ASSERT_EQ(0, nhot_fnet_create(3, 3, 1, &net));
	ASSERT_EQ(1, nhot_fnet_add(net, &s));
	net->nodes[1].weights[0] = 2.0f;
	s = simple_spec(NHOT_FOP_ADD, 0, 1, NHOT_FACT_NONE);
	ASSERT_EQ(2, nhot_fnet_add(net, &s));
	s = simple_spec(NHOT_FOP_GLOBAL_AVGPOOL, 2, -1, NHOT_FACT_NONE);
	ASSERT_EQ(3, nhot_fnet_add(net, &s));
	run1(_metadata, net, img9, 1, expect, 1);
	nhot_fnet_free(net);
}

TEST(forward_sample_net_after_round_trip)
{
	struct nhot_fnet *net = sample_net(), *back;
	float in[2 * 72], **o1, **o2;
	void *d;
	size_t l, i;
	uint32_t n;

	ASSERT_NE(NULL, net);
	for (i = 0; i < 144; i++)
		in[i] = (float)((i * 37) % 17) / 8.0f - 1.0f;
	ASSERT_EQ(0, nhot_fnet_serialize(net, &d, &l));
	ASSERT_EQ(0, nhot_fnet_parse(d, l, &back));
	o1 = calloc(net->node_count, sizeof(*o1));
	o2 = calloc(net->node_count, sizeof(*o2));
	ASSERT_NE(NULL, o1);
	ASSERT_NE(NULL, o2);
	ASSERT_EQ(0, nhot_fnet_forward(net, in, 2, o1));
	ASSERT_EQ(0, nhot_fnet_forward(back, in, 2, o2));
	for (n = 0; n < net->node_count; n++)
		ASSERT_EQ(0, memcmp(o1[n], o2[n], 2 * nhot_fnode_elems(&net->nodes[n]) * 4));
	/* Node 1 is ReLU6, node 2 ReLU: their ranges hold. */
	for (i = 0; i < 2 * nhot_fnode_elems(&net->nodes[1]); i++) {
		ASSERT_LE(0.0f, o1[1][i]);
		ASSERT_GE(6.0f, o1[1][i]);
	}
	for (i = 0; i < 2 * nhot_fnode_elems(&net->nodes[2]); i++)
		ASSERT_LE(0.0f, o1[2][i]);
	nhot_fnet_outputs_free(net, o1);
	nhot_fnet_outputs_free(back, o2);
	free(o1);
	free(o2);
	free(d);
	nhot_fnet_free(back);
	nhot_fnet_free(net);
}

TEST(classify_argmax_and_errors)
{
	struct nhot_fnode s = simple_spec(NHOT_FOP_FC, 0, -1, NHOT_FACT_NONE);
	const float in[6] = { 1, 2, 3, -1, -2, -3 };
	float logits[6], *outs[2] = { (float *)1, (float *)1 };
	struct nhot_fnet *net;
	int labels[2];

	/* Logits = the input itself: image 0 -> class 2, image 1 -> class 0. */
	s.out_c = 3;
	ASSERT_EQ(0, nhot_fnet_create(1, 1, 3, &net));
	ASSERT_EQ(1, nhot_fnet_add(net, &s));
	net->nodes[1].weights[0] = net->nodes[1].weights[4] = net->nodes[1].weights[8] = 1.0f;
	ASSERT_EQ(0, nhot_fnet_classify(net, in, 2, labels, logits));
	EXPECT_EQ(2, labels[0]);
	EXPECT_EQ(0, labels[1]);
	EXPECT_EQ(0, memcmp(in, logits, sizeof(in)));
	ASSERT_EQ(0, nhot_fnet_classify(net, in, 1, labels, NULL));
	EXPECT_EQ(2, labels[0]);

	EXPECT_EQ(-EINVAL, nhot_fnet_classify(net, in, 0, labels, NULL));
	EXPECT_EQ(-EINVAL, nhot_fnet_classify(net, in, NHOT_FNET_MAX_BATCH + 1, labels, NULL));
	EXPECT_EQ(-EINVAL, nhot_fnet_classify(net, NULL, 1, labels, NULL));
	EXPECT_EQ(-EINVAL, nhot_fnet_classify(net, in, 1, NULL, NULL));
	EXPECT_EQ(-EINVAL, nhot_fnet_forward(net, in, -1, outs));
	EXPECT_EQ(NULL, outs[0]);
	EXPECT_EQ(-EINVAL, nhot_fnet_forward(NULL, in, 1, outs));
	net->nodes[1].bias[2] = NAN;	/* an invalid net is refused, not run */
	EXPECT_EQ(-EINVAL, nhot_fnet_classify(net, in, 1, labels, NULL));
	nhot_fnet_free(net);
}

TEST_HARNESS_MAIN
