# nhot: top-level Makefile.
#
#   make demo    the main job: an inference job through the driver
#   make test    every test; the last line is "N passed, N failed"
#
# Everything builds into build/ (userspace) and driver/ (the module, kbuild's
# way). Each folder adds its own rules in its rules.mk; this file only holds
# what they share.

.DEFAULT_GOAL := all
MAKEFLAGS += --no-builtin-rules
SHELL := /bin/bash

TOP   := $(CURDIR)
BUILD := $(TOP)/build

# --- kernel build directory ----------------------------------------------
# The running kernel's, else the newest installed Debian headers.
KDIR ?= $(shell d=/lib/modules/$$(uname -r)/build; \
	if [ -d $$d ]; then echo $$d; else \
	ls -d /usr/src/linux-headers-*-amd64 2>/dev/null | sort -V | tail -1; fi)

# --- userspace toolchain --------------------------------------------------
CC      ?= gcc
# Library and tools: C11. Test programs use the kernel's kselftest_harness.h,
# which needs GNU extensions (typeof, statement expressions): gnu11 there.
WARN     := -Wall -Wextra -Werror
CPPFLAGS := -I$(TOP)/uapi -I$(TOP)/userlib/include -D_GNU_SOURCE
CFLAGS   := -std=c11 -O2 -g $(WARN)
# kselftest_harness.h passes _metadata/variant to every test, used or not.
TEST_CFLAGS := -std=gnu11 -O2 -g $(WARN) -Wno-unused-parameter -I$(BUILD)/ksft
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDLIBS_THREADS := -lpthread

# kselftest headers, taken from Debian's linux-source (one source of truth).
KSRC_TAR ?= $(lastword $(sort $(wildcard /usr/src/linux-source-6.12.tar.xz /usr/src/linux-source-6.1.tar.xz)))
KSFT_HDRS := $(BUILD)/ksft/kselftest.h $(BUILD)/ksft/kselftest_harness.h

.PHONY: all setup module test host-test vmtest demo bench vmbench fuzz clean checkpatch

setup:
	@$(TOP)/scripts/setup.sh

$(KSFT_HDRS): | setup
	@mkdir -p $(BUILD)/ksft
	@d=$$(basename $(KSRC_TAR) .tar.xz); \
	tar -xJf $(KSRC_TAR) -C $(BUILD)/ksft --strip-components=4 \
		$$d/tools/testing/selftests/kselftest.h \
		$$d/tools/testing/selftests/kselftest_harness.h
	@touch $(KSFT_HDRS)

# Each part adds its own rules; a tool adds its binary to TOOLS.
TOOLS :=
include userlib/rules.mk
-include $(sort $(wildcard tools/*/rules.mk))
-include driver/rules.mk
-include selftests/rules.mk
-include vm/rules.mk
-include bench/rules.mk
-include models/rules.mk
-include packaging/rules.mk
-include results/rules.mk

.PHONY: tools
tools: $(TOOLS)
all: userlib tools

# Every test: host tests (plain and under ASan/UBSan), then the VM suite.
test: setup
	@$(TOP)/scripts/test-all.sh

clean:
	rm -rf $(BUILD)
	-$(MAKE) -C driver clean-module KDIR=$(KDIR) 2>/dev/null
