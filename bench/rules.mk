# make bench: nhot_cpu_run() against nhot_ref_run() and oneDNN (libdnnl-dev).
# Not a test: it prints medians and one "BENCH threads=.. shape=.." line per
# shape and thread count. BENCH_SAMPLES=n changes the samples per figure.

BENCH_SRCS := $(sort $(wildcard bench/*.c))
BENCH_BIN  := $(BUILD)/bench/nhot_bench
BENCH_SAMPLES ?= 9

$(BENCH_BIN): $(BENCH_SRCS) bench/bench.h $(LIBNHOT)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -fopenmp $(BENCH_SRCS) -o $@ $(LIBNHOT) -ldnnl $(LIBNHOT_LDLIBS)

bench: setup $(BENCH_BIN)
	$(BENCH_BIN) $(BENCH_SAMPLES)
