# make fuzz: libFuzzer on the .nhq loader and on job validation (fuzz-job,
# below), each for FUZZ_SECONDS (default 60).
#
# libnhot is rebuilt with clang, ASan and UBSan into build/fuzz/. The run
# starts from the committed seeds (fuzz/corpus) and the regression inputs
# (fuzz/regress: every crash found becomes one), works in a scratch copy,
# and leaves any new crash in build/fuzz/crashes/ (the target then fails).
# test_model replays fuzz/corpus and fuzz/regress on every make test.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_DIR     := $(BUILD)/fuzz
FUZZ_FLAGS   := -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
		-fno-sanitize-recover=all
# The loader and the reference arithmetic need no ISA-specific kernels (and
# clang 14 crashes on one of them): an archive of the portable files, from
# which the link takes only what the target uses.
FUZZ_LIB_SRCS := $(filter-out %_avx512.c %_avx2.c,$(LIB_SRCS))
FUZZ_LIB_OBJS := $(FUZZ_LIB_SRCS:userlib/src/%.c=$(FUZZ_DIR)/userlib/%.o)
FUZZ_LIB     := $(FUZZ_DIR)/libnhot-fuzz.a
FUZZ_TARGET  := $(FUZZ_DIR)/fuzz_model_load

$(FUZZ_DIR)/userlib/%.o: userlib/src/%.c $(LIB_HDRS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CPPFLAGS) -std=c11 $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_LIB): $(FUZZ_LIB_OBJS)
	rm -f $@ && ar rcs $@ $^

$(FUZZ_TARGET): fuzz/fuzz_model_load.c $(FUZZ_LIB)
	$(FUZZ_CC) $(CPPFLAGS) -std=c11 $(FUZZ_FLAGS) -fsanitize=fuzzer $< \
		$(FUZZ_LIB) -o $@ -lm -lpthread -lz

fuzz: $(FUZZ_TARGET) | setup
	@rm -rf $(FUZZ_DIR)/corpus && mkdir -p $(FUZZ_DIR)/corpus $(FUZZ_DIR)/crashes
	@cp fuzz/corpus/* fuzz/regress/* $(FUZZ_DIR)/corpus/ 2>/dev/null || true
	$(FUZZ_TARGET) -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
		-max_len=65536 -artifact_prefix=$(FUZZ_DIR)/crashes/ $(FUZZ_DIR)/corpus

# The job-validation target (fuzz_job_check.c): the kernel's validator and
# datapath (driver/model/nhot_model.c) against libnhot's, differential. Seeds
# in fuzz/job/corpus (real layers of all six types), findings in
# fuzz/job/regress; test_fuzz_job_replay replays both on every make test,
# plain and under ASan/UBSan.
FUZZ_JOB_TARGET := $(FUZZ_DIR)/fuzz_job_check
FUZZ_JOB_SRCS   := fuzz/fuzz_job_check.c driver/model/nhot_model.c
FUZZ_JOB_HDRS   := driver/model/nhot_model.h uapi/linux/nhot.h $(LIB_HDRS)

$(FUZZ_JOB_TARGET): $(FUZZ_JOB_SRCS) $(FUZZ_JOB_HDRS) $(FUZZ_LIB)
	$(FUZZ_CC) $(CPPFLAGS) -std=c11 $(FUZZ_FLAGS) -fsanitize=fuzzer $(FUZZ_JOB_SRCS) \
		$(FUZZ_LIB) -o $@ -lm -lpthread

fuzz: fuzz-job
.PHONY: fuzz-job
fuzz-job: $(FUZZ_JOB_TARGET) | setup
	@rm -rf $(FUZZ_DIR)/job-corpus && mkdir -p $(FUZZ_DIR)/job-corpus $(FUZZ_DIR)/crashes
	@cp fuzz/job/corpus/* fuzz/job/regress/* $(FUZZ_DIR)/job-corpus/ 2>/dev/null || true
	$(FUZZ_JOB_TARGET) -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
		-max_len=4096 -artifact_prefix=$(FUZZ_DIR)/crashes/job- $(FUZZ_DIR)/job-corpus

FUZZ_REPLAY_SRCS := fuzz/test_fuzz_job_replay.c $(FUZZ_JOB_SRCS)
FUZZ_REPLAY_DEPS := $(FUZZ_REPLAY_SRCS) $(FUZZ_JOB_HDRS) $(KSFT_HDRS) \
		    $(wildcard fuzz/job/corpus/* fuzz/job/regress/*)
FUZZ_REPLAY_FLAGS := $(CPPFLAGS) -DFUZZ_JOB_DIR='"$(TOP)/fuzz/job"'

$(BUILD)/host/tests/test_fuzz_job_replay: $(FUZZ_REPLAY_DEPS) $(LIBNHOT)
	@mkdir -p $(@D)
	$(CC) $(FUZZ_REPLAY_FLAGS) $(TEST_CFLAGS) $(FUZZ_REPLAY_SRCS) -o $@ $(LIBNHOT) $(LIBNHOT_LDLIBS)

$(BUILD)/asan/tests/test_fuzz_job_replay: $(FUZZ_REPLAY_DEPS) $(LIBNHOT_ASAN)
	@mkdir -p $(@D)
	$(CC) $(FUZZ_REPLAY_FLAGS) $(TEST_CFLAGS) $(SAN_FLAGS) $(FUZZ_REPLAY_SRCS) -o $@ \
		$(LIBNHOT_ASAN) $(LIBNHOT_LDLIBS)

host-tests-build: $(BUILD)/host/tests/test_fuzz_job_replay $(BUILD)/asan/tests/test_fuzz_job_replay
