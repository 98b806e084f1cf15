#!/bin/bash
# make vmtest: the kselftests of selftests/drivers/nhot on every installed
# Debian kernel, each in its own QEMU guest with nhot.ko (sim_devices=2) and
# a PCI engine (tools/nhot-emu behind ivshmem-doorbell, vm/run-in-vm.sh
# --pci): every test with a sim and a pci variant runs on both engines.
# Then, per kernel, the PCI scenarios that need a special emulator, each in a
# guest of its own (selftests/drivers/nhot/nhot_pci.c): "faults" (an error
# status, a stall, a device-level fatal error, the emulator dying mid-job),
# "bad-signature",
# "one-vector" (QEMU wires one MSI-X vector) and "swiotlb" (a guest booted
# with swiotlb=force: every DMA transfer bounced, as in SEV/TDX guests).
#
# Both kernels boot at once (most of a run is waiting on the engine's
# timeouts and TCG; one guest rarely keeps both cores busy). Each guest's
# KTAP goes to a log and is printed when the guest ends,
# with its "# Totals:" line; a guest that died without one gets a Totals line
# here that counts its finished tests plus one failure. The last line is
# "N passed, N failed"; the exit status is non-zero on any failure.
#
# Environment: VMTEST_KERNELS (releases, series or "debug"; default: every
# installed Debian kernel, plus debug when built), VMTEST_PCI=0 for no PCI
# engine and no scenarios,
# VMTEST_TIMEOUT (seconds per guest, default 900; the debug guest gets
# VMTEST_DEBUG_FACTOR (4) times that), VMTEST_PARALLEL=0 to boot
# one guest at a time, KSFT_TIMEOUT (seconds per test, default 120).
set -uo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP" || exit 1

# A private folder per run: several runs in one tree (make test by
# several people) must not write into each other's logs. The logs of the
# last run are copied to build/vmtest/RELEASE.{log,console} at the end.
mkdir -p build/vmtest
out=$(mktemp -d build/vmtest/run.XXXXXX) || exit 1
trap 'rm -rf "$out"' EXIT
timeout=${VMTEST_TIMEOUT:-900}
params="sim_devices=2"

# Others may rebuild build/selftests while this runs (one shared tree): the
# programs are copied into the private folder, and a copy that is not a
# whole program (it must list its tests on the host: they are static) is
# rebuilt and copied again.
bin=$out/bin
mkdir -p "$bin"
for try in 1 2 3; do
	make -s selftests || { echo "vmtest: building the selftests failed"; echo "0 passed, 1 failed"; exit 1; }
	ok=1
	for b in build/selftests/nhot_*; do
		cp "$b" "$bin/" || ok=
		"$bin/${b##*/}" -l >/dev/null 2>&1
		[ $? = 4 ] || ok=	# KSFT_SKIP: -l lists and exits
	done
	[ -n "$ok" ] && break
	echo "vmtest: a selftest program changed while being copied; again ($try)" >&2
	sleep 3
done
[ -n "$ok" ] || { echo "vmtest: no stable selftest programs"; echo "0 passed, 1 failed"; exit 1; }
pci=${VMTEST_PCI:-1}
if [ "$pci" != 0 ]; then
	make -s nhot-emu || { echo "vmtest: building nhot-emu failed"; echo "0 passed, 1 failed"; exit 1; }
	# A private copy, like the programs: others may rebuild it meanwhile.
	cp build/host/bin/nhot-emu "$bin/nhot-emu" || { echo "0 passed, 1 failed"; exit 1; }
	export NHOT_EMU=$bin/nhot-emu
fi
# The PCI scenarios: name;nhot-emu options;the tests (KSFT_ONLY of
# ksft-run.sh);kernel arguments;programs (default nhot_pci);an ERE the
# emulator's last "reset" line must match once the guest is gone (its
# log needs --verbose).
scenarios=(
	"faults;--inject-error 2 --stall 4 --fatal 7 --die 10;^nhot_pci fault\\."
	"bad-signature;--bad-signature;^nhot_pci global\\.bad_signature_refused$"
	"one-vector;--vectors 1;^nhot_pci pci\\."
	"shutdown;--verbose --stall 1;^nhot_pci global\\.shutdown_with_job_on_device$;;;: idle$"
	"swiotlb;;^nhot_pci (pci\\.|global\\.swiotlb)|^nhot_(jobs|layers) [a-z_]+\\.pci\\.;swiotlb=force;nhot_pci nhot_jobs nhot_layers"
)
[ "$pci" != 0 ] && [ -x "$bin/nhot_pci" ] || scenarios=()

# The module comes from driver/rules.mk (make modules-all) once it exists.
if grep -qs '^modules-all' driver/rules.mk; then
	make -s modules-all || { echo "vmtest: make modules-all failed"; echo "0 passed, 1 failed"; exit 1; }
fi

