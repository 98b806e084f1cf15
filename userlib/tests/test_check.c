// SPDX-License-Identifier: MIT
/*
 * nhot_layer_check() against docs/arith.md section 3: every rule once with
 * the documented errno, every limit exactly at the limit (accepted) and one
 * beyond (rejected), and the shapes it derives (section 2).
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The harness's own callbacks and TEST() wrappers leave parameters unused. */
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#include "nhot.h"

#define T(x)	(1u << NHOT_LAYER_##x)
#define ALL	(T(CONV2D) | T(FC) | T(ADD) | T(AVGPOOL) | T(GLOBAL_AVGPOOL) | T(MAXPOOL))
#define WINDOW	(T(CONV2D) | T(AVGPOOL) | T(MAXPOOL))

/* Which types use which field, from the kernel-doc of struct nhot_layer. */
static const struct field {
	const char *name;
	size_t offset;
	unsigned int used_by;
} fields[] = {
#define F(f, used)	{ #f, offsetof(struct nhot_layer, f), used }
	F(flags, 0), F(batch, ALL), F(in_h, ALL), F(in_w, ALL), F(in_c, ALL),
	F(out_c, T(CONV2D) | T(FC)),
	F(kernel_h, WINDOW), F(kernel_w, WINDOW), F(stride_h, WINDOW), F(stride_w, WINDOW),
	F(dilation_h, T(CONV2D)), F(dilation_w, T(CONV2D)),
	F(pad_top, WINDOW), F(pad_bottom, WINDOW), F(pad_left, WINDOW), F(pad_right, WINDOW),
	F(groups, T(CONV2D)), F(w_n, T(CONV2D) | T(FC)), F(w_b, T(CONV2D) | T(FC)),
	F(in_zero, ALL), F(in2_zero, T(ADD)), F(out_zero, T(CONV2D) | T(FC) | T(ADD)),
	F(act_min, ALL), F(act_max, ALL),
	F(add_mult_a, T(ADD)), F(add_mult_b, T(ADD)), F(add_shift, T(ADD)),
	F(reserved[0], 0), F(reserved[1], 0), F(reserved[2], 0), F(reserved[3], 0),
#undef F
};

#define FIELD(l, f)	(*(uint32_t *)((char *)(l) + (f)->offset))

/* A small valid descriptor of each type, padding and clamps included. */
static struct nhot_layer base(uint32_t type)
{
	struct nhot_layer l;

	memset(&l, 0, sizeof(l));
	l.type = type;
	l.act_min = 0;
	l.act_max = 255;
	switch (type) {
	case NHOT_LAYER_CONV2D:
		l.batch = 1; l.in_h = 8; l.in_w = 8; l.in_c = 4; l.out_c = 8;
		l.kernel_h = 3; l.kernel_w = 3; l.stride_h = 1; l.stride_w = 1;
		l.dilation_h = 1; l.dilation_w = 1;
		l.pad_top = 1; l.pad_bottom = 1; l.pad_left = 1; l.pad_right = 1;
		l.groups = 1; l.w_n = 2; l.w_b = 8; l.in_zero = 3; l.out_zero = 5;
		break;
	case NHOT_LAYER_FC:
		l.batch = 2; l.in_h = 2; l.in_w = 2; l.in_c = 3; l.out_c = 5;
		l.w_n = 3; l.w_b = 6; l.in_zero = 128; l.out_zero = 128;
		break;
	case NHOT_LAYER_ADD:
		l.batch = 1; l.in_h = 4; l.in_w = 4; l.in_c = 2;
		l.in_zero = 1; l.in2_zero = 2; l.out_zero = 3;
		l.add_mult_a = 1 << 20; l.add_mult_b = 1 << 21; l.add_shift = 20;
		break;
	case NHOT_LAYER_AVGPOOL:
	case NHOT_LAYER_MAXPOOL:
		l.batch = 1; l.in_h = 6; l.in_w = 6; l.in_c = 3;
		l.kernel_h = 3; l.kernel_w = 3; l.stride_h = 2; l.stride_w = 2;
		l.pad_top = 1; l.pad_bottom = 1; l.pad_left = 1; l.pad_right = 1;
		break;
	case NHOT_LAYER_GLOBAL_AVGPOOL:
		l.batch = 2; l.in_h = 5; l.in_w = 5; l.in_c = 3;
		break;
	}
	return l;
}

static int check(const struct nhot_layer *l)
{
	struct nhot_layer_shape s;

	return nhot_layer_check(l, &s);
}

