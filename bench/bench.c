// SPDX-License-Identifier: MIT
/*
 * `make bench`: times nhot (S(2, 8) weights) against oneDNN's int8
 * matmul/convolution on the same shapes and data, at 1 and 2 threads, and
 * against nhot_ref_run() on the small shapes (whose outputs must also match
 * bit for bit). Samples of the two libraries alternate, so a busy machine
 * hurts both alike; each figure is the median of the samples.
 *
 * Both libraries get their weights once, outside the timed runs: oneDNN's
 * are reordered into its preferred layout when its primitive is made, and
 * nhot's layer is prepared (nhot_cpu_layer_prepare()); the timed runs of
 * each read only the input. NHOT_BENCH_RUN=1 times nhot_cpu_run() instead,
 * which checks on every call that the caller's codes did not change.
 *
 * Usage: nhot_bench [samples [shape]]   (default 21 samples, every shape)
 * The last lines are, per thread count and shape:
 *   BENCH threads=<t> shape=<name> nhot_gops=<x> onednn_gops=<y> ratio=<x/y>
 * with GOPS = 2 * M * K * N / seconds (padding products included for conv).
 */
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <oneapi/dnnl/dnnl_version.h>

#include "bench.h"

/*
 * A sample runs at least this long (repeating the layer): short enough that
 * on a shared core most samples fit between two preemptions (a scheduler
 * slice is some milliseconds), so the median is the unloaded speed when the
 * machine is busy less than half the time.
 */
#define SAMPLE_NS	2000000.0
/*
 * Between samples the machine idles GAP_NS, then the next library runs
 * untimed for WARM_NS before its sample: its threads are awake and placed,
 * as in back-to-back inference. Without the warm-up, threads woken after
 * the gap were often put on the CPU of the thread that woke them and stayed
 * there for the whole sample (oneDNN's 2-thread medians fell to 107-180
 * GOPS on shapes where it reaches 800-1400).
 */
#define GAP_NS		20000000
#define WARM_NS		20000000.0
/* The reference is timed on shapes of at most this many products. */
#define REF_MAX_MACS	(8 * 1000 * 1000)

static const struct bench_shape shapes[] = {
	{ "12544x32x16", BENCH_GEMM, 12544, 32, 16, 0, 0, 0, 3, 5 },
	{ "3136x144x24", BENCH_GEMM, 3136, 144, 24, 0, 0, 0, 3, 5 },
	{ "784x192x32", BENCH_GEMM, 784, 192, 32, 0, 0, 0, 3, 5 },
	{ "196x384x64", BENCH_GEMM, 196, 384, 64, 0, 0, 0, 3, 5 },
	{ "196x576x96", BENCH_GEMM, 196, 576, 96, 0, 0, 0, 3, 5 },
	{ "49x960x160", BENCH_GEMM, 49, 960, 160, 0, 0, 0, 3, 5 },
	{ "49x320x1280", BENCH_GEMM, 49, 320, 1280, 0, 0, 0, 3, 5 },
	{ "1x1280x1000", BENCH_GEMM, 1, 1280, 1000, 0, 0, 0, 3, 5 },
	{ "1024x1024x1024", BENCH_GEMM, 1024, 1024, 1024, 0, 0, 0, 3, 5 },
	{ "conv3x3", BENCH_CONV, 56 * 56, 9 * 64, 64, 56, 56, 64, 3, 5 },
	{ "dw3x3", BENCH_DW, 112 * 112, 9, 96, 112, 112, 96, 3, 5 },
};

#define NSHAPES	(sizeof(shapes) / sizeof(shapes[0]))

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* CPU time of the whole process: with t threads, up to t times the wall time. */
static double cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

static void free_data(struct bench_data *d)
{
	free(d->input);
	free(d->values);
	free(d->packed);
	free(d->params);
	free(d->bias);
	free(d->scales);
	free(d->output);
	free(d->ref_output);
	nhot_cpu_layer_free(d->prepared);
	memset(d, 0, sizeof(*d));
}

