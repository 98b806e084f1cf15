// SPDX-License-Identifier: MIT
/*
 * nhot-quant quantize: post-training quantization of a float model (.nhf)
 * into a quantized model (.nhq), docs/model-format.md "Quantization".
 *
 *   nhot-quant quantize -i FLOAT.nhf -o MODEL.nhq --scheme uniform|pot|nhot
 *                       [-n N] [-b B] [--calib N] [--data DIR] [--quiet]
 *
 * Exit: 0 done, 1 failed, 2 usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmds.h"
#include "nhot.h"
#include "nhot_fmodel.h"
#include "nhot_model.h"
#include "nhot_private.h"

#define QUANT_DEFAULT_DATA	"/usr/share/datasets/fashion-mnist"
#define QUANT_DEFAULT_CALIB	1000

struct quant_args {
	const char *in, *out, *scheme, *data;
	int n, b, n_given, quiet;
	unsigned int calib;
};

static const char quant_usage[] =
	"usage: nhot-quant quantize -i FLOAT.nhf -o MODEL.nhq --scheme uniform|pot|nhot\n"
	"                           [-n N] [-b B] [--calib N] [--data DIR] [--quiet]\n"
	"  uniform: S(4, B), every b-bit integer; pot: S(1, B), powers of two;\n"
	"  nhot: S(N, B) (N defaults to 2). B defaults to 8; --calib images\n"
	"  (default 1000) of the training set calibrate the activation ranges.\n";

static int quant_usage_error(const char *msg, const char *arg)
{
	return cli_usage_error("quantize", "%s%s%s", msg, arg ? ": " : "", arg ? arg : "");
}

static int parse_int(const char *s, long lo, long hi, long *v)
{
	char *end;

	errno = 0;
	*v = strtol(s, &end, 10);
	return errno || end == s || *end || *v < lo || *v > hi ? -1 : 0;
}

static int quant_parse(int argc, char **argv, struct quant_args *a)
{
	static const struct option longopts[] = {
		{ "input", required_argument, NULL, 'i' },
		{ "output", required_argument, NULL, 'o' },
		{ "scheme", required_argument, NULL, 's' },
		{ "calib", required_argument, NULL, 'c' },
		{ "data", required_argument, NULL, 'd' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	long v;
	int c;

	memset(a, 0, sizeof(*a));
	a->data = QUANT_DEFAULT_DATA;
	a->b = 8;
	a->n = 2;
	a->calib = QUANT_DEFAULT_CALIB;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":i:o:n:b:qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'i': a->in = optarg; break;
		case 'o': a->out = optarg; break;
		case 's': a->scheme = optarg; break;
		case 'd': a->data = optarg; break;
		case 'q': a->quiet = 1; break;
		case 'n':
			if (parse_int(optarg, NHOT_MIN_N, NHOT_MAX_N, &v))
				return quant_usage_error("-n wants 1..4", optarg);
			a->n = (int)v;
			a->n_given = 1;
			break;
		case 'b':
			if (parse_int(optarg, NHOT_MIN_B, NHOT_MAX_B, &v))
				return quant_usage_error("-b wants 2..8", optarg);
			a->b = (int)v;
			break;
		case 'c':
			if (parse_int(optarg, 1, 60000, &v))
				return quant_usage_error("--calib wants 1..60000 images", optarg);
			a->calib = (unsigned int)v;
			break;
		case 'h': fputs(quant_usage, stdout); return 1;
		case ':': return quant_usage_error("missing argument to", argv[optind - 1]);
		default: return quant_usage_error("unknown option", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return quant_usage_error("unexpected argument", argv[optind]);
	if (!a->in || !a->out || !a->scheme)
		return quant_usage_error("-i, -o and --scheme are required", NULL);
	if (!strcmp(a->scheme, "uniform") || !strcmp(a->scheme, "pot")) {
		if (a->n_given)
			return quant_usage_error("-n goes with --scheme nhot only", NULL);
		a->n = !strcmp(a->scheme, "pot") ? 1 : 4;
	} else if (strcmp(a->scheme, "nhot")) {
		return quant_usage_error("--scheme wants uniform, pot or nhot", a->scheme);
	}
	return 0;
}

static void quant_progress(void *arg, uint32_t done, uint32_t total)
{
	const struct quant_args *a = arg;

	if (a->quiet)
		return;
	/* Redrawn in place on a terminal, a line per layer in a log. */
	if (isatty(STDERR_FILENO))
		fprintf(stderr, "\rnhot-quant: quantized %u/%u layers%s", done, total,
			done == total ? "\n" : "");
	else
		fprintf(stderr, "nhot-quant: quantized %u/%u layers\n", done, total);
}

