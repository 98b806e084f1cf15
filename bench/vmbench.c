// SPDX-License-Identifier: MIT
/*
 * vmbench: what a job costs on an nhot engine, measured inside the VM.
 *
 *   vmbench [--engine sim|pci] [--dev /dev/nhotN] [--runs R] [--samples S]
 *
 * It drives the engine through the raw ioctls of uapi/linux/nhot.h (no
 * libnhot context in between), so the figures are the driver's own cost:
 *
 *  - jobs per second of a tiny job (an ADD of 64 bytes), submitted B = 1, 16
 *    and 256 jobs per NHOT_IOCTL_SUBMIT; a job counts as done once
 *    NHOT_IOCTL_WAIT returned and NHOT_IOCTL_JOB_STATUS with
 *    NHOT_STATUS_RELEASE reported it NHOT_JOB_DONE;
 *  - submit-to-completion latency of one tiny job (SUBMIT, WAIT, STATUS),
 *    median and p99 of S samples;
 *  - the engine's GOPS (2 * MACs / s, wall time of SUBMIT to the released
 *    result) on an FC 196x576x96 with S(2, 8) weights, against libnhot's
 *    fallback nhot_cpu_run() on the same layer in the same process. The
 *    device output must equal the fallback's bit for bit before any timing.
 *
 * Each figure is the median of R runs. A table goes to stdout, then every
 * figure as "VMBENCH kernel=<uname -r> engine=<sim|pci> metric=<m> value=<x>".
 * No figure is asserted: exit 0, 1 when something failed (a job not DONE, a
 * bit mismatch, an ioctl error), 2 for a usage error.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "nhot.h"

#define TINY_BYTES	64
#define MAX_BATCH	256
#define MAX_DEVICES	16
/* Jobs per throughput run: enough that one run is not one timer tick. */
#define THROUGHPUT_JOBS	2048
/* No job of this program should take longer; beyond it WAIT fails. */
#define WAIT_NS		(30LL * 1000000000LL)

struct engine {
	int fd;
	char path[32];
	struct nhot_info info;
};

/* One buffer object, mapped. */
struct bo {
	uint32_t handle;
	size_t length;
	uint8_t *data;
};

static const char *kind_name(uint32_t kind)
{
	switch (kind) {
	case NHOT_ENGINE_SIM:
		return "sim";
	case NHOT_ENGINE_PCI:
		return "pci";
	}
	return "unknown";
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The q-quantile (0..1) of n values, nearest rank; sorts v. */
static double quantile(double *v, size_t n, double q)
{
	size_t i;

	qsort(v, n, sizeof(*v), cmp_double);
	i = (size_t)(q * (double)n + 0.999999);
	if (i > 0)
		i--;
	if (i >= n)
		i = n - 1;
	return v[i];
}

static double median(double *v, size_t n)
{
	return quantile(v, n, 0.5);
}

static int engine_open(const char *path, struct engine *e)
{
	e->fd = open(path, O_RDWR | O_CLOEXEC);
	if (e->fd < 0)
		return -errno;
	snprintf(e->path, sizeof(e->path), "%s", path);
	memset(&e->info, 0, sizeof(e->info));
	e->info.size = sizeof(e->info);
	if (ioctl(e->fd, NHOT_IOCTL_GET_INFO, &e->info) < 0) {
		int err = -errno;

		close(e->fd);
		e->fd = -1;
		return err;
	}
	return 0;
}

/* The first /dev/nhotN of the wanted kind, or the one path given. */
static int engine_find(const char *dev, const char *kind, struct engine *e)
{
	char path[32];
	int i;

	if (dev) {
		int err = engine_open(dev, e);

		if (err) {
			fprintf(stderr, "vmbench: %s: %s\n", dev, strerror(-err));
			return err;
		}
		if (strcmp(kind_name(e->info.engine_kind), kind)) {
			fprintf(stderr, "vmbench: %s is a %s engine, not %s\n",
				dev, kind_name(e->info.engine_kind), kind);
			close(e->fd);
			return -ENODEV;
		}
		return 0;
	}
	for (i = 0; i < MAX_DEVICES; i++) {
		snprintf(path, sizeof(path), "/dev/nhot%d", i);
		if (engine_open(path, e))
			continue;
		if (!strcmp(kind_name(e->info.engine_kind), kind))
			return 0;
		close(e->fd);
	}
	fprintf(stderr, "vmbench: no %s engine among /dev/nhot0..%d\n", kind, MAX_DEVICES - 1);
	return -ENODEV;
}

static int bo_create(const struct engine *e, size_t length, struct bo *bo)
{
	struct nhot_bo_create c = { .size = sizeof(c), .length = length };
	void *p;

	if (ioctl(e->fd, NHOT_IOCTL_BO_CREATE, &c) < 0)
		return -errno;
	p = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_SHARED, e->fd, (off_t)c.mmap_offset);
	if (p == MAP_FAILED) {
		int err = -errno;
		struct nhot_bo_destroy d = { .size = sizeof(d), .handle = c.handle };

		ioctl(e->fd, NHOT_IOCTL_BO_DESTROY, &d);
		return err;
	}
	bo->handle = c.handle;
	bo->length = length;
	bo->data = p;
	return 0;
}

