# selftests/: kselftest_harness programs for the module, run in QEMU by
# `make vmtest` (vm/vmtest.sh). Every selftests/drivers/nhot/nhot_*.c is one
# static program in build/selftests/ (the VM has no libc); all link libnhot.a
# (only what a program uses is pulled in). selftests/drivers/nhot/Makefile
# is the same build for a kernel tree's tools/testing/selftests.

SELFTEST_DIR  := selftests/drivers/nhot
SELFTEST_SRCS := $(sort $(wildcard $(SELFTEST_DIR)/nhot_*.c))
SELFTEST_BINS := $(SELFTEST_SRCS:$(SELFTEST_DIR)/%.c=$(BUILD)/selftests/%)
# kselftest_harness.h has an unused handler parameter, its EXPECT_EQ(1, u32)
# compares int with unsigned on every use, and its setjmp makes -Wclobbered
# flag its own locals: those three parts of -Wextra are off.
SELFTEST_CFLAGS := $(TEST_CFLAGS) -Wno-unused-parameter -Wno-sign-compare -Wno-clobbered -pthread

$(BUILD)/selftests/%: $(SELFTEST_DIR)/%.c $(wildcard $(SELFTEST_DIR)/*.h) $(KSFT_HDRS) $(LIBNHOT)
	@mkdir -p $(@D)
	$(CC) -static $(CPPFLAGS) $(SELFTEST_CFLAGS) $< -o $@ $(LIBNHOT) $(LIBNHOT_LDLIBS)

.PHONY: selftests
selftests: $(SELFTEST_BINS)
