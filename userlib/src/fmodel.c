// SPDX-License-Identifier: MIT
/*
 * Float networks: building, shape derivation and validation.
 *
 * One function, derive_node(), knows every op's rules (inputs, fields it
 * uses, limits, output shape). nhot_fnet_add() uses it to fill a new node and
 * nhot_fnet_validate() to check a loaded one, so a file can never describe a
 * network that could not have been built.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <linux/nhot.h>

#include "nhot_fmodel.h"

/* What derive_node() computes for a node. */
struct derived {
	uint32_t out_h, out_w, out_c, k;
};

size_t nhot_fnode_elems(const struct nhot_fnode *node)
{
	return (size_t)node->out_h * node->out_w * node->out_c;
}

static int has_weights(uint32_t op)
{
	return op == NHOT_FOP_CONV2D || op == NHOT_FOP_FC;
}

/* Output extent of a window (docs/arith.md 2.2); 0 when it does not fit. */
static uint32_t out_extent(uint32_t in, uint32_t kernel, uint32_t dilation,
			   uint32_t stride, uint32_t pad_a, uint32_t pad_b)
{
	uint64_t ext = (uint64_t)(kernel - 1) * dilation + 1;
	uint64_t span = (uint64_t)in + pad_a + pad_b;

	if (span < ext)
		return 0;
	return (uint32_t)((span - ext) / stride + 1);
}

static int geometry_is_zero(const struct nhot_fnode *s)
{
	return !(s->kernel_h | s->kernel_w | s->stride_h | s->stride_w |
		 s->dilation_h | s->dilation_w | s->pad_top | s->pad_bottom |
		 s->pad_left | s->pad_right | s->groups);
}

/* Kernel, stride, dilation and padding of CONV2D and the pools. */
static int window_ok(const struct nhot_fnode *s, uint32_t dil_h, uint32_t dil_w)
{
	uint32_t ext_h, ext_w;

	if (s->kernel_h < 1 || s->kernel_h > NHOT_MAX_KERNEL ||
	    s->kernel_w < 1 || s->kernel_w > NHOT_MAX_KERNEL ||
	    s->stride_h < 1 || s->stride_h > NHOT_MAX_STRIDE ||
	    s->stride_w < 1 || s->stride_w > NHOT_MAX_STRIDE ||
	    dil_h < 1 || dil_h > NHOT_MAX_DILATION ||
	    dil_w < 1 || dil_w > NHOT_MAX_DILATION)
		return 0;
	ext_h = (s->kernel_h - 1) * dil_h + 1;
	ext_w = (s->kernel_w - 1) * dil_w + 1;
	return s->pad_top < ext_h && s->pad_bottom < ext_h &&
	       s->pad_left < ext_w && s->pad_right < ext_w;
}

static int input_index_ok(int32_t in, uint32_t index)
{
	return in >= 0 && (uint32_t)in < index;
}

/*
 * Derives the output shape and k of spec as node number index of net (whose
 * nodes 0..index-1 are valid). -EINVAL when spec breaks a rule.
 */
static int derive_node(const struct nhot_fnet *net, uint32_t index,
		       const struct nhot_fnode *spec, struct derived *d)
{
	const struct nhot_fnode *a = NULL, *b;
	uint64_t k, elems;
	uint32_t cg;

	memset(d, 0, sizeof(*d));
	if (spec->op > NHOT_FOP_MAX || spec->act > NHOT_FACT_MAX)
		return -EINVAL;
	if ((spec->op == NHOT_FOP_INPUT) != (index == 0))
		return -EINVAL;
	if (spec->op != NHOT_FOP_INPUT) {
		if (!input_index_ok(spec->in[0], index))
			return -EINVAL;
		a = &net->nodes[spec->in[0]];
	}
	if (spec->op == NHOT_FOP_ADD ? !input_index_ok(spec->in[1], index) : spec->in[1] != -1)
		return -EINVAL;

	switch (spec->op) {
	case NHOT_FOP_INPUT:
		if (spec->in[0] != -1 || spec->act != NHOT_FACT_NONE || !geometry_is_zero(spec))
			return -EINVAL;
		if (spec->out_h < 1 || spec->out_h > NHOT_MAX_DIM ||
		    spec->out_w < 1 || spec->out_w > NHOT_MAX_DIM ||
		    spec->out_c < 1 || spec->out_c > NHOT_MAX_CHANNELS)
			return -EINVAL;
		d->out_h = spec->out_h;
		d->out_w = spec->out_w;
		d->out_c = spec->out_c;
		break;
	case NHOT_FOP_CONV2D:
		if (!window_ok(spec, spec->dilation_h, spec->dilation_w) || spec->groups < 1 ||
		    spec->out_c < 1 || spec->out_c > NHOT_MAX_CHANNELS ||
		    a->out_c % spec->groups || spec->out_c % spec->groups)
			return -EINVAL;
		cg = a->out_c / spec->groups;
		k = (uint64_t)spec->kernel_h * spec->kernel_w * cg;
		d->out_h = out_extent(a->out_h, spec->kernel_h, spec->dilation_h,
				      spec->stride_h, spec->pad_top, spec->pad_bottom);
		d->out_w = out_extent(a->out_w, spec->kernel_w, spec->dilation_w,
				      spec->stride_w, spec->pad_left, spec->pad_right);
		d->out_c = spec->out_c;
		if (k > NHOT_MAX_K)
			return -EINVAL;
		d->k = (uint32_t)k;
		break;
	case NHOT_FOP_FC:
		if (!geometry_is_zero(spec) || spec->out_c < 1 || spec->out_c > NHOT_MAX_CHANNELS)
			return -EINVAL;
		k = nhot_fnode_elems(a);
		if (k > NHOT_MAX_K)
			return -EINVAL;
		d->out_h = 1;
		d->out_w = 1;
		d->out_c = spec->out_c;
		d->k = (uint32_t)k;
		break;
	case NHOT_FOP_ADD:
		b = &net->nodes[spec->in[1]];
		if (!geometry_is_zero(spec) || a->out_h != b->out_h ||
		    a->out_w != b->out_w || a->out_c != b->out_c)
			return -EINVAL;
		d->out_h = a->out_h;
		d->out_w = a->out_w;
		d->out_c = a->out_c;
		break;
	case NHOT_FOP_AVGPOOL:
	case NHOT_FOP_MAXPOOL:
		if (spec->dilation_h || spec->dilation_w || spec->groups || !window_ok(spec, 1, 1))
			return -EINVAL;
		d->out_h = out_extent(a->out_h, spec->kernel_h, 1, spec->stride_h,
				      spec->pad_top, spec->pad_bottom);
		d->out_w = out_extent(a->out_w, spec->kernel_w, 1, spec->stride_w,
				      spec->pad_left, spec->pad_right);
		d->out_c = a->out_c;
		break;
	case NHOT_FOP_GLOBAL_AVGPOOL:
		if (!geometry_is_zero(spec) || (uint64_t)a->out_h * a->out_w > 65536)
			return -EINVAL;
		d->out_h = 1;
		d->out_w = 1;
		d->out_c = a->out_c;
		break;
	}
	if (d->out_h < 1 || d->out_w < 1 || d->out_h > NHOT_MAX_DIM || d->out_w > NHOT_MAX_DIM)
		return -EINVAL;
	elems = (uint64_t)d->out_h * d->out_w * d->out_c;
	if (elems > NHOT_MAX_ELEMENTS)
		return -EINVAL;
	return 0;
}

