// SPDX-License-Identifier: MIT
/*
 * Running a quantized network through a context: one job per node, all
 * nodes of a batch in one submission; jobs of one context run in submission
 * order, so node i sees the outputs of the nodes before it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nhot_model.h"
#include "nhot_private.h"

#define ALIGN_BYTES	64
/* A job that has not finished after this long means a stuck engine. */
#define RUN_TIMEOUT_NS	(600LL * 1000 * 1000 * 1000)

struct nhot_qnet_runner {
	struct nhot_ctx *ctx;
	const struct nhot_qnet *net;
	unsigned int max_batch;
	unsigned int last_count;	/* images of the last run */
	struct nhot_buf *consts;	/* weights and params of every node */
	struct nhot_buf *acts;		/* the input and every node's output */
	uint64_t *w_off, *p_off;	/* per node, in consts */
	uint64_t *out_off;		/* per node, in acts; the input is at 0 */
	uint64_t *out_bytes;		/* per node, one image */
	struct nhot_job_desc *jobs;
	uint64_t *ids;
	struct nhot_result *results;
	int failed_node;		/* of the last run, -1: none (nhot_private.h) */
};

static uint64_t align_up(uint64_t v)
{
	return (v + ALIGN_BYTES - 1) & ~(uint64_t)(ALIGN_BYTES - 1);
}

void nhot_qnet_runner_free(struct nhot_qnet_runner *r)
{
	if (!r)
		return;
	if (r->consts)
		nhot_buf_free(r->consts);
	if (r->acts)
		nhot_buf_free(r->acts);
	free(r->w_off);
	free(r->p_off);
	free(r->out_off);
	free(r->out_bytes);
	free(r->jobs);
	free(r->ids);
	free(r->results);
	free(r);
}

static int alloc_tables(struct nhot_qnet_runner *r, uint32_t n)
{
	r->w_off = calloc(n, sizeof(*r->w_off));
	r->p_off = calloc(n, sizeof(*r->p_off));
	r->out_off = calloc(n, sizeof(*r->out_off));
	r->out_bytes = calloc(n, sizeof(*r->out_bytes));
	r->jobs = calloc(n, sizeof(*r->jobs));
	r->ids = calloc(n, sizeof(*r->ids));
	r->results = calloc(n, sizeof(*r->results));
	if (!r->w_off || !r->p_off || !r->out_off || !r->out_bytes || !r->jobs ||
	    !r->ids || !r->results)
		return -ENOMEM;
	return 0;
}

/* Lays out both buffers; returns their sizes. */
static void plan(struct nhot_qnet_runner *r, uint64_t *consts, uint64_t *acts)
{
	const struct nhot_qnet *net = r->net;
	uint64_t c = 0, a;
	uint32_t i;

	a = align_up((uint64_t)nhot_qnet_input_bytes(net) * r->max_batch);
	for (i = 0; i < net->node_count; i++) {
		const struct nhot_qnode *nd = &net->nodes[i];

		r->out_bytes[i] = nd->shape.output_bytes;
		r->out_off[i] = a;
		a = align_up(a + r->out_bytes[i] * r->max_batch);
		if (!nd->weight_bytes)
			continue;
		r->w_off[i] = c;
		c = align_up(c + nd->weight_bytes);
		r->p_off[i] = c;
		c = align_up(c + (uint64_t)nd->layer.out_c * sizeof(struct nhot_chan_params));
	}
	*consts = c;
	*acts = a;
}

static void upload(struct nhot_qnet_runner *r)
{
	uint8_t *base = nhot_buf_data(r->consts);
	uint32_t i;

	for (i = 0; i < r->net->node_count; i++) {
		const struct nhot_qnode *nd = &r->net->nodes[i];

		if (!nd->weight_bytes)
			continue;
		memcpy(base + r->w_off[i], nd->weights, nd->weight_bytes);
		memcpy(base + r->p_off[i], nd->params,
		       (size_t)nd->layer.out_c * sizeof(struct nhot_chan_params));
	}
}

