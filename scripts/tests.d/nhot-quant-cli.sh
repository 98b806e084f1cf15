#!/bin/bash
# nhot-quant's command line: good and bad invocations of the built binary,
# checked against independent computations (the NAF weight by the carry
# trick in shell arithmetic, nearest-element search in awk) and hand-worked
# cases. Prints kselftest-style "ok N name" lines and a "# Totals:" line;
# exits non-zero when a case fails.
set -u
cd "$(dirname "$0")/../.." || exit 1
BIN=${NHOT_QUANT:-build/host/bin/nhot-quant}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# shellcheck source=scripts/tests.d/lib/ktap.sh
. scripts/tests.d/lib/ktap.sh
ktap_begin
if [ ! -x "$BIN" ]; then
	result 1 "binary $BIN exists" "build it with make nhot-quant"
	finish
fi

# run STDIN ARGS...: sets rc; stdout in $TMP/out, stderr in $TMP/err
run() {
	local input=$1; shift
	printf '%b' "$input" | "$BIN" "$@" >"$TMP/out" 2>"$TMP/err"
	rc=${PIPESTATUS[1]}
}

# NAF weight of q: nonzero digits of the NAF are the set bits of (3|q| ^ |q|) >> 1.
naf_weight() {
	local a=$(( $1 < 0 ? -$1 : $1 )) x w=0
	x=$(( (3 * a ^ a) >> 1 ))
	while [ "$x" -ne 0 ]; do w=$((w + (x & 1))); x=$((x >> 1)); done
	echo "$w"
}

# expected S(n, b), one a line
expected_set() {
	local n=$1 b=$2 q max=$(( (1 << ($2 - 1)) - 1 ))
	for ((q = -max; q <= max; q++)); do
		[ "$(naf_weight "$q")" -le "$n" ] && echo "$q"
	done
}

# --- table ------------------------------------------------------------
for n in 1 2 3 4; do
	for b in 2 3 4 5 6 7 8; do
		run "" table -n "$n" -b "$b"
		expected_set "$n" "$b" >"$TMP/want"
		if [ "$rc" = 0 ] && [ ! -s "$TMP/err" ] && cmp -s "$TMP/want" "$TMP/out"; then
			result 0 "table -n $n -b $b"
		else
			result 1 "table -n $n -b $b" "rc=$rc, $(wc -l <"$TMP/out") lines"
		fi
	done
done
for nb_size in "1 8 15" "2 8 87" "3 8 207" "4 8 255" "2 4 15"; do
	set -- $nb_size
	run "" table -n "$1" -b "$2"
	lines=$(wc -l <"$TMP/out")
	[ "$rc" = 0 ] && [ "$lines" = "$3" ]
	result $? "table: |S($1,$2)| = $3" "got $lines"
done

# --- round: hand-worked cases on S(1, 4) = {-4, -2, -1, 0, 1, 2, 4} -------
round_case() {	# input expected name
	run "$1\n" round -n 1 -b 4
	[ "$rc" = 0 ] && [ "$(cat "$TMP/out")" = "$2" ] && [ ! -s "$TMP/err" ]
	result $? "round S(1,4): $3" "got rc=$rc '$(head -c 40 "$TMP/out")'"
}
round_case "3" 2 "3 is a tie, goes to 2"
round_case "-3" -2 "-3 is a tie, goes to -2"
round_case "3.0000001" 4 "just above the tie"
round_case "2.9999999" 2 "just below the tie"
round_case "0.5" 0 "0.5 is a tie, goes to 0"
round_case "-0.5" 0 "-0.5 is a tie, goes to 0"
round_case "+1.5" 1 "+1.5 is a tie, goes to 1"
round_case "1.50001" 2 "above 1.5"
round_case "-0" 0 "negative zero"
round_case ".5" 0 "leading dot"
round_case "5." 4 "trailing dot"
round_case "1e9" 4 "clamped high"
round_case "-1e999" -4 "clamped low, beyond double range"
round_case "1e-999" 0 "underflows to 0"
round_case "  2.5\t " 2 "surrounding blanks"
round_case "3.5\r" 4 "CRLF line end"
round_case "-2.5E+0" -2 "exponent form"

# round: many numbers on S(2, 8) against a nearest search in awk
awk 'BEGIN { srand(7); for (i = 0; i < 600; i++) printf "%.4f\n", int(rand() * 2400 - 1200) / 8 }' \
	>"$TMP/numbers"
