# shellcheck shell=bash
# Helpers of the suites that check a command-line tool (sourced after
# lib/ktap.sh): the suite sets BIN, the tool, and TMP, a scratch folder.
# shellcheck disable=SC2154	# BIN and TMP are the suite's

# run ARGS...: runs $BIN; sets rc; stdout in $TMP/out, stderr in $TMP/err
run() {
	"$BIN" "$@" >"$TMP/out" 2>"$TMP/err"
	rc=$?
}

# expect_usage_error PREFIX NAME ARGS...: case "usage: NAME" passes when
# $BIN ARGS exits 2 with exactly one line on stderr, starting with PREFIX,
# and nothing on stdout.
expect_usage_error() {
	local prefix=$1 name=$2 lines
	shift 2
	run "$@"
	lines=$(wc -l <"$TMP/err")
	if [ "$rc" = 2 ] && [ "$lines" = 1 ] && [ ! -s "$TMP/out" ] &&
	   grep -q "^$prefix" "$TMP/err"; then
		result 0 "usage: $name"
	else
		result 1 "usage: $name" "rc=$rc, $lines stderr lines: $(head -c 200 "$TMP/err")"
	fi
}
