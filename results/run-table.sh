#!/bin/bash
# Runs the results table (docs/results.md): the float model, then uniform
# 8-bit, uniform 4-bit, PoT (n = 1) and n-hot n = 2, 3 (b = 8), each
# post-training quantized (ptq) and fine-tuned under fake quantization
# (one-stage; for n-hot also two-stage: uniform 8-bit, then n-hot). Every
# accuracy is over all 10,000 Fashion-MNIST test images through libnhot's
# integer inference (nhot-run --json --device cpu). Writes
# docs/results.{md,json,svg}; progress on stderr. Exit 1 on any failure.
#
# Environment: NHOT_TRAIN, NHOT_QUANT, NHOT_RUN (binaries), FLOAT_MODEL,
# FMNIST_DIR, WORK (scratch folder), EPOCHS (per stage; a one-stage run
# gets as many epochs as both stages of a two-stage run together),
# TRAIN_LIMIT (training images each epoch of fine-tuning uses: the first
# ones of the set; 0 for all 60,000), DOCS.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=build/host/bin
TRAIN=${NHOT_TRAIN:-$BIN/nhot-train}
QUANT=${NHOT_QUANT:-$BIN/nhot-quant}
RUN=${NHOT_RUN:-$BIN/nhot-run}
FLOAT=${FLOAT_MODEL:-build/models/fmnist-float.nhf}
DATA=${FMNIST_DIR:-/usr/share/datasets/fashion-mnist}
WORK=${WORK:-build/results}
EPOCHS=${EPOCHS:-1}
TRAIN_LIMIT=${TRAIN_LIMIT:-20000}
limit_args=()
if [ "$TRAIN_LIMIT" != 0 ]; then
	limit_args=(--limit "$TRAIN_LIMIT")
fi
DOCS=${DOCS:-docs}
SEED=1

for f in "$TRAIN" "$QUANT" "$RUN" "$FLOAT"; do
	[ -e "$f" ] || { echo "run-table: $f is missing (make tools float-model)" >&2; exit 1; }
done
mkdir -p "$WORK"
rows=$WORK/rows.tsv
: >"$rows"
start=$(date +%s)

log() { echo "run-table: $*" >&2; }

# quant_args SCHEME N B: nhot-quant's options for the set
quant_args() {
	case $1 in
	uniform) echo "--scheme uniform -b $3" ;;
	pot) echo "--scheme pot -b $3" ;;
	nhot) echo "--scheme nhot -n $2 -b $3" ;;
	esac
}

# json_num KEY FILE: a number of nhot-run's one-line JSON
json_num() {
	sed -n "s/.*\"$1\":\([-0-9.e]*\).*/\1/p" "$2"
}

# measure SCHEME N B STAGE FLOAT_MODEL FQ_ACC: quantize, run, append a row
measure() {
	local scheme=$1 n=$2 b=$3 stage=$4 model=$5 fq=$6
	local tag=$scheme-n$n-b$b-$stage
	# shellcheck disable=SC2046
	"$QUANT" quantize -i "$model" -o "$WORK/$tag.nhq" $(quant_args "$scheme" "$n" "$b") \
		--data "$DATA" --quiet
	"$RUN" -m "$WORK/$tag.nhq" --data "$DATA" --device cpu --json --quiet >"$WORK/$tag.json"
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$scheme" "$n" "$b" "$stage" \
		"$(json_num accuracy "$WORK/$tag.json")" \
		"$(json_num ops_ratio_vs_uniform8 "$WORK/$tag.json")" \
		"$(json_num ops_ratio_vs_uniform8_zero_skip "$WORK/$tag.json")" \
		"$(json_num weight_bytes "$WORK/$tag.json")" "$fq" \
		"$(json_num size_ratio_vs_uniform8 "$WORK/$tag.json")" >>"$rows"
	log "$tag: accuracy $(json_num accuracy "$WORK/$tag.json") (fine-tuning measured $fq)"
}

# finetune SCHEME N B STAGE: fine-tune the float model, then measure
finetune() {
	local scheme=$1 n=$2 b=$3 stage=$4 tag=$1-n$2-b$3-$4 args fq
	if [ "$stage" = two-stage ]; then
		args="--stages uniform,nhot --epochs $EPOCHS,$EPOCHS"
	else
		args="--stages nhot --epochs $((2 * EPOCHS))"
	fi
	log "$tag: fine-tuning ($args)"
	# shellcheck disable=SC2086
	"$TRAIN" finetune -m "$FLOAT" -o "$WORK/$tag.nhf" --data "$DATA" -n "$n" -b "$b" \
		--seed "$SEED" $args "${limit_args[@]}" >"$WORK/$tag.out" 2>"$WORK/$tag.log"
	fq=$(sed -n 's/^fake-quantized test accuracy: \([0-9.]*\)%.*/\1/p' "$WORK/$tag.out")
	measure "$scheme" "$n" "$b" "$stage" "$WORK/$tag.nhf" \
		"$(awk -v a="$fq" 'BEGIN { printf "%.4f", a / 100 }')"
}

float_acc=$("$TRAIN" eval -m "$FLOAT" --data "$DATA" |
	sed -n 's/^test accuracy: \([0-9.]*\)%.*/\1/p')
[ -n "$float_acc" ] || { log "cannot evaluate $FLOAT"; exit 1; }
log "float: $float_acc%"

# scheme n b: uniform 8 first (the reference of every ratio)
for cfg in "uniform 4 8" "uniform 4 4" "pot 1 8" "nhot 2 8" "nhot 3 8"; do
	# shellcheck disable=SC2086
	set -- $cfg
	measure "$1" "$2" "$3" ptq "$FLOAT" ""
	finetune "$1" "$2" "$3" one-stage
	if [ "$1" = nhot ]; then
		finetune "$1" "$2" "$3" two-stage
	fi
done

awk -F'\t' -v float_acc="$float_acc" -v epochs="$EPOCHS" -v train_limit="$TRAIN_LIMIT" -v secs="$(($(date +%s) - start))" \
	-v md="$DOCS/results.md" -v json="$DOCS/results.json" -v dat="$WORK/plot.dat" \
	-f results/format.awk "$rows"
gnuplot -e "dat='$WORK/plot.dat'; out='$DOCS/results.svg'; float_acc=$float_acc" results/plot.gp
log "wrote $DOCS/results.md, $DOCS/results.json, $DOCS/results.svg in $(($(date +%s) - start)) s"
