// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * nhot-emu: the n-hot PCI engine (docs/hw.md) for a QEMU guest, as the
 * ivshmem server QEMU's ivshmem-doorbell device connects to.  See
 * nhot-emu.1.  Usage errors: one line on stderr, exit 2.  Runtime failures:
 * one line, exit 1.  SIGTERM, SIGINT and the guest's QEMU going away end it
 * cleanly (exit 0), with its socket and RAM file removed.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "device.h"

#define DEFAULT_SHM_SIZE	(64U << 10)	/* BAR2: the register page and room */

volatile int emu_exit_requested;

/* What emu_exit_now() must clean up. */
static struct emu_server server;
static struct emu_dma dma;

static void on_signal(int sig)
{
	(void)sig;
	emu_exit_requested = 1;
}

void emu_exit_now(int status)
{
	server_close(&server);
	dma_close(&dma);
	exit(status);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: nhot-emu --socket PATH --ram FILE --ram-size SIZE [--vectors N]\n"
		"                [--shm-size SIZE] [--pe-count N] [--clock-mhz N] [--verbose]\n"
		"                [--inject-error JOBNR] [--stall JOBNR] [--die JOBNR] [--fatal JOBNR]\n"
		"                [--bad-signature]\n"
		"SIZE takes a K, M or G suffix. See nhot-emu(1).\n");
}

static void __attribute__((noreturn)) bad_usage(const char *fmt, const char *arg)
{
	fputs("nhot-emu: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs(" (try --help)\n", stderr);
	exit(2);
}

/* A decimal number in [lo, hi], with an optional K/M/G suffix if @sized. */
static uint64_t parse_num(const char *opt, const char *s, uint64_t lo, uint64_t hi,
			  bool sized)
{
	uint64_t v = 0, mult = 1;
	const char *p = s;

	if (*p < '0' || *p > '9')
		goto bad;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - 9) / 10)
			goto bad;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (sized && *p) {
		switch (*p++) {
		case 'K': case 'k': mult = 1ULL << 10; break;
		case 'M': case 'm': mult = 1ULL << 20; break;
		case 'G': case 'g': mult = 1ULL << 30; break;
		default: goto bad;
		}
	}
	if (*p || v > hi / mult || v * mult < lo)
		goto bad;
	return v * mult;
bad:
	fprintf(stderr, "nhot-emu: %s wants %s%" PRIu64 "..%" PRIu64 ", got '%s'\n",
		opt, sized ? "a size in bytes " : "", lo, hi, s);
	exit(2);
}

enum {
	OPT_SOCKET = 256, OPT_RAM, OPT_RAM_SIZE, OPT_VECTORS, OPT_SHM_SIZE,
	OPT_PE_COUNT, OPT_CLOCK, OPT_VERBOSE, OPT_INJECT, OPT_STALL, OPT_DIE,
	OPT_FATAL, OPT_BAD_SIG, OPT_HELP,
};

