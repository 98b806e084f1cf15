// SPDX-License-Identifier: MIT
/*
 * nhot-quant: the n-hot number format and model quantization from the shell.
 * See nhot-quant.1. Each subcommand is one line of the table below and one
 * cmd_*.c file; argv[0] of a subcommand is its own name.
 *
 * Exit: 0 done, 1 failed, 2 usage error.
 */
#include <stdio.h>
#include <string.h>

#include "cmds.h"

static const struct subcommand {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
} subcommands[] = {
	{ "table", cmd_table, "print the value set S(n, b), one integer a line" },
	{ "round", cmd_round, "round numbers from stdin onto S(n, b)" },
	{ "quantize", cmd_quantize, "quantize a float model (.nhf) into an n-hot model (.nhq)" },
};

#define SUBCOMMAND_COUNT	(sizeof(subcommands) / sizeof(subcommands[0]))

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: nhot-quant COMMAND [OPTIONS]   (nhot-quant COMMAND --help)\n");
	for (i = 0; i < SUBCOMMAND_COUNT; i++)
		fprintf(f, "  %-9s %s\n", subcommands[i].name, subcommands[i].summary);
}

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		fprintf(stderr, "nhot-quant: a command is required (try --help)\n");
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	for (i = 0; i < SUBCOMMAND_COUNT; i++)
		if (!strcmp(argv[1], subcommands[i].name))
			return subcommands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "nhot-quant: unknown command '%s' (try --help)\n", argv[1]);
	return 2;
}