static void bo_destroy(const struct engine *e, struct bo *bo)
{
	struct nhot_bo_destroy d = { .size = sizeof(d), .handle = bo->handle };

	if (!bo->data)
		return;
	munmap(bo->data, bo->length);
	ioctl(e->fd, NHOT_IOCTL_BO_DESTROY, &d);
	bo->data = NULL;
}

/*
 * Submits count copies of job, waits for all of them and releases them.
 * 0 when every one ended NHOT_JOB_DONE; a negative errno (and a line on
 * stderr) otherwise.
 */
static int run_jobs(const struct engine *e, const struct nhot_job *jobs, unsigned int count)
{
	static uint64_t ids[MAX_BATCH];
	static struct nhot_job_result res[MAX_BATCH];
	struct nhot_submit s = {
		.size = sizeof(s), .jobs_ptr = (uintptr_t)jobs,
		.job_count = count, .job_size = sizeof(*jobs),
	};
	struct nhot_wait w = {
		.size = sizeof(w), .ids_ptr = (uintptr_t)ids, .id_count = count,
	};
	struct nhot_job_status_args st = {
		.size = sizeof(st), .flags = NHOT_STATUS_RELEASE,
		.results_ptr = (uintptr_t)res, .count = count, .result_size = sizeof(res[0]),
	};
	unsigned int i;
	int err;

	if (count == 0 || count > MAX_BATCH)
		return -EINVAL;
	if (ioctl(e->fd, NHOT_IOCTL_SUBMIT, &s) < 0) {
		err = -errno;
		fprintf(stderr, "vmbench: SUBMIT of %u jobs: %s\n", count, strerror(-err));
		return err;
	}
	for (i = 0; i < count; i++) {
		ids[i] = s.first_id + i;
		res[i].id = ids[i];
	}
	w.timeout_ns = (int64_t)now_ns() + WAIT_NS;
	while (ioctl(e->fd, NHOT_IOCTL_WAIT, &w) < 0) {
		if (errno == EINTR)
			continue;
		err = -errno;
		fprintf(stderr, "vmbench: WAIT: %s\n", strerror(-err));
		return err;
	}
	if (ioctl(e->fd, NHOT_IOCTL_JOB_STATUS, &st) < 0) {
		err = -errno;
		fprintf(stderr, "vmbench: JOB_STATUS: %s\n", strerror(-err));
		return err;
	}
	for (i = 0; i < count; i++) {
		if (res[i].status != NHOT_JOB_DONE) {
			fprintf(stderr, "vmbench: job %llu ended with status %u, error %d\n",
				(unsigned long long)res[i].id, res[i].status, res[i].error);
			return -EIO;
		}
	}
	return 0;
}

