#!/bin/bash
# Sums the kselftest "# Totals:" lines of every log in a folder and prints
# "N passed, N failed" last. A log whose suite exited non-zero but reported
# no failure counts one failure, so a crash is never a pass.
set -u
dir=$1
pass=0 fail=0 skip=0
for log in "$dir"/*.log; do
	[ -e "$log" ] || continue
	p=0 f=0 s=0
	while read -r tp tf ts; do
		p=$((p + tp)); f=$((f + tf)); s=$((s + ts))
	done < <(sed -n 's/.*# Totals: pass:\([0-9]*\) fail:\([0-9]*\) xfail:[0-9]* xpass:[0-9]* skip:\([0-9]*\).*/\1 \2 \3/p' "$log")
	rcfile=${log%.log}.rc
	rc=$(cat "$rcfile" 2>/dev/null || echo 1)
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		echo "suite $(basename "$log" .log) exited $rc without reporting a failure: counted as failed"
		f=1
	fi
	pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
done
[ "$skip" = 0 ] || echo "($skip skipped)"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
