# nhot-train: the float trainer -> build/host/bin/nhot-train
#
# Its engine (everything but main.c) is also linked into the gradient-check
# tests tools/nhot-train/tests/test_train_*.c, built plain and with
# ASan/UBSan into build/{host,asan}/tests/ so that make test runs them.
# `make float-model` trains build/models/fmnist-float.nhf once and reuses it
# until the trainer's sources change.

TRAIN_DIR      := tools/nhot-train
TRAIN_SRCS     := $(sort $(wildcard $(TRAIN_DIR)/*.c))
TRAIN_HDRS     := $(wildcard $(TRAIN_DIR)/*.h)
TRAIN_ENGINE   := $(filter-out $(TRAIN_DIR)/main.c,$(TRAIN_SRCS))
TRAIN_OBJS     := $(TRAIN_SRCS:$(TRAIN_DIR)/%.c=$(BUILD)/host/nhot-train/%.o)
TRAIN_ENG_OBJS := $(TRAIN_ENGINE:$(TRAIN_DIR)/%.c=$(BUILD)/host/nhot-train/%.o)
TRAIN_ENG_ASAN := $(TRAIN_ENGINE:$(TRAIN_DIR)/%.c=$(BUILD)/asan/nhot-train/%.o)
# The inner loops (direct convolution, pooling, Adam) want vectorising.
TRAIN_CFLAGS   := -O3 -mavx2 -mfma
TRAIN_LDLIBS   := -lopenblas -lz -lm
NHOT_TRAIN     := $(BUILD)/host/bin/nhot-train

TRAIN_TEST_SRCS := $(sort $(wildcard $(TRAIN_DIR)/tests/test_train_*.c))
TRAIN_TEST_BINS := $(TRAIN_TEST_SRCS:$(TRAIN_DIR)/tests/%.c=$(BUILD)/host/tests/%)
TRAIN_TEST_ASAN := $(TRAIN_TEST_SRCS:$(TRAIN_DIR)/tests/%.c=$(BUILD)/asan/tests/%)

$(BUILD)/host/nhot-train/%.o: $(TRAIN_DIR)/%.c $(TRAIN_HDRS) $(LIB_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(TRAIN_CFLAGS) -c $< -o $@

$(BUILD)/asan/nhot-train/%.o: $(TRAIN_DIR)/%.c $(TRAIN_HDRS) $(LIB_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(TRAIN_CFLAGS) $(SAN_FLAGS) -c $< -o $@

$(NHOT_TRAIN): $(TRAIN_OBJS) $(LIBNHOT)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $(TRAIN_OBJS) $(LIBNHOT) $(TRAIN_LDLIBS) $(LIBNHOT_LDLIBS)

$(BUILD)/host/tests/test_train_%: $(TRAIN_DIR)/tests/test_train_%.c $(TRAIN_ENG_OBJS) $(LIBNHOT) $(KSFT_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -I$(TRAIN_DIR) $(TEST_CFLAGS) $< $(TRAIN_ENG_OBJS) -o $@ \
		$(LIBNHOT) $(TRAIN_LDLIBS) $(LIBNHOT_LDLIBS)

$(BUILD)/asan/tests/test_train_%: $(TRAIN_DIR)/tests/test_train_%.c $(TRAIN_ENG_ASAN) $(LIBNHOT_ASAN) $(KSFT_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -I$(TRAIN_DIR) $(TEST_CFLAGS) $(SAN_FLAGS) $< $(TRAIN_ENG_ASAN) -o $@ \
		$(LIBNHOT_ASAN) $(TRAIN_LDLIBS) $(LIBNHOT_LDLIBS)

TOOLS += $(NHOT_TRAIN)
host-tests-build: $(TRAIN_TEST_BINS) $(TRAIN_TEST_ASAN)

# --- the float model the demo quantizes ------------------------------------
FMNIST_DIR         ?= /usr/share/datasets/fashion-mnist
FLOAT_MODEL        := $(BUILD)/models/fmnist-float.nhf
FLOAT_MODEL_EPOCHS ?= 6
FLOAT_MODEL_SEED   ?= 1

# Retrained only when the trainer, the network rules or the file format
# change (not when the rest of libnhot or its float forward pass does, which
# training does not use): the binary is an order-only prerequisite.
# The fine-tuning command's files (finetune*, fakequant*) are not part of
# float training either.
TRAIN_FT_FILES := $(wildcard $(TRAIN_DIR)/finetune* $(TRAIN_DIR)/fakequant*)
$(FLOAT_MODEL): $(filter-out $(TRAIN_FT_FILES),$(TRAIN_SRCS) $(TRAIN_HDRS)) userlib/src/fmodel.c userlib/src/fmodel_io.c \
		userlib/include/nhot_fmodel.h | $(NHOT_TRAIN)
	@mkdir -p $(@D)
	$(NHOT_TRAIN) train --data $(FMNIST_DIR) --epochs $(FLOAT_MODEL_EPOCHS) \
		--seed $(FLOAT_MODEL_SEED) -o $@

.PHONY: float-model
float-model: $(FLOAT_MODEL)