# nhot_load unloads and reloads the module: it runs last.
progs=() files=()
for b in "$bin"/nhot_*; do
	[ -x "$b" ] || continue
	n=${b##*/}
	[ "$n" = nhot_load ] && continue
	progs+=("$n")
done
[ -x "$bin/nhot_load" ] && progs+=(nhot_load)
for n in "${progs[@]}"; do files+=(--file "$bin/$n"); done
if [ ${#progs[@]} = 0 ]; then
	echo "vmtest: no selftest programs in build/selftests"
	echo "0 passed, 1 failed"
	exit 1
fi

# Every Debian kernel, and the debug kernel (KASAN, lockdep; see
# vm/debug-kernel.sh) when this machine has built it: `make vmtest-debug`
# builds it once.
kernels=${VMTEST_KERNELS:-$(vm/kernel-release.sh; vm/debug-kernel.sh status && echo debug)}
rels=()
for k in $kernels; do
	if [ "$k" = debug ]; then
		vm/debug-kernel.sh module >/dev/null || { echo "0 passed, 1 failed"; exit 1; }
		rels+=(debug)
		continue
	fi
	r=$(vm/kernel-release.sh "$k") || { echo "0 passed, 1 failed"; exit 1; }
	rels+=("$r")
done

run_one() {	# release
	local rel=$1 log=$out/$1.log
	local ko=build/kmod/$rel/nhot.ko
	# A private copy, checked whole, for the same reason as the programs.
	if ! cp "$ko" "$out/$rel.ko" 2>/dev/null || ! modinfo -F vermagic "$out/$rel.ko" >/dev/null 2>&1; then
		echo "not ok 1 $rel: $ko missing or broken (make modules-all)" >"$log"
		echo 1 >"$out/$rel.rc"
		return
	fi
	local t0=$SECONDS pci_args=() guest_timeout=$timeout
	[ "$pci" != 0 ] && pci_args=(--pci "" --emu-log "$out/$rel.emu")
	# KASAN, lockdep and kmemleak make the debug guest several times slower
	[ "$rel" = debug ] && guest_timeout=$((timeout * ${VMTEST_DEBUG_FACTOR:-4}))
	KSFT_TIMEOUT=${KSFT_TIMEOUT:-120} vm/run-in-vm.sh --kernel "$rel" --smp 2 --mem 1024 \
		--timeout "$guest_timeout" --module "$out/$rel.ko" --module-params "$params" \
		--console "$out/$rel.console" "${pci_args[@]}" "${files[@]}" \
		-- vm/ksft-run.sh "${progs[@]}" >"$log" 2>&1
	echo $? >"$out/$rel.rc"
	echo "# $rel: $((SECONDS - t0)) s" >>"$log"

	# The scenarios, one guest each, after the suite (one guest per kernel
	# at a time keeps the two cores from being shared four ways).
	local sc name opts only kargs sprogs last_reset run p sfiles reset
	for sc in "${scenarios[@]}"; do
		IFS=';' read -r name opts only kargs sprogs last_reset <<<"$sc"
		run=$rel@$name
		t0=$SECONDS
		sfiles=()
		for p in ${sprogs:-nhot_pci}; do sfiles+=(--file "$bin/$p"); done
		vm/run-in-vm.sh --kernel "$rel" --smp 2 --mem 1024 --timeout 300 \
			--module "$out/$rel.ko" --module-params "$params" --append "$kargs" \
			--console "$out/$run.console" --pci "$opts" --emu-log "$out/$run.emu" \
			"${sfiles[@]}" --file vm/ksft-run.sh \
			-- "NHOT_PCI_SCENARIO=$name KSFT_ONLY='$only' sh ksft-run.sh ${sprogs:-nhot_pci}" \
			>"$out/$run.log" 2>&1
		echo $? >"$out/$run.rc"
		if [ -n "$last_reset" ]; then
			reset=$(grep 'nhot-emu: reset ' "$out/$run.emu" 2>/dev/null | tail -1)
			if ! grep -Eq "$last_reset" <<<"$reset"; then
				echo "# $run: the emulator's last reset line '$reset' does not match '$last_reset'" >>"$out/$run.log"
				echo 1 >"$out/$run.rc"
			fi
		fi
		echo "# $run: $((SECONDS - t0)) s" >>"$out/$run.log"
	done
}

for rel in "${rels[@]}"; do
	rm -f "$out/$rel.rc"
	if [ "${VMTEST_PARALLEL:-1}" = 0 ]; then
		run_one "$rel"
	else
		run_one "$rel" &
	fi
done
wait

# Every guest that ran: the suite per kernel, then its scenarios.
runs=()
for rel in "${rels[@]}"; do
	runs+=("$rel")
	for sc in "${scenarios[@]}"; do runs+=("$rel@${sc%%;*}"); done
done

with_pci=
[ "$pci" != 0 ] && with_pci=", and a PCI engine"
pass=0 fail=0 skip=0
for rel in "${runs[@]}"; do
	log=$out/$rel.log rc=$(cat "$out/$rel.rc" 2>/dev/null || echo 1)
	case $rel in
	*@*) echo "# ==== kernel ${rel%@*}, PCI scenario ${rel#*@} (module params: $params)" ;;
	*) echo "# ==== kernel $rel (module params: $params$with_pci)" ;;
	esac
	cat "$log"
	if ! grep -q '^# Totals: ' "$log"; then
		p=$(grep -c '^ok ' "$log") s=$(grep -c '^ok .*# SKIP' "$log")
		f=$(($(grep -c '^not ok ' "$log") + 1))
		echo "# $rel: the guest ended without a summary (exit $rc): counted as one more failure"
		echo "# Totals: pass:$((p - s)) fail:$f xfail:0 xpass:0 skip:$s error:0"
	fi
	t=$(sed -n 's/^# Totals: pass:\([0-9]*\) fail:\([0-9]*\) .* skip:\([0-9]*\) .*/\1 \2 \3/p' "$log" | tail -1)
	[ -n "$t" ] || t="$((p - s)) $f $s"
	set -- $t
	pass=$((pass + $1)) fail=$((fail + $2)) skip=$((skip + $3))
	[ "$rc" = 0 ] || [ "$2" != 0 ] || { echo "# $rel: guest exit $rc"; fail=$((fail + 1)); }
done
for rel in "${runs[@]}"; do
	cp "$out/$rel.log" "build/vmtest/$rel.log" 2>/dev/null
	cp "$out/$rel.console" "build/vmtest/$rel.console" 2>/dev/null
	cp "$out/$rel.emu" "build/vmtest/$rel.emu" 2>/dev/null
done
[ "$skip" = 0 ] || echo "($skip skipped)"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