/* A reproducible byte stream (xorshift64*), so every run sees the same data. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static uint32_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545F4914F6CDD1DULL) >> 32);
}

static void fill_random(uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)rng();
}

/* ---- tiny jobs ------------------------------------------------------- */

/* Layout of the tiny jobs' buffer: input, input2, output. */
enum { TINY_IN = 0, TINY_IN2 = TINY_BYTES, TINY_OUT = 2 * TINY_BYTES };

static void tiny_layer(struct nhot_layer *l)
{
	memset(l, 0, sizeof(*l));
	l->type = NHOT_LAYER_ADD;
	l->batch = 1;
	l->in_h = 1;
	l->in_w = 1;
	l->in_c = TINY_BYTES;
	l->in_zero = 128;
	l->in2_zero = 120;
	l->out_zero = 128;
	l->act_min = 0;
	l->act_max = 255;
	l->add_mult_a = 1U << 30;	/* out = (a + b) / 2, in fixed point */
	l->add_mult_b = 1U << 30;
	l->add_shift = 31;
}

static void tiny_job(const struct bo *bo, struct nhot_job *j)
{
	memset(j, 0, sizeof(*j));
	tiny_layer(&j->layer);
	j->input = (struct nhot_bufref){ .handle = bo->handle, .offset = TINY_IN };
	j->input2 = (struct nhot_bufref){ .handle = bo->handle, .offset = TINY_IN2 };
	j->output = (struct nhot_bufref){ .handle = bo->handle, .offset = TINY_OUT };
}

/* One tiny job on the device against nhot_ref_run(): the job is right, not just fast. */
static int tiny_check(const struct engine *e, struct bo *bo, const struct nhot_job *job)
{
	uint8_t want[TINY_BYTES];
	struct nhot_tensors t = {
		.input = bo->data + TINY_IN, .input_len = TINY_BYTES,
		.input2 = bo->data + TINY_IN2, .input2_len = TINY_BYTES,
		.output = want, .output_len = sizeof(want),
	};
	int err;

	fill_random(bo->data + TINY_IN, 2 * TINY_BYTES);
	memset(bo->data + TINY_OUT, 0, TINY_BYTES);
	err = nhot_ref_run(&job->layer, &t, NULL);
	if (err) {
		fprintf(stderr, "vmbench: nhot_ref_run(ADD): %s\n", strerror(-err));
		return err;
	}
	err = run_jobs(e, job, 1);
	if (err)
		return err;
	if (memcmp(want, bo->data + TINY_OUT, TINY_BYTES)) {
		fprintf(stderr, "vmbench: ADD output differs from nhot_ref_run()\n");
		return -EIO;
	}
	return 0;
}

/* Jobs per second at batch jobs per SUBMIT, median of runs. */
static int tiny_throughput(const struct engine *e, const struct nhot_job *jobs,
			   unsigned int batch, int runs, double *jobs_per_s)
{
	double v[runs];
	int r, err;

	for (r = 0; r < runs; r++) {
		unsigned int done = 0;
		uint64_t t0 = now_ns();

		while (done < THROUGHPUT_JOBS) {
			err = run_jobs(e, jobs, batch);
			if (err)
				return err;
			done += batch;
		}
		v[r] = (double)done * 1e9 / (double)(now_ns() - t0);
	}
	*jobs_per_s = median(v, (size_t)runs);
	return 0;
}

/* Submit-to-completion latency of one job, median and p99 over samples, in us. */
static int tiny_latency(const struct engine *e, const struct nhot_job *job, int samples,
			double *med_us, double *p99_us)
{
	double *v = malloc((size_t)samples * sizeof(*v));
	int i, err = 0;

	if (!v)
		return -ENOMEM;
	for (i = 0; i < samples; i++) {
		uint64_t t0 = now_ns();

		err = run_jobs(e, job, 1);
		if (err)
			goto out;
		v[i] = (double)(now_ns() - t0) / 1e3;
	}
	*p99_us = quantile(v, (size_t)samples, 0.99);
	*med_us = median(v, (size_t)samples);
out:
	free(v);
	return err;
}

