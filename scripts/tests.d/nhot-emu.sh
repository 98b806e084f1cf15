#!/bin/bash
# make test: tools/nhot-emu on the host, no guest: its test program plays
# QEMU and the driver against the ASan/UBSan build of the emulator
# (tools/nhot-emu/test_emu.c). The harness prints the "# Totals:" line.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
if ! make -s nhot-emu-test >&2; then
	echo "not ok 1 nhot-emu: build"
	echo "# Totals: pass:0 fail:1 xfail:0 xpass:0 skip:0 error:0"
	exit 1
fi
NHOT_EMU=build/asan/bin/nhot-emu exec build/host/tests/nhot-emu/test_emu
