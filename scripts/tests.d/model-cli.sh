#!/bin/bash
# make test: nhot-quant quantize and nhot-run from the shell: usage errors
# exit 2 with one line on stderr, bad files exit 1 with a reason, and a real
# run prints every documented JSON key with a bit-exact --verify.
# Prints kselftest "ok N name" lines and a "# Totals:" line (lib/ktap.sh); exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
TOP=$PWD
WORK=$TOP/build/test-models
DATA=${FMNIST_DIR:-/usr/share/datasets/fashion-mnist}
Q=build/host/bin/nhot-quant
R=build/host/bin/nhot-run
# shellcheck source=scripts/tests.d/lib/ktap.sh
. scripts/tests.d/lib/ktap.sh

# expect STATUS DESCRIPTION COMMAND...: the exit status, and exactly one
# stderr line for a failure.
expect() {
	local want=$1 what=$2 err rc lines
	shift 2
	err=$("$@" 2>&1 >/dev/null)
	rc=$?
	lines=$(printf '%s' "$err" | grep -c '')
	if [ "$rc" = "$want" ] && { [ "$want" = 0 ] || [ "$lines" = 1 ]; }; then
		ok "$what (exit $rc: ${err:-no message})"
	else
		not_ok "$what: exit $rc (want $want), stderr: $err"
	fi
}

ktap_begin
mkdir -p "$WORK"
make -s "$TOP/$Q" "$TOP/$R" "$TOP/build/host/bin/nhot-train" || { not_ok build; finish; }

expect 2 "nhot-run without a model" $R
expect 2 "nhot-run with an unknown option" $R -m x --frobnicate
expect 2 "nhot-run --limit 0" $R -m x --limit 0
expect 2 "nhot-run --batch 5000" $R -m x --batch 5000
expect 2 "nhot-run with a stray argument" $R -m x y
expect 1 "nhot-run with a missing model" $R -m "$WORK/no-such.nhq"
expect 1 "nhot-run with a corrupt model" $R -m fuzz/regress/lying-node-count.nhq
expect 1 "nhot-run with a model for 6x6 images" $R -m fuzz/corpus/residual-n2b8.nhq
expect 1 "nhot-run with a character device as model" $R -m /dev/null
expect 2 "quantize without --scheme" $Q quantize -i a -o b
expect 2 "quantize --scheme foo" $Q quantize -i a -o b --scheme foo
expect 2 "quantize -n with --scheme uniform" $Q quantize -i a -o b --scheme uniform -n 2
expect 2 "quantize -n 5" $Q quantize -i a -o b --scheme nhot -n 5
expect 2 "quantize -b 9" $Q quantize -i a -o b --scheme nhot -b 9
expect 2 "quantize --calib 0" $Q quantize -i a -o b --scheme nhot --calib 0
expect 1 "quantize a missing float model" $Q quantize -i "$WORK/no-such.nhf" -o "$WORK/x.nhq" --scheme pot

if [ ! -f "$DATA/t10k-images-idx3-ubyte.gz" ]; then
	skip_case "dataset-fashion-mnist not installed"
	finish
fi
float=$TOP/build/models/fmnist-float.nhf
[ -f "$float" ] || float=$WORK/tiny-float.nhf
if [ ! -f "$float" ]; then
	build/host/bin/nhot-train train --data "$DATA" --epochs 1 --limit 1000 --seed 1 \
		-o "$float" >/dev/null 2>&1 || { not_ok "train a small float model"; finish; }
fi
expect 1 "quantize into a missing folder" $Q quantize -i "$float" -o "$WORK/no/such/dir.nhq" \
	--scheme pot --calib 10 --quiet
expect 1 "quantize with data of the wrong folder" $Q quantize -i "$float" -o "$WORK/x.nhq" \
	--scheme pot --calib 10 --data "$WORK" --quiet
expect 0 "quantize pot b=6" $Q quantize -i "$float" -o "$WORK/cli-pot6.nhq" --scheme pot -b 6 \
	--calib 50 --quiet
json=$($R -m "$WORK/cli-pot6.nhq" --data "$DATA" --device cpu --limit 30 --batch 7 --verify \
	--json --quiet)
missing=
for key in accuracy images images_per_s ops_per_image ops_ratio_vs_uniform8 \
	ops_ratio_vs_uniform8_zero_skip weight_bytes size_ratio_vs_uniform8 bit_exact device; do
	grep -q "\"$key\":" <<<"$json" || missing="$missing $key"
done
[ -z "$missing" ] && ok "nhot-run --json has every documented key" ||
	not_ok "nhot-run --json lacks$missing: $json"
grep -q '"images":30,' <<<"$json" && grep -q '"bit_exact":true' <<<"$json" &&
	grep -q '"n":1,"b":6' <<<"$json" && grep -q '"counters_match_model":true' <<<"$json" &&
	ok "pot b=6 over 30 images in batches of 7: bit-exact, counters match" ||
	not_ok "pot b=6 run: $json"
[ "$(printf '%s\n' "$json" | grep -c '')" = 1 ] && ok "--json is one line" ||
	not_ok "--json is not one line"
finish