/* ---- the mid-size layer ---------------------------------------------- */

/* FC 196 x 576 -> 96 (a ViT-ish token block), S(2, 8) weights. */
enum { FC_ROWS = 196, FC_IN = 576, FC_OUT = 96, FC_N = 2, FC_B = 8 };

struct mid_layer {
	struct nhot_layer layer;
	struct nhot_layer_shape shape;
	struct bo in, w, p, out;
	uint8_t *cpu_out;
};

static int mid_prepare(const struct engine *e, struct mid_layer *m)
{
	int16_t set[NHOT_SET_MAX];
	struct nhot_chan_params *cp;
	int8_t *q = NULL;
	int nset, err;
	size_t i;

	memset(&m->layer, 0, sizeof(m->layer));
	m->layer.type = NHOT_LAYER_FC;
	m->layer.batch = FC_ROWS;
	m->layer.in_h = 1;
	m->layer.in_w = 1;
	m->layer.in_c = FC_IN;
	m->layer.out_c = FC_OUT;
	m->layer.w_n = FC_N;
	m->layer.w_b = FC_B;
	m->layer.in_zero = 128;
	m->layer.out_zero = 128;
	m->layer.act_min = 0;
	m->layer.act_max = 255;
	err = nhot_layer_check(&m->layer, &m->shape);
	if (err) {
		fprintf(stderr, "vmbench: the FC layer is invalid: %s\n", strerror(-err));
		return err;
	}
	nset = nhot_set_values(FC_N, FC_B, set, NHOT_SET_MAX);
	if (nset < 0)
		return nset;

	err = bo_create(e, m->shape.input_bytes, &m->in);
	if (!err)
		err = bo_create(e, m->shape.weight_bytes, &m->w);
	if (!err)
		err = bo_create(e, m->shape.params_bytes, &m->p);
	if (!err)
		err = bo_create(e, m->shape.output_bytes, &m->out);
	if (err) {
		fprintf(stderr, "vmbench: buffers of the FC layer: %s\n", strerror(-err));
		return err;
	}
	m->cpu_out = malloc(m->shape.output_bytes);
	q = malloc((size_t)FC_OUT * FC_IN);
	if (!m->cpu_out || !q) {
		free(q);
		return -ENOMEM;
	}

	fill_random(m->in.data, m->shape.input_bytes);
	for (i = 0; i < (size_t)FC_OUT * FC_IN; i++)
		q[i] = (int8_t)set[rng() % (uint32_t)nset];
	err = nhot_pack(FC_N, FC_B, q, FC_OUT, FC_IN, m->w.data, m->w.length);
	free(q);
	if (err) {
		fprintf(stderr, "vmbench: nhot_pack: %s\n", strerror(-err));
		return err;
	}
	/*
	 * A sum of 576 products of |x| <= 128 and |q| <= 128 has a spread of
	 * some 2^17; 2^-10 puts it across the whole uint8 range, so a wrong
	 * accumulator shows in the bits compared.
	 */
	cp = (struct nhot_chan_params *)m->p.data;
	for (i = 0; i < FC_OUT; i++) {
		err = nhot_quantize_multiplier(1.0 / 1024.0 * (1.0 + (double)(i % 7) / 8.0),
					       &cp[i].mult, &cp[i].shift);
		if (err)
			return err;
		cp[i].bias = (int32_t)(rng() % 20001) - 10000;
	}
	return 0;
}

static void mid_release(const struct engine *e, struct mid_layer *m)
{
	bo_destroy(e, &m->in);
	bo_destroy(e, &m->w);
	bo_destroy(e, &m->p);
	bo_destroy(e, &m->out);
	free(m->cpu_out);
}

