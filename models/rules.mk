# Quantized models and the demo: make demo (scripts/demo.sh).
#
# The model code lives in libnhot (userlib/src/model_*.c); its IDX reader
# needs zlib, so everything linking libnhot gets -lz.
LIBNHOT_LDLIBS += -lz
