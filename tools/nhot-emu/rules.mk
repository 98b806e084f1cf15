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
