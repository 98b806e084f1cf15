#!/bin/bash
# make test: a quantized model run through /dev/nhot0 (nhot.ko in QEMU, on
# every installed Debian kernel) equals the reference arithmetic bit for bit
# at every layer, the engine's counters equal the model's static count, and
# the device classifies the test images exactly as the host's CPU fallback.
#
# The model: a CNN quantized to S(2, 8) from build/models/fmnist-float.nhf
# when `make float-model` made one, else from a one-epoch float model trained
# here on 1000 images (accuracy is not what this checks). Prints kselftest
# "# Totals:" lines; exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
TOP=$PWD
IMAGES=${MODEL_VM_IMAGES:-40}
WORK=$TOP/build/test-models
DATA=${FMNIST_DIR:-/usr/share/datasets/fashion-mnist}
# shellcheck source=scripts/tests.d/lib/ktap.sh
. scripts/tests.d/lib/ktap.sh
skip_all() { skip_case "$1"; finish; }
jget() { sed -n "s/.*\"$1\":\"\{0,1\}\([^,\"}]*\).*/\1/p" <<<"$2"; }

ktap_begin
[ -f "$DATA/t10k-images-idx3-ubyte.gz" ] || skip_all "dataset-fashion-mnist not installed"
mkdir -p "$WORK/data"
rels=$(vm/kernel-release.sh) || skip_all "no Debian kernel headers installed"
kos=
for r in $rels; do kos="$kos $TOP/build/kmod/$r/nhot.ko"; done
# shellcheck disable=SC2086
if ! make -s -j2 "$TOP/build/host/bin/nhot-quant" "$TOP/build/host/bin/nhot-run" \
	"$TOP/build/static/bin/nhot-run" "$TOP/build/host/bin/nhot-train" $kos; then
	not_ok "build"
	finish
fi

float=$TOP/build/models/fmnist-float.nhf
if [ ! -f "$float" ]; then
	float=$WORK/tiny-float.nhf
	if [ ! -f "$float" ]; then
		build/host/bin/nhot-train train --data "$DATA" --epochs 1 --limit 1000 --seed 1 \
			-o "$float" >/dev/null 2>&1 || { not_ok "train a small float model"; finish; }
	fi
fi
model=$WORK/vm-n2b8.nhq
if ! build/host/bin/nhot-quant quantize -i "$float" -o "$model" --scheme nhot -n 2 -b 8 \
	--calib 200 --data "$DATA" --quiet; then
	not_ok "quantize $float"
	finish
fi
cp "$DATA"/t10k-images-idx3-ubyte.gz "$DATA"/t10k-labels-idx1-ubyte.gz "$WORK/data/"

host=$(build/host/bin/nhot-run -m "$model" --data "$DATA" --device cpu --limit "$IMAGES" \
	--verify --json --quiet) || { not_ok "host fallback run"; finish; }

for r in $rels; do
	log=$WORK/vm-$r.log
	vm/run-in-vm.sh --kernel "$r" --module-params "timeout_ms=60000" --timeout 600 \
		--file build/static/bin/nhot-run --file "$model" --file "$WORK/data:/root/data" -- \
		"./nhot-run -m vm-n2b8.nhq --data data --limit $IMAGES --batch 20 --verify --json --quiet" \
		>"$log" 2>&1
	dev=$(grep '^{' "$log" | tail -1)
	if [ -z "$dev" ] || [ "$(jget device "$dev")" != /dev/nhot0 ]; then
		not_ok "$r: nhot-run on /dev/nhot0 (see $log)"
		continue
	fi
	[ "$(jget bit_exact "$dev")" = true ] && ok "$r: device output equals the reference at every layer" ||
		not_ok "$r: device output equals the reference at every layer"
	[ "$(jget counters_match_model "$dev")" = true ] && ok "$r: engine counters equal the model's count" ||
		not_ok "$r: engine counters equal the model's count"
	# Same images, same bits: the same predictions as the host's fallback.
	for key in accuracy ops_per_image macs_per_image; do
		if [ "$(jget $key "$dev")" = "$(jget $key "$host")" ]; then
			ok "$r: $key equals the CPU fallback's ($(jget $key "$dev"))"
		else
			not_ok "$r: $key: device $(jget $key "$dev"), CPU fallback $(jget $key "$host")"
		fi
	done
done
finish
