// SPDX-License-Identifier: MIT
/*
 * nhot-run: runs a quantized model (.nhq) over the Fashion-MNIST test set on
 * an nhot device or the CPU fallback and reports accuracy, speed, operation
 * counts against uniform 8-bit, weight size and (--verify) bit-exactness.
 * See nhot-run.1. Exit: 0 done, 1 failed (or --verify found a difference),
 * 2 usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nhot_private.h"
#include "nhot_run.h"

#define DEFAULT_DATA	"/usr/share/datasets/fashion-mnist"
#define DEFAULT_BATCH	100

static const char usage_text[] =
	"usage: nhot-run -m MODEL.nhq [--data DIR] [--limit N] [--batch N]\n"
	"                [--device PATH|cpu] [--verify] [--json] [--quiet]\n";

static void usage_error(const char *msg, const char *arg)
{
	fprintf(stderr, "nhot-run: %s%s%s (try --help)\n", msg, arg ? ": " : "",
		arg ? arg : "");
	exit(2);
}

static unsigned int parse_count(const char *s, const char *what, unsigned int max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < 1 || v > max) {
		char msg[96];

		snprintf(msg, sizeof(msg), "%s wants a number in 1..%u", what, max);
		usage_error(msg, s);
	}
	return (unsigned int)v;
}

static void parse_args(int argc, char **argv, struct run_opts *o)
{
	static const struct option longopts[] = {
		{ "model", required_argument, NULL, 'm' },
		{ "data", required_argument, NULL, 'd' },
		{ "limit", required_argument, NULL, 'l' },
		{ "batch", required_argument, NULL, 'B' },
		{ "device", required_argument, NULL, 'D' },
		{ "verify", no_argument, NULL, 'V' },
		{ "json", no_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->data = DEFAULT_DATA;
	o->batch = DEFAULT_BATCH;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":m:d:l:qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'm': o->model = optarg; break;
		case 'd': o->data = optarg; break;
		case 'l': o->limit = parse_count(optarg, "--limit", INT_MAX); break;
		case 'B': o->batch = parse_count(optarg, "--batch", 1024); break;
		case 'D': o->device = optarg; break;
		case 'V': o->verify = 1; break;
		case 'j': o->json = 1; break;
		case 'q': o->quiet = 1; break;
		case 'h': fputs(usage_text, stdout); exit(0);
		case ':': usage_error("missing argument to", argv[optind - 1]); break;
		default: usage_error("unknown option", argv[optind - 1]); break;
		}
	}
	if (optind < argc)
		usage_error("unexpected argument", argv[optind]);
	if (!o->model)
		usage_error("no model given (-m MODEL.nhq)", NULL);
}

/* DIR/NAME.gz, else DIR/NAME (nhot_idx_load() reads both). */
static int load_idx(const char *dir, const char *name, struct nhot_idx *idx)
{
	char path[4096], err[NHOT_PRIVATE_ERR_LEN];
	int rc;

	snprintf(path, sizeof(path), "%s/%s.gz", dir, name);
	rc = nhot_idx_load(path, idx, err, sizeof(err));
	if (rc == -ENOENT) {
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		rc = nhot_idx_load(path, idx, err, sizeof(err));
	}
	if (rc)
		fprintf(stderr, "nhot-run: %s\n", err);
	return rc;
}

int main(int argc, char **argv)
{
	struct nhot_idx images = { 0 }, labels = { 0 };
	char err[NHOT_PRIVATE_ERR_LEN];
	struct nhot_qnet *net = NULL;
	struct run_result res;
	struct run_opts o;
	unsigned int count;
	int rc, status = 1;

	parse_args(argc, argv, &o);
	rc = nhot_qnet_load(o.model, &net, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "nhot-run: %s\n", err);
		return 1;
	}
	if (load_idx(o.data, "t10k-images-idx3-ubyte", &images) ||
	    load_idx(o.data, "t10k-labels-idx1-ubyte", &labels))
		goto out;
	if (images.count != labels.count || images.rows != net->in_h ||
	    images.cols != net->in_w || net->in_c != 1) {
		fprintf(stderr, "nhot-run: %u images of %ux%u and %u labels do not fit a "
			"model taking %ux%ux%u\n", images.count, images.rows, images.cols,
			labels.count, net->in_h, net->in_w, net->in_c);
		goto out;
	}
	count = o.limit && o.limit < images.count ? o.limit : images.count;
	rc = run_evaluate(&o, net, images.data, labels.data, count, &res);
	if (rc) {
		explain_failure(&o, &res, rc);
		goto out;
	}
	if (o.json)
		report_json(&o, &res);
	else
		report_text(&o, &res);
	status = res.mismatched_bytes ? 1 : 0;
out:
	nhot_idx_free(&images);
	nhot_idx_free(&labels);
	nhot_qnet_free(net);
	return status;
}