expected_set 2 8 >"$TMP/set"
# every element, and the points halfway to the neighbours on both sides (ties)
awk '{ print $1; printf "%.1f\n%.1f\n", $1 + 0.5, $1 - 0.5 }' "$TMP/set" >>"$TMP/numbers"
awk 'NR > 1 { printf "%.1f\n", (prev + $1) / 2 } { prev = $1 }' "$TMP/set" >>"$TMP/numbers"
awk 'NR == FNR { s[n++] = $1; next }
     { best = s[0]; bd = ($1 - s[0]) < 0 ? s[0] - $1 : $1 - s[0]
       for (i = 1; i < n; i++) {
         d = $1 - s[i]; if (d < 0) d = -d
         a = s[i] < 0 ? -s[i] : s[i]; ab = best < 0 ? -best : best
         if (d < bd || (d == bd && a < ab)) { bd = d; best = s[i] }
       }
       print best }' "$TMP/set" "$TMP/numbers" >"$TMP/want"
"$BIN" round -n 2 -b 8 <"$TMP/numbers" >"$TMP/out" 2>"$TMP/err"
rc=$?
[ "$rc" = 0 ] && cmp -s "$TMP/want" "$TMP/out"
result $? "round S(2,8): $(wc -l <"$TMP/numbers") numbers match a nearest search" \
	"rc=$rc, first difference: $(diff "$TMP/want" "$TMP/out" | sed -n 2p)"

run "" round -n 2 -b 8
[ "$rc" = 0 ] && [ ! -s "$TMP/out" ] && [ ! -s "$TMP/err" ]
result $? "round: empty input, empty output"

# --- help ---------------------------------------------------------------
for args in "--help" "-h" "table --help" "round --help" "round -n 1 -b 2 --help"; do
	run "" $args
	[ "$rc" = 0 ] && grep -q '^usage: nhot-quant' "$TMP/out" && [ ! -s "$TMP/err" ]
	result $? "help: nhot-quant $args"
done

# --- usage errors: exit 2, one line on stderr -----------------------------
usage_error() {	# name stdin args...
	local name=$1 input=$2; shift 2
	run "$input" "$@"
	[ "$rc" = 2 ] && [ "$(wc -l <"$TMP/err")" = 1 ] && grep -q '^nhot-quant' "$TMP/err"
	result $? "usage error: $name" "rc=$rc, stderr: $(head -c 120 "$TMP/err")"
}
usage_error "no command" ""
usage_error "unknown command" "" frobnicate
usage_error "option instead of command" "" -n 2
usage_error "table without -n" "" table -b 8
usage_error "table without -b" "" table -n 2
usage_error "table without options" "" table
usage_error "-n garbage" "" table -n two -b 8
usage_error "-n empty" "" table -n "" -b 8
usage_error "-n trailing garbage" "" table -n 2x -b 8
usage_error "-n 0" "" table -n 0 -b 8
usage_error "-n 5" "" table -n 5 -b 8
usage_error "-n negative" "" table -n -1 -b 8
usage_error "-n huge" "" table -n 99999999999999999999 -b 8
usage_error "-b 1" "" table -n 2 -b 1
usage_error "-b 9" "" table -n 2 -b 9
usage_error "-b fraction" "" table -n 2 -b 3.5
usage_error "-b without value" "" table -n 2 -b
usage_error "unknown short option" "" table -n 2 -b 8 -x
usage_error "unknown long option" "" table -n 2 -b 8 --bits=8
usage_error "extra argument" "" table -n 2 -b 8 extra
usage_error "round without -b" "1\n" round -n 2
for bad in "abc" "1.2.3" "nan" "inf" "-inf" "0x10" "1e" "e5" "--1" "1 2" "." "+" ""; do
	usage_error "round input '$bad'" "$bad\n" round -n 2 -b 8
done
usage_error "round input with a NUL byte" "1\0002\n" round -n 2 -b 8
# earlier lines are answered before the bad one stops the run
run "1\n5\nbad\n7\n" round -n 1 -b 8
[ "$rc" = 2 ] && [ "$(cat "$TMP/out" | tr '\n' ' ')" = "1 4 " ] && grep -q 'line 3' "$TMP/err"
result $? "round stops at the first bad line (line 3) after answering the others"

# --- failures that are not usage errors: exit 1, one line on stderr ------
if [ -w /dev/full ]; then
	"$BIN" table -n 2 -b 8 >/dev/full 2>"$TMP/err"
	rc=$?
	[ "$rc" = 1 ] && [ "$(wc -l <"$TMP/err")" = 1 ]
	result $? "table: write error exits 1" "rc=$rc"
	echo 5 | "$BIN" round -n 2 -b 8 >/dev/full 2>"$TMP/err"
	rc=$?
	[ "$rc" = 1 ] && [ "$(wc -l <"$TMP/err")" = 1 ]
	result $? "round: write error exits 1" "rc=$rc"
fi

# --- the manual page renders without warnings ------------------------------
if groff -man -ww -z tools/nhot-quant/nhot-quant.1 2>"$TMP/err" && [ ! -s "$TMP/err" ]; then
	result 0 "nhot-quant.1 renders without warnings"
else
	result 1 "nhot-quant.1 renders without warnings" "$(head -c 200 "$TMP/err")"
fi

finish
