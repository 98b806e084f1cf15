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

# expect_msg STATUS DESCRIPTION PATTERN COMMAND...: expect, and the one
# stderr line matches the extended regular expression PATTERN.
expect_msg() {
	local want=$1 what=$2 pattern=$3 err rc
	shift 3
	err=$("$@" 2>&1 >/dev/null)
	rc=$?
	if [ "$rc" = "$want" ] && [ "$(printf '%s' "$err" | grep -c '')" = 1 ] &&
	   grep -Eq -- "$pattern" <<<"$err"; then
		ok "$what (exit $rc: $err)"
	else
		not_ok "$what: exit $rc (want $want, /$pattern/), stderr: $err"
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

# --- issue #14 item 14: -o names a regular file, never the input --------------
OUT=$WORK/out-checks
rm -rf "$OUT"; mkdir -p "$OUT"
printf 'not a model\n' >"$OUT/in.nhf"
cp "$OUT/in.nhf" "$OUT/in.copy"
# /dev/full's device (char 1:7) as a private node: a regression replaces it, not /dev/full.
if mknod "$OUT/full" c 1 7 2>/dev/null; then
	expect_msg 1 "quantize -o a device (/dev/full's) refused" "full: is a character device" \
		$Q quantize -i "$OUT/in.nhf" -o "$OUT/full" --scheme pot
	[ -c "$OUT/full" ] && ok "the device node is still a character device" ||
		not_ok "the device node was replaced: $(ls -l "$OUT/full")"
	expect_msg 1 "nhot-train train -o a device refused before training" \
		"cannot write .*full: is a character device" \
		build/host/bin/nhot-train train --data "$OUT" -o "$OUT/full"
	expect_msg 1 "nhot-train finetune -o a device refused before loading" \
		"cannot write .*full: is a character device" \
		build/host/bin/nhot-train finetune -m "$OUT/in.nhf" -o "$OUT/full"
	[ -c "$OUT/full" ] || not_ok "nhot-train replaced the device node"
else
	skip_case "cannot make a device node (not root): -o DEVICE cases"
fi
mkfifo "$OUT/fifo"
expect_msg 1 "quantize -o FIFO refused" "is a FIFO" \
	$Q quantize -i "$OUT/in.nhf" -o "$OUT/fifo" --scheme pot
[ -p "$OUT/fifo" ] && ok "the FIFO is still a FIFO" || not_ok "the FIFO was replaced"
expect_msg 1 "quantize -o DIRECTORY refused" "is a directory" \
	$Q quantize -i "$OUT/in.nhf" -o "$OUT" --scheme pot
expect_msg 2 "quantize -i X -o X refused as a usage error" "name the same file" \
	$Q quantize -i "$OUT/in.nhf" -o "$OUT/in.nhf" --scheme pot
ln "$OUT/in.nhf" "$OUT/hardlink.nhf"
ln -s in.nhf "$OUT/symlink.nhf"
expect_msg 2 "quantize -o a hard link to the input refused" "name the same file" \
	$Q quantize -i "$OUT/in.nhf" -o "$OUT/hardlink.nhf" --scheme pot
expect_msg 2 "quantize -o a symbolic link to the input refused" "name the same file" \
	$Q quantize -i "$OUT/in.nhf" -o "$OUT/symlink.nhf" --scheme pot
cmp -s "$OUT/in.nhf" "$OUT/in.copy" && ok "the input is intact" || not_ok "the input changed"

# --- the .nhf loader says what is wrong (item 17) -----------------------------
expect_msg 1 "quantize -i a file that is no model: 'bad magic'" "in.nhf: .*bad magic" \
	$Q quantize -i "$OUT/in.nhf" -o "$OUT/x.nhq" --scheme pot
head -c 200 /dev/zero >"$OUT/zero.nhf"
expect_msg 1 "quantize -i zeros: 'bad magic'" "zero.nhf: not a float model \(bad magic" \
	$Q quantize -i "$OUT/zero.nhf" -o "$OUT/x.nhq" --scheme pot
printf 'NHOTFNET' >"$OUT/short.nhf"
expect_msg 1 "quantize -i an 8-byte file: 'truncated'" "short.nhf: truncated \(8 bytes\)" \
	$Q quantize -i "$OUT/short.nhf" -o "$OUT/x.nhq" --scheme pot
expect_msg 1 "nhot-train eval -m a file that is no model: 'bad magic'" "in.nhf: .*bad magic" \
	build/host/bin/nhot-train eval --data "$OUT" -m "$OUT/in.nhf"

# --- item 15: a FIFO as the model is refused at once, not waited on -----------
expect_msg 1 "nhot-run -m FIFO refused at once (20 s guard)" "fifo: not a regular file" \
	timeout 20 $R -m "$OUT/fifo"
expect_msg 1 "quantize -i FIFO refused at once (20 s guard)" "fifo: not a regular file" \
	timeout 20 $Q quantize -i "$OUT/fifo" -o "$OUT/x.nhq" --scheme pot

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

# A symbolic link planted at OUT.tmp (where the old writer wrote) changes nothing.
printf 'precious\n' >"$OUT/victim"
ln -s "$OUT/victim" "$OUT/planted.nhq.tmp"
expect 0 "quantize with a planted OUT.tmp symlink" $Q quantize -i "$float" \
	-o "$OUT/planted.nhq" --scheme pot -b 6 --calib 10 --quiet
[ "$(cat "$OUT/victim")" = precious ] && [ -L "$OUT/planted.nhq.tmp" ] &&
	[ -f "$OUT/planted.nhq" ] && [ ! -L "$OUT/planted.nhq" ] && [ -s "$OUT/planted.nhq" ] &&
	ok "the planted link's target is untouched, the model written" ||
	not_ok "planted link: victim '$(cat "$OUT/victim")', $(ls -l "$OUT" | tr '\n' ' ')"
# A full file system: exit 1 naming ENOSPC, the old file intact (needs root to mount).
mkdir -p "$OUT/mnt"
if mount -t tmpfs -o size=16k nhot-test "$OUT/mnt" 2>/dev/null; then
	printf 'old model\n' >"$OUT/mnt/m.nhq"
	expect_msg 1 "quantize onto a full file system" "m.nhq: write failed: No space left" \
		$Q quantize -i "$float" -o "$OUT/mnt/m.nhq" --scheme pot -b 6 --calib 10 --quiet
	[ "$(cat "$OUT/mnt/m.nhq")" = "old model" ] && [ "$(ls -A "$OUT/mnt" | wc -l)" = 1 ] &&
		ok "full file system: the old file intact, no temporary file left" ||
		not_ok "full file system: $(ls -lA "$OUT/mnt" | tr '\n' ' ')"
	umount "$OUT/mnt"
else
	skip_case "cannot mount a 16 KiB tmpfs (not root): full file system cases"
fi
# --- item 17: a device that fails to open is named, with how it was chosen ----
run_args=(-m "$WORK/cli-pot6.nhq" --data "$DATA" --limit 5 --quiet)
expect_msg 1 "nhot-run: NHOT_DEVICE that does not exist is named" \
	"cannot open $OUT/no-dev \(from NHOT_DEVICE\): ENOENT: No such file or directory; is the nhot module loaded" \
	env NHOT_DEVICE="$OUT/no-dev" $R "${run_args[@]}"
expect_msg 1 "nhot-run: --device that does not exist is named" \
	"cannot open $OUT/no-dev: ENOENT" $R "${run_args[@]}" --device "$OUT/no-dev"
# A user outside group nhot: a root-only node (/dev/null's device), opened as nobody.
if mknod -m 0600 "$OUT/nhot-root-only" c 1 3 2>/dev/null && chmod 0755 "$OUT" &&
   setpriv --reuid=nobody --regid=nogroup --clear-groups true 2>/dev/null; then
	expect_msg 1 "nhot-run: permission denied says group nhot" \
		"cannot open $OUT/nhot-root-only \(from NHOT_DEVICE\): EACCES: Permission denied; the device belongs to group 'nhot': add yourself" \
		setpriv --reuid=nobody --regid=nogroup --clear-groups \
		env NHOT_DEVICE="$OUT/nhot-root-only" $R "${run_args[@]}"
else
	skip_case "cannot make a device node or run as nobody (not root): EACCES case"
fi

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
