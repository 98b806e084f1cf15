# nhotctl: manage nhot engines over the "nhot" generic netlink family
# (libnl-genl-3).
#   build/host/bin/nhotctl     for the host
#   build/static/bin/nhotctl   gcc -static (Debian's libnl-3.a and
#                              libnl-genl-3.a), for the busybox VM
#   tools/nhotctl/tests/test_nhotctl_*.c: host tests of its parts, built
#   plain and with ASan/UBSan into build/{host,asan}/tests/ for make test.
# Every tools/nhotctl/*.c is part of it: a new command is one .c file and
# one line of the table in main.c.
NHOTCTL_DIR    := tools/nhotctl
NHOTCTL_SRCS   := $(sort $(wildcard $(NHOTCTL_DIR)/*.c))
NHOTCTL_HDRS   := $(wildcard $(NHOTCTL_DIR)/*.h) uapi/linux/nhot_netlink.h uapi/linux/nhot.h
NHOTCTL        := $(BUILD)/host/bin/nhotctl
NHOTCTL_STATIC := $(BUILD)/static/bin/nhotctl
NHOTCTL_NL_CFLAGS := $(shell pkg-config --cflags libnl-genl-3.0 2>/dev/null || echo -I/usr/include/libnl3)
NHOTCTL_NL_LIBS   := $(shell pkg-config --libs libnl-genl-3.0 2>/dev/null || echo -lnl-genl-3 -lnl-3)
# The static link needs what libnl-3.a itself links against. ld warns that
# libnl-3.a's address helpers use getaddrinfo/getprotobyname (glibc NSS):
# nhotctl never calls them, so the warnings are harmless.
NHOTCTL_NL_STATIC := $(shell pkg-config --static --libs libnl-genl-3.0 2>/dev/null || \
		     echo -lnl-genl-3 -lnl-3 -lpthread -lm)
# = : NHOT_VERSION comes from packaging/rules.mk, read after this file.
NHOTCTL_CFLAGS = $(CPPFLAGS) $(NHOTCTL_NL_CFLAGS) -DNHOTCTL_VERSION='"$(NHOT_VERSION)"'

$(NHOTCTL): $(NHOTCTL_SRCS) $(NHOTCTL_HDRS) | setup
	@mkdir -p $(@D)
	$(CC) $(NHOTCTL_CFLAGS) $(CFLAGS) $(NHOTCTL_SRCS) -o $@ $(NHOTCTL_NL_LIBS)

$(NHOTCTL_STATIC): $(NHOTCTL_SRCS) $(NHOTCTL_HDRS) | setup
	@mkdir -p $(@D)
	$(CC) $(NHOTCTL_CFLAGS) $(CFLAGS) -static $(NHOTCTL_SRCS) -o $@ $(NHOTCTL_NL_STATIC)

NHOTCTL_TEST_SRCS := $(sort $(wildcard $(NHOTCTL_DIR)/tests/test_nhotctl_*.c))
NHOTCTL_TEST_BINS := $(NHOTCTL_TEST_SRCS:$(NHOTCTL_DIR)/tests/%.c=$(BUILD)/host/tests/%)
NHOTCTL_TEST_ASAN := $(NHOTCTL_TEST_SRCS:$(NHOTCTL_DIR)/tests/%.c=$(BUILD)/asan/tests/%)

# A test program is its own .c plus the one nhotctl part it tests (json.c).
$(BUILD)/host/tests/test_nhotctl_%: $(NHOTCTL_DIR)/tests/test_nhotctl_%.c $(NHOTCTL_DIR)/%.c \
		$(NHOTCTL_HDRS) $(KSFT_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(NHOTCTL_NL_CFLAGS) -I$(NHOTCTL_DIR) $(TEST_CFLAGS) $< $(NHOTCTL_DIR)/$*.c -o $@

$(BUILD)/asan/tests/test_nhotctl_%: $(NHOTCTL_DIR)/tests/test_nhotctl_%.c $(NHOTCTL_DIR)/%.c \
		$(NHOTCTL_HDRS) $(KSFT_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(NHOTCTL_NL_CFLAGS) -I$(NHOTCTL_DIR) $(TEST_CFLAGS) $(SAN_FLAGS) $< $(NHOTCTL_DIR)/$*.c -o $@

host-tests-build: $(NHOTCTL_TEST_BINS) $(NHOTCTL_TEST_ASAN)

.PHONY: nhotctl
nhotctl: $(NHOTCTL) $(NHOTCTL_STATIC)
TOOLS += $(NHOTCTL) $(NHOTCTL_STATIC)
