/* SPDX-License-Identifier: MIT */
/*
 * classify: the smallest complete libnhot application.
 *
 * Opens the accelerator (/dev/nhot0 when nhot.ko is loaded, else the CPU
 * fallback; $NHOT_DEVICE overrides), loads an n-hot model (.nhq, made by
 * `nhot-quant quantize`), classifies one Fashion-MNIST test image and prints
 * its class.
 *
 *   classify MODEL.nhq [INDEX [IMAGES]]
 *
 * INDEX defaults to 0, IMAGES to Debian's dataset-fashion-mnist test set.
 * Build it against the installed library: see the Makefile beside it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nhot.h>
#include <nhot_model.h>

#define DEFAULT_IMAGES "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"

static const char *const fashion_names[10] = {
	"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
	"Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
};

static int usage(const char *msg)
{
	fprintf(stderr, "classify: %s (usage: classify MODEL.nhq [INDEX [IMAGES]])\n", msg);
	return 2;
}

/* Parses a decimal image index; -1 if arg is not one. */
static long parse_index(const char *arg)
{
	char *end;
	unsigned long v;

	if (arg[0] < '0' || arg[0] > '9')
		return -1;
	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno || *end || v > 0x7fffffffUL)
		return -1;
	return (long)v;
}

/* Runs one image through the network on ctx; the class in *cls. */
static int classify(struct nhot_ctx *ctx, const struct nhot_qnet *net,
		    const uint8_t *image, int *cls)
{
	struct nhot_qnet_runner *runner;
	int rc;

	rc = nhot_qnet_runner_create(ctx, net, 1, &runner);
	if (rc)
		return rc;
	rc = nhot_qnet_runner_run(runner, image, 1, NULL, cls, NULL);
	nhot_qnet_runner_free(runner);
	return rc;
}

int main(int argc, char **argv)
{
	const char *images_path = DEFAULT_IMAGES;
	struct nhot_idx images = { 0 };
	struct nhot_qnet *net = NULL;
	struct nhot_ctx *ctx = NULL;
	char err[NHOT_QNET_ERR_LEN] = "";
	size_t image_bytes;
	long index = 0;
	int cls, rc, status = 1;

	if (argc < 2 || argc > 4)
		return usage("wrong number of arguments");
	if (argc >= 3) {
		index = parse_index(argv[2]);
		if (index < 0)
			return usage("INDEX must be a non-negative integer");
	}
	if (argc == 4)
		images_path = argv[3];

	rc = nhot_qnet_load(argv[1], &net, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "classify: %s: %s%s%s\n", argv[1], strerror(-rc),
			err[0] ? ": " : "", err);
		return 1;
	}
	rc = nhot_idx_load(images_path, &images, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "classify: %s: %s%s%s\n", images_path, strerror(-rc),
			err[0] ? ": " : "", err);
		goto out_net;
	}
	image_bytes = (size_t)images.rows * images.cols;
	if (images.rows == 0 || image_bytes != nhot_qnet_input_bytes(net)) {
		fprintf(stderr, "classify: %s holds %ux%u images, the model wants %zu bytes\n",
			images_path, images.rows, images.cols, nhot_qnet_input_bytes(net));
		goto out_images;
	}
	if ((unsigned long)index >= images.count) {
		fprintf(stderr, "classify: INDEX %ld is beyond the %u images of %s\n",
			index, images.count, images_path);
		status = 2;
		goto out_images;
	}

	/* NULL: $NHOT_DEVICE, else /dev/nhot0 if present, else the CPU. */
	rc = nhot_open(NULL, &ctx);
	if (rc) {
		fprintf(stderr, "classify: cannot open the accelerator: %s\n", strerror(-rc));
		goto out_images;
	}
	rc = classify(ctx, net, images.data + (size_t)index * image_bytes, &cls);
	if (rc) {
		fprintf(stderr, "classify: inference on %s failed: %s\n",
			nhot_ctx_device(ctx), strerror(-rc));
		goto out_ctx;
	}

	if (nhot_qnet_classes(net) == 10)
		printf("image %ld: class %d (%s) on %s\n", index, cls,
		       fashion_names[cls], nhot_ctx_device(ctx));
	else
		printf("image %ld: class %d on %s\n", index, cls, nhot_ctx_device(ctx));
	status = 0;
out_ctx:
	nhot_close(ctx);
out_images:
	nhot_idx_free(&images);
out_net:
	nhot_qnet_free(net);
	return status;
}
