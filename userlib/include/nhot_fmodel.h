/* SPDX-License-Identifier: MIT */
/*
 * libnhot float models: a small CNN in float, as trained by nhot-train and
 * read by the quantizer (nhot-quant) to make an n-hot model.
 *
 * A network is a list of nodes in topological order. Node 0 is the input
 * (one image is in_h x in_w x in_c, NHWC, float); every other node is one
 * layer of docs/arith.md section 2 computed in float, reading the outputs of
 * earlier nodes. The last node is the network's output (the logits, for a
 * classifier). There is no batch normalisation: nhot-train trains without it.
 * The file format is docs/float-model-format.md.
 *
 * Every function that can fail returns 0 (or an index) on success and a
 * negative errno on failure; none aborts on bad input.
 */
#ifndef NHOT_FMODEL_H
#define NHOT_FMODEL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The operation of a node. The layer values equal enum nhot_layer_type of
 * <linux/nhot.h>, so a node maps onto one engine layer.
 */
enum nhot_fop {
	NHOT_FOP_INPUT = 0,		/* node 0 only */
	NHOT_FOP_CONV2D = 1,		/* grouped and depthwise included */
	NHOT_FOP_FC = 2,		/* over the flattened NHWC input */
	NHOT_FOP_ADD = 3,		/* in[0] + in[1], same shapes */
	NHOT_FOP_AVGPOOL = 4,		/* padding positions not counted */
	NHOT_FOP_GLOBAL_AVGPOOL = 5,	/* H x W -> 1 x 1 */
	NHOT_FOP_MAXPOOL = 6,		/* padding positions ignored */
};
#define NHOT_FOP_MAX	NHOT_FOP_MAXPOOL

/* The activation fused onto a node's output. */
enum nhot_fact {
	NHOT_FACT_NONE = 0,
	NHOT_FACT_RELU = 1,		/* max(x, 0) */
	NHOT_FACT_RELU6 = 2,		/* min(max(x, 0), 6) */
};
#define NHOT_FACT_MAX	NHOT_FACT_RELU6

/* Most nodes one network has (the loader rejects more: -EINVAL). */
#define NHOT_FNET_MAX_NODES	1024

/**
 * struct nhot_fnode - one node: the layer, its geometry, its parameters
 *
 * Geometry fields follow struct nhot_layer (docs/arith.md 2.2, 2.5) and are 0
 * where the op does not use them: CONV2D uses all of them (dilation >= 1,
 * groups >= 1); AVGPOOL and MAXPOOL use kernel, stride and pad;
 * INPUT, FC, ADD and GLOBAL_AVGPOOL use none.
 *
 * Weights: CONV2D and FC have out_c rows of k floats each, row o at
 * weights[o * k], in the order of docs/arith.md (CONV2D: OHWI, (ky, kx, ci)
 * with ci fastest, k = kernel_h * kernel_w * (in_c / groups); FC: the input's
 * NHWC order, k = H * W * C of the input). bias has out_c floats. Other ops:
 * k = 0, weights = bias = NULL.
 */
struct nhot_fnode {
	uint32_t op;		/* enum nhot_fop */
	uint32_t act;		/* enum nhot_fact; NONE for INPUT */
	int32_t in[2];		/* input nodes, < this node's index; in[1]: ADD only; unused: -1 */
	uint32_t out_h;		/* output shape of one image */
	uint32_t out_w;
	uint32_t out_c;
	uint32_t kernel_h;
	uint32_t kernel_w;
	uint32_t stride_h;
	uint32_t stride_w;
	uint32_t dilation_h;
	uint32_t dilation_w;
	uint32_t pad_top;
	uint32_t pad_bottom;
	uint32_t pad_left;
	uint32_t pad_right;
	uint32_t groups;
	uint32_t k;		/* weights per output channel (row); 0 if none */
	float *weights;		/* out_c * k floats, or NULL */
	float *bias;		/* out_c floats, or NULL */
};

/** struct nhot_fnet - a float network; nodes[0] is the input. */
struct nhot_fnet {
	uint32_t node_count;
	uint32_t node_cap;	/* allocated length of nodes[] (internal) */
	struct nhot_fnode *nodes;
};