/* calib images spread evenly over the training set, as floats pixel / 255. */
static float *calib_images(const struct quant_args *a, const struct nhot_fnet *f)
{
	const struct nhot_fnode *in = &f->nodes[0];
	char path[4096], err[NHOT_QNET_ERR_LEN];
	struct nhot_idx idx;
	size_t px, i, j, src;
	float *out = NULL;

	snprintf(path, sizeof(path), "%s/train-images-idx3-ubyte.gz", a->data);
	if (nhot_idx_load(path, &idx, err, sizeof(err))) {
		fprintf(stderr, "nhot-quant quantize: %s\n", err);
		return NULL;
	}
	if (idx.rows != in->out_h || idx.cols != in->out_w || in->out_c != 1) {
		fprintf(stderr, "nhot-quant quantize: images are %ux%u, the model takes %ux%ux%u\n",
			idx.rows, idx.cols, in->out_h, in->out_w, in->out_c);
		goto out;
	}
	if (a->calib > idx.count) {
		fprintf(stderr, "nhot-quant quantize: --calib %u but %s holds %u images\n",
			a->calib, path, idx.count);
		goto out;
	}
	px = (size_t)idx.rows * idx.cols;
	out = malloc(sizeof(float) * px * a->calib);
	if (!out) {
		fprintf(stderr, "nhot-quant quantize: out of memory\n");
		goto out;
	}
	for (i = 0; i < a->calib; i++) {
		src = i * (size_t)idx.count / a->calib;
		for (j = 0; j < px; j++)
			out[i * px + j] = idx.data[src * px + j] / 255.0f;
	}
out:
	nhot_idx_free(&idx);
	return out;
}

static void quant_summary(const struct quant_args *a, const struct nhot_qnet *q)
{
	struct nhot_qnet_cost c;

	if (a->quiet)
		return;
	nhot_qnet_cost(q, &c);
	fprintf(stderr, "nhot-quant: %s: S(%d, %d), %u nodes, %llu weights in %llu bytes, "
		"%.3f shift-adds per MAC (uniform 8-bit zero-skipping: %.3f)\n",
		a->out, a->n, a->b, q->node_count, (unsigned long long)c.weight_count,
		(unsigned long long)c.weight_bytes,
		c.macs ? (double)c.shift_adds / c.macs : 0,
		c.macs ? (double)c.u8_zero_skip / c.macs : 0);
}

/*
 * Before minutes of calibration: -o must not name the input (the model
 * would replace the float model it came from) nor anything but a regular
 * file (a device, a FIFO, a directory). Exit 2 and 1, as nhot-quant.1 says.
 */
static int quant_check_files(const struct quant_args *a)
{
	char err[NHOT_PRIVATE_ERR_LEN];

	if (nhot_file_same(a->in, a->out))
		return quant_usage_error("-i and -o name the same file; the quantized model "
					 "would replace the float model", a->out);
	if (nhot_file_check_target(a->out, err, sizeof(err))) {
		fprintf(stderr, "nhot-quant quantize: %s\n", err);
		return 1;
	}
	return 0;
}

int cmd_quantize(int argc, char **argv)
{
	struct nhot_quant_opts qo = { 0 };
	struct nhot_fnet *f = NULL;
	struct nhot_qnet *q = NULL;
	char err[NHOT_PRIVATE_ERR_LEN];
	struct quant_args a;
	float *calib = NULL;
	int rc;

	rc = quant_parse(argc, argv, &a);
	if (rc)
		return rc == 1 ? 0 : rc;
	rc = quant_check_files(&a);
	if (rc)
		return rc;
	rc = nhot_fnet_load_err(a.in, &f, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "nhot-quant quantize: %s\n", err);
		return 1;
	}
	rc = 1;
	calib = calib_images(&a, f);
	if (!calib)
		goto out;
	if (!a.quiet)
		fprintf(stderr, "nhot-quant: %s -> S(%d, %d), activation ranges: min/max over "
			"%u training images\n", a.in, a.n, a.b, a.calib);
	qo.n = a.n;
	qo.b = a.b;
	qo.progress = quant_progress;
	qo.progress_arg = &a;
	rc = nhot_qnet_quantize(f, calib, a.calib, &qo, &q, err, sizeof(err));
	if (!rc)
		rc = nhot_qnet_save(q, a.out, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "nhot-quant quantize: %s\n", err);
		goto out;
	}
	quant_summary(&a, q);
out:
	nhot_qnet_free(q);
	free(calib);
	nhot_fnet_free(f);
	return rc ? 1 : 0;
}
