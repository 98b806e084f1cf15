# Quantized models and the demo: make demo (scripts/demo.sh).
#
# The model code lives in libnhot (userlib/src/model_*.c); its IDX reader
# needs zlib, so everything linking libnhot gets -lz.
LIBNHOT_LDLIBS += -lz

# The main job: set-up, build, train (or reuse), quantize, run in the VM and
# on the host, summary. The last lines are nhot-run --json objects.
demo:
	@$(TOP)/scripts/demo.sh

# make fuzz lives with the loader it fuzzes.
-include fuzz/rules.mk
