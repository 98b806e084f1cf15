# The results table: make results -> docs/results.md, docs/results.json and
# docs/results.svg, from a real run of every scheme (post-training and
# fine-tuned) through libnhot's integer inference (results/run-table.sh).
# Scratch models go to build/results/.

RESULTS_EPOCHS ?= 1
# Training images per fine-tuning epoch (0: all 60,000); keeps the table
# well under half an hour on a loaded two-core machine.
RESULTS_TRAIN_LIMIT ?= 20000

.PHONY: results
results: $(NHOT_TRAIN) $(NHOT_QUANT) $(NHOT_RUN) $(FLOAT_MODEL)
	NHOT_TRAIN=$(NHOT_TRAIN) NHOT_QUANT=$(NHOT_QUANT) NHOT_RUN=$(NHOT_RUN) \
	FLOAT_MODEL=$(FLOAT_MODEL) FMNIST_DIR=$(FMNIST_DIR) WORK=$(BUILD)/results \
	EPOCHS=$(RESULTS_EPOCHS) TRAIN_LIMIT=$(RESULTS_TRAIN_LIMIT) $(TOP)/results/run-table.sh
