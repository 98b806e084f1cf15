# nhot.ko: the kernel module (driver/), its checks and the model's host test.
#
#   make module        nhot.ko for KDIR (default: see the top Makefile) in driver/
#   make modules-all   nhot.ko for every /usr/src/linux-headers-*-amd64, each
#                      built from its own copy of the sources, into
#                      build/kmod/<kernel-release>/nhot.ko
#   make checkpatch    scripts/checkpatch.pl --strict over driver/ and uapi/
#
# Extra kbuild flags: make module KBUILD_EXTRA="W=1".

KMOD_DIR     := $(BUILD)/kmod
KMOD_SRCS    := Kbuild $(wildcard driver/Kbuild driver/*.c driver/*.h driver/hw/*.h \
		driver/model/*.c driver/model/*.h uapi/linux/*.h)
KMOD_HDRS    := $(sort $(wildcard /usr/src/linux-headers-*-amd64))
KMOD_RELS    := $(patsubst /usr/src/linux-headers-%,%,$(KMOD_HDRS))
KMOD_ALL     := $(KMOD_RELS:%=$(KMOD_DIR)/%/nhot.ko)
KBUILD_EXTRA ?=

.PHONY: module modules-all checkpatch clean-module

module: driver/nhot.ko
driver/nhot.ko: $(KMOD_SRCS)
	$(MAKE) -C $(KDIR) M=$(TOP) $(KBUILD_EXTRA) modules

modules-all: $(KMOD_ALL)

# One private copy of the sources per kernel: two builds never share objects.
$(KMOD_DIR)/%/nhot.ko: $(KMOD_SRCS)
	@rm -rf $(KMOD_DIR)/$*/src && mkdir -p $(KMOD_DIR)/$*/src
	cp --parents $(KMOD_SRCS) $(KMOD_DIR)/$*/src/
	$(MAKE) -C /usr/src/linux-headers-$* M=$(KMOD_DIR)/$*/src $(KBUILD_EXTRA) modules
	cp $(KMOD_DIR)/$*/src/driver/nhot.ko $@

clean-module:
	$(MAKE) -C $(KDIR) M=$(TOP) clean

# checkpatch.pl and its data files, from Debian's linux-source.
CHECKPATCH_DIR := $(BUILD)/checkpatch
CHECKPATCH     := $(CHECKPATCH_DIR)/scripts/checkpatch.pl
CHECKPATCH_SRC := $(lastword $(sort $(wildcard /usr/src/linux-source-6.12.tar.xz \
		  /usr/src/linux-source-*.tar.xz)))

$(CHECKPATCH):
	@mkdir -p $(CHECKPATCH_DIR)
	@d=$$(basename $(CHECKPATCH_SRC) .tar.xz); \
	tar -xJf $(CHECKPATCH_SRC) -C $(CHECKPATCH_DIR) --strip-components=1 \
		$$d/scripts/checkpatch.pl $$d/scripts/spelling.txt \
		$$d/scripts/const_structs.checkpatch $$d/scripts/kernel-doc
	@touch $@

KERNEL_SRCS := $(filter-out %.mod.c,$(wildcard driver/*.c driver/*.h driver/hw/*.h \
	       driver/model/nhot_model.c driver/model/nhot_model.h uapi/linux/*.h))

# checkpatch --strict, then kernel-doc -Wall: any warning fails.
checkpatch: $(CHECKPATCH)
	$(CHECKPATCH) --strict --no-tree --quiet --show-types -f $(KERNEL_SRCS)
	@out=$$(perl $(CHECKPATCH_DIR)/scripts/kernel-doc -none -Wall $(KERNEL_SRCS) 2>&1); \
	if [ -n "$$out" ]; then echo "$$out"; exit 1; fi; echo "kernel-doc: clean"

# The model against libnhot's reference, plain and under ASan/UBSan.
MODEL_TEST_SRCS := driver/model/test_model_vs_ref.c driver/model/nhot_model.c \
		   $(wildcard userlib/tests/layer_gen.c)
MODEL_TEST_DEPS := $(MODEL_TEST_SRCS) driver/model/nhot_model.h \
		   $(wildcard userlib/tests/layer_gen.h) $(KSFT_HDRS)
MODEL_TEST_CPPFLAGS := $(CPPFLAGS) -Idriver/model -Iuserlib/tests

$(BUILD)/host/tests/test_model_vs_ref: $(MODEL_TEST_DEPS) $(LIBNHOT)
	@mkdir -p $(@D)
	$(CC) $(MODEL_TEST_CPPFLAGS) $(TEST_CFLAGS) $(MODEL_TEST_SRCS) -o $@ \
		$(LIBNHOT) $(LIBNHOT_LDLIBS)

$(BUILD)/asan/tests/test_model_vs_ref: $(MODEL_TEST_DEPS) $(LIBNHOT_ASAN)
	@mkdir -p $(@D)
	$(CC) $(MODEL_TEST_CPPFLAGS) $(TEST_CFLAGS) $(SAN_FLAGS) $(MODEL_TEST_SRCS) -o $@ \
		$(LIBNHOT_ASAN) $(LIBNHOT_LDLIBS)

host-tests-build: $(BUILD)/host/tests/test_model_vs_ref $(BUILD)/asan/tests/test_model_vs_ref
