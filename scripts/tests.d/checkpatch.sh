#!/bin/bash
# The kernel sources stay checkpatch --strict and kernel-doc clean (make checkpatch),
# and nhot.ko builds without a warning (W=1) for every installed Debian kernel.
cd "$(dirname "$0")/../.." || exit 1
. scripts/tests.d/lib/ktap.sh

ktap_begin
out=$(make -s checkpatch 2>&1)
result $? "checkpatch --strict and kernel-doc -Wall clean" "$(echo "$out" | head -5 | tr '\n' ' ')"

# A private output folder: a full build every time, so every warning shows.
kmod=$(mktemp -d)
trap 'rm -rf "$kmod"' EXIT
out=$(make -s modules-all KMOD_DIR="$kmod" KBUILD_EXTRA=W=1 2>&1)
rc=$?
warnings=$(echo "$out" | grep -ciE "warning:")
[ "$rc" = 0 ] && [ "$warnings" = 0 ]
result $? "nhot.ko builds warning-free (W=1) for every Debian kernel" "rc $rc, $warnings warnings"
finish
