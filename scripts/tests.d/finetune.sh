#!/bin/bash
# nhot-train finetune: usage errors (one line on stderr, exit 2), runtime
# failures (exit 1), and short real runs on Fashion-MNIST: the same seed
# gives the same model bytes, another seed other bytes, and the accuracy the
# fine-tuning measured with fake quantization equals the accuracy of the
# integer model (nhot-quant quantize, nhot-run on the CPU fallback) on the
# same 1000 test images within TOLERANCE_IMAGES images (0.5 pp): the fake
# quantization rounds values from floats where the engine rounds int32
# accumulators through fixed-point multipliers (docs/finetune.md).
# Prints kselftest-style "ok N name" lines and a "# Totals:" line; exits
# non-zero when a case fails.
set -u
cd "$(dirname "$0")/../.." || exit 1
BIN=${NHOT_TRAIN:-build/host/bin/nhot-train}
QUANT=${NHOT_QUANT:-build/host/bin/nhot-quant}
RUN=${NHOT_RUN:-build/host/bin/nhot-run}
FLOAT=${FLOAT_MODEL:-build/models/fmnist-float.nhf}
DATA=${FMNIST_DIR:-/usr/share/datasets/fashion-mnist}
TOLERANCE_IMAGES=5
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# shellcheck source=scripts/tests.d/lib/ktap.sh
. scripts/tests.d/lib/ktap.sh
ktap_begin
for f in "$BIN" "$QUANT" "$RUN"; do
	if [ ! -x "$f" ]; then
		result 1 "binary $f exists" "build it with make tools"
		finish
	fi
done

# shellcheck source=scripts/tests.d/lib/cli.sh
. scripts/tests.d/lib/cli.sh

# usage_error NAME ARGS...: finetune ARGS is a usage error
usage_error() {
	local name=$1
	shift
	expect_usage_error 'nhot-train finetune: ' "$name" finetune "$@"
}

# failure NAME ARGS...: exit 1 with a reason on stderr, no output file
failure() {
	local name=$1; shift
	rm -f "$TMP/fail.nhf"
	run finetune "$@"
	if [ "$rc" = 1 ] && [ -s "$TMP/err" ] && [ ! -e "$TMP/fail.nhf" ]; then
		result 0 "fails cleanly: $name"
	else
		result 1 "fails cleanly: $name" "rc=$rc: $(head -c 200 "$TMP/err")"
	fi
}

run finetune --help
[ "$rc" = 0 ] && grep -q 'nhot-train finetune' "$TMP/out"
result $? "finetune --help prints its usage"

M=(-m "$FLOAT" -o "$TMP/x.nhf" --data "$DATA")
usage_error "no model" -o "$TMP/x.nhf"
usage_error "no output" -m "$FLOAT"
usage_error "unknown stages" "${M[@]}" --stages nhot,uniform
usage_error "epochs for two stages, one stage" "${M[@]}" --stages nhot --epochs 1,1
usage_error "one epoch value for two stages" "${M[@]}" --stages uniform,nhot --epochs 1
usage_error "epochs 0" "${M[@]}" --epochs 0,1
usage_error "epochs not a number" "${M[@]}" --epochs 1,x
usage_error "n 5" "${M[@]}" -n 5
usage_error "b 9" "${M[@]}" -b 9
usage_error "lr nan" "${M[@]}" --lr nan
usage_error "unknown option" "${M[@]}" --frob
usage_error "option without value" "${M[@]}" --seed
usage_error "stray argument" "${M[@]}" extra
usage_error "test-limit 0" "${M[@]}" --test-limit 0

failure "missing model" -m "$TMP/none.nhf" -o "$TMP/fail.nhf" --data "$DATA"
printf 'NHOTFNET garbage' >"$TMP/bad.nhf"
failure "corrupt model" -m "$TMP/bad.nhf" -o "$TMP/fail.nhf" --data "$DATA"
failure "missing data" -m "$FLOAT" -o "$TMP/fail.nhf" --data "$TMP/nodata"

# The float model of make float-model, else a quick one trained here.
if [ ! -e "$FLOAT" ]; then
	echo "# $FLOAT is missing (make float-model): training a one-epoch model on 3000 images"
	FLOAT=$TMP/float.nhf
	"$BIN" train --data "$DATA" --epochs 1 --limit 3000 -o "$FLOAT" >/dev/null 2>"$TMP/train.err"
	result $? "a float model to fine-tune" "$(tail -c 200 "$TMP/train.err")"
	[ -e "$FLOAT" ] || finish
fi

# shellcheck disable=SC2054 # the commas belong to --stages and --epochs
SHORT=(-m "$FLOAT" --data "$DATA" --stages uniform,nhot --epochs 1,1 -n 2 -b 8 --limit 1000
       --test-limit 1000)
"$BIN" finetune "${SHORT[@]}" -o "$TMP/a.nhf" >"$TMP/a.out" 2>"$TMP/a.err"
rc_a=$?
"$BIN" finetune "${SHORT[@]}" -o "$TMP/b.nhf" >/dev/null 2>&1
rc_b=$?
[ "$rc_a" = 0 ] && [ "$rc_b" = 0 ] && cmp -s "$TMP/a.nhf" "$TMP/b.nhf"
result $? "two-stage fine-tuning: the same seed gives the same bytes" "$(tail -c 300 "$TMP/a.err")"
[ "$rc_a" = 0 ] && ! cmp -s "$TMP/a.nhf" "$FLOAT"
result $? "fine-tuning changes the model"
grep -q '^stage 1/2: uniform, weights on S(4, 8)' "$TMP/a.err" &&
	grep -q '^stage 2/2: nhot, weights on S(2, 8)' "$TMP/a.err"
result $? "two stages: uniform 8-bit, then n-hot"
"$BIN" finetune -m "$FLOAT" --data "$DATA" --stages nhot -n 2 -b 8 --limit 1000 --test-limit 100 \
	--seed 2 -o "$TMP/c.nhf" >/dev/null 2>&1 && ! cmp -s "$TMP/a.nhf" "$TMP/c.nhf"
result $? "another seed and schedule give other bytes"

# The fake-quantized accuracy against the integer model's, image for image counted.
fq=$(sed -n 's/^fake-quantized test accuracy: [0-9.]*% (\([0-9]*\)\/1000).*/\1/p' "$TMP/a.out")
int=
if "$QUANT" quantize -i "$TMP/a.nhf" -o "$TMP/a.nhq" --scheme nhot -n 2 -b 8 --data "$DATA" \
	--quiet 2>"$TMP/q.err" &&
   "$RUN" -m "$TMP/a.nhq" --data "$DATA" --limit 1000 --device cpu --json --quiet \
	>"$TMP/run.json" 2>"$TMP/run.err"; then
	int=$(sed -n 's/.*"accuracy":\([0-9.]*\).*/\1/p' "$TMP/run.json" |
	      awk '{ printf "%d", $1 * 1000 + 0.5 }')
fi
if [ -n "$fq" ] && [ -n "$int" ]; then
	d=$((fq > int ? fq - int : int - fq))
	[ "$d" -le "$TOLERANCE_IMAGES" ]
	result $? "fake-quantized accuracy equals the integer model's within $TOLERANCE_IMAGES of 1000 images" \
		"fine-tuning $fq/1000, nhot-run $int/1000"
	echo "# fine-tuning measured $fq/1000, integer inference $int/1000"
else
	result 1 "fake-quantized accuracy equals the integer model's" \
		"no figures: finetune '$fq', nhot-run '$int': $(head -c 200 "$TMP/q.err" "$TMP/run.err")"
fi
finish
