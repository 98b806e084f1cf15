// SPDX-License-Identifier: MIT
/*
 * nhot-train: trains the float MobileNet-v2-style classifier on an MNIST-style
 * data set (Fashion-MNIST) and evaluates saved float models.
 *
 *   nhot-train train --data DIR [--epochs E] [--seed S] -o MODEL.nhf [options]
 *   nhot-train eval -m MODEL.nhf --data DIR [--reference]
 *   nhot-train finetune -m FLOAT.nhf -o OUT.nhf [--stages ...] (finetune.c)
 *
 * A usage error prints one line on stderr and exits 2; a failure while
 * working prints why and exits 1.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "finetune.h"
#include "train.h"

#define WHO		"nhot-train"

static const char usage_text[] =
	"usage: nhot-train train --data DIR -o MODEL.nhf [--epochs E] [--seed S] [--batch B]\n"
	"                        [--lr LR] [--weight-decay WD] [--threads T] [--limit N]\n"
	"                        [--no-augment]\n"
	"       nhot-train eval -m MODEL.nhf --data DIR [--threads T] [--limit N] [--reference]\n"
	"       nhot-train finetune -m FLOAT.nhf -o OUT.nhf [--stages uniform,nhot|nhot|uniform]\n"
	"                           [-n N] [-b B] [--epochs E1[,E2]] [options] (finetune --help)\n"
	"       nhot-train --help\n";

enum { OPT_LR = 256, OPT_WD, OPT_THREADS, OPT_LIMIT, OPT_NO_AUGMENT, OPT_REFERENCE };

static const struct option long_opts[] = {
	{ "data", required_argument, NULL, 'd' },
	{ "epochs", required_argument, NULL, 'e' },
	{ "seed", required_argument, NULL, 's' },
	{ "batch", required_argument, NULL, 'b' },
	{ "output", required_argument, NULL, 'o' },
	{ "model", required_argument, NULL, 'm' },
	{ "lr", required_argument, NULL, OPT_LR },
	{ "weight-decay", required_argument, NULL, OPT_WD },
	{ "threads", required_argument, NULL, OPT_THREADS },
	{ "limit", required_argument, NULL, OPT_LIMIT },
	{ "no-augment", no_argument, NULL, OPT_NO_AUGMENT },
	{ "reference", no_argument, NULL, OPT_REFERENCE },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* Options each command accepts, as getopt values. */
static const int train_only[] = { 'e', 's', 'b', 'o', OPT_LR, OPT_WD, OPT_NO_AUGMENT, 0 };
static const int eval_only[] = { 'm', OPT_REFERENCE, 0 };

static int listed(const int *list, int opt)
{
	for (; *list; list++)
		if (*list == opt)
			return 1;
	return 0;
}

static const char *opt_name(int opt)
{
	const struct option *o;

	for (o = long_opts; o->name; o++)
		if (o->val == opt)
			return o->name;
	return "?";
}

int main(int argc, char **argv)
{
	struct train_opts t = {
		.epochs = 6, .seed = 1, .batch = 64, .lr = 3e-3, .weight_decay = 1e-4,
		.threads = 1, .augment = 1,
	};
	struct eval_opts e = { .threads = 1 };
	const char *cmd;
	int is_train, opt;

	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (argc < 2)
		cli_usage_error(WHO, "missing command: train, eval or finetune");
	cmd = argv[1];
	if (!strcmp(cmd, "finetune"))
		return finetune_main(argc - 1, argv + 1);
	if (strcmp(cmd, "train") && strcmp(cmd, "eval"))
		cli_usage_error(WHO, "unknown command '%s': train, eval or finetune", cmd);
	is_train = !strcmp(cmd, "train");

	opterr = 0;
	optind = 2;
	while ((opt = getopt_long(argc, argv, ":d:e:s:b:o:m:h", long_opts, NULL)) != -1) {
		if (opt == '?')
			cli_usage_error(WHO, "unknown option '%s'", argv[optind - 1]);
		if (opt == ':')
			cli_usage_error(WHO, "option '%s' needs a value", argv[optind - 1]);
		if (opt == 'h') {
			fputs(usage_text, stdout);
			return 0;
		}
		if (listed(is_train ? eval_only : train_only, opt))
			cli_usage_error(WHO, "--%s is not an option of %s", opt_name(opt), cmd);
		switch (opt) {
		case 'd':
			t.data_dir = e.data_dir = optarg;
			break;
		case 'e':
			t.epochs = (int)cli_int(WHO, "--epochs", optarg, 1, 1000);
			break;
		case 's':
			t.seed = (uint64_t)cli_int(WHO, "--seed", optarg, 0, (1LL << 62));
			break;
		case 'b':
			t.batch = (int)cli_int(WHO, "--batch", optarg, 1, 4096);
			break;
		case 'o':
			t.out_path = optarg;
			break;
		case 'm':
			e.model_path = optarg;
			break;
		case OPT_LR:
			t.lr = cli_real(WHO, "--lr", optarg, 1e-7, 1.0);
			break;
		case OPT_WD:
			t.weight_decay = cli_real(WHO, "--weight-decay", optarg, 0.0, 1.0);
			break;
		case OPT_THREADS:
			t.threads = e.threads = (int)cli_int(WHO, "--threads", optarg, 1, 64);
			break;
		case OPT_LIMIT:
			t.limit = e.limit = (long)cli_int(WHO, "--limit", optarg, 1, 1L << 30);
			break;
		case OPT_NO_AUGMENT:
			t.augment = 0;
			break;
		case OPT_REFERENCE:
			e.reference = 1;
			break;
		}
	}
	if (optind < argc)
		cli_usage_error(WHO, "unexpected argument '%s'", argv[optind]);
	if (!t.data_dir)
		cli_usage_error(WHO, "%s needs --data DIR", cmd);
	if (is_train) {
		if (!t.out_path)
			cli_usage_error(WHO, "train needs -o MODEL.nhf");
		return train_run(&t);
	}
	if (!e.model_path)
		cli_usage_error(WHO, "eval needs -m MODEL.nhf");
	return eval_run(&e);
}
