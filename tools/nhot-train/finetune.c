// SPDX-License-Identifier: MIT
/*
 * nhot-train finetune: the paper's fine-tuning under fake quantization.
 *
 *   nhot-train finetune -m FLOAT.nhf -o OUT.nhf [--stages uniform,nhot|nhot|uniform]
 *                       [-n N] [-b B] [--epochs E1[,E2]] [--data DIR] [--seed S]
 *                       [--batch B] [--lr LR] [--weight-decay WD] [--threads T]
 *                       [--limit N] [--test-limit N] [--no-augment]
 *
 * Stage "uniform" trains against uniform b-bit weights (S(4, b)), stage
 * "nhot" against S(n, b); the two-stage schedule runs them in that order,
 * the second starting from the first's weights. Both stages round the
 * activations onto nhot-quant's uint8 grids. Each stage is the float
 * training loop (train_network()) with the weight fake quantization of
 * fakequant.c as the trainer's weight transform and the activation one of
 * fakequant_act.c: the passes see quantized values, the gradients pass
 * straight through to the float master weights (straight-through
 * estimator). The output is the float model of master weights, which
 * nhot-quant quantize turns into exactly the weights the last stage
 * trained against. See docs/finetune.md.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "nhot_private.h"

#include "cli.h"
#include "fakequant.h"
#include "fakequant_act.h"
#include "finetune.h"
#include "tnet.h"
#include "train.h"

#define WHO		"nhot-train finetune"
#define MAX_STAGES	2
#define EVAL_BATCH	250
#define DEFAULT_DATA	"/usr/share/datasets/fashion-mnist"
/*
 * Training passes between two scale searches: the search is most of the
 * cost of a pass, and at fine-tuning learning rates 16 steps move the
 * weights far less than one quantization step.
 */
#define SCALE_REFRESH	16
/*
 * Steps between two calibrations of the activation ranges: a calibration is
 * a float forward pass over 1000 images, and the ranges drift slowly.
 */
#define RECALIB_STEPS	200

enum stage_kind { STAGE_UNIFORM, STAGE_NHOT };

struct finetune_opts {
	const char *model_path;
	const char *out_path;
	const char *data_dir;
	enum stage_kind stages[MAX_STAGES];
	int stage_count;
	int epochs[MAX_STAGES];
	int epoch_count;
	int n, b;
	long test_limit;		/* evaluate on the first test_limit images; 0: all */
	struct train_opts train;	/* its limit: the training images used */	/* epochs and seed are set per stage */
};

static const char finetune_usage[] =
	"usage: nhot-train finetune -m FLOAT.nhf -o OUT.nhf [--stages uniform,nhot|nhot|uniform]\n"
	"                           [-n N] [-b B] [--epochs E1[,E2]] [--data DIR] [--seed S]\n"
	"                           [--batch B] [--lr LR] [--weight-decay WD] [--threads T]\n"
	"                           [--limit N] [--test-limit N] [--no-augment]\n";

/* "uniform,nhot", "nhot" or "uniform". */
static void parse_stages(const char *s, struct finetune_opts *o)
{
	if (!strcmp(s, "uniform,nhot")) {
		o->stages[0] = STAGE_UNIFORM;
		o->stages[1] = STAGE_NHOT;
		o->stage_count = 2;
	} else if (!strcmp(s, "nhot") || !strcmp(s, "uniform")) {
		o->stages[0] = !strcmp(s, "nhot") ? STAGE_NHOT : STAGE_UNIFORM;
		o->stage_count = 1;
	} else {
		cli_usage_error(WHO, "--stages wants uniform,nhot or nhot or uniform, not '%s'", s);
	}
}

/* "E" or "E1,E2", each 1..1000. */
static void parse_epochs(const char *s, struct finetune_opts *o)
{
	char buf[32], *comma;

	if (strlen(s) >= sizeof(buf))
		cli_usage_error(WHO, "--epochs wants E or E1,E2, not '%s'", s);
	strcpy(buf, s);
	comma = strchr(buf, ',');
	if (comma)
		*comma = '\0';
	o->epochs[0] = (int)cli_int(WHO, "--epochs", buf, 1, 1000);
	o->epoch_count = 1;
	if (comma) {
		o->epochs[1] = (int)cli_int(WHO, "--epochs", comma + 1, 1, 1000);
		o->epoch_count = 2;
	}
}

enum { OPT_LR = 256, OPT_WD, OPT_THREADS, OPT_LIMIT, OPT_TEST_LIMIT, OPT_NO_AUGMENT, OPT_STAGES };

