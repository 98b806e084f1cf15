# nhot-run: runs a quantized model over Fashion-MNIST.
#   build/host/bin/nhot-run    for the host
#   build/static/bin/nhot-run  gcc -static (libz.a), for the busybox VM
RUN_DIR         := tools/nhot-run
RUN_SRCS        := $(sort $(wildcard $(RUN_DIR)/*.c))
RUN_HDRS        := $(wildcard $(RUN_DIR)/*.h)
NHOT_RUN        := $(BUILD)/host/bin/nhot-run
NHOT_RUN_STATIC := $(BUILD)/static/bin/nhot-run

$(NHOT_RUN): $(RUN_SRCS) $(RUN_HDRS) $(LIBNHOT)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -I$(RUN_DIR) $(RUN_SRCS) -o $@ $(LIBNHOT) $(LIBNHOT_LDLIBS) -lz

$(NHOT_RUN_STATIC): $(RUN_SRCS) $(RUN_HDRS) $(LIBNHOT)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -I$(RUN_DIR) -static $(RUN_SRCS) -o $@ $(LIBNHOT) \
		$(LIBNHOT_LDLIBS) -lz

TOOLS += $(NHOT_RUN) $(NHOT_RUN_STATIC)
