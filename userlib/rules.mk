# libnhot: userlib/src/*.c -> build/{host,asan}/libnhot.a
#
# Files ending in _avx512.c / _avx2.c are compiled for that ISA only; the
# library picks them at run time (cpu dispatch), so the rest stays portable.
# Tests: userlib/tests/test_*.c, each a kselftest_harness program.

LIB_SRCS   := $(sort $(wildcard userlib/src/*.c))
LIB_HDRS   := $(wildcard userlib/include/*.h userlib/src/*.h uapi/linux/*.h)
ISA_avx512 := -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512vnni -mavx512vbmi -mavx2 -mfma -mbmi2
ISA_avx2   := -mavx2 -mfma -mbmi2

isa_flags = $(if $(filter %_avx512.c,$1),$(ISA_avx512),$(if $(filter %_avx2.c,$1),$(ISA_avx2)))

LIB_OBJS      := $(LIB_SRCS:userlib/src/%.c=$(BUILD)/host/userlib/%.o)
LIB_ASAN_OBJS := $(LIB_SRCS:userlib/src/%.c=$(BUILD)/asan/userlib/%.o)
LIBNHOT       := $(BUILD)/host/libnhot.a
LIBNHOT_ASAN  := $(BUILD)/asan/libnhot.a

$(BUILD)/host/userlib/%.o: userlib/src/%.c $(LIB_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -fPIC $(call isa_flags,$<) -c $< -o $@

$(BUILD)/asan/userlib/%.o: userlib/src/%.c $(LIB_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(SAN_FLAGS) -fPIC $(call isa_flags,$<) -c $< -o $@

$(LIBNHOT): $(LIB_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(LIBNHOT_ASAN): $(LIB_ASAN_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

LIBNHOT_LDLIBS := -lm -lpthread

TEST_SRCS      := $(sort $(wildcard userlib/tests/test_*.c))
TEST_HELPERS   := $(filter-out $(TEST_SRCS),$(wildcard userlib/tests/*.c))
TEST_BINS      := $(TEST_SRCS:userlib/tests/%.c=$(BUILD)/host/tests/%)
TEST_ASAN_BINS := $(TEST_SRCS:userlib/tests/%.c=$(BUILD)/asan/tests/%)

$(BUILD)/host/tests/%: userlib/tests/%.c $(TEST_HELPERS) $(wildcard userlib/tests/*.h) $(LIBNHOT) $(KSFT_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(TEST_CFLAGS) $< $(TEST_HELPERS) -o $@ $(LIBNHOT) $(LIBNHOT_LDLIBS)

$(BUILD)/asan/tests/%: userlib/tests/%.c $(TEST_HELPERS) $(wildcard userlib/tests/*.h) $(LIBNHOT_ASAN) $(KSFT_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(TEST_CFLAGS) $(SAN_FLAGS) $< $(TEST_HELPERS) -o $@ $(LIBNHOT_ASAN) $(LIBNHOT_LDLIBS)

.PHONY: userlib host-tests-build
userlib: $(LIBNHOT)
host-tests-build: $(TEST_BINS) $(TEST_ASAN_BINS)