int nhot_fnet_create(uint32_t in_h, uint32_t in_w, uint32_t in_c, struct nhot_fnet **net)
{
	struct nhot_fnode spec = { .op = NHOT_FOP_INPUT, .in = { -1, -1 },
				   .out_h = in_h, .out_w = in_w, .out_c = in_c };
	struct nhot_fnet *n;
	int ret;

	if (!net)
		return -EINVAL;
	*net = NULL;
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	ret = nhot_fnet_add(n, &spec);
	if (ret < 0) {
		nhot_fnet_free(n);
		return ret;
	}
	*net = n;
	return 0;
}

int nhot_fnet_add(struct nhot_fnet *net, const struct nhot_fnode *spec)
{
	struct nhot_fnode node;
	struct derived d;
	size_t count;
	int ret;

	if (!net || !spec || net->node_count >= NHOT_FNET_MAX_NODES)
		return -EINVAL;
	ret = derive_node(net, net->node_count, spec, &d);
	if (ret)
		return ret;
	if (net->node_count == net->node_cap) {
		uint32_t cap = net->node_cap ? 2 * net->node_cap : 16;
		struct nhot_fnode *nodes = realloc(net->nodes, cap * sizeof(*nodes));

		if (!nodes)
			return -ENOMEM;
		net->nodes = nodes;
		net->node_cap = cap;
	}
	node = *spec;
	node.out_h = d.out_h;
	node.out_w = d.out_w;
	node.out_c = d.out_c;
	node.k = d.k;
	node.weights = NULL;
	node.bias = NULL;
	if (has_weights(node.op)) {
		count = (size_t)node.out_c * node.k;
		node.weights = calloc(count, sizeof(float));
		node.bias = calloc(node.out_c, sizeof(float));
		if (!node.weights || !node.bias) {
			free(node.weights);
			free(node.bias);
			return -ENOMEM;
		}
	}
	net->nodes[net->node_count] = node;
	return (int)net->node_count++;
}

static int all_finite(const float *v, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++)
		if (!isfinite(v[i]))
			return 0;
	return 1;
}

int nhot_fnet_validate(const struct nhot_fnet *net)
{
	const struct nhot_fnode *node;
	struct derived d;
	uint32_t i;

	if (!net || !net->nodes || net->node_count < 1 || net->node_count > NHOT_FNET_MAX_NODES)
		return -EINVAL;
	for (i = 0; i < net->node_count; i++) {
		node = &net->nodes[i];
		if (derive_node(net, i, node, &d))
			return -EINVAL;
		if (d.out_h != node->out_h || d.out_w != node->out_w ||
		    d.out_c != node->out_c || d.k != node->k)
			return -EINVAL;
		if (has_weights(node->op)) {
			if (!node->weights || !node->bias ||
			    !all_finite(node->weights, (size_t)node->out_c * node->k) ||
			    !all_finite(node->bias, node->out_c))
				return -EINVAL;
		} else if (node->weights || node->bias) {
			return -EINVAL;
		}
	}
	return 0;
}

void nhot_fnet_free(struct nhot_fnet *net)
{
	uint32_t i;

	if (!net)
		return;
	for (i = 0; i < net->node_count; i++) {
		free(net->nodes[i].weights);
		free(net->nodes[i].bias);
	}
	free(net->nodes);
	free(net);
}
