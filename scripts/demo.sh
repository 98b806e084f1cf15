#!/bin/bash
# make demo: the whole story on one machine, in a few minutes.
#
#   set-up -> build (tools, static nhot-run, nhot.ko for the VM kernel)
#   -> float model (trained once: build/models/fmnist-float.nhf, reused)
#   -> quantize: n-hot n=2 b=8, and uniform 8-bit for comparison
#   -> nhot-run --verify on /dev/nhot0 inside a QEMU VM (nhot.ko loaded)
#      over DEMO_VM_IMAGES test images (TCG is slow)
#   -> nhot-run on the host's CPU fallback over all 10,000 test images
#   -> a short summary; the LAST lines are the nhot-run --json objects, one a line.
#
# Environment: DEMO_KERNEL (6.12), DEMO_VM_IMAGES (500), DEMO_CALIB (1000),
# FMNIST_DIR (/usr/share/datasets/fashion-mnist), DEMO_FLOAT (a float model
# to use instead of make float-model's).
set -euo pipefail
cd "$(dirname "$0")/.."
TOP=$PWD

KERNEL=${DEMO_KERNEL:-6.12}
VM_IMAGES=${DEMO_VM_IMAGES:-500}
CALIB=${DEMO_CALIB:-1000}
DATA=${FMNIST_DIR:-/usr/share/datasets/fashion-mnist}
MODELS=$TOP/build/models
WORK=$TOP/build/demo
FLOAT=${DEMO_FLOAT:-$MODELS/fmnist-float.nhf}
NHOT=$MODELS/fmnist-n2b8.nhq
U8=$MODELS/fmnist-u8.nhq
QUANT=${NHOT_QUANT:-$TOP/build/host/bin/nhot-quant}
RUN=$TOP/build/host/bin/nhot-run
RUN_STATIC=$TOP/build/static/bin/nhot-run

step() { printf '\n== %s\n' "$*"; }
die() { echo "demo: $*" >&2; exit 1; }
# jget KEY JSON: the value of a top-level key of a one-line nhot-run object.
jget() { sed -n "s/.*\"$1\":\"\{0,1\}\([^,\"}]*\).*/\1/p" <<<"$2"; }
pct() { awk -v a="$1" 'BEGIN { printf "%.2f%%", 100 * a }'; }

start=$(date +%s)

step "set-up (Debian packages)"
scripts/setup.sh

step "build: libnhot, tools, static nhot-run, nhot.ko for the $KERNEL kernel"
rel=$(vm/kernel-release.sh "$KERNEL")
make -s -j2 tools "$TOP/build/kmod/$rel/nhot.ko"
[ -x "$QUANT" ] || die "$QUANT is missing (nhot-quant not built)"

step "float model: $FLOAT"
if [ -n "${DEMO_FLOAT:-}" ]; then
	[ -f "$FLOAT" ] || die "DEMO_FLOAT: no such file $FLOAT"
else
	[ -f "$FLOAT" ] && echo "reusing $FLOAT unless the trainer changed"
	make -s float-model
fi
float_line=$(build/host/bin/nhot-train eval -m "$FLOAT" --data "$DATA" | tail -1)
echo "$float_line"
float_acc=$(sed -n 's/.*accuracy: \([0-9.]*\)%.*/\1/p' <<<"$float_line")
[ -n "$float_acc" ] || die "no accuracy from nhot-train eval: $float_line"

step "quantize: n-hot S(2, 8) and uniform 8-bit, activations calibrated on $CALIB images"
mkdir -p "$MODELS"
"$QUANT" quantize -i "$FLOAT" -o "$NHOT" --scheme nhot -n 2 -b 8 --calib "$CALIB" --data "$DATA"
"$QUANT" quantize -i "$FLOAT" -o "$U8" --scheme uniform -b 8 --calib "$CALIB" --data "$DATA"

step "device: nhot-run --verify on /dev/nhot0 in a QEMU VM ($rel), $VM_IMAGES images"
rm -rf "$WORK" && mkdir -p "$WORK/data"
cp "$DATA"/t10k-images-idx3-ubyte.gz "$DATA"/t10k-labels-idx1-ubyte.gz "$WORK/data/"
# Jobs of a whole batch run under TCG: give the engine's watchdog room.
if ! vm/run-in-vm.sh --kernel "$KERNEL" --module-params "timeout_ms=60000" --timeout 1200 \
	--file "$RUN_STATIC" --file "$NHOT" --file "$WORK/data:/root/data" -- \
	"./nhot-run -m $(basename "$NHOT") --data data --limit $VM_IMAGES --batch 50 --verify --json" \
	| tee "$WORK/vm.log"; then
	die "the VM run failed (its output: $WORK/vm.log)"
fi
vm_json=$(grep '^{' "$WORK/vm.log" | tail -1 || true)
[ -n "$vm_json" ] || die "the VM run printed no result (see $WORK/vm.log)"

step "host: CPU fallback over the whole test set"
host_json=$("$RUN" -m "$NHOT" --data "$DATA" --device cpu --verify --json)
u8_json=$("$RUN" -m "$U8" --data "$DATA" --device cpu --json)

u8_ops=$(jget ops_per_image "$u8_json")
nh_ops=$(jget ops_per_image "$host_json")
cat <<SUMMARY

================= nhot demo: Fashion-MNIST, $(($(date +%s) - start)) s =================
accuracy (10,000 test images)
  float32                 ${float_acc}%
  uniform 8-bit           $(pct "$(jget accuracy "$u8_json")")   (CPU fallback)
  n-hot n=2, b=8          $(pct "$(jget accuracy "$host_json")")   (CPU fallback)
  n-hot on $(jget device "$vm_json")     $(pct "$(jget accuracy "$vm_json")")   (first $(jget images "$vm_json") images, nhot.ko in QEMU $rel)
shift-add operations per image (zero weights skipped)
  n-hot n=2, b=8          $nh_ops
  uniform 8-bit           $((8 * $(jget macs_per_image "$host_json"))) at 8 per MAC: n-hot does $(jget ops_ratio_vs_uniform8 "$host_json") of it
  uniform 8-bit, NAF      $(jget uniform8_zero_skip_ops_per_image "$host_json") zero-skipping: n-hot does $(jget ops_ratio_vs_uniform8_zero_skip "$host_json") of it (uniform-8 model measured: $u8_ops)
weights
  n-hot n=2, b=8          $(jget weight_bytes "$host_json") bytes, $(jget size_ratio_vs_uniform8 "$host_json") of 8-bit weights
  uniform 8-bit           $(jget weight_bytes "$u8_json") bytes (rows padded to whole bytes)
bit-exact: device vs reference at every layer: $(jget bit_exact "$vm_json"); CPU fallback vs reference: $(jget bit_exact "$host_json")
engine counters match the model: device $(jget counters_match_model "$vm_json"), host $(jget counters_match_model "$host_json")
SUMMARY
[ "$(jget bit_exact "$vm_json")" = true ] && [ "$(jget bit_exact "$host_json")" = true ] ||
	status=1
echo "$vm_json"
echo "$host_json"
echo "$u8_json"
exit "${status:-0}"
