# nhot-emu: the n-hot PCI engine for QEMU's ivshmem-doorbell (docs/hw.md).
#   build/host/bin/nhot-emu        the emulator (host only: it serves QEMU)
#   build/asan/bin/nhot-emu        the same under ASan/UBSan, for its tests
# The datapath is driver/model/nhot_model.c, the simulated engine's source.
EMU_DIR      := tools/nhot-emu
EMU_SRCS     := $(sort $(filter-out $(EMU_DIR)/test_%.c,$(wildcard $(EMU_DIR)/*.c))) \
		driver/model/nhot_model.c
EMU_HDRS     := $(wildcard $(EMU_DIR)/*.h) driver/model/nhot_model.h driver/hw/nhot_hw.h \
		uapi/linux/nhot.h
EMU_CPPFLAGS := -I$(EMU_DIR) -Idriver/model -Idriver $(CPPFLAGS)
NHOT_EMU      := $(BUILD)/host/bin/nhot-emu
NHOT_EMU_ASAN := $(BUILD)/asan/bin/nhot-emu

$(NHOT_EMU): $(EMU_SRCS) $(EMU_HDRS)
	@mkdir -p $(@D)
	$(CC) $(EMU_CPPFLAGS) $(CFLAGS) $(EMU_SRCS) -o $@

$(NHOT_EMU_ASAN): $(EMU_SRCS) $(EMU_HDRS)
	@mkdir -p $(@D)
	$(CC) $(EMU_CPPFLAGS) $(CFLAGS) $(SAN_FLAGS) $(EMU_SRCS) -o $@

.PHONY: nhot-emu
nhot-emu: $(NHOT_EMU)

TOOLS += $(NHOT_EMU)

# Its host test: test_emu.c plays QEMU and the driver (no guest needed);
# scripts/tests.d/nhot-emu.sh runs it against the ASan/UBSan build.
# The harness's EXPECT_EQ(1, u32) compares int with unsigned, and its setjmp
# trips -Wclobbered (as in selftests/rules.mk).
EMU_TEST := $(BUILD)/host/tests/nhot-emu/test_emu
EMU_TEST_CFLAGS := $(TEST_CFLAGS) -Wno-sign-compare -Wno-clobbered

$(EMU_TEST): $(EMU_DIR)/test_emu.c driver/hw/nhot_hw.h userlib/tests/layer_gen.c \
		$(wildcard userlib/tests/layer_gen.h) $(LIBNHOT) $(KSFT_HDRS)
	@mkdir -p $(@D)
	$(CC) -Idriver $(CPPFLAGS) $(EMU_TEST_CFLAGS) $< -o $@ $(LIBNHOT) $(LIBNHOT_LDLIBS)

.PHONY: nhot-emu-test
nhot-emu-test: $(EMU_TEST) $(NHOT_EMU_ASAN)
