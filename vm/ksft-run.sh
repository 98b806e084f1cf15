#!/bin/sh
# Runs kselftest_harness programs inside the test VM, one test at a time.
#
#   sh ksft-run.sh PROG...          (the guest's busybox sh, cwd = the programs)
#   KSFT_ONLY=ERE sh ksft-run.sh PROG...   only the tests whose
#                                   "PROG fixture.variant.test" matches ERE
#
# Each program's tests are listed with -l and each is run alone with
# -r fixture.variant.test, so a crash, hang or kernel splat is pinned on one
# test. After every test the new kernel messages are scanned; any pattern of
# KERNEL_BAD fails the test even if the program passed. Output: one KTAP
# stream with a "# Totals:" line; the exit status is 1 if anything failed.
# A test that kills the module (nhot_load unloads it) is followed by a reload
# with the VM's parameters, so later tests still find their devices.

KSFT_TIMEOUT=${KSFT_TIMEOUT:-120}
KERNEL_BAD='WARNING:|DMA-API|BUG:|BUG |Oops|possible circular locking|possible recursive locking|lockdep|hung task|blocked for more than|kernel BUG|general protection|UBSAN|KASAN|refcount_t|Call Trace'
# Boot banners of a debug kernel that name a checker without a finding.
KERNEL_BENIGN='RCU lockdep checking is enabled|DMA-API: preallocated [0-9]* debug entries|DMA-API: debugging enabled by kernel config'

# The lines of a kernel log file that report a problem.
kernel_bad() {
	grep -E "$KERNEL_BAD" "$1" | grep -vE "$KERNEL_BENIGN"
}

# Prints fixture[.variant].test for every test of a harness program, from its
# -l table ("%-20s %-25s %s" rows: fixture, variant, test, zipped per
# fixture, "----" between fixtures). Names have no spaces; a name longer
# than its column pushes the next one right.
list_tests() {
	"$1" -l 2>&1 >/dev/null | awk '
	function word(s) { match(s, /^[^ ]+/); return substr(s, 1, RLENGTH) }
	function flush(  i, j, v) {
		if (fix == "")
			return
		if (nv == 0)
			vars[nv++] = ""
		for (i = 0; i < nv; i++)
			for (j = 0; j < nt; j++) {
				v = vars[i] == "" ? "" : vars[i] "."
				print fix "." v tests[j]
			}
		fix = ""; nv = 0; nt = 0
	}
	/^# FIXTURE/ { next }
	/^-----/ { flush(); next }
	{
		line = $0
		if (substr(line, 1, 1) != " ") {
			fix = word(line)
			p = (length(fix) > 20 ? length(fix) : 20) + 2
		} else {
			p = 22
		}
		if (substr(line, p, 1) != " " && p <= length(line)) {
			v = word(substr(line, p))
			vars[nv++] = v
			p += (length(v) > 25 ? length(v) : 25) + 1
		} else {
			p += 26
		}
		t = word(substr(line, p))
		if (t != "")
			tests[nt++] = t
	}
	END { flush() }'
}

# On a kernel with kmemleak (the debug kernel), each program gets one more
# test: a kmemleak scan after its last test, which fails on any object
# leaked while it ran (reports from before it are cleared first).
KMEMLEAK=/sys/kernel/debug/kmemleak
[ -w $KMEMLEAK ] || KMEMLEAK=

kmemleak_start() {
	[ -n "$KMEMLEAK" ] && echo clear >$KMEMLEAK
}

kmemleak_check() {	# program
	[ -n "$KMEMLEAK" ] || return 0
	n=$((n + 1))
	# Objects younger than 5 s are never reported: let them age.
	sleep 6
	echo scan >$KMEMLEAK
	cat $KMEMLEAK >$tmp/leaks
	if grep -q 'unreferenced object' $tmp/leaks; then
		fail=$((fail + 1))
		echo "not ok $n $1:kmemleak"
		echo "# $(grep -c 'unreferenced object' $tmp/leaks) objects leaked while $1 ran:"
		sed 's/^/#   /' $tmp/leaks | head -60
	else
		pass=$((pass + 1))
		echo "ok $n $1:kmemleak"
	fi
}

# Re-creates the VM's module state if a test left the module unloaded.
ensure_module() {
	[ -n "$NHOT_MODULE" ] || return 0
	[ -e /sys/module/nhot ] && return 0
	echo "# reloading $NHOT_MODULE $NHOT_MODULE_PARAMS"
	# shellcheck disable=SC2086
	insmod "$NHOT_MODULE" $NHOT_MODULE_PARAMS
}

tmp=/tmp/ksft-run.$$
mkdir -p $tmp
: >$tmp/all
for p in "$@"; do
	if [ ! -x "./$p" ]; then
		echo "$p" >>$tmp/missing
		continue
	fi
	list_tests "./$p" | sed "s|^|$p |" >>$tmp/all
