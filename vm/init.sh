#!/bin/busybox sh
# /init of the nhot test VM (busybox-static initramfs built by vm/run-in-vm.sh).
#
# Serial ports: ttyS0 is the kernel console (a log file on the host; the
# firmware writes there too), ttyS1 carries the script's output to the host's
# stdout, ttyS2 carries one
# line "nhot-vm-exit=N" with the script's exit status. Keeping them apart
# means kernel messages never interleave with test output.
PATH=/bin:/sbin:/usr/bin:/usr/sbin
export PATH HOME=/root TMPDIR=/tmp

/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t debugfs debugfs /sys/kernel/debug
mount -t tmpfs tmpfs /tmp
mkdir -p /dev/shm /dev/pts
mount -t tmpfs tmpfs /dev/shm
ln -sf /proc/self/fd /dev/fd

out=/dev/ttyS1
# No CR before LF on the way out: the host reads plain lines.
stty -F $out raw -echo 2>/dev/null
exec </dev/null >$out 2>&1

# NHOT_MODULE, NHOT_MODULE_PARAMS, NHOT_SCRIPT_ARGS (written by run-in-vm.sh)
. /etc/nhot-vm.conf
export NHOT_MODULE NHOT_MODULE_PARAMS

# The kernel's own boot log, kept apart from what nhot.ko logs from insmod on
# (vm/ksft-run.sh judges the two separately).
dmesg -c >/tmp/nhot-vm-boot.dmesg 2>/dev/null

rc=1
if [ -n "$NHOT_MODULE" ] && ! insmod "$NHOT_MODULE" $NHOT_MODULE_PARAMS; then
	echo "nhot-vm: insmod $NHOT_MODULE $NHOT_MODULE_PARAMS failed; kernel log:"
	dmesg | tail -20
else
	cd /root && eval "sh /root/.nhot-vm-script $NHOT_SCRIPT_ARGS"
	rc=$?
fi

echo "nhot-vm-exit=$rc" >/dev/ttyS2
sync
# QEMU runs with -no-reboot: a reboot ends it, with or without ACPI (a kernel
# without ACPI only halts on poweroff).
reboot -f