static void parse_args(int argc, char **argv, struct finetune_opts *o)
{
	static const struct option longopts[] = {
		{ "model", required_argument, NULL, 'm' },
		{ "output", required_argument, NULL, 'o' },
		{ "data", required_argument, NULL, 'd' },
		{ "stages", required_argument, NULL, OPT_STAGES },
		{ "epochs", required_argument, NULL, 'e' },
		{ "seed", required_argument, NULL, 's' },
		{ "batch", required_argument, NULL, 'B' },
		{ "lr", required_argument, NULL, OPT_LR },
		{ "weight-decay", required_argument, NULL, OPT_WD },
		{ "threads", required_argument, NULL, OPT_THREADS },
		{ "limit", required_argument, NULL, OPT_LIMIT },
		{ "test-limit", required_argument, NULL, OPT_TEST_LIMIT },
		{ "no-augment", no_argument, NULL, OPT_NO_AUGMENT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *epochs = NULL;
	int opt;

	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":m:o:d:e:s:n:b:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'm':
			o->model_path = optarg;
			break;
		case 'o':
			o->out_path = optarg;
			break;
		case 'd':
			o->data_dir = optarg;
			break;
		case OPT_STAGES:
			parse_stages(optarg, o);
			break;
		case 'e':
			epochs = optarg;
			break;
		case 's':
			o->train.seed = (uint64_t)cli_int(WHO, "--seed", optarg, 0, 1LL << 62);
			break;
		case 'n':
			o->n = (int)cli_int(WHO, "-n", optarg, 1, 4);
			break;
		case 'b':
			o->b = (int)cli_int(WHO, "-b", optarg, 2, 8);
			break;
		case 'B':
			o->train.batch = (int)cli_int(WHO, "--batch", optarg, 1, 4096);
			break;
		case OPT_LR:
			o->train.lr = cli_real(WHO, "--lr", optarg, 1e-7, 1.0);
			break;
		case OPT_WD:
			o->train.weight_decay = cli_real(WHO, "--weight-decay", optarg, 0.0, 1.0);
			break;
		case OPT_THREADS:
			o->train.threads = (int)cli_int(WHO, "--threads", optarg, 1, 64);
			break;
		case OPT_LIMIT:
			o->train.limit = (long)cli_int(WHO, "--limit", optarg, 1, 1L << 30);
			break;
		case OPT_TEST_LIMIT:
			o->test_limit = (long)cli_int(WHO, "--test-limit", optarg, 1, 1L << 30);
			break;
		case OPT_NO_AUGMENT:
			o->train.augment = 0;
			break;
		case 'h':
			fputs(finetune_usage, stdout);
			exit(0);
		case ':':
			cli_usage_error(WHO, "option '%s' needs a value", argv[optind - 1]);
			break;
		default:
			cli_usage_error(WHO, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		cli_usage_error(WHO, "unexpected argument '%s'", argv[optind]);
	if (!o->model_path || !o->out_path)
		cli_usage_error(WHO, "needs -m FLOAT.nhf and -o OUT.nhf");
	/* Default: one epoch per stage. */
	parse_epochs(epochs ? epochs : o->stage_count == 2 ? "1,1" : "1", o);
	if (o->epoch_count != o->stage_count)
		cli_usage_error(WHO, "--epochs gives %d value(s) for %d stage(s)", o->epoch_count,
			       o->stage_count);
}

/*
 * Top-1 accuracy of net over count images of ds with its weights on S(n, b)
 * and its activations on acts' grids, both set up for the final weights
 * (as nhot-quant will).
 */
static int fq_accuracy(struct nhot_fnet *net, const struct dataset *ds, size_t count,
		       int n, int b, struct fq_acts *acts, size_t *hits)
{
	struct fq_weights fq;
	struct tnet t;
	int ret;

	*hits = 0;
	ret = fq_weights_init(&fq, net, n, b, INT_MAX);
	if (ret)
		return ret;
	ret = tnet_init(&t, net, EVAL_BATCH);
	if (ret) {
		fq_weights_release(&fq);
		return ret;
	}
	ret = tnet_set_wtransform(&t, fq_weights_transform, &fq);
	tnet_set_atransform(&t, fq_acts_transform, acts);
	if (!ret)
		ret = fq_acts_calibrate(acts);
	if (!ret)
		ret = train_accuracy(&t, ds, count, hits);
	tnet_release(&t);
	fq_weights_release(&fq);
	return ret;
}

/* The network must take the data set's images to its 10 classes. */
static int check_shapes(const struct finetune_opts *o, const struct nhot_fnet *net,
			const struct dataset *train, const struct dataset *test)
{
	const struct nhot_fnode *in = &net->nodes[0];
	const struct nhot_fnode *last = &net->nodes[net->node_count - 1];

	if (train->rows == test->rows && train->cols == test->cols &&
	    in->out_h == test->rows && in->out_w == test->cols && in->out_c == 1 &&
	    nhot_fnode_elems(last) == 10)
		return 0;
	fprintf(stderr, "nhot-train finetune: %s takes %ux%ux%u images to %zu outputs; the "
		"data set has %ux%ux1 (train) and %ux%ux1 (test) images of 10 classes\n",
		o->model_path, in->out_h, in->out_w, in->out_c, nhot_fnode_elems(last),
		train->rows, train->cols, test->rows, test->cols);
	return -EINVAL;
}

static int run_stages(const struct finetune_opts *o, struct nhot_fnet *net,
		      const struct dataset *train, const struct dataset *test)
{
	struct train_opts to = o->train;
	struct fq_weights fq;
	struct fq_acts acts;
	struct train_hooks hooks = {
		.wtransform = fq_weights_transform,
		.atransform = fq_acts_transform, .atransform_ctx = &acts,
		.refresh = fq_acts_refresh, .refresh_ctx = &acts, .refresh_steps = RECALIB_STEPS,
		.who = WHO, .what = "fine-tuning", .test_label = "fake-quant test-acc",
	};
	size_t count = o->test_limit && (size_t)o->test_limit < test->count ?
		       (size_t)o->test_limit : test->count, hits;
	int s, n = o->n, ret;

	ret = fq_acts_init(&acts, net, train);
	if (ret) {
		fprintf(stderr, "nhot-train finetune: cannot calibrate the activations: %s\n",
			strerror(-ret));
		return ret;
	}

	for (s = 0; s < o->stage_count; s++) {
		n = o->stages[s] == STAGE_UNIFORM ? 4 : o->n;
		to.epochs = o->epochs[s];
		/* A stage's own seed: the two stages shuffle differently. */
		to.seed = o->train.seed + (uint64_t)s;
		fprintf(stderr, "stage %d/%d: %s, weights on S(%d, %d)\n", s + 1,
			o->stage_count, o->stages[s] == STAGE_UNIFORM ? "uniform" : "nhot",
			n, o->b);
		ret = fq_weights_init(&fq, net, n, o->b, SCALE_REFRESH);
		if (ret) {
			fprintf(stderr, "nhot-train finetune: cannot set up fake quantization: %s\n",
				strerror(-ret));
			goto out;
		}
		hooks.wtransform_ctx = &fq;
		ret = train_network(&to, net, train, test, count, &hooks);
		fq_weights_release(&fq);
		if (ret)
			goto out;
	}
	ret = fq_accuracy(net, test, count, n, o->b, &acts, &hits);
	if (ret) {
		fprintf(stderr, "nhot-train finetune: evaluation failed: %s\n", strerror(-ret));
		goto out;
	}
	printf("fake-quantized test accuracy: %.2f%% (%zu/%zu) with weights on S(%d, %d), "
	       "uint8 activations\n", 100.0 * hits / count, hits, count, n, o->b);
out:
	fq_acts_release(&acts);
	return ret;
}

int finetune_main(int argc, char **argv)
{
	struct finetune_opts o = {
		.data_dir = DEFAULT_DATA,
		.stages = { STAGE_UNIFORM, STAGE_NHOT }, .stage_count = 2,
		.n = 2, .b = 8,
		.train = {
			.seed = 1, .batch = 64, .lr = 2e-4, .weight_decay = 0.0,
			.threads = 1, .augment = 1,
		},
	};
	struct dataset train = { 0 }, test = { 0 };
	char err[NHOT_PRIVATE_ERR_LEN];
	struct nhot_fnet *net = NULL;
	int ret, status = 1;

	parse_args(argc, argv, &o);
	o.train.data_dir = o.data_dir;
	o.train.out_path = o.out_path;
	openblas_set_num_threads(o.train.threads);
	/*
	 * -o may name the -m file: the model is read whole first and the result
	 * replaces it in one rename. A device or a FIFO is refused before training.
	 */
	if (nhot_file_check_target(o.out_path, err, sizeof(err))) {
		fprintf(stderr, "nhot-train finetune: cannot write %s\n", err);
		return 1;
	}
	ret = nhot_fnet_load_err(o.model_path, &net, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "nhot-train finetune: cannot load %s\n", err);
		return 1;
	}
	if (train_load_set(WHO, o.data_dir, "train", &train) ||
	    train_load_set(WHO, o.data_dir, "t10k", &test) ||
	    check_shapes(&o, net, &train, &test) || run_stages(&o, net, &train, &test))
		goto out;
	ret = nhot_fnet_save_err(net, o.out_path, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "nhot-train finetune: cannot write %s\n", err);
		goto out;
	}
	fprintf(stderr, "wrote %s\n", o.out_path);
	status = 0;
out:
	nhot_fnet_free(net);
	dataset_free(&test);
	dataset_free(&train);
	return status;
}
