#!/bin/bash
# nhot-train's command line: usage errors (one line on stderr, exit 2),
# runtime failures (exit 1), and short real training runs on Fashion-MNIST:
# the same seed gives the same model bytes, another seed other bytes, eval's
# fast and reference forward passes agree, a corrupt model is refused.
# Prints kselftest-style "ok N name" lines and a "# Totals:" line; exits
# non-zero when a case fails.
set -u
cd "$(dirname "$0")/../.." || exit 1
BIN=${NHOT_TRAIN:-build/host/bin/nhot-train}
DATA=${FMNIST_DIR:-/usr/share/datasets/fashion-mnist}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# shellcheck source=scripts/tests.d/lib/ktap.sh
. scripts/tests.d/lib/ktap.sh
ktap_begin
if [ ! -x "$BIN" ]; then
	result 1 "binary $BIN exists" "build it with make tools"
	finish
fi

# shellcheck source=scripts/tests.d/lib/cli.sh
. scripts/tests.d/lib/cli.sh

# usage_error NAME ARGS...: ARGS is a usage error
usage_error() { expect_usage_error 'nhot-train: ' "$@"; }

run --help
[ "$rc" = 0 ] && grep -q 'nhot-train train' "$TMP/out"
result $? "--help prints the usage"

usage_error "no command"
usage_error "unknown command" frob
usage_error "unknown option" train --data "$DATA" -o "$TMP/x" --frob
usage_error "option without value" train --data "$DATA" -o
usage_error "epochs 0" train --data "$DATA" -o "$TMP/x" --epochs 0
usage_error "epochs not a number" train --data "$DATA" -o "$TMP/x" --epochs 3x
usage_error "epochs too large" train --data "$DATA" -o "$TMP/x" --epochs 99999999999999999999
usage_error "negative seed" train --data "$DATA" -o "$TMP/x" --seed -1
usage_error "lr nan" train --data "$DATA" -o "$TMP/x" --lr nan
usage_error "lr zero" train --data "$DATA" -o "$TMP/x" --lr 0
usage_error "batch 0" train --data "$DATA" -o "$TMP/x" --batch 0
usage_error "threads 0" train --data "$DATA" -o "$TMP/x" --threads 0
usage_error "train without -o" train --data "$DATA"
usage_error "train without --data" train -o "$TMP/x"
usage_error "eval without -m" eval --data "$DATA"
usage_error "eval with a train option" eval --data "$DATA" -m "$TMP/x" --seed 3
usage_error "train with an eval option" train --data "$DATA" -o "$TMP/x" --reference
usage_error "stray argument" eval --data "$DATA" -m "$TMP/x" extra

run train --data "$TMP/no-such-dir" -o "$TMP/x" --epochs 1
[ "$rc" = 1 ] && grep -q 'cannot open' "$TMP/err" && [ ! -e "$TMP/x" ]
result $? "missing data set: exit 1, no model written"

run eval --data "$DATA" -m "$TMP/no-such-model.nhf"
[ "$rc" = 1 ] && grep -q 'No such file' "$TMP/err"
result $? "missing model: exit 1"

if [ ! -r "$DATA/train-images-idx3-ubyte.gz" ]; then
	skip_case "training runs: no data set in $DATA"
	finish
fi

quick=(--data "$DATA" --epochs 1 --limit 3000 --batch 32)
run train "${quick[@]}" --seed 3 -o "$TMP/a.nhf"
[ "$rc" = 0 ] && grep -q '^epoch 1/1: loss [0-9.]* train-acc' "$TMP/err" && [ -s "$TMP/a.nhf" ] &&
	[ ! -e "$TMP/a.nhf.tmp" ]
result $? "a short training run writes a model and reports progress" "$(tail -c 300 "$TMP/err")"

run train "${quick[@]}" --seed 3 -o "$TMP/b.nhf"
[ "$rc" = 0 ] && cmp -s "$TMP/a.nhf" "$TMP/b.nhf"
result $? "the same seed gives the same bytes"

run train "${quick[@]}" --seed 4 -o "$TMP/c.nhf"
[ "$rc" = 0 ] && ! cmp -s "$TMP/a.nhf" "$TMP/c.nhf"
result $? "another seed gives other bytes"

run eval --data "$DATA" -m "$TMP/a.nhf" --limit 1000
fast=$(cat "$TMP/out")
# 3000 images for one epoch: far above chance (10%), far below a real run.
acc=$(sed -n 's/^test accuracy: \([0-9]*\)\..*(\([0-9]*\)\/1000)$/\1/p' "$TMP/out")
[ "$rc" = 0 ] && [ -n "$acc" ] && [ "$acc" -ge 40 ]
result $? "eval prints the accuracy of the model (well above chance)" "$fast"

run eval --data "$DATA" -m "$TMP/a.nhf" --limit 1000 --reference
[ "$rc" = 0 ] && [ "$(cat "$TMP/out")" = "$fast" ]
result $? "eval --reference (libnhot's forward pass) agrees" "$(cat "$TMP/out") vs $fast"

cp "$TMP/a.nhf" "$TMP/bad.nhf"
printf '\x55' | dd of="$TMP/bad.nhf" bs=1 seek=200 conv=notrunc status=none
run eval --data "$DATA" -m "$TMP/bad.nhf"
[ "$rc" = 1 ] && grep -q 'bad.nhf: checksum mismatch (a damaged file)$' "$TMP/err" &&
	[ ! -s "$TMP/out" ]
result $? "a corrupt model is refused, saying why" "$(cat "$TMP/err")"

head -c 1000 "$TMP/a.nhf" >"$TMP/short.nhf"
run eval --data "$DATA" -m "$TMP/short.nhf"
[ "$rc" = 1 ] && grep -q 'short.nhf: header says [0-9]* bytes, the file has 1000 (truncated' "$TMP/err"
result $? "a truncated model is refused, saying why" "$(cat "$TMP/err")"

run train "${quick[@]}" -o "$TMP/no-such-dir/m.nhf"
[ "$rc" = 1 ] && grep -q 'cannot write' "$TMP/err"
result $? "an unwritable output: exit 1"

finish
