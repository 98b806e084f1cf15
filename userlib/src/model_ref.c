// SPDX-License-Identifier: MIT
/*
 * The oracle: a quantized network run through nhot_ref_run() alone, with
 * plain heap buffers and no context, so that a device (or the fast CPU
 * path) can be checked against it node by node.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nhot_model.h"
#include "model_err.h"

int nhot_argmax_u8(const uint8_t *v, size_t n)
{
	size_t i, best = 0;

	for (i = 1; i < n; i++)
		if (v[i] > v[best])
			best = i;
	return (int)best;
}

int nhot_qnet_check_batch(const struct nhot_qnet *net, unsigned int max_batch)
{
	struct nhot_layer_shape shape;
	struct nhot_layer l;
	uint32_t i;
	int rc;

	if (!max_batch || max_batch > NHOT_MAX_BATCH)
		return -EOVERFLOW;
	for (i = 0; i < net->node_count; i++) {
		l = net->nodes[i].layer;
		l.batch = max_batch;
		rc = nhot_layer_check(&l, &shape);
		if (rc)
			return rc;
	}
	return 0;
}


void nhot_qnet_outputs_free(const struct nhot_qnet *net, uint8_t **outputs)
{
	uint32_t i;

	if (!outputs)
		return;
	for (i = 0; i < net->node_count; i++)
		free(outputs[i]);
	free(outputs);
}

static const uint8_t *src_data(const uint8_t *images, uint8_t **outputs, uint32_t src)
{
	return src == NHOT_QNET_SRC_INPUT ? images : outputs[src - 1];
}

int nhot_qnet_ref_run(const struct nhot_qnet *net, const uint8_t *images,
		      unsigned int count, uint8_t ***out)
{
	struct nhot_layer_shape shape;
	struct nhot_tensors t;
	struct nhot_layer l;
	uint8_t **outputs;
	uint32_t i;
	int rc;

	if (!net || !images || !out || !count)
		return -EINVAL;
	rc = nhot_qnet_check_batch(net, count);
	if (rc)
		return rc;
	outputs = calloc(net->node_count, sizeof(*outputs));
	if (!outputs)
		return -ENOMEM;
	for (i = 0; i < net->node_count; i++) {
		const struct nhot_qnode *nd = &net->nodes[i];

		l = nd->layer;
		l.batch = count;
		rc = nhot_layer_check(&l, &shape);
		if (rc)
			goto err_free;
		outputs[i] = malloc(shape.output_bytes);
		if (!outputs[i]) {
			rc = -ENOMEM;
			goto err_free;
		}
		memset(&t, 0, sizeof(t));
		t.input = src_data(images, outputs, nd->src[0]);
		t.input_len = shape.input_bytes;
		if (l.type == NHOT_LAYER_ADD) {
			t.input2 = src_data(images, outputs, nd->src[1]);
			t.input2_len = shape.input2_bytes;
		}
		t.weights = nd->weights;
		t.weights_len = nd->weight_bytes;
		t.params = nd->params;
		t.params_len = nd->weight_bytes ?
			       (size_t)l.out_c * sizeof(struct nhot_chan_params) : 0;
		t.output = outputs[i];
		t.output_len = shape.output_bytes;
		rc = nhot_ref_run(&l, &t, NULL);
		if (rc)
			goto err_free;
	}
	*out = outputs;
	return 0;

err_free:
	nhot_qnet_outputs_free(net, outputs);
	return rc;
}