done
if [ -n "${KSFT_ONLY:-}" ]; then
	grep -E "$KSFT_ONLY" $tmp/all >$tmp/only
	mv $tmp/only $tmp/all
fi

# Two tests of their own: the kernel log of the boot (vm/init.sh saved it
# before insmod) and the log of the module load.
total=$(($(wc -l <$tmp/all) + 2))
[ -n "$KMEMLEAK" ] && total=$((total + $(cut -d' ' -f1 $tmp/all | uniq | wc -l)))
[ -s $tmp/missing ] && total=$((total + $(wc -l <$tmp/missing)))
echo "TAP version 13"
echo "1..$total"
pass=0 fail=0 skip=0 n=0

if [ -s $tmp/missing ]; then
	while read -r p; do
		n=$((n + 1)); fail=$((fail + 1))
		echo "not ok $n $p"
		echo "# $p: program missing or not executable"
	done <$tmp/missing
fi

# A finding in the boot log happened before nhot.ko was loaded: not the
# module's, and under TCG on a loaded host mostly an RCU stall or a
# clocksource watchdog of a starved vCPU. It is shown and skipped, never
# passed silently; whatever comes from insmod on counts as a failure.
n=$((n + 1))
boot=/tmp/nhot-vm-boot.dmesg
bad=
[ -f $boot ] && bad=$(kernel_bad $boot)
if [ ! -f $boot ]; then
	skip=$((skip + 1))
	echo "ok $n boot:kernel-log # SKIP no boot log saved by vm/init.sh"
elif [ -n "$bad" ]; then
	skip=$((skip + 1))
	echo "ok $n boot:kernel-log # SKIP the kernel's boot log, before nhot.ko was loaded, has findings (not the module's)"
	echo "$bad" | sed 's/^/#   found: /'
	sed 's/^/#   dmesg: /' $boot | tail -60
else
	pass=$((pass + 1))
	echo "ok $n boot:kernel-log"
fi

n=$((n + 1))
dmesg -c >$tmp/dmesg
bad=$(kernel_bad $tmp/dmesg)
if [ -n "$bad" ]; then
	fail=$((fail + 1))
	echo "not ok $n module-load:kernel-log"
	echo "$bad" | sed 's/^/#   found: /'
	sed 's/^/#   dmesg: /' $tmp/dmesg | tail -60
else
	pass=$((pass + 1))
	echo "ok $n module-load:kernel-log"
fi

prev=
while read -r p t; do
	if [ "$p" != "$prev" ]; then
		[ -n "$prev" ] && kmemleak_check "$prev"
		kmemleak_start
		prev=$p
	fi
	n=$((n + 1))
	ensure_module >$tmp/reload 2>&1 || { cat $tmp/reload; echo "# module reload failed"; }
	dmesg -c >/dev/null
	start=$(cut -d' ' -f1 /proc/uptime)
	timeout "$KSFT_TIMEOUT" "./$p" -r "$t" >$tmp/out 2>&1 </dev/null
	rc=$?
	end=$(cut -d' ' -f1 /proc/uptime)
	dmesg -c >$tmp/dmesg
	bad=$(kernel_bad $tmp/dmesg)
	secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')

	why=
	if ! grep -qE "^(not )?ok 1 " $tmp/out; then
		why="did not run (exit $rc)"
		[ $rc = 124 ] && why="timed out after ${KSFT_TIMEOUT}s"
	elif [ $rc != 0 ]; then
		why="exit $rc"
	fi
	[ -n "$bad" ] && why="${why:+$why, }kernel log: $(echo "$bad" | head -1)"

	if [ -n "$why" ]; then
		fail=$((fail + 1))
		echo "not ok $n $p:$t"
		echo "# $p:$t: $why (${secs} s)"
		# The program's own KTAP, minus its Totals (counted here, once).
		grep -v '# Totals:' $tmp/out | sed 's/^/#   /'
		[ -s $tmp/dmesg ] && sed 's/^/#   dmesg: /' $tmp/dmesg | tail -40
	elif grep -qE "^ok 1 .*# SKIP" $tmp/out; then
		skip=$((skip + 1))
		echo "ok $n $p:$t # SKIP $(sed -n 's/^ok 1 .*# SKIP *//p' $tmp/out | head -1)"
	else
		pass=$((pass + 1))
		echo "ok $n $p:$t"
		# Slow tests are worth knowing about.
		awk -v s="$secs" 'BEGIN { exit !(s >= 2) }' && echo "# $p:$t took ${secs} s"
	fi
done <$tmp/all
[ -n "$prev" ] && kmemleak_check "$prev"

echo "# Totals: pass:$pass fail:$fail xfail:0 xpass:0 skip:$skip error:0"
rm -rf $tmp
[ $fail = 0 ]