TEST(bases_accepted)
{
	uint32_t type;

	for (type = 1; type <= NHOT_LAYER_TYPE_MAX; type++) {
		struct nhot_layer l = base(type);

		EXPECT_EQ(0, check(&l)) TH_LOG("type %u", type);
		EXPECT_EQ(0, nhot_layer_check(&l, NULL));
	}
}

TEST(null_layer)
{
	struct nhot_layer_shape s;

	EXPECT_EQ(-EINVAL, nhot_layer_check(NULL, &s));
}

TEST(unknown_type)
{
	static const uint32_t bad[] = { 0, NHOT_LAYER_TYPE_MAX + 1, 31, 32, UINT32_MAX };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct nhot_layer l = base(NHOT_LAYER_CONV2D);

		l.type = bad[i];
		EXPECT_EQ(-EOPNOTSUPP, check(&l)) TH_LOG("type %u", bad[i]);
	}
}

TEST(unused_fields_must_be_zero)
{
	static const uint32_t values[] = { 1, 0x80000000u, UINT32_MAX };
	uint32_t type;
	size_t f, v;

	for (type = 1; type <= NHOT_LAYER_TYPE_MAX; type++) {
		for (f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
			if (fields[f].used_by & (1u << type))
				continue;
			for (v = 0; v < sizeof(values) / sizeof(values[0]); v++) {
				struct nhot_layer l = base(type);

				FIELD(&l, &fields[f]) = values[v];
				EXPECT_EQ(-EINVAL, check(&l))
					TH_LOG("type %u field %s = %u", type, fields[f].name,
					       values[v]);
			}
		}
	}
}

TEST(n_and_b)
{
	static const uint32_t bad[][2] = { {0, 8}, {5, 8}, {1, 1}, {1, 9}, {0, 0},
					   {UINT32_MAX, 8}, {2, UINT32_MAX} };
	uint32_t types[] = { NHOT_LAYER_CONV2D, NHOT_LAYER_FC };
	uint32_t n, b;
	size_t t, i;

	for (t = 0; t < 2; t++) {
		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			struct nhot_layer l = base(types[t]);

			l.w_n = bad[i][0];
			l.w_b = bad[i][1];
			EXPECT_EQ(-EOPNOTSUPP, check(&l)) TH_LOG("n %u b %u", l.w_n, l.w_b);
		}
		for (n = NHOT_MIN_N; n <= NHOT_MAX_N; n++) {
			for (b = NHOT_MIN_B; b <= NHOT_MAX_B; b++) {
				struct nhot_layer l = base(types[t]);
				struct nhot_layer_shape s;

				l.w_n = n;
				l.w_b = b;
				ASSERT_EQ(0, nhot_layer_check(&l, &s));
				EXPECT_EQ((uint64_t)l.out_c * nhot_row_bytes((int)n, (int)b, s.k),
					  s.weight_bytes);
			}
		}
	}
}

TEST(zero_points_and_clamps)
{
	uint32_t type;

	for (type = 1; type <= NHOT_LAYER_TYPE_MAX; type++) {
		struct nhot_layer l = base(type);

		l.in_zero = 255;
		EXPECT_EQ(0, check(&l));
		l.in_zero = 256;
		EXPECT_EQ(-EINVAL, check(&l));
		l = base(type);
		l.act_min = 255;
		l.act_max = 255;
		EXPECT_EQ(0, check(&l));
		l.act_min = 256;
		l.act_max = 256;
		EXPECT_EQ(-EINVAL, check(&l));
		l = base(type);
		l.act_max = 256;
		EXPECT_EQ(-EINVAL, check(&l));
		l = base(type);
		l.act_min = 7;
		l.act_max = 7;
		EXPECT_EQ(0, check(&l));
		l.act_max = 6;
		EXPECT_EQ(-EINVAL, check(&l)) TH_LOG("act_min > act_max, type %u", type);
		l.act_min = UINT32_MAX;
		EXPECT_EQ(-EINVAL, check(&l));
		if (type == NHOT_LAYER_CONV2D || type == NHOT_LAYER_FC ||
		    type == NHOT_LAYER_ADD) {
			l = base(type);
			l.out_zero = 255;
			EXPECT_EQ(0, check(&l));
			l.out_zero = 256;
			EXPECT_EQ(-EINVAL, check(&l));
		}
	}
	{
		struct nhot_layer l = base(NHOT_LAYER_ADD);

		l.in2_zero = 255;
		EXPECT_EQ(0, check(&l));
		l.in2_zero = 256;
		EXPECT_EQ(-EINVAL, check(&l));
	}
}

