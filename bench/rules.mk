# make bench: nhot_cpu_run() against nhot_ref_run() and oneDNN (libdnnl-dev).
# Not a test: it prints medians and one "BENCH threads=.. shape=.." line per
# shape and thread count. BENCH_SAMPLES=n changes the samples per figure.

BENCH_SRCS := $(sort $(filter-out bench/vmbench%.c,$(wildcard bench/*.c)))
BENCH_BIN  := $(BUILD)/bench/nhot_bench
BENCH_SAMPLES ?= 21

$(BENCH_BIN): $(BENCH_SRCS) bench/bench.h $(LIBNHOT)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -fopenmp $(BENCH_SRCS) -o $@ $(LIBNHOT) -ldnnl $(LIBNHOT_LDLIBS)

bench: setup $(BENCH_BIN)
	$(BENCH_BIN) $(BENCH_SAMPLES)

# --- make vmbench -----------------------------------------------------------
# The engine measured inside QEMU (bench/vmbench.c, raw ioctls): tiny-job
# throughput at 1, 16 and 256 jobs per SUBMIT, one job's latency, and the
# engine's GOPS on an FC layer against nhot_cpu_run() in the same guest.
# bench/vmbench.sh boots every Debian kernel (-smp 2), one after the other.
# Not a test: it prints a table and "VMBENCH kernel=.. engine=.. metric=.."
# lines; non-zero exit only when something fails (e.g. a bit mismatch).
# VMBENCH_ENGINE=sim|pci, VMBENCH_RUNS, VMBENCH_SAMPLES, VMBENCH_KERNELS.

VMBENCH_BIN := $(BUILD)/bench/vmbench

$(VMBENCH_BIN): $(wildcard bench/vmbench*.c) $(LIBNHOT)
	@mkdir -p $(@D)
	$(CC) -static $(CPPFLAGS) $(CFLAGS) $(wildcard bench/vmbench*.c) -o $@ $(LIBNHOT) $(LIBNHOT_LDLIBS)

vmbench: setup $(VMBENCH_BIN) modules-all nhot-emu
	@VMBENCH_BIN=$(VMBENCH_BIN) $(TOP)/bench/vmbench.sh
