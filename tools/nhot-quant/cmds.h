/* SPDX-License-Identifier: MIT */
/*
 * nhot-quant: the subcommands and what they share. A subcommand is
 * int cmd_NAME(int argc, char **argv) with argv[0] its own name; it returns
 * the exit status: 0 done, 1 failed, 2 usage error (one line on stderr).
 */
#ifndef NHOT_QUANT_CMDS_H
#define NHOT_QUANT_CMDS_H

int cmd_table(int argc, char **argv);
int cmd_round(int argc, char **argv);
int cmd_quantize(int argc, char **argv);

/*
 * Parses the "-n N -b B" that table and round take, and --help (which
 * prints usage to stdout). Returns 0 with *n and *b set, 1 after --help,
 * or 2 after a one-line usage error on stderr.
 */
int cli_parse_nb(int argc, char **argv, const char *usage, int *n, int *b);

/* Prints "nhot-quant CMD: MESSAGE (try --help)" to stderr; returns 2. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif /* NHOT_QUANT_CMDS_H */
