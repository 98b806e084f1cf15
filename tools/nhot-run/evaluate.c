// SPDX-License-Identifier: MIT
/*
 * The evaluation loop of nhot-run: batches of test images through a runner
 * on the chosen context, timing only the runner, and (--verify) every node's
 * output compared with nhot_ref_run()'s, byte for byte.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nhot_private.h"
#include "nhot_run.h"

#define BAR_WIDTH	30

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A bar redrawn in place on a terminal; a line per tenth in a log. */
static void progress(const struct run_opts *o, unsigned int done, unsigned int total,
		     int *last_tenth)
{
	int fill = (int)((uint64_t)done * BAR_WIDTH / total), tenth, i;

	if (o->quiet)
		return;
	if (isatty(STDERR_FILENO)) {
		fputs("\r[", stderr);
		for (i = 0; i < BAR_WIDTH; i++)
			fputc(i < fill ? '#' : '.', stderr);
		fprintf(stderr, "] %u/%u", done, total);
		if (done == total)
			fputc('\n', stderr);
		return;
	}
	tenth = (int)((uint64_t)done * 10 / total);
	if (tenth != *last_tenth) {
		fprintf(stderr, "nhot-run: %u/%u images\n", done, total);
		*last_tenth = tenth;
	}
}

/* Compares every node's output of the batch with the reference run. */
static int verify_batch(const struct nhot_qnet *net, const struct nhot_qnet_runner *r,
			const uint8_t *images, unsigned int count, struct run_result *res)
{
	uint8_t **ref = NULL;
	const uint8_t *out;
	size_t len, j;
	uint32_t i;
	int rc;

	rc = nhot_qnet_ref_run(net, images, count, &ref);
	if (rc)
		return rc;
	for (i = 0; i < net->node_count; i++) {
		out = nhot_qnet_runner_output(r, i, &len);
		if (!out) {
			rc = -EIO;
			break;
		}
		for (j = 0; j < len; j++) {
			if (out[j] == ref[i][j])
				continue;
			if (!res->mismatched_bytes)
				res->first_bad_node = i;
			res->mismatched_bytes++;
		}
	}
	nhot_qnet_outputs_free(net, ref);
	return rc;
}

static void first_nb(const struct nhot_qnet *net, struct run_result *res)
{
	uint32_t i;

	for (i = 0; i < net->node_count; i++) {
		if (net->nodes[i].weight_bytes) {
			res->n = (int)net->nodes[i].layer.w_n;
			res->b = (int)net->nodes[i].layer.w_b;
			return;
		}
	}
}

/* Which job of which batch failed, for explain_failure(). */
static void note_failure(const struct nhot_qnet_runner *r, unsigned int at, unsigned int n,
			 struct run_result *res)
{
	uint32_t node, status;

	res->failed_first = at;
	res->failed_count = n;
	if (nhot_qnet_runner_failed_job(r, &node, &status))
		return;
	res->failed_node = (int)node;
	res->failed_status = status;
}

static int run_batches(const struct run_opts *o, const struct nhot_qnet *net,
		       struct nhot_qnet_runner *r, const uint8_t *images,
		       const uint8_t *labels, unsigned int count, struct run_result *res)
{
	size_t in_bytes = nhot_qnet_input_bytes(net);
	int classes[NHOT_MAX_BATCH > 1024 ? 1024 : NHOT_MAX_BATCH];
	unsigned int at, n, i;
	int last_tenth = -1, rc;
	double t0;

	for (at = 0; at < count; at += n) {
		n = count - at < o->batch ? count - at : o->batch;
		t0 = now_s();
		rc = nhot_qnet_runner_run(r, images + at * in_bytes, n, NULL, classes,
					  &res->stats);
		res->seconds += now_s() - t0;
		if (rc) {
			note_failure(r, at, n, res);
			return rc;
		}
		for (i = 0; i < n; i++)
			res->correct += classes[i] == labels[at + i];
		res->images += n;
		if (o->verify) {
			rc = verify_batch(net, r, images + at * in_bytes, n, res);
			if (rc)
				return rc;
		}
		progress(o, at + n, count, &last_tenth);
	}
	return 0;
}

int run_evaluate(const struct run_opts *o, const struct nhot_qnet *net,
		 const uint8_t *images, const uint8_t *labels, unsigned int count,
		 struct run_result *res)
{
	struct nhot_qnet_runner *r = NULL;
	struct nhot_ctx *ctx = NULL;
	unsigned int batch;
	int rc;

	memset(res, 0, sizeof(*res));
	res->failed_node = -1;
	res->verified = o->verify;
	nhot_qnet_cost(net, &res->cost);
	first_nb(net, res);
	if (!count || o->batch > 1024)
		return -EINVAL;
	rc = nhot_open(o->device, &ctx);
	if (rc) {
		res->open_failed = 1;
		return rc;
	}
	snprintf(res->device, sizeof(res->device), "%s", nhot_ctx_device(ctx));
	batch = count < o->batch ? count : o->batch;
	rc = nhot_qnet_runner_create(ctx, net, batch, &r);
	if (!rc)
		rc = run_batches(o, net, r, images, labels, count, res);
	nhot_qnet_runner_free(r);
	nhot_close(ctx);
	return rc;
}