TEST(add_requantization)
{
	struct nhot_layer l = base(NHOT_LAYER_ADD);

	l.add_mult_a = 0x7fffffff;
	l.add_mult_b = 0;
	EXPECT_EQ(0, check(&l));
	l.add_mult_a = 0x80000000u;
	EXPECT_EQ(-EOVERFLOW, check(&l));
	l = base(NHOT_LAYER_ADD);
	l.add_mult_b = 0x7fffffff;
	EXPECT_EQ(0, check(&l));
	l.add_mult_b = UINT32_MAX;
	EXPECT_EQ(-EOVERFLOW, check(&l));
	l = base(NHOT_LAYER_ADD);
	l.add_shift = 1;
	EXPECT_EQ(0, check(&l));
	l.add_shift = 62;
	EXPECT_EQ(0, check(&l));
	l.add_shift = 0;
	EXPECT_EQ(-EOVERFLOW, check(&l));
	l.add_shift = 63;
	EXPECT_EQ(-EOVERFLOW, check(&l));
}

/* One field of a base layer at value v: the check's result. */
static int with(uint32_t type, const char *name, uint32_t v,
		void (*adjust)(struct nhot_layer *l))
{
	struct nhot_layer l = base(type);
	size_t f;

	if (adjust)
		adjust(&l);
	for (f = 0; f < sizeof(fields) / sizeof(fields[0]); f++)
		if (!strcmp(fields[f].name, name))
			FIELD(&l, &fields[f]) = v;
	return check(&l);
}

/* Room for the largest kernel, stride and dilation. */
static void big_input(struct nhot_layer *l)
{
	l->in_h = 200;
	l->in_w = 200;
	l->in_c = 1;
	if (l->type == NHOT_LAYER_CONV2D)
		l->out_c = 1;
}

/* A 1x1 kernel: in_c at its limit keeps K = in_c within 32768. */
static void pointwise(struct nhot_layer *l)
{
	if (l->type != NHOT_LAYER_CONV2D)
		return;
	l->kernel_h = 1;
	l->kernel_w = 1;
	l->pad_top = l->pad_bottom = l->pad_left = l->pad_right = 0;
}

TEST(size_limits)
{
	static const struct {
		const char *name;
		uint32_t max;
		void (*at_limit)(struct nhot_layer *l);
	} limits[] = {
		{ "batch", NHOT_MAX_BATCH, NULL },
		{ "in_h", NHOT_MAX_DIM, NULL }, { "in_w", NHOT_MAX_DIM, NULL },
		{ "in_c", NHOT_MAX_CHANNELS, pointwise }, { "out_c", NHOT_MAX_CHANNELS, NULL },
		{ "kernel_h", NHOT_MAX_KERNEL, big_input },
		{ "kernel_w", NHOT_MAX_KERNEL, big_input },
		{ "stride_h", NHOT_MAX_STRIDE, NULL }, { "stride_w", NHOT_MAX_STRIDE, NULL },
		{ "dilation_h", NHOT_MAX_DILATION, big_input },
		{ "dilation_w", NHOT_MAX_DILATION, big_input },
	};
	uint32_t type;
	size_t i, f;

	for (type = 1; type <= NHOT_LAYER_TYPE_MAX; type++) {
		for (i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
			unsigned int used = 0;

			for (f = 0; f < sizeof(fields) / sizeof(fields[0]); f++)
				if (!strcmp(fields[f].name, limits[i].name))
					used = fields[f].used_by & (1u << type);
			if (!used)
				continue;
			EXPECT_EQ(0, with(type, limits[i].name, limits[i].max, limits[i].at_limit))
				TH_LOG("type %u %s at the limit", type, limits[i].name);
			EXPECT_EQ(-EOVERFLOW, with(type, limits[i].name, limits[i].max + 1,
						   limits[i].at_limit))
				TH_LOG("type %u %s beyond", type, limits[i].name);
			EXPECT_EQ(-EOVERFLOW, with(type, limits[i].name, 0, limits[i].at_limit))
				TH_LOG("type %u %s zero", type, limits[i].name);
			EXPECT_EQ(-EOVERFLOW, with(type, limits[i].name, UINT32_MAX,
						   limits[i].at_limit))
				TH_LOG("type %u %s huge", type, limits[i].name);
		}
	}
}