static int make_data(const struct bench_shape *sh, struct bench_data *d)
{
	struct nhot_layer *l = &d->layer;
	int16_t set[NHOT_SET_MAX];
	int size = nhot_set_values(2, 8, set, NHOT_SET_MAX), ret;
	uint64_t i, nw;

	memset(d, 0, sizeof(*d));
	memset(l, 0, sizeof(*l));
	l->w_n = 2;
	l->w_b = 8;
	l->in_zero = sh->in_zero;
	l->out_zero = sh->out_zero;
	l->act_min = 0;
	l->act_max = 255;
	l->batch = 1;
	if (sh->kind == BENCH_GEMM) {
		l->type = NHOT_LAYER_FC;
		l->batch = (uint32_t)sh->m;
		l->in_h = l->in_w = 1;
		l->in_c = (uint32_t)sh->k;
		l->out_c = (uint32_t)sh->n;
	} else {
		l->type = NHOT_LAYER_CONV2D;
		l->in_h = (uint32_t)sh->h;
		l->in_w = (uint32_t)sh->w;
		l->in_c = (uint32_t)sh->c;
		l->out_c = (uint32_t)sh->n;
		l->kernel_h = l->kernel_w = 3;
		l->stride_h = l->stride_w = 1;
		l->dilation_h = l->dilation_w = 1;
		l->pad_top = l->pad_bottom = l->pad_left = l->pad_right = 1;
		l->groups = sh->kind == BENCH_DW ? (uint32_t)sh->c : 1;
	}
	ret = nhot_layer_check(l, &d->shape);
	if (ret || size < 0)
		return ret ? ret : size;
	nw = (uint64_t)l->out_c * d->shape.k;
	d->input = malloc(d->shape.input_bytes);
	d->values = malloc(nw);
	d->packed = malloc(d->shape.weight_bytes);
	d->params = malloc(d->shape.params_bytes);
	d->bias = malloc(sizeof(int32_t) * l->out_c);
	d->scales = malloc(sizeof(float) * l->out_c);
	d->output = malloc(d->shape.output_bytes);
	d->ref_output = malloc(d->shape.output_bytes);
	if (!d->input || !d->values || !d->packed || !d->params || !d->bias || !d->scales ||
	    !d->output || !d->ref_output)
		return -ENOMEM;
	for (i = 0; i < d->shape.input_bytes; i++)
		d->input[i] = (uint8_t)rnd();
	for (i = 0; i < nw; i++)
		d->values[i] = (int8_t)set[rnd() % (uint32_t)size];
	ret = nhot_pack(2, 8, d->values, l->out_c, d->shape.k, d->packed, d->shape.weight_bytes);
	if (ret)
		return ret;
	for (i = 0; i < l->out_c; i++) {
		/* Outputs spread over the u8 range for products of this K. */
		double scale = 1.0 / (sqrt((double)d->shape.k) * 40.0 * 127.0 / 4.0);
		uint32_t mult, shift;

		ret = nhot_quantize_multiplier(scale * (0.75 + (rnd() % 1000) / 2000.0),
					       &mult, &shift);
		if (ret)
			return ret;
		d->params[i].bias = (int32_t)(rnd() % 8192) - 4096;
		d->params[i].mult = mult;
		d->params[i].shift = shift;
		d->bias[i] = d->params[i].bias;
		d->scales[i] = (float)ldexp((double)mult, -(int)shift);
	}
	if (getenv("NHOT_BENCH_RUN"))
		return 0;
	return nhot_cpu_layer_prepare(l, d->packed, d->shape.weight_bytes, d->params,
				      d->shape.params_bytes, &d->prepared);
}

