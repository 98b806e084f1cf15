#!/bin/bash
# make test: what nhot-run says when a job on /dev/nhot0 runs past the
# engine's timeout (issue #14, item 16): one line naming the device and how
# it was chosen, the node and images of the job, the model, --batch, the
# timeout_ms in force, and the two remedies (nhotctl dev set ... timeout_ms,
# a smaller --batch). The job is made to hang with debugfs hang_jobs, so the
# timeout fires whatever the engine's speed. One QEMU boot per installed
# Debian kernel (NHOT_RUN_VM_KERNEL=6.12: one). Prints kselftest "ok N" lines and a "# Totals:" line.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
TOP=$PWD
WORK=$TOP/build/test-models
DATA=${FMNIST_DIR:-/usr/share/datasets/fashion-mnist}
# shellcheck source=scripts/tests.d/lib/ktap.sh
. scripts/tests.d/lib/ktap.sh
skip_all() { skip_case "$1"; finish; }

ktap_begin
[ -f "$DATA/t10k-images-idx3-ubyte.gz" ] || skip_all "dataset-fashion-mnist not installed"
# NHOT_RUN_VM_KERNEL=6.12: that series only (while iterating).
rels=$(vm/kernel-release.sh ${NHOT_RUN_VM_KERNEL:-}) || skip_all "no Debian kernel headers installed"
kos=
for r in $rels; do kos="$kos $TOP/build/kmod/$r/nhot.ko"; done
# shellcheck disable=SC2086
make -s -j2 "$TOP/build/host/bin/nhot-quant" "$TOP/build/static/bin/nhot-run" \
	"$TOP/build/host/bin/nhot-train" $kos || { not_ok build; finish; }

mkdir -p "$WORK/timeout/data"
float=$TOP/build/models/fmnist-float.nhf
[ -f "$float" ] || float=$WORK/tiny-float.nhf
if [ ! -f "$float" ]; then
	build/host/bin/nhot-train train --data "$DATA" --epochs 1 --limit 1000 --seed 1 \
		-o "$float" >/dev/null 2>&1 || { not_ok "train a small float model"; finish; }
fi
model=$WORK/timeout/t.nhq
build/host/bin/nhot-quant quantize -i "$float" -o "$model" --scheme nhot -n 2 -b 8 \
	--calib 20 --data "$DATA" --quiet || { not_ok "quantize $float"; finish; }
cp "$DATA"/t10k-images-idx3-ubyte.gz "$DATA"/t10k-labels-idx1-ubyte.gz "$WORK/timeout/data/"

want="^nhot-run: /dev/nhot0 \(the default device\): the job of node [0-9]+ \(images 0\.\.9 of t\.nhq, --batch 10\) ran past the engine's job timeout \(timeout_ms 300\) and the engine was reset; raise it with 'nhotctl dev set nhot0 timeout_ms MS' or run smaller jobs with a smaller --batch$"
for r in $rels; do
	log=$WORK/timeout/vm-$r.log
	vm/run-in-vm.sh --kernel "$r" --module-params "timeout_ms=300" --timeout 300 \
		--file build/static/bin/nhot-run --file "$model" \
		--file "$WORK/timeout/data:/root/data" -- \
		"echo 1 > /sys/kernel/debug/nhot/nhot0/hang_jobs; ./nhot-run -m t.nhq --data data --limit 20 --batch 10 --quiet 2>err; echo nhot-run-exit=\$?; cat err" \
		>"$log" 2>&1
	line=$(grep '^nhot-run: ' "$log" | tr -d '\r')
	if grep -q '^nhot-run-exit=1' "$log" && [ "$(printf '%s\n' "$line" | grep -c '')" = 1 ] &&
	   grep -Eq "$want" <<<"$line"; then
		ok "$r: a timed-out job is explained ($line)"
	else
		not_ok "$r: timed-out job message: '$line' (see $log)"
	fi
done
finish