TEST(padding_below_extent)
{
	static const char *const pads[] = { "pad_top", "pad_bottom", "pad_left", "pad_right" };
	uint32_t types[] = { NHOT_LAYER_CONV2D, NHOT_LAYER_AVGPOOL, NHOT_LAYER_MAXPOOL };
	size_t t, p;

	for (t = 0; t < 3; t++) {
		for (p = 0; p < 4; p++) {
			/* kernel 3: extent 3 */
			EXPECT_EQ(0, with(types[t], pads[p], 2, NULL));
			EXPECT_EQ(-EOVERFLOW, with(types[t], pads[p], 3, NULL))
				TH_LOG("type %u %s", types[t], pads[p]);
			EXPECT_EQ(-EOVERFLOW, with(types[t], pads[p], UINT32_MAX, NULL));
		}
	}
	/* dilation widens the extent: kernel 3, dilation 4 -> extent 9 */
	{
		struct nhot_layer l = base(NHOT_LAYER_CONV2D);

		l.dilation_h = 4;
		l.dilation_w = 4;
		l.pad_top = 8;
		l.pad_left = 8;
		EXPECT_EQ(0, check(&l));
		l.pad_top = 9;
		EXPECT_EQ(-EOVERFLOW, check(&l));
		l.pad_top = 8;
		l.pad_left = 9;
		EXPECT_EQ(-EOVERFLOW, check(&l));
	}
}

TEST(groups)
{
	struct nhot_layer l = base(NHOT_LAYER_CONV2D);	/* in_c 4, out_c 8 */

	l.groups = 0;
	EXPECT_EQ(-EINVAL, check(&l));
	l.groups = 3;
	EXPECT_EQ(-EINVAL, check(&l));
	l.groups = 8;			/* divides out_c only */
	EXPECT_EQ(-EINVAL, check(&l));
	l.groups = UINT32_MAX;
	EXPECT_EQ(-EINVAL, check(&l));
	l.groups = 2;
	EXPECT_EQ(0, check(&l));
	l.groups = 4;			/* depthwise, multiplier 2 */
	EXPECT_EQ(0, check(&l));
	l.out_c = 6;			/* 4 divides in_c but not out_c */
	EXPECT_EQ(-EINVAL, check(&l));
}

TEST(output_at_least_one)
{
	struct nhot_layer l = base(NHOT_LAYER_CONV2D);
	struct nhot_layer_shape s;

	l.in_h = 2;
	l.pad_top = 0;
	l.pad_bottom = 0;
	EXPECT_EQ(-EINVAL, check(&l));	/* 2 rows under a 3-row kernel */
	l.pad_top = 1;			/* 3 padded rows: exactly one output row */
	ASSERT_EQ(0, nhot_layer_check(&l, &s));
	EXPECT_EQ(1u, s.out_h);
	l = base(NHOT_LAYER_MAXPOOL);
	l.in_w = 1;
	l.pad_left = 0;
	l.pad_right = 1;
	EXPECT_EQ(-EINVAL, check(&l));
	l.pad_left = 1;
	ASSERT_EQ(0, nhot_layer_check(&l, &s));
	EXPECT_EQ(1u, s.out_w);
	l = base(NHOT_LAYER_CONV2D);	/* dilation 8: extent 17 */
	l.dilation_h = 8;
	l.in_h = 16;
	l.pad_top = 0;
	l.pad_bottom = 0;
	EXPECT_EQ(-EINVAL, check(&l));
	l.in_h = 17;
	EXPECT_EQ(0, check(&l));
}

TEST(k_limit)
{
	struct nhot_layer l = base(NHOT_LAYER_FC);
	struct nhot_layer_shape s;

	l.batch = 1;
	l.in_h = 32;
	l.in_w = 32;
	l.in_c = 32;			/* K = 32768 */
	ASSERT_EQ(0, nhot_layer_check(&l, &s));
	EXPECT_EQ(32768u, s.k);
	l.in_c = 33;
	EXPECT_EQ(-EOVERFLOW, check(&l));
	l.in_h = 9;			/* K = 32769 */
	l.in_w = 3641;
	l.in_c = 1;
	EXPECT_EQ(-EOVERFLOW, check(&l));
	l.in_h = 1;
	l.in_w = 1;
	l.in_c = 8192;
	l.batch = 65535;		/* tall input is fine, K = 8192 */
	l.out_c = 1;
	EXPECT_EQ(-EOVERFLOW, check(&l));	/* but 65535 * 8192 input elements > 2^28 */
	l.batch = 32768;		/* 2^28 exactly */
	EXPECT_EQ(0, check(&l));

	l = base(NHOT_LAYER_CONV2D);
	l.in_h = 16;
	l.in_w = 16;
	l.kernel_h = 16;
	l.kernel_w = 16;
	l.pad_top = l.pad_bottom = l.pad_left = l.pad_right = 0;
	l.in_c = 256;
	l.groups = 2;			/* K = 16 * 16 * 128 */
	ASSERT_EQ(0, nhot_layer_check(&l, &s));
	EXPECT_EQ(32768u, s.k);
	l.groups = 1;			/* K = 65536 */
	EXPECT_EQ(-EOVERFLOW, check(&l));
	l.in_c = 130;
	l.groups = 1;			/* K = 33280 */
	EXPECT_EQ(-EOVERFLOW, check(&l));
}

