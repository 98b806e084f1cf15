// SPDX-License-Identifier: MIT
/*
 * nhotctl: manage nhot engines through the "nhot" generic netlink family.
 * See nhotctl.8. The global options (--json, --help, --version) may stand
 * anywhere, before the command or after it; everything else belongs to the
 * command, one line of the table below.
 *
 * Exit: 0 done, 1 the operation failed, 2 usage error.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <linux/nhot_netlink.h>

#include "nhotctl.h"

#ifndef NHOTCTL_VERSION
#define NHOTCTL_VERSION "unknown"
#endif

static const struct command {
	const char *name;
	int (*run)(struct nhotctl *ctl, int argc, char **argv);
} commands[] = {
	{ "dev", cmd_dev },
	{ "stats", cmd_stats },
	{ "monitor", cmd_monitor },
};

#define COMMAND_COUNT	(sizeof(commands) / sizeof(commands[0]))

static const char usage_text[] =
	"usage: nhotctl [--json] COMMAND [ARGS]\n"
	"  dev show [DEV]                              list devices (all, or DEV)\n"
	"  dev add [sim] [KEY VALUE]...                create a simulated engine\n"
	"  dev del DEV                                 remove a simulated engine\n"
	"  dev set DEV KEY VALUE [KEY VALUE]...        configure a device\n"
	"  stats [DEV] [--watch SECONDS [--count N]]   job and operation counters\n"
	"  monitor                                     device and job events as they happen\n"
	"DEV is nhotN, N or /dev/nhotN; KEY is pe_count, clock_mhz or timeout_ms.\n"
	"Options (anywhere): -j/--json  JSON output; -h/--help; --version.\n"
	"Exit status: 0 done, 1 failed, 2 usage error. See nhotctl(8).\n";

volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

void install_stop_handlers(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;	/* no SA_RESTART: sleeps end early */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

int main(int argc, char **argv)
{
	struct nhotctl ctl = { 0 };
	bool help = false, version = false;
	int i, n = 0;
	size_t c;

	/* Take the global options out; the command sees the rest in order. */
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json") || !strcmp(argv[i], "-j"))
			ctl.json = true;
		else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			help = true;
		else if (!strcmp(argv[i], "--version"))
			version = true;
		else
			argv[++n] = argv[i];
	}
	argc = n + 1;
	argv[argc] = NULL;

	if (help) {
		fputs(usage_text, stdout);
		return fflush(stdout) ? EXIT_FAILED : EXIT_OK;
	}
	if (version) {
		printf("nhotctl %s (generic netlink family \"%s\" version %d)\n",
		       NHOTCTL_VERSION, NHOT_FAMILY_NAME, NHOT_FAMILY_VERSION);
		return fflush(stdout) ? EXIT_FAILED : EXIT_OK;
	}
	if (argc < 2)
		return usage_error("a command is required: dev, stats or monitor");
	if (argv[1][0] == '-')
		return usage_error("unknown option '%s'", argv[1]);
	for (c = 0; c < COMMAND_COUNT; c++)
		if (!strcmp(argv[1], commands[c].name))
			return commands[c].run(&ctl, argc - 1, argv + 1);
	return usage_error("unknown command '%s' (dev, stats or monitor)", argv[1]);
}
