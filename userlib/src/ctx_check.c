// SPDX-License-Identifier: MIT
/*
 * Job validation for engines that have no kernel to do it: the CPU backend
 * checks a job exactly as the driver does (docs/uapi.md), so a program gets
 * the same errno whichever engine it runs on.
 */
#include <errno.h>

#include "ctx.h"

/* Bytes each of the five references must provide; 0 where the layer takes no buffer. */
static void nhot_ctx_needed_bytes(const struct nhot_layer *layer,
				  const struct nhot_layer_shape *shape, uint64_t bytes[5])
{
	int weighted = layer->type == NHOT_LAYER_CONV2D || layer->type == NHOT_LAYER_FC;

	bytes[0] = shape->input_bytes;
	bytes[1] = layer->type == NHOT_LAYER_ADD ? shape->input2_bytes : 0;
	bytes[2] = weighted ? shape->weight_bytes : 0;
	bytes[3] = weighted ? shape->params_bytes : 0;
	bytes[4] = shape->output_bytes;
}

int nhot_ctx_check_job(const struct nhot_job_desc *job, struct nhot_layer_shape *shape)
{
	uint64_t bytes[5];
	int ret;

	ret = nhot_layer_check(&job->layer, shape);
	if (ret)
		return ret;
	nhot_ctx_needed_bytes(&job->layer, shape, bytes);
	for (int i = 0; i < 5; i++) {
		const struct nhot_ref *ref = nhot_ctx_job_ref(job, i);

		if (!bytes[i]) {
			if (ref->buf)
				return -EINVAL;
			continue;
		}
		if (!ref->buf)
			return -ENOENT;
		/* offset + bytes > length, without overflowing u64. */
		if (ref->offset > ref->buf->length ||
		    bytes[i] > ref->buf->length - ref->offset)
			return -ERANGE;
	}
	return 0;
}