int nhot_qnet_runner_create(struct nhot_ctx *ctx, const struct nhot_qnet *net,
			    unsigned int max_batch, struct nhot_qnet_runner **out)
{
	struct nhot_qnet_runner *r;
	uint64_t consts, acts;
	int rc;

	if (!ctx || !net || !out || !net->node_count)
		return -EINVAL;
	*out = NULL;
	rc = nhot_qnet_check_batch(net, max_batch);
	if (rc)
		return rc;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->ctx = ctx;
	r->net = net;
	r->max_batch = max_batch;
	r->failed_node = -1;
	rc = alloc_tables(r, net->node_count);
	if (rc)
		goto err_free;
	plan(r, &consts, &acts);
	if (consts) {
		rc = nhot_buf_alloc(ctx, (size_t)consts, &r->consts);
		if (rc)
			goto err_free;
		upload(r);
	}
	rc = nhot_buf_alloc(ctx, (size_t)acts, &r->acts);
	if (rc)
		goto err_free;
	*out = r;
	return 0;

err_free:
	nhot_qnet_runner_free(r);
	return rc;
}

static struct nhot_ref act_ref(const struct nhot_qnet_runner *r, uint32_t src)
{
	struct nhot_ref ref = { .buf = r->acts, .offset = 0 };

	if (src != NHOT_QNET_SRC_INPUT)
		ref.offset = r->out_off[src - 1];
	return ref;
}

static void build_jobs(struct nhot_qnet_runner *r, unsigned int count)
{
	const struct nhot_qnet *net = r->net;
	uint32_t i;

	for (i = 0; i < net->node_count; i++) {
		const struct nhot_qnode *nd = &net->nodes[i];
		struct nhot_job_desc *j = &r->jobs[i];

		memset(j, 0, sizeof(*j));
		j->layer = nd->layer;
		j->layer.batch = count;
		j->input = act_ref(r, nd->src[0]);
		if (nd->layer.type == NHOT_LAYER_ADD)
			j->input2 = act_ref(r, nd->src[1]);
		if (nd->weight_bytes) {
			j->weights.buf = r->consts;
			j->weights.offset = r->w_off[i];
			j->params.buf = r->consts;
			j->params.offset = r->p_off[i];
		}
		j->output.buf = r->acts;
		j->output.offset = r->out_off[i];
	}
}

int nhot_qnet_runner_run(struct nhot_qnet_runner *r, const uint8_t *images,
			 unsigned int count, uint8_t *logits, int *classes,
			 struct nhot_qnet_stats *stats)
{
	const struct nhot_qnet *net;
	uint32_t i, last, classes_n;
	const uint8_t *out;
	uint64_t first;
	int rc;

	if (!r || !images || !count || count > r->max_batch)
		return -EINVAL;
	net = r->net;
	r->failed_node = -1;
	memcpy(nhot_buf_data(r->acts), images, nhot_qnet_input_bytes(net) * count);
	build_jobs(r, count);
	r->last_count = 0;
	rc = nhot_submit(r->ctx, r->jobs, net->node_count, &first);
	if (rc)
		return rc;
	for (i = 0; i < net->node_count; i++)
		r->ids[i] = first + i;
	rc = nhot_wait(r->ctx, r->ids, net->node_count, RUN_TIMEOUT_NS, r->results);
	if (rc)
		return rc;
	for (i = 0; i < net->node_count; i++) {
		const struct nhot_result *res = &r->results[i];

		if (res->status != NHOT_JOB_DONE) {
			r->failed_node = (int)i;
			return res->error ? res->error : -EIO;
		}
		if (stats) {
			stats->macs += res->macs;
			stats->shift_adds += res->shift_adds;
			stats->cycles += res->cycles;
			stats->jobs++;
		}
	}
	r->last_count = count;
	last = net->node_count - 1;
	classes_n = nhot_qnet_classes(net);
	out = (const uint8_t *)nhot_buf_data(r->acts) + r->out_off[last];
	if (logits)
		memcpy(logits, out, (size_t)classes_n * count);
	for (i = 0; classes && i < count; i++)
		classes[i] = nhot_argmax_u8(out + (size_t)i * classes_n, classes_n);
	return 0;
}

int nhot_qnet_runner_failed_job(const struct nhot_qnet_runner *r, uint32_t *node,
				uint32_t *status)
{
	if (!r || r->failed_node < 0)
		return -ENOENT;
	*node = (uint32_t)r->failed_node;
	*status = r->results[r->failed_node].status;
	return 0;
}

const uint8_t *nhot_qnet_runner_output(const struct nhot_qnet_runner *r,
				       uint32_t node, size_t *len)
{
	if (!r || node >= r->net->node_count || !r->last_count)
		return NULL;
	if (len)
		*len = r->out_bytes[node] * r->last_count;
	return (const uint8_t *)nhot_buf_data(r->acts) + r->out_off[node];
}
