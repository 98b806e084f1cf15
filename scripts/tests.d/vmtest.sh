#!/bin/bash
# make test: the kernel selftests in QEMU on every installed Debian kernel,
# and on the debug kernel (KASAN, lockdep, kmemleak, fault injection), which
# is built first when this machine has none (once per machine; its build time
# and why it fits make test: docs/robustness.md). NHOT_DEBUG_KERNEL=0 leaves
# the debug kernel out when it is not built yet.
top=$(cd "$(dirname "$0")/../.." && pwd)
if [ "${NHOT_DEBUG_KERNEL:-1}" != 0 ] && ! "$top/vm/debug-kernel.sh" status; then
	echo "# vmtest: building the debug kernel first (vm/debug-kernel.sh, once per machine)"
	if ! "$top/vm/debug-kernel.sh" kernel >/dev/null; then
		# counted as one failure; the Debian kernels still run
		echo "not ok 1 debug-kernel:build"
		echo "# Totals: pass:0 fail:1 xfail:0 xpass:0 skip:0 error:0"
		"$top/vm/vmtest.sh"
		exit 1
	fi
fi
exec "$top/vm/vmtest.sh"
