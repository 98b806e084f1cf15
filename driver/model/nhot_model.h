/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * nhot engine datapath model: what an n-hot engine computes for one layer
 * job, bit for bit per docs/arith.md, with the engine's own counters.
 *
 * Plain C with no kernel and no libc dependency: it builds into nhot.ko, into
 * host tests and into a userspace PCI-device emulator.  Only <linux/types.h>,
 * <linux/errno.h> and the uapi header are used.
 */
#ifndef _NHOT_MODEL_H
#define _NHOT_MODEL_H

#include <linux/types.h>
#include <linux/nhot.h>

/* Largest |S(n, b)|: every integer of |q| <= 127. */
#define NHOT_MODEL_MAX_CODES	256

/* Cycle model (docs/engine.md). */
#define NHOT_MODEL_JOB_CYCLES	64	/* fixed cost of starting a job */
#define NHOT_MODEL_OUT_CYCLES	1	/* requantize, clamp and store one output */
#define NHOT_MODEL_ADD_OPS	2	/* two scaled terms of an ADD output */

/* Work (products, window positions, elements) between stop checks in a row. */
#define NHOT_MODEL_STOP_WORK	0x100000u	/* 2^20 */

/**
 * struct nhot_model_shape - what a valid descriptor implies
 * @out_n: N of the output
 * @out_h: H of the output
 * @out_w: W of the output
 * @out_c: C of the output
 * @k: products per output value (CONV2D, FC), else 0
 * @code_bits: bits of one weight code (CONV2D, FC), else 0
 * @row_bytes: bytes of one packed weight row (CONV2D, FC), else 0
 * @input_bytes: bytes of the input tensor
 * @input2_bytes: bytes of the second input (ADD), else 0
 * @weight_bytes: bytes of the packed weights (CONV2D, FC), else 0
 * @params_bytes: bytes of the per-channel parameters (CONV2D, FC), else 0
 * @output_bytes: bytes of the output tensor
 * @macs: products the layer sums (docs/arith.md 2.7)
 */
struct nhot_model_shape {
	__u32 out_n;
	__u32 out_h;
	__u32 out_w;
	__u32 out_c;
	__u32 k;
	__u32 code_bits;
	__u64 row_bytes;
	__u64 input_bytes;
	__u64 input2_bytes;
	__u64 weight_bytes;
	__u64 params_bytes;
	__u64 output_bytes;
	__u64 macs;
};

/**
 * struct nhot_model_table - code -> value and term form of S(n, b)
 * @size: |S(n, b)|
 * @code_bits: width of a code
 * @value: value of each valid code
 * @nterms: number of NAF terms of each code's value
 * @neg: per term: 1 when the term is subtracted
 * @shift: per term: its exponent, descending
 */
struct nhot_model_table {
	__u32 size;
	__u32 code_bits;
	__s16 value[NHOT_MODEL_MAX_CODES];
	__u8 nterms[NHOT_MODEL_MAX_CODES];
	__u8 neg[NHOT_MODEL_MAX_CODES][NHOT_MAX_N];
	__u8 shift[NHOT_MODEL_MAX_CODES][NHOT_MAX_N];
};

/**
 * struct nhot_model_mem - the memory a job reads and writes
 * @input: input tensor
 * @input_len: bytes readable at @input
 * @input2: second input (ADD)
 * @input2_len: bytes readable at @input2
 * @weights: packed weight codes (CONV2D, FC)
 * @weights_len: bytes readable at @weights
 * @params: struct nhot_chan_params array, little endian (CONV2D, FC)
 * @params_len: bytes readable at @params
 * @output: output tensor
 * @output_len: bytes writable at @output
 */
struct nhot_model_mem {
	const __u8 *input;
	__u64 input_len;
	const __u8 *input2;
	__u64 input2_len;
	const __u8 *weights;
	__u64 weights_len;
	const __u8 *params;
	__u64 params_len;
	__u8 *output;
	__u64 output_len;
};

/**
 * struct nhot_model_counters - what the engine counts for one job
 * @macs: products summed (docs/arith.md 2.7)
 * @shift_adds: nonzero weight terms processed
 * @cycles: modelled engine cycles (docs/engine.md)
 */
struct nhot_model_counters {
	__u64 macs;
	__u64 shift_adds;
	__u64 cycles;
};

/**
 * struct nhot_model_cfg - how the engine runs
 * @pe_count: processing elements of the cycle model, >= 1
 * @should_stop: called at the start of every output row and, within a row,
 *	after every %NHOT_MODEL_STOP_WORK products (window positions, elements);
 *	a negative errno stops the job and becomes nhot_model_run()'s result;
 *	may be NULL
 * @arg: passed to @should_stop
 */
struct nhot_model_cfg {
	__u32 pe_count;
	int (*should_stop)(void *arg);
	void *arg;
};

int nhot_model_check(const struct nhot_layer *layer,
		     struct nhot_model_shape *shape);
int nhot_model_build_table(__u32 n, __u32 b, struct nhot_model_table *table);
int nhot_model_run(const struct nhot_layer *layer,
		   const struct nhot_model_mem *mem,
		   const struct nhot_model_cfg *cfg,
		   struct nhot_model_table *table,
		   struct nhot_model_counters *counters);

#endif /* _NHOT_MODEL_H */
