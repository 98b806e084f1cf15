#!/bin/bash
# make test: every test suite, then one summary line "N passed, N failed".
#
# Each suite is a kselftest_harness program (or a runner that prints their
# output): its "# Totals: pass:P fail:F ..." lines are summed. A suite that
# crashes or exits non-zero without such a line counts as one failure.
set -u
cd "$(dirname "$0")/.."
LOGDIR=build/test-logs
rm -rf "$LOGDIR"; mkdir -p "$LOGDIR"

status=0
run_suite() {	# name command...
	local name=$1; shift
	local log="$LOGDIR/$name.log"
	echo "=== $name"
	"$@" 2>&1 | tee "$log"
	local rc=${PIPESTATUS[0]}
	echo "$rc" > "$LOGDIR/$name.rc"
	[ "$rc" = 0 ] || status=1
}

make -s host-tests-build tools || { echo "build failed"; echo "0 passed, 1 failed"; exit 1; }

for t in build/host/tests/test_*; do
	run_suite "host-$(basename "$t")" "$t"
done
for t in build/asan/tests/test_*; do
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		run_suite "asan-$(basename "$t")" "$t"
done
for s in $(ls scripts/tests.d/*.sh 2>/dev/null); do
	run_suite "$(basename "$s" .sh)" bash "$s"
done

exec scripts/test-summary.sh "$LOGDIR"
