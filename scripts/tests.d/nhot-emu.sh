#!/bin/bash
# make test: tools/nhot-emu on the host, no guest: its test program plays
# QEMU and the driver against the ASan/UBSan build of the emulator
# (tools/nhot-emu/test_emu.c), and its manual page. Each part prints its own
# "# Totals:" line.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
if ! make -s nhot-emu-test >&2; then
	echo "not ok 1 nhot-emu: build"
	echo "# Totals: pass:0 fail:1 xfail:0 xpass:0 skip:0 error:0"
	exit 1
fi
NHOT_EMU=build/asan/bin/nhot-emu build/host/tests/nhot-emu/test_emu
rc=$?

# The manual page renders without a warning.
if err=$(groff -man -ww -z tools/nhot-emu/nhot-emu.1 2>&1) && [ -z "$err" ]; then
	echo "ok 1 nhot-emu.1 renders without warnings"
	echo "# Totals: pass:1 fail:0 xfail:0 xpass:0 skip:0 error:0"
else
	echo "not ok 1 nhot-emu.1 renders without warnings # ${err:0:200}"
	echo "# Totals: pass:0 fail:1 xfail:0 xpass:0 skip:0 error:0"
	rc=1
fi
exit $rc
