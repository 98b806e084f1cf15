# nhot-quant: the number format and model quantization from the shell
#   build/host/bin/nhot-quant
# Every tools/nhot-quant/*.c is part of it: a new subcommand is a cmd_*.c
# file and one line of the table in main.c.
QUANT_DIR  := tools/nhot-quant
QUANT_SRCS := $(sort $(wildcard $(QUANT_DIR)/*.c))
QUANT_HDRS := $(wildcard $(QUANT_DIR)/*.h)
NHOT_QUANT := $(BUILD)/host/bin/nhot-quant

$(NHOT_QUANT): $(QUANT_SRCS) $(QUANT_HDRS) $(LIBNHOT)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -I$(QUANT_DIR) $(QUANT_SRCS) -o $@ $(LIBNHOT) $(LIBNHOT_LDLIBS) -lz

.PHONY: nhot-quant
nhot-quant: $(NHOT_QUANT)
TOOLS += $(NHOT_QUANT)
