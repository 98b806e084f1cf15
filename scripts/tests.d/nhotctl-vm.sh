#!/bin/bash
# make test: nhotctl against nhot.ko in QEMU, on every installed Debian
# kernel. Boots each guest (sim_devices=2) with the static nhotctl and
# selftests/drivers/nhot/nhotctl_test.c, a kselftest_harness program that
# runs nhotctl and checks its output, text and JSON, against the devices
# (GET_INFO), the jobs it runs and the notifications it triggers; see that
# file for the cases. vm/ksft-run.sh runs each test alone and fails it on
# any kernel warning. Prints the kselftest "# Totals:" line of every guest;
# exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
TOP=$PWD
# shellcheck source=scripts/tests.d/lib/ktap.sh
. scripts/tests.d/lib/ktap.sh

rels=$(vm/kernel-release.sh) || { ktap_begin; skip_case "no Debian kernel headers installed"; finish; }
kos=
for r in $rels; do kos="$kos $TOP/build/kmod/$r/nhot.ko"; done
# shellcheck disable=SC2086	# one word per module
if ! make -s -j2 "$TOP/build/static/bin/nhotctl" "$TOP/build/selftests/nhotctl_test" $kos \
	>/dev/null 2>build/nhotctl-vm-build.err; then
	ktap_begin
	not_ok "build nhotctl, nhotctl_test and nhot.ko (see build/nhotctl-vm-build.err)"
	finish
fi

# Private copies: others may rebuild these files while the guests boot.
work=$(mktemp -d build/nhotctl-vm.XXXXXX) || exit 1
trap 'rm -rf "$work"' EXIT
cp build/static/bin/nhotctl build/selftests/nhotctl_test "$work/"

status=0
for r in $rels; do
	log=$work/$r.log
	echo "# ==== kernel $r"
	if ! cp "build/kmod/$r/nhot.ko" "$work/$r.ko"; then
		ktap_begin; not_ok "$r: build/kmod/$r/nhot.ko missing"; ktap_totals
		status=1
		continue
	fi
	KSFT_TIMEOUT=120 vm/run-in-vm.sh --kernel "$r" --smp 2 --mem 1024 --timeout 600 \
		--module "$work/$r.ko" --module-params "sim_devices=2" \
		--file "$work/nhotctl" --file "$work/nhotctl_test" \
		-- vm/ksft-run.sh nhotctl_test >"$log" 2>&1
	rc=$?
	cat "$log"
	if ! grep -q '^# Totals: ' "$log"; then
		# A guest that died before its summary: its finished tests and one failure.
		p=$(grep -c '^ok ' "$log") f=$(grep -c '^not ok ' "$log")
		echo "# $r: the guest ended without a summary (exit $rc): counted as one more failure"
		echo "# Totals: pass:$p fail:$((f + 1)) xfail:0 xpass:0 skip:0 error:0"
		status=1
	elif [ "$rc" != 0 ]; then
		status=1
	fi
done
exit $status