static double gops(const struct bench_shape *sh, double ns)
{
	return 2.0 * (double)sh->m * (double)sh->k * (double)sh->n / ns;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int run_nhot(struct bench_data *d)
{
	struct nhot_tensors t = {
		.input = d->input, .input_len = d->shape.input_bytes,
		.weights = d->packed, .weights_len = d->shape.weight_bytes,
		.params = d->params, .params_len = d->shape.params_bytes,
		.output = d->output, .output_len = d->shape.output_bytes,
	};

	if (d->prepared)
		return nhot_cpu_layer_run(d->prepared, d->input, d->shape.input_bytes, d->output,
					  d->shape.output_bytes, NULL);
	return nhot_cpu_run(&d->layer, &t, NULL);
}

/* Runs per sample so that one sample lasts about SAMPLE_NS. */
static int calibrate(double one_ns)
{
	double r = SAMPLE_NS / (one_ns > 1 ? one_ns : 1);

	return r < 1 ? 1 : r > 100000 ? 100000 : (int)r;
}

/* GOPS: medians of the samples, and the best sample of each library. */
struct result {
	double nhot, onednn;
	double nhot_best, onednn_best;
};

static double minimum(const double *v, int n)
{
	double m = v[0];
	int i;

	for (i = 1; i < n; i++)
		m = v[i] < m ? v[i] : m;
	return m;
}

static int bench_shape(const struct bench_shape *sh, int threads, int samples,
		       struct bench_data *d, struct result *res)
{
	/*
	 * Longer than libgomp's spin after a parallel region (GOMP_SPINCOUNT
	 * 300,000 pauses, ~6.6 ms at ~22 ns a pause here): with 5 ms, oneDNN's
	 * worker was still spinning through nhot's 2-thread samples, three
	 * threads on two cores.
	 */
	const struct timespec gap = { 0, GAP_NS };
	struct onednn_op *op;
	double tn[64], to[64], cn[64], co[64], t0, c0;
	int i, j, reps_n, reps_o;

	nhot_cpu_set_threads(threads);
	omp_set_num_threads(threads);
	op = onednn_create(sh, d);
	if (!op)
		return -1;
	if (!onednn_has_zero_points(op))
		printf("# %s: oneDNN without zero points (unsupported for this op)\n", sh->name);
	/* Warm up and calibrate. */
	for (i = 0; i < 2; i++) {
		if (run_nhot(d) || onednn_run(op)) {
			onednn_destroy(op);
			return -1;
		}
	}
	t0 = now_ns();
	run_nhot(d);
	reps_n = calibrate(now_ns() - t0);
	t0 = now_ns();
	onednn_run(op);
	reps_o = calibrate(now_ns() - t0);
	for (i = 0; i < samples; i++) {
		/* The idle gap lets the other library's spinning threads go to sleep. */
		nanosleep(&gap, NULL);
		for (t0 = now_ns(); now_ns() - t0 < WARM_NS;)
			run_nhot(d);
		t0 = now_ns();
		c0 = cpu_ns();
		for (j = 0; j < reps_n; j++)
			run_nhot(d);
		tn[i] = (now_ns() - t0) / reps_n;
		cn[i] = (cpu_ns() - c0) / reps_n;
		nanosleep(&gap, NULL);
		for (t0 = now_ns(); now_ns() - t0 < WARM_NS;)
			onednn_run(op);
		t0 = now_ns();
		c0 = cpu_ns();
		for (j = 0; j < reps_o; j++)
			onednn_run(op);
		to[i] = (now_ns() - t0) / reps_o;
		co[i] = (cpu_ns() - c0) / reps_o;
	}
	res->nhot_best = gops(sh, minimum(tn, samples));
	res->onednn_best = gops(sh, minimum(to, samples));
	res->nhot = gops(sh, median(tn, samples));
	res->onednn = gops(sh, median(to, samples));
	printf("# threads=%d %-15s nhot %7.1f GOPS (%.1f us, cpu %.1f us, best %.1f)  "
	       "oneDNN %7.1f GOPS (%.1f us, cpu %.1f us, best %.1f)\n",
	       threads, sh->name, res->nhot, 2.0 * sh->m * sh->k * sh->n / res->nhot / 1e3,
	       median(cn, samples) / 1e3, res->nhot_best, res->onednn,
	       2.0 * sh->m * sh->k * sh->n / res->onednn / 1e3, median(co, samples) / 1e3,
	       res->onednn_best);
	fflush(stdout);
	onednn_destroy(op);
	return 0;
}

/* The reference on a small shape: its speed, and nhot's output must equal it. */
static int bench_reference(const struct bench_shape *sh, struct bench_data *d)
{
	struct nhot_tensors t = {
		.input = d->input, .input_len = d->shape.input_bytes,
		.weights = d->packed, .weights_len = d->shape.weight_bytes,
		.params = d->params, .params_len = d->shape.params_bytes,
		.output = d->ref_output, .output_len = d->shape.output_bytes,
	};
	double t0 = now_ns(), ns;
	int ret = nhot_ref_run(&d->layer, &t, NULL);

	ns = now_ns() - t0;
	if (ret)
		return ret;
	if (run_nhot(d))
		return -1;
	printf("REF shape=%s ref_gops=%.3f %s\n", sh->name, gops(sh, ns),
	       memcmp(d->output, d->ref_output, d->shape.output_bytes) ? "MISMATCH" : "bit-exact");
	return memcmp(d->output, d->ref_output, d->shape.output_bytes) ? -1 : 0;
}

int main(int argc, char **argv)
{
	static struct result res[2][NSHAPES];
	int samples = 21, failed = 0, t;
	size_t s;

	const char *only = argc > 2 ? argv[2] : NULL;

	if (argc > 3 || (argc >= 2 && (sscanf(argv[1], "%d", &samples) != 1 || samples < 1 ||
				       samples > 64))) {
		fprintf(stderr, "usage: %s [samples 1..64 [shape]]\n", argv[0]);
		return 2;
	}
	printf("# %s (isa %s, S(2,8) weights) vs oneDNN %d.%d, %d samples each\n",
	       getenv("NHOT_BENCH_RUN") ? "nhot_cpu_run" : "nhot_cpu_layer_run", nhot_cpu_isa(),
	       DNNL_VERSION_MAJOR, DNNL_VERSION_MINOR, samples);
	for (s = 0; s < NSHAPES; s++) {
		struct bench_data d;

		if (only && strcmp(only, shapes[s].name))
			continue;
		if (make_data(&shapes[s], &d)) {
			fprintf(stderr, "bench: cannot set up %s\n", shapes[s].name);
			free_data(&d);
			return 1;
		}
		if (shapes[s].m * shapes[s].k * shapes[s].n <= REF_MAX_MACS &&
		    bench_reference(&shapes[s], &d)) {
			printf("# %s: nhot differs from nhot_ref_run\n", shapes[s].name);
			failed = 1;
		}
		for (t = 1; t <= 2; t++) {
			if (bench_shape(&shapes[s], t, samples, &d, &res[t - 1][s])) {
				fprintf(stderr, "bench: %s failed\n", shapes[s].name);
				failed = 1;
			}
		}
		free_data(&d);
	}
	/* The best samples' ratio: what each library reaches when it has the core. */
	for (t = 1; t <= 2; t++)
		for (s = 0; s < NSHAPES; s++)
			if (!only || !strcmp(only, shapes[s].name))
				printf("BEST threads=%d shape=%s nhot_gops=%.1f onednn_gops=%.1f ratio=%.2f\n",
				       t, shapes[s].name, res[t - 1][s].nhot_best,
				       res[t - 1][s].onednn_best, res[t - 1][s].onednn_best > 0 ?
				       res[t - 1][s].nhot_best / res[t - 1][s].onednn_best : 0);
	for (t = 1; t <= 2; t++)
		for (s = 0; s < NSHAPES; s++)
			if (!only || !strcmp(only, shapes[s].name))
				printf("BENCH threads=%d shape=%s nhot_gops=%.1f onednn_gops=%.1f ratio=%.2f\n",
			       t, shapes[s].name, res[t - 1][s].nhot, res[t - 1][s].onednn,
			       res[t - 1][s].onednn > 0 ? res[t - 1][s].nhot / res[t - 1][s].onednn : 0);
	return failed;
}
