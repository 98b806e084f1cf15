// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: job validation, differential. The kernel's validator
 * (driver/model/nhot_model.c, libc-free, compiled in here as it is into
 * nhot.ko and nhot-emu) and libnhot's (userlib/src/layer_check.c) must
 * agree on every descriptor: the same errno, and for a valid one the same
 * shapes and buffer sizes. A valid layer small enough to be quick then runs
 * through the model and through libnhot's reference, nhot_ref_run(), with
 * the same buffers (lengths exact, or a few bytes short or long): the same
 * result (0, -ERANGE for a short buffer, -EILSEQ, -EOVERFLOW), and on
 * success the same output bytes and counters.
 *
 * Input: a struct nhot_layer (128 bytes, zero-extended), one control byte,
 * five length adjustments (signed bytes: input, input2, weights, params,
 * output), then the tensor data, reused cyclically. Control bit 0 makes the
 * channel parameters valid, bit 1 the weight codes (packed from values of
 * S(n, b)), so that runs also get past the data checks. A disagreement
 * aborts (a crash for libFuzzer); ASan and UBSan watch both sides.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nhot.h"
#include "../driver/model/nhot_model.h"

/* Keep each input fast: bigger layers are only checked, not run. */
#define FUZZ_MAX_MACS		(1u << 16)
#define FUZZ_MAX_BYTES		(1u << 16)

enum { BUF_INPUT, BUF_INPUT2, BUF_WEIGHTS, BUF_PARAMS, BUF_OUTPUT, BUF_COUNT };

#define CTL_VALID_PARAMS	0x1
#define CTL_VALID_WEIGHTS	0x2

static void disagree(const struct nhot_layer *l, const char *what, long long a, long long b)
{
	fprintf(stderr, "fuzz_job_check: %s: kernel %lld, libnhot %lld (type %u batch %u in %ux%ux%u out_c %u n %u b %u)\n",
		what, a, b, l->type, l->batch, l->in_h, l->in_w, l->in_c, l->out_c, l->w_n,
		l->w_b);
	abort();
}

static void compare_shapes(const struct nhot_layer *l, const struct nhot_model_shape *k,
			   const struct nhot_layer_shape *u)
{
#define SAME(kf, uf) do { if ((long long)(kf) != (long long)(uf)) disagree(l, #uf, kf, uf); } while (0)
	SAME(k->out_n, u->out_n);
	SAME(k->out_h, u->out_h);
	SAME(k->out_w, u->out_w);
	SAME(k->out_c, u->out_c);
	SAME(k->k, u->k);
	SAME(k->input_bytes, u->input_bytes);
	SAME(k->input2_bytes, u->input2_bytes);
	SAME(k->weight_bytes, u->weight_bytes);
	SAME(k->params_bytes, u->params_bytes);
	SAME(k->output_bytes, u->output_bytes);
	SAME(k->macs, u->macs);
#undef SAME
}

/* Fills len bytes from the data, cyclically (zeros when there is none). */
static void fill(uint8_t *dst, size_t len, const uint8_t *data, size_t size, size_t *pos)
{
	for (size_t i = 0; i < len; i++) {
		dst[i] = size ? data[*pos % size] : 0;
		(*pos)++;
	}
}

/* Valid per-channel parameters, from whatever bytes are there. */
static void make_params_valid(uint8_t *p, size_t out_c)
{
	for (size_t o = 0; o < out_c; o++) {
		struct nhot_chan_params c;

		memcpy(&c, p + o * sizeof(c), sizeof(c));
		c.bias %= NHOT_MAX_BIAS;
		c.mult &= 0x7fffffffu;
		c.shift = 1 + c.shift % NHOT_MAX_SHIFT;
		memcpy(p + o * sizeof(c), &c, sizeof(c));
	}
}

/* Valid packed weights: each value picked from S(n, b) by the data. */
static void make_weights_valid(const struct nhot_layer *l, const struct nhot_layer_shape *s,
			       uint8_t *w, size_t w_len)
{
	int16_t set[NHOT_SET_MAX];
	int size = nhot_set_values(l->w_n, l->w_b, set, NHOT_SET_MAX);
	size_t count = (size_t)s->out_c * s->k;
	int8_t *q;

	if (size <= 0 || !count)
		return;
	q = malloc(count);
	if (!q)
		return;
	for (size_t i = 0; i < count; i++)
		q[i] = set[w[i % w_len] % size];
	if (nhot_pack(l->w_n, l->w_b, q, s->out_c, s->k, w, w_len))
		abort();	/* exactly weight_bytes: packing must fit */
	free(q);
}

