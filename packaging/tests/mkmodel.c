/* SPDX-License-Identifier: MIT */
/*
 * mkmodel: the packaging test's model maker and oracle, built (like any user
 * program) against the installed libnhot through pkg-config.
 *
 *   mkmodel float OUT.nhf IMAGES LABELS
 *	a float nearest-centroid classifier as one FC layer: class c's row is
 *	the mean image m_c of that class, its bias -|m_c|^2 / 2, so the
 *	largest logit is the nearest class mean. Small (one layer), yet a
 *	real model that nhot-quant can quantize and that beats chance.
 *   mkmodel expect MODEL.nhq IMAGES INDEX
 *	prints the class of image INDEX by the reference arithmetic alone
 *	(nhot_qnet_ref_run(), no context): what classify must print.
 *
 * Exit 0 on success, 1 on failure, 2 on usage errors.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nhot.h>
#include <nhot_fmodel.h>
#include <nhot_model.h>

#define CLASSES 10

static int fail(const char *what, int rc, const char *err)
{
	fprintf(stderr, "mkmodel: %s: %s%s%s\n", what, strerror(-rc),
		err && err[0] ? ": " : "", err ? err : "");
	return 1;
}

/* Sets the FC node's rows and biases to the class means of the images. */
static int fill_centroids(struct nhot_fnode *fc, const struct nhot_idx *img,
			  const struct nhot_idx *lab)
{
	size_t px = (size_t)img->rows * img->cols;
	unsigned int count[CLASSES] = { 0 };
	uint32_t i, c;
	size_t j;

	for (i = 0; i < img->count; i++) {
		c = lab->data[i];
		if (c >= CLASSES)
			return -EINVAL;
		count[c]++;
		for (j = 0; j < px; j++)
			fc->weights[c * px + j] += img->data[i * px + j] / 255.0f;
	}
	for (c = 0; c < CLASSES; c++) {
		double norm = 0;

		for (j = 0; j < px && count[c]; j++) {
			fc->weights[c * px + j] /= (float)count[c];
			norm += (double)fc->weights[c * px + j] * fc->weights[c * px + j];
		}
		fc->bias[c] = (float)(-norm / 2);
	}
	return 0;
}

static int make_float(const char *out, const char *images, const char *labels)
{
	struct nhot_fnode spec = { .op = NHOT_FOP_FC, .act = NHOT_FACT_NONE,
				   .in = { 0, -1 }, .out_c = CLASSES };
	struct nhot_idx img = { 0 }, lab = { 0 };
	struct nhot_fnet *net = NULL;
	char err[NHOT_QNET_ERR_LEN] = "";
	int rc, idx;

	rc = nhot_idx_load(images, &img, err, sizeof(err));
	if (rc)
		return fail(images, rc, err);
	rc = nhot_idx_load(labels, &lab, err, sizeof(err));
	if (rc) {
		nhot_idx_free(&img);
		return fail(labels, rc, err);
	}
	rc = -EINVAL;
	if (img.count != lab.count || img.rows == 0)
		goto out;
	rc = nhot_fnet_create(img.rows, img.cols, 1, &net);
	if (rc)
		goto out;
	idx = nhot_fnet_add(net, &spec);
	rc = idx < 0 ? idx : fill_centroids(&net->nodes[idx], &img, &lab);
	if (!rc)
		rc = nhot_fnet_save(net, out);
out:
	nhot_fnet_free(net);
	nhot_idx_free(&img);
	nhot_idx_free(&lab);
	return rc ? fail(out, rc, NULL) : 0;
}

static int expect(const char *model, const char *images, const char *index)
{
	struct nhot_idx img = { 0 };
	struct nhot_qnet *net = NULL;
	char err[NHOT_QNET_ERR_LEN] = "";
	uint8_t **outputs = NULL;
	unsigned long i = strtoul(index, NULL, 10);
	const struct nhot_qnode *last;
	size_t px;
	int rc;

	rc = nhot_qnet_load(model, &net, err, sizeof(err));
	if (rc)
		return fail(model, rc, err);
	rc = nhot_idx_load(images, &img, err, sizeof(err));
	if (rc) {
		nhot_qnet_free(net);
		return fail(images, rc, err);
	}
	px = nhot_qnet_input_bytes(net);
	rc = -EINVAL;
	if (i < img.count && px == (size_t)img.rows * img.cols)
		rc = nhot_qnet_ref_run(net, img.data + i * px, 1, &outputs);
	if (!rc) {
		last = &net->nodes[net->node_count - 1];
		printf("%d\n", nhot_argmax_u8(outputs[net->node_count - 1],
					      last->shape.output_bytes));
		nhot_qnet_outputs_free(net, outputs);
	}
	nhot_idx_free(&img);
	nhot_qnet_free(net);
	return rc ? fail(model, rc, NULL) : 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "float"))
		return make_float(argv[2], argv[3], argv[4]);
	if (argc == 5 && !strcmp(argv[1], "expect"))
		return expect(argv[2], argv[3], argv[4]);
	fprintf(stderr, "usage: mkmodel float OUT.nhf IMAGES LABELS | expect MODEL.nhq IMAGES INDEX\n");
	return 2;
}