static void mid_job(const struct mid_layer *m, struct nhot_job *j)
{
	memset(j, 0, sizeof(*j));
	j->layer = m->layer;
	j->input.handle = m->in.handle;
	j->weights.handle = m->w.handle;
	j->params.handle = m->p.handle;
	j->output.handle = m->out.handle;
}

static int mid_cpu_run(const struct mid_layer *m)
{
	struct nhot_tensors t = {
		.input = m->in.data, .input_len = m->shape.input_bytes,
		.weights = m->w.data, .weights_len = m->shape.weight_bytes,
		.params = (const struct nhot_chan_params *)m->p.data,
		.params_len = m->shape.params_bytes,
		.output = m->cpu_out, .output_len = m->shape.output_bytes,
	};

	return nhot_cpu_run(&m->layer, &t, NULL);
}

/* Device and fallback GOPS of the FC layer, medians of runs; checked bit for bit first. */
static int mid_bench(const struct engine *e, int runs, double *dev_gops, double *cpu_gops,
		     uint64_t *macs)
{
	struct mid_layer m = { 0 };
	struct nhot_job job;
	double v[runs];
	int r, err;

	err = mid_prepare(e, &m);
	if (err)
		goto out;
	mid_job(&m, &job);
	*macs = m.shape.macs;

	memset(m.out.data, 0, m.shape.output_bytes);
	err = run_jobs(e, &job, 1);
	if (err)
		goto out;
	err = mid_cpu_run(&m);
	if (err) {
		fprintf(stderr, "vmbench: nhot_cpu_run(FC): %s\n", strerror(-err));
		goto out;
	}
	if (memcmp(m.out.data, m.cpu_out, m.shape.output_bytes)) {
		fprintf(stderr, "vmbench: FC %ux%ux%u: device output differs from nhot_cpu_run()\n",
			FC_ROWS, FC_IN, FC_OUT);
		err = -EIO;
		goto out;
	}

	for (r = 0; r < runs; r++) {
		uint64_t t0 = now_ns();

		err = run_jobs(e, &job, 1);
		if (err)
			goto out;
		v[r] = 2.0 * (double)m.shape.macs / (double)(now_ns() - t0);
	}
	*dev_gops = median(v, (size_t)runs);
	for (r = 0; r < runs; r++) {
		uint64_t t0 = now_ns();

		err = mid_cpu_run(&m);
		if (err)
			goto out;
		v[r] = 2.0 * (double)m.shape.macs / (double)(now_ns() - t0);
	}
	*cpu_gops = median(v, (size_t)runs);
out:
	mid_release(e, &m);
	return err;
}