TEST(element_limits)
{
	struct nhot_layer l = base(NHOT_LAYER_AVGPOOL);

	/* input exactly 2^28 elements */
	l.batch = 16384;
	l.in_h = 128;
	l.in_w = 128;
	l.in_c = 1;
	l.kernel_h = l.kernel_w = 1;
	l.stride_h = l.stride_w = 1;
	l.pad_top = l.pad_bottom = l.pad_left = l.pad_right = 0;
	EXPECT_EQ(0, check(&l));
	l.batch = 16385;
	EXPECT_EQ(-EOVERFLOW, check(&l));
	l.batch = 20;			/* 2^28 + 4, the closest count above 2^28 */
	l.in_h = 157;
	l.in_w = 53;
	l.in_c = 1613;
	EXPECT_EQ(-EOVERFLOW, check(&l));
	l.batch = NHOT_MAX_BATCH;
	l.in_h = l.in_w = NHOT_MAX_DIM;
	l.in_c = NHOT_MAX_CHANNELS;	/* 2^53 elements: no wrap anywhere */
	EXPECT_EQ(-EOVERFLOW, check(&l));

	/* output beyond 2^28 while the input is within */
	l = base(NHOT_LAYER_CONV2D);
	l.in_h = l.in_w = 4096;
	l.in_c = 16;			/* 2^28 input elements */
	l.out_c = 16;
	l.kernel_h = l.kernel_w = 1;
	l.pad_top = l.pad_bottom = l.pad_left = l.pad_right = 0;
	EXPECT_EQ(0, check(&l));
	l.out_c = 17;
	EXPECT_EQ(-EOVERFLOW, check(&l));

	l = base(NHOT_LAYER_FC);
	l.batch = 65535;
	l.in_h = l.in_w = l.in_c = 1;
	l.out_c = 4096;			/* 268431360 outputs */
	EXPECT_EQ(0, check(&l));
	l.out_c = 4097;
	EXPECT_EQ(-EOVERFLOW, check(&l));
	l.batch = 41605;		/* 2^28 + 4 outputs from 41605 inputs */
	l.out_c = 6452;
	EXPECT_EQ(-EOVERFLOW, check(&l));
}

TEST(global_pool_plane)
{
	struct nhot_layer l = base(NHOT_LAYER_GLOBAL_AVGPOOL);

	l.in_h = 256;
	l.in_w = 256;
	EXPECT_EQ(0, check(&l));
	l.in_w = 257;
	EXPECT_EQ(-EOVERFLOW, check(&l));
	l.in_h = 18;			/* 65538: the smallest H * W above 2^16 */
	l.in_w = 3641;
	EXPECT_EQ(-EOVERFLOW, check(&l));
	l.in_h = 16;			/* 65536 in another shape */
	l.in_w = 4096;
	EXPECT_EQ(0, check(&l));
	l.in_h = 4096;
	l.in_w = 4096;
	l.batch = 1;
	l.in_c = 1;
	EXPECT_EQ(-EOVERFLOW, check(&l));
}

