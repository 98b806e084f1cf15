# shellcheck shell=bash
# The kselftest/TAP bookkeeping shared by the scripts/tests.d suites (this
# file is sourced, not run: scripts/test-all.sh runs only the *.sh files
# directly in scripts/tests.d/). A suite calls ktap_begin once, reports each
# case with result (or ok / not_ok / skip_case), and ends with finish (or,
# as its last command, ktap_totals), which prints the plan and the
# "# Totals:" line that scripts/test-summary.sh counts and fails when a
# case failed.

# Starts the output and zeroes the counters (suites may read them).
ktap_begin() {
	pass=0 fail=0 skip=0 num=0
	echo "TAP version 13"
}

# result STATUS NAME [DETAIL]: case NAME passed when STATUS is 0; DETAIL
# goes after a failure's name as a TAP comment.
result() {
	num=$((num + 1))
	if [ "$1" = 0 ]; then
		pass=$((pass + 1)); echo "ok $num $2"
	else
		fail=$((fail + 1)); echo "not ok $num $2${3:+ # $3}"
	fi
}

ok() { result 0 "$1"; }
not_ok() { result 1 "$1"; }

# skip_case REASON: one skipped case.
skip_case() {
	num=$((num + 1)) skip=$((skip + 1))
	echo "ok $num # SKIP $1"
}

# Prints the plan and the totals; true when no case failed. As a suite's
# last command it is the suite's exit status.
ktap_totals() {
	echo "1..$num"
	echo "# Totals: pass:$pass fail:$fail xfail:0 xpass:0 skip:$skip error:0"
	[ "$fail" = 0 ]
}

# ktap_totals, then exits with its status (ends a suite early).
finish() {
	ktap_totals
	exit
}