/* ---- main --------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f, "usage: vmbench [--engine sim|pci] [--dev /dev/nhotN] [--runs R] [--samples S]\n");
}

static int parse_count(const char *s, int min, int max, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -EINVAL;
	*out = (int)v;
	return 0;
}

struct figure {
	const char *metric;
	const char *label;
	double value;
};

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "engine", required_argument, NULL, 'e' },
		{ "dev", required_argument, NULL, 'd' },
		{ "runs", required_argument, NULL, 'r' },
		{ "samples", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	static const unsigned int batches[] = { 1, 16, 256 };
	static struct nhot_job jobs[MAX_BATCH];
	const char *kind = "sim", *dev = NULL;
	int runs = 5, samples = 2000, c, err;
	struct figure fig[16];
	double jps[3], lat_med, lat_p99, dev_gops, cpu_gops;
	struct engine e = { .fd = -1 };
	struct bo tiny = { 0 };
	struct utsname un;
	uint64_t macs = 0;
	unsigned int i, nfig = 0;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'e':
			if (strcmp(optarg, "sim") && strcmp(optarg, "pci")) {
				fprintf(stderr, "vmbench: --engine must be sim or pci, not '%s'\n", optarg);
				return 2;
			}
			kind = optarg;
			break;
		case 'd':
			dev = optarg;
			break;
		case 'r':
			if (parse_count(optarg, 1, 1000, &runs)) {
				fprintf(stderr, "vmbench: --runs must be 1..1000, not '%s'\n", optarg);
				return 2;
			}
			break;
		case 's':
			if (parse_count(optarg, 1, 1000000, &samples)) {
				fprintf(stderr, "vmbench: --samples must be 1..1000000, not '%s'\n", optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "vmbench: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (uname(&un))
		snprintf(un.release, sizeof(un.release), "unknown");

	if (engine_find(dev, kind, &e))
		return 1;
	if (e.info.max_jobs_per_submit < MAX_BATCH) {
		fprintf(stderr, "vmbench: %s takes %u jobs per SUBMIT, fewer than %d\n",
			e.path, e.info.max_jobs_per_submit, MAX_BATCH);
		err = -EINVAL;
		goto out;
	}
	err = bo_create(&e, 3 * TINY_BYTES, &tiny);
	if (err) {
		fprintf(stderr, "vmbench: buffer of the tiny job: %s\n", strerror(-err));
		goto out;
	}
	for (i = 0; i < MAX_BATCH; i++)
		tiny_job(&tiny, &jobs[i]);
	err = tiny_check(&e, &tiny, &jobs[0]);
	if (err)
		goto out;

	for (i = 0; i < 3; i++) {
		err = tiny_throughput(&e, jobs, batches[i], runs, &jps[i]);
		if (err)
			goto out;
	}
	err = tiny_latency(&e, &jobs[0], samples, &lat_med, &lat_p99);
	if (err)
		goto out;
	err = mid_bench(&e, runs, &dev_gops, &cpu_gops, &macs);
	if (err)
		goto out;

	fig[nfig++] = (struct figure){ "jobs_per_s_batch1", "ADD 64 B, 1 job per SUBMIT (jobs/s)", jps[0] };
	fig[nfig++] = (struct figure){ "jobs_per_s_batch16", "ADD 64 B, 16 jobs per SUBMIT (jobs/s)", jps[1] };
	fig[nfig++] = (struct figure){ "jobs_per_s_batch256", "ADD 64 B, 256 jobs per SUBMIT (jobs/s)", jps[2] };
	fig[nfig++] = (struct figure){ "latency_us_median", "ADD 64 B submit-to-done, median (us)", lat_med };
	fig[nfig++] = (struct figure){ "latency_us_p99", "ADD 64 B submit-to-done, p99 (us)", lat_p99 };
	fig[nfig++] = (struct figure){ "engine_gops", "FC 196x576x96 S(2,8), engine (GOPS)", dev_gops };
	fig[nfig++] = (struct figure){ "fallback_gops", "FC 196x576x96 S(2,8), nhot_cpu_run (GOPS)", cpu_gops };
	fig[nfig++] = (struct figure){ "engine_vs_fallback_ratio", "engine / fallback", dev_gops / cpu_gops };

	printf("vmbench: kernel %s, engine %s (%s), %ld CPUs, fallback ISA %s\n",
	       un.release, kind, e.path, sysconf(_SC_NPROCESSORS_ONLN), nhot_cpu_isa());
	printf("medians of %d runs (%d jobs per throughput run, %d latency samples);"
	       " FC: %llu MACs, output equal to nhot_cpu_run bit for bit\n",
	       runs, THROUGHPUT_JOBS, samples, (unsigned long long)macs);
	printf("%-44s %14s\n", "figure", "value");
	for (i = 0; i < nfig; i++)
		printf("%-44s %14.3f\n", fig[i].label, fig[i].value);
	for (i = 0; i < nfig; i++)
		printf("VMBENCH kernel=%s engine=%s metric=%s value=%.6g\n",
		       un.release, kind, fig[i].metric, fig[i].value);
out:
	bo_destroy(&e, &tiny);
	close(e.fd);
	return err ? 1 : 0;
}