static const struct option options[] = {
	{ "socket", required_argument, NULL, OPT_SOCKET },
	{ "ram", required_argument, NULL, OPT_RAM },
	{ "ram-size", required_argument, NULL, OPT_RAM_SIZE },
	{ "vectors", required_argument, NULL, OPT_VECTORS },
	{ "shm-size", required_argument, NULL, OPT_SHM_SIZE },
	{ "pe-count", required_argument, NULL, OPT_PE_COUNT },
	{ "clock-mhz", required_argument, NULL, OPT_CLOCK },
	{ "verbose", no_argument, NULL, OPT_VERBOSE },
	{ "inject-error", required_argument, NULL, OPT_INJECT },
	{ "stall", required_argument, NULL, OPT_STALL },
	{ "die", required_argument, NULL, OPT_DIE },
	{ "fatal", required_argument, NULL, OPT_FATAL },
	{ "bad-signature", no_argument, NULL, OPT_BAD_SIG },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

struct emu_opts {
	const char *socket;
	const char *ram;
	uint64_t ram_size;
	unsigned int vectors;
	uint64_t shm_size;
	uint32_t pe_count;
	uint32_t clock_mhz;
	bool verbose;
	struct emu_faults faults;
};

static void parse_args(int argc, char **argv, struct emu_opts *o)
{
	int c;

	*o = (struct emu_opts){ .vectors = NHOT_HW_IRQ_WANTED, .shm_size = DEFAULT_SHM_SIZE,
				.pe_count = 64, .clock_mhz = 1000 };
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (c) {
		case OPT_SOCKET: o->socket = optarg; break;
		case OPT_RAM: o->ram = optarg; break;
		case OPT_RAM_SIZE:
			o->ram_size = parse_num("--ram-size", optarg, 1ULL << 20, EMU_DMA_MAX_RAM, true);
			break;
		case OPT_VECTORS:
			o->vectors = (unsigned int)parse_num("--vectors", optarg, 1, EMU_MAX_VECTORS, false);
			break;
		case OPT_SHM_SIZE:
			o->shm_size = parse_num("--shm-size", optarg, NHOT_HW_REGS_SIZE, 1ULL << 30, true);
			if (o->shm_size & (o->shm_size - 1))
				bad_usage("--shm-size must be a power of two, got '%s'", optarg);
			break;
		case OPT_PE_COUNT:
			o->pe_count = (uint32_t)parse_num("--pe-count", optarg, 1, 65536, false);
			break;
		case OPT_CLOCK:
			o->clock_mhz = (uint32_t)parse_num("--clock-mhz", optarg, 1, 100000, false);
			break;
		case OPT_VERBOSE: o->verbose = true; break;
		case OPT_INJECT:
			o->faults.inject_error = parse_num("--inject-error", optarg, 1, UINT64_MAX, false);
			break;
		case OPT_STALL:
			o->faults.stall = parse_num("--stall", optarg, 1, UINT64_MAX, false);
			break;
		case OPT_DIE:
			o->faults.die = parse_num("--die", optarg, 1, UINT64_MAX, false);
			break;
		case OPT_FATAL:
			o->faults.fatal = parse_num("--fatal", optarg, 1, UINT64_MAX, false);
			break;
		case OPT_BAD_SIG: o->faults.bad_signature = true; break;
		case OPT_HELP: usage(stdout); exit(0);
		default:
			bad_usage("unknown option or missing argument '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		bad_usage("unexpected argument '%s'", argv[optind]);
	if (!o->socket)
		bad_usage("%s", "--socket PATH is required");
	if (!o->ram || !o->ram_size)
		bad_usage("%s", "--ram FILE and --ram-size SIZE are required (the guest's RAM)");
	if (o->ram_size % 4096)
		bad_usage("--ram-size must be whole pages, got %s", "a partial page");
}

static void setup_signals(sigset_t *blocked, sigset_t *orig)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* Blocked except inside ppoll(): no signal is lost between checks. */
	sigemptyset(blocked);
	sigaddset(blocked, SIGTERM);
	sigaddset(blocked, SIGINT);
	sigaddset(blocked, SIGHUP);
	sigprocmask(SIG_BLOCK, blocked, orig);
}

/* Serve until a signal, or until the connected QEMU goes away. */
static int serve(struct emu_device *dev, const sigset_t *orig)
{
	struct pollfd pfd[2 + EMU_MAX_VECTORS];

	while (!emu_exit_requested) {
		unsigned int n = 0, v;
		int err;

		pfd[n++] = (struct pollfd){ .fd = server.listen_fd, .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = server.client_fd, .events = POLLIN };
		for (v = 0; v < server.vectors; v++)
			pfd[n++] = (struct pollfd){ .fd = server.doorbell_fd[v], .events = POLLIN };
		if (ppoll(pfd, n, NULL, orig) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "nhot-emu: poll: %s\n", strerror(errno));
			return 1;
		}
		if (pfd[0].revents & POLLIN) {
			err = server_accept(&server);
			if (err == -EBUSY)
				fprintf(stderr, "nhot-emu: refused a second client\n");
			else if (err)
				fprintf(stderr, "nhot-emu: client setup failed: %s\n", strerror(-err));
			else if (dev->verbose)
				fprintf(stderr, "nhot-emu: QEMU connected\n");
		}
		if (pfd[1].revents && server_client_gone(&server)) {
			if (dev->verbose)
				fprintf(stderr, "nhot-emu: QEMU disconnected\n");
			return 0;
		}
		for (v = 0; v < server.vectors; v++)
			if (pfd[2 + v].revents & POLLIN &&
			    server_doorbell_take(&server, v) == 1)
				device_doorbell(dev, v);
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct emu_device dev;	/* the code table is large */
	sigset_t blocked, orig;
	struct emu_opts o;
	int err, rc;

	parse_args(argc, argv, &o);
	setup_signals(&blocked, &orig);
	server.listen_fd = server.client_fd = server.shm_fd = -1;
	dma.fd = -1;

	err = dma_open(&dma, o.ram, o.ram_size);
	if (err) {
		fprintf(stderr, "nhot-emu: cannot create the RAM file %s: %s\n", o.ram,
			strerror(-err));
		return 1;
	}
	err = server_open(&server, o.socket, o.shm_size, o.vectors);
	if (err) {
		fprintf(stderr, "nhot-emu: cannot listen on %s: %s\n", o.socket, strerror(-err));
		dma_close(&dma);
		return 1;
	}
	device_init(&dev, &server, &dma, &o.faults, o.pe_count, o.clock_mhz, o.verbose);
	if (o.verbose)
		fprintf(stderr, "nhot-emu: listening on %s, %u vectors\n", o.socket, o.vectors);
	rc = serve(&dev, &orig);
	server_close(&server);
	dma_close(&dma);
	return rc;
}