/* Output elements of one image at node i: out_h * out_w * out_c. */
size_t nhot_fnode_elems(const struct nhot_fnode *node);

/* ---- building ------------------------------------------------------------ */

/* A network holding only its input node (in_h x in_w x in_c). -EINVAL, -ENOMEM. */
int nhot_fnet_create(uint32_t in_h, uint32_t in_w, uint32_t in_c, struct nhot_fnet **net);

/*
 * Appends a node described by spec: op, act, in[], out_c (CONV2D and FC
 * only) and the geometry fields the op uses. Output shape and k are derived
 * (spec's are ignored); weights and bias are allocated and zeroed (spec's
 * pointers are ignored). Returns the new node's index, -EINVAL for an
 * inconsistent spec (unknown op, bad input index, shape mismatch, a field the
 * op does not use being non-zero, a limit of docs/arith.md exceeded), -ENOMEM.
 */
int nhot_fnet_add(struct nhot_fnet *net, const struct nhot_fnode *spec);

/*
 * Checks a whole network: the structure, every shape, every count, finite
 * parameters. 0 or -EINVAL. Load and save call it.
 */
int nhot_fnet_validate(const struct nhot_fnet *net);

/* Frees the network and its parameters; NULL is allowed. */
void nhot_fnet_free(struct nhot_fnet *net);

/* ---- the file format (docs/float-model-format.md) ------------------------- */

/*
 * Loads a model file. -ENOENT etc. from open/read, -EINVAL for something
 * that is not a regular file (a FIFO is refused at once, not waited on), -EFBIG above 1 GiB (refused unread), -EBADMSG
 * for a file that is truncated, too long or fails its checksum, -EINVAL for a
 * bad magic, an unknown version or inconsistent content, -ENOMEM.
 */
int nhot_fnet_load(const char *path, struct nhot_fnet **net);

/*
 * Writes the model: a regular file (or a link to one) or a new file is
 * replaced in one rename through a temporary file (docs/model-format.md,
 * section 2). -EINVAL for an invalid net or a path that is a device, a FIFO
 * or a directory (left untouched); -ENOSPC and the other -errno of the I/O,
 * with the old file intact.
 */
int nhot_fnet_save(const struct nhot_fnet *net, const char *path);

/* The same from and to memory: *data is malloc()ed, the caller frees it. */
int nhot_fnet_parse(const void *data, size_t len, struct nhot_fnet **net);
int nhot_fnet_serialize(const struct nhot_fnet *net, void **data, size_t *len);

/* CRC-32 (IEEE 802.3, as zlib's crc32()) of len bytes, continuing from crc (start at 0). */
uint32_t nhot_crc32(uint32_t crc, const void *data, size_t len);

/* ---- running ------------------------------------------------------------- */

/* Largest batch nhot_fnet_forward() takes. */
#define NHOT_FNET_MAX_BATCH	65535

/*
 * Runs batch images (input: batch * nhot_fnode_elems(&nodes[0]) floats,
 * NHWC) through the network. node_outputs is an array of node_count
 * pointers that this function fills with newly allocated buffers: node i's
 * output, batch * nhot_fnode_elems(&nodes[i]) floats, NHWC (node 0: a copy of
 * the input). Release them with nhot_fnet_outputs_free(). On failure every
 * pointer is NULL. -EINVAL (bad batch, NULL, invalid net), -ENOMEM.
 */
int nhot_fnet_forward(const struct nhot_fnet *net, const float *input, int batch,
		      float **node_outputs);

/* Frees what nhot_fnet_forward() allocated and sets the pointers to NULL. */
void nhot_fnet_outputs_free(const struct nhot_fnet *net, float **node_outputs);

/*
 * Classifies batch images: labels[i] = argmax of the last node's output for
 * image i (the first maximum on ties). logits may be NULL, else it gets
 * batch * nhot_fnode_elems(last node) floats. -EINVAL, -ENOMEM.
 */
int nhot_fnet_classify(const struct nhot_fnet *net, const float *input, int batch,
		       int *labels, float *logits);

#ifdef __cplusplus
}
#endif

#endif /* NHOT_FMODEL_H */