TEST(shapes)
{
	struct nhot_layer l = base(NHOT_LAYER_CONV2D);
	struct nhot_layer_shape s;

	/* 8x8x4, 3x3, pad 1, stride 1 -> 8x8x8; k = 36, 7 bits -> 256 bits -> 32 bytes */
	ASSERT_EQ(0, nhot_layer_check(&l, &s));
	EXPECT_EQ(1u, s.out_n);
	EXPECT_EQ(8u, s.out_h);
	EXPECT_EQ(8u, s.out_w);
	EXPECT_EQ(8u, s.out_c);
	EXPECT_EQ(36u, s.k);
	EXPECT_EQ(256u, s.input_bytes);
	EXPECT_EQ(0u, s.input2_bytes);
	EXPECT_EQ(8u * 32, s.weight_bytes);
	EXPECT_EQ(8u * 12, s.params_bytes);
	EXPECT_EQ(512u, s.output_bytes);
	/* in-bounds taps per dimension: 2 + 6 * 3 + 2 = 22 (2.7) */
	EXPECT_EQ(8u * 4 * 22 * 22, s.macs);

	l.stride_h = 3;
	l.stride_w = 2;
	l.dilation_w = 2;		/* KWe = 5; OW = (8 + 2 - 5) / 2 + 1 = 3 */
	l.pad_left = 4;			/* OW = (8 + 5 - 5) / 2 + 1 = 5 */
	l.groups = 2;
	ASSERT_EQ(0, nhot_layer_check(&l, &s));
	EXPECT_EQ(3u, s.out_h);		/* (8 + 2 - 3) / 3 + 1 */
	EXPECT_EQ(5u, s.out_w);
	EXPECT_EQ(18u, s.k);		/* 3 * 3 * 2 */
	/*
	 * rows: oy 0 -> iy -1, 0, 1 (2 in); oy 1 -> 2, 3, 4 (3); oy 2 -> 5, 6, 7 (3): 8
	 * cols: ox 0 -> ix -4, -2, 0 (1); 1 -> -2, 0, 2 (2); 2 -> 0, 2, 4 (3);
	 *       3 -> 2, 4, 6 (3); 4 -> 4, 6, 8 (2): 11
	 */
	EXPECT_EQ(8u * 2 * 8 * 11, s.macs);
	EXPECT_EQ(8u * 16, s.weight_bytes);	/* 18 * 7 = 126 bits: 16 bytes */

	l = base(NHOT_LAYER_FC);	/* 2 rows of K = 12, 5 outputs, 6 bits */
	ASSERT_EQ(0, nhot_layer_check(&l, &s));
	EXPECT_EQ(2u, s.out_n);
	EXPECT_EQ(1u, s.out_h);
	EXPECT_EQ(1u, s.out_w);
	EXPECT_EQ(5u, s.out_c);
	EXPECT_EQ(12u, s.k);
	EXPECT_EQ(24u, s.input_bytes);
	EXPECT_EQ(5u * 9, s.weight_bytes);	/* 72 bits */
	EXPECT_EQ(60u, s.params_bytes);
	EXPECT_EQ(10u, s.output_bytes);
	EXPECT_EQ(2u * 5 * 12, s.macs);

	l = base(NHOT_LAYER_ADD);
	ASSERT_EQ(0, nhot_layer_check(&l, &s));
	EXPECT_EQ(32u, s.input_bytes);
	EXPECT_EQ(32u, s.input2_bytes);
	EXPECT_EQ(32u, s.output_bytes);
	EXPECT_EQ(2u, s.out_c);
	EXPECT_EQ(0u, s.k);
	EXPECT_EQ(0u, s.weight_bytes);
	EXPECT_EQ(0u, s.params_bytes);
	EXPECT_EQ(0u, s.macs);

	l = base(NHOT_LAYER_MAXPOOL);	/* 6x6, 3x3 stride 2 pad 1 -> 3x3 */
	ASSERT_EQ(0, nhot_layer_check(&l, &s));
	EXPECT_EQ(3u, s.out_h);
	EXPECT_EQ(3u, s.out_w);
	EXPECT_EQ(3u, s.out_c);
	EXPECT_EQ(27u, s.output_bytes);
	EXPECT_EQ(0u, s.macs);

	l = base(NHOT_LAYER_GLOBAL_AVGPOOL);
	ASSERT_EQ(0, nhot_layer_check(&l, &s));
	EXPECT_EQ(2u, s.out_n);
	EXPECT_EQ(1u, s.out_h);
	EXPECT_EQ(1u, s.out_w);
	EXPECT_EQ(3u, s.out_c);
	EXPECT_EQ(150u, s.input_bytes);
	EXPECT_EQ(6u, s.output_bytes);
}

TEST(shape_untouched_on_error)
{
	struct nhot_layer l = base(NHOT_LAYER_CONV2D);
	struct nhot_layer_shape s;

	memset(&s, 0x5a, sizeof(s));
	l.groups = 3;
	ASSERT_EQ(-EINVAL, nhot_layer_check(&l, &s));
	EXPECT_EQ(0x5a5a5a5au, s.out_h);
}

TEST_HARNESS_MAIN
