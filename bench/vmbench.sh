#!/bin/bash
# make vmbench: bench/vmbench.c inside QEMU on every installed Debian kernel.
#
# One guest at a time (-smp 2: the machine has two cores, and a benchmark
# next to another guest would measure the other guest). Each guest loads
# nhot.ko and, with the PCI engine among the engines, has one behind
# tools/nhot-emu (vm/run-in-vm.sh --pci); it runs build/bench/vmbench once per
# engine, one after the other, and streams their tables and VMBENCH lines.
# Last, per kernel, the engines' figures side by side.
#
# Environment: VMBENCH_BIN (the static program), VMBENCH_ENGINE (sim, pci or
# both, space-separated; default "sim pci"), VMBENCH_RUNS, VMBENCH_SAMPLES,
# VMBENCH_KERNELS (series or releases, default every installed one),
# VMBENCH_TIMEOUT (s per guest, 240 per engine).
# Exit: 0, or 1 when a guest or the program failed; 2 for a usage error.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
bin=${VMBENCH_BIN:-$top/build/bench/vmbench}
engines=${VMBENCH_ENGINE:-sim pci}

if [ $# -ne 0 ]; then
	echo "usage: $0 (no arguments; see the environment variables in its header)" >&2
	exit 2
fi
if [ ! -x "$bin" ]; then
	echo "vmbench.sh: $bin is missing; run make vmbench" >&2
	exit 2
fi
pci=() n=0
for engine in $engines; do
	case $engine in
	sim) ;;
	pci) pci=(--pci "") ;;
	*)
		echo "vmbench.sh: VMBENCH_ENGINE takes sim and pci, not '$engine'" >&2
		exit 2
		;;
	esac
	n=$((n + 1))
done
if [ "$n" = 0 ]; then
	echo "vmbench.sh: VMBENCH_ENGINE names no engine" >&2
	exit 2
fi
timeout=${VMBENCH_TIMEOUT:-$((240 * n))}

args=()
[ -n "${VMBENCH_RUNS:-}" ] && args+=(--runs "$VMBENCH_RUNS")
[ -n "${VMBENCH_SAMPLES:-}" ] && args+=(--samples "$VMBENCH_SAMPLES")

if [ -n "${VMBENCH_KERNELS:-}" ]; then
	kernels=()
	for k in $VMBENCH_KERNELS; do
		kernels+=("$("$top/vm/kernel-release.sh" "$k")")
	done
else
	mapfile -t kernels < <("$top/vm/kernel-release.sh")
fi

# The guest: every engine in turn; the first failure is its exit status.
guest="rc=0"
for engine in $engines; do
	guest="$guest; ./vmbench --engine $engine ${args[*]} || rc=1"
done
guest="$guest; exit \$rc"

out=$(mktemp "${TMPDIR:-/tmp}/vmbench.XXXXXX")
trap 'rm -f "$out"' EXIT

# metric | engine values, in the order of the engines, from VMBENCH lines.
side_by_side() {
	awk -v engines="$engines" '
	/^VMBENCH / {
		for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
		if (!(f["metric"] in seen)) { seen[f["metric"]] = 1; order[n++] = f["metric"] }
		v[f["metric"], f["engine"]] = f["value"]
	}
	END {
		ne = split(engines, e, " ")
		line = sprintf("%-28s", "metric")
		for (j = 1; j <= ne; j++) line = line sprintf(" %14s", e[j])
		print line
		for (i = 0; i < n; i++) {
			line = sprintf("%-28s", order[i])
			for (j = 1; j <= ne; j++) {
				x = v[order[i], e[j]]
				line = line sprintf(" %14s", x == "" ? "-" : x)
			}
			print line
		}
	}' "$1"
}

failed=0
start=$SECONDS
for rel in "${kernels[@]}"; do
	echo "== vmbench: kernel $rel, engines $engines, -smp 2"
	if ! "$top/vm/run-in-vm.sh" --kernel "$rel" --smp 2 --timeout "$timeout" "${pci[@]}" \
		--file "$bin:/root/vmbench" -- "$guest" | tee "$out"; then
		echo "vmbench.sh: kernel $rel: FAILED" >&2
		failed=1
	fi
	echo "== vmbench: kernel $rel, medians side by side"
	side_by_side "$out"
done
echo "== vmbench: ${#kernels[@]} kernels in $((SECONDS - start)) s"
exit $failed