static void run_both(const struct nhot_layer *l, const struct nhot_layer_shape *s,
		     uint8_t ctl, const int8_t adj[BUF_COUNT], const uint8_t *data, size_t size)
{
	uint64_t need[BUF_COUNT] = {
		s->input_bytes, s->input2_bytes, s->weight_bytes, s->params_bytes, s->output_bytes,
	};
	uint8_t *buf[BUF_COUNT] = { NULL }, *out_ref = NULL;
	size_t len[BUF_COUNT], pos = 0;
	struct nhot_model_table table;
	struct nhot_model_counters mc = { 0 };
	struct nhot_model_cfg cfg = { .pe_count = 64 };
	struct nhot_model_mem mem;
	struct nhot_counters rc = { 0 };
	struct nhot_tensors t;
	int kret, uret;

	if (s->macs > FUZZ_MAX_MACS)
		return;
	for (int i = 0; i < BUF_COUNT; i++) {
		if (need[i] > FUZZ_MAX_BYTES)
			return;
	}
	for (int i = 0; i < BUF_COUNT; i++) {
		/* a layer's unused buffers stay absent; used ones may be off by a few bytes */
		long long l_i = need[i] ? (long long)need[i] + adj[i] % 4 : 0;

		len[i] = l_i > 0 ? l_i : 0;
		buf[i] = malloc(len[i] ? len[i] : 1);
		if (!buf[i])
			goto out;
		fill(buf[i], len[i], data, size, &pos);
	}
	out_ref = malloc(len[BUF_OUTPUT] ? len[BUF_OUTPUT] : 1);
	if (!out_ref)
		goto out;
	if ((ctl & CTL_VALID_PARAMS) && need[BUF_PARAMS] && len[BUF_PARAMS] >= need[BUF_PARAMS])
		make_params_valid(buf[BUF_PARAMS], s->out_c);
	if ((ctl & CTL_VALID_WEIGHTS) && need[BUF_WEIGHTS] && len[BUF_WEIGHTS] >= need[BUF_WEIGHTS])
		make_weights_valid(l, s, buf[BUF_WEIGHTS], need[BUF_WEIGHTS]);
	memset(buf[BUF_OUTPUT], 0xa5, len[BUF_OUTPUT]);
	memset(out_ref, 0x5a, len[BUF_OUTPUT]);

	mem = (struct nhot_model_mem){
		.input = buf[BUF_INPUT], .input_len = len[BUF_INPUT],
		.input2 = need[BUF_INPUT2] ? buf[BUF_INPUT2] : NULL, .input2_len = len[BUF_INPUT2],
		.weights = need[BUF_WEIGHTS] ? buf[BUF_WEIGHTS] : NULL,
		.weights_len = len[BUF_WEIGHTS],
		.params = need[BUF_PARAMS] ? buf[BUF_PARAMS] : NULL, .params_len = len[BUF_PARAMS],
		.output = buf[BUF_OUTPUT], .output_len = len[BUF_OUTPUT],
	};
	t = (struct nhot_tensors){
		.input = mem.input, .input_len = len[BUF_INPUT],
		.input2 = mem.input2, .input2_len = len[BUF_INPUT2],
		.weights = mem.weights, .weights_len = len[BUF_WEIGHTS],
		.params = (const struct nhot_chan_params *)mem.params,
		.params_len = len[BUF_PARAMS],
		.output = out_ref, .output_len = len[BUF_OUTPUT],
	};
	kret = nhot_model_run(l, &mem, &cfg, &table, &mc);
	uret = nhot_ref_run(l, &t, &rc);
	if (kret != uret)
		disagree(l, "run result", kret, uret);
	if (!kret) {
		if (memcmp(buf[BUF_OUTPUT], out_ref, need[BUF_OUTPUT]))
			disagree(l, "output bytes differ", 1, 0);
		if (mc.macs != rc.macs)
			disagree(l, "macs", mc.macs, rc.macs);
		if (mc.shift_adds != rc.shift_adds)
			disagree(l, "shift_adds", mc.shift_adds, rc.shift_adds);
	}
out:
	for (int i = 0; i < BUF_COUNT; i++)
		free(buf[i]);
	free(out_ref);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nhot_layer l;
	struct nhot_model_shape ks;
	struct nhot_layer_shape us;
	int8_t adj[BUF_COUNT] = { 0 };
	uint8_t ctl = 0;
	size_t n = size < sizeof(l) ? size : sizeof(l);
	int kret, uret;

	memset(&l, 0, sizeof(l));
	memcpy(&l, data, n);
	data += n;
	size -= n;
	if (size) {
		ctl = data[0];
		data++;
		size--;
	}
	for (int i = 0; i < BUF_COUNT && size; i++) {
		adj[i] = (int8_t)data[0];
		data++;
		size--;
	}

	memset(&ks, 0, sizeof(ks));
	memset(&us, 0, sizeof(us));
	kret = nhot_model_check(&l, &ks);
	uret = nhot_layer_check(&l, &us);
	if (kret != uret)
		disagree(&l, "check result", kret, uret);
	if (kret)
		return 0;
	compare_shapes(&l, &ks, &us);
	run_both(&l, &us, ctl, adj, data, size);
	return 0;
}
