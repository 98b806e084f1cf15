#!/bin/bash
# make vmbench: bench/vmbench.c inside QEMU on every installed Debian kernel.
#
# One guest at a time (-smp 2: the machine has two cores, and a benchmark
# next to another guest would measure the other guest). Each guest loads
# nhot.ko, runs build/bench/vmbench and streams its table and VMBENCH lines.
#
# Environment: VMBENCH_BIN (the static program), VMBENCH_ENGINE (sim|pci,
# default sim), VMBENCH_RUNS, VMBENCH_SAMPLES, VMBENCH_KERNELS (series or
# releases, default every installed one), VMBENCH_TIMEOUT (s per guest, 240).
# Exit: 0, or 1 when a guest or the program failed; 2 for a usage error.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
bin=${VMBENCH_BIN:-$top/build/bench/vmbench}
engine=${VMBENCH_ENGINE:-sim}
timeout=${VMBENCH_TIMEOUT:-240}

if [ $# -ne 0 ]; then
	echo "usage: $0 (no arguments; see the environment variables in its header)" >&2
	exit 2
fi
if [ ! -x "$bin" ]; then
	echo "vmbench.sh: $bin is missing; run make vmbench" >&2
	exit 2
fi
case $engine in
sim | pci) ;;
*)
	echo "vmbench.sh: VMBENCH_ENGINE must be sim or pci, not '$engine'" >&2
	exit 2
	;;
esac

args=(--engine "$engine")
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

failed=0
start=$SECONDS
for rel in "${kernels[@]}"; do
	echo "== vmbench: kernel $rel, engine $engine, -smp 2"
	if ! "$top/vm/run-in-vm.sh" --kernel "$rel" --smp 2 --timeout "$timeout" \
		--file "$bin:/root/vmbench" -- "./vmbench ${args[*]}"; then
		echo "vmbench.sh: kernel $rel: FAILED" >&2
		failed=1
	fi
done
echo "== vmbench: ${#kernels[@]} kernels in $((SECONDS - start)) s"
exit $failed
