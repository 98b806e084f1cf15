#!/bin/bash
# Boots a Debian kernel in QEMU with nhot.ko loaded and runs a script there.
#
#   vm/run-in-vm.sh [options] -- SCRIPT [ARG...]
#   vm/run-in-vm.sh [options] -- 'shell command line'
#
# See vm/README.md. The script's output streams to stdout; the exit status is
# the script's, or 1 if the VM failed, panicked or timed out; 2 for a usage
# error.
set -uo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
prog=${0##*/}

usage() {
	cat >&2 <<USAGE
usage: $prog [--kernel 6.1|6.12|RELEASE|debug] [--smp N] [--mem MB] [--timeout SECONDS]
       [--module-params "..."] [--module PATH | --no-module] [--append "KERNEL ARGS"]
       [--console FILE] [--file SRC[:DEST]]... [--pci "EMU OPTIONS" [--emu-log FILE]]
       -- SCRIPT [ARG...]
USAGE
	exit 2
}
bad() { echo "$prog: $*" >&2; exit 2; }
fail() { echo "$prog: $*" >&2; exit 1; }

is_uint() { case $1 in '' | *[!0-9]*) return 1 ;; *) return 0 ;; esac; }

kernel=6.12 smp=2 mem=512 timeout=300 params= module= no_module= append= console=
pci= pci_opts= emu_log=
files=()
while [ $# -gt 0 ]; do
	case $1 in
	--kernel) [ $# -ge 2 ] || usage; kernel=$2; shift 2 ;;
	--smp) [ $# -ge 2 ] || usage; smp=$2; shift 2 ;;
	--mem) [ $# -ge 2 ] || usage; mem=$2; shift 2 ;;
	--timeout) [ $# -ge 2 ] || usage; timeout=$2; shift 2 ;;
	--module-params) [ $# -ge 2 ] || usage; params=$2; shift 2 ;;
	--module) [ $# -ge 2 ] || usage; module=$2; shift 2 ;;
	--no-module) no_module=1; shift ;;
	--append) [ $# -ge 2 ] || usage; append=$2; shift 2 ;;
	--console) [ $# -ge 2 ] || usage; console=$2; shift 2 ;;
	--file) [ $# -ge 2 ] || usage; files+=("$2"); shift 2 ;;
	--pci) [ $# -ge 2 ] || usage; pci=1 pci_opts=$2; shift 2 ;;
	--emu-log) [ $# -ge 2 ] || usage; emu_log=$2; shift 2 ;;
	--) shift; break ;;
	-h | --help) usage ;;
	*) bad "unknown option '$1' (try --help)" ;;
	esac
done
[ $# -ge 1 ] || bad "no SCRIPT after --"
is_uint "$smp" && [ "$smp" -ge 1 ] && [ "$smp" -le 64 ] || bad "--smp wants 1..64, got '$smp'"
is_uint "$mem" && [ "$mem" -ge 128 ] || bad "--mem wants at least 128 (MB), got '$mem'"
is_uint "$timeout" && [ "$timeout" -ge 1 ] || bad "--timeout wants a positive number of seconds, got '$timeout'"
case $params in *[\'\"\`\$\;\&\|\<\>\\]*) bad "--module-params: only name=value words, got '$params'" ;; esac
case $pci_opts in *[\'\"\`\$\;\&\|\<\>\\]*) bad "--pci: only nhot-emu options, got '$pci_opts'" ;; esac
if [ -n "$pci" ]; then
	# nhot-emu reaches guest RAM by file offset: all of it below the PCI hole.
	[ "$mem" -le 2048 ] || bad "--pci wants --mem 2048 or less, got '$mem'"
	NHOT_EMU=${NHOT_EMU:-$TOP/build/host/bin/nhot-emu}
	[ -x "$NHOT_EMU" ] || fail "$NHOT_EMU is missing: run 'make nhot-emu' first"
	# QEMU's vectors= must match what the emulator wires (its --vectors).
	vectors=2
	set -- $pci_opts -- "$@"
	while [ "$1" != -- ]; do
		[ "$1" = --vectors ] && [ "$2" != -- ] && vectors=$2
		shift
	done
	shift
	is_uint "$vectors" && [ "$vectors" -ge 1 ] || bad "--pci: --vectors wants a number, got '$vectors'"
fi

if [ "$kernel" = debug ]; then
	# The KASAN/lockdep kernel of vm/debug-kernel.sh (built on first use).
	rel=debug
	tree=$("$TOP/vm/debug-kernel.sh" kernel) || fail "no debug kernel"
	vmlinuz=$tree/arch/x86/boot/bzImage
	# A WARN (and a KASAN report, which honours it) panics: the run fails.
	append="panic_on_warn=1 $append"
	if [ -z "$no_module" ] && [ -z "$module" ]; then
		module=$("$TOP/vm/debug-kernel.sh" module) || fail "no nhot.ko for the debug kernel"
	fi
else
	rel=$("$TOP/vm/kernel-release.sh" "$kernel") || exit 2
	vmlinuz=
fi
if [ -n "$no_module" ]; then
	module=
elif [ -z "$module" ]; then
	module=$TOP/build/kmod/$rel/nhot.ko
	[ -f "$module" ] || fail "$module is missing: run 'make modules-all' first"
else
	[ -f "$module" ] || bad "--module: no such file '$module'"
fi
[ -n "$vmlinuz" ] || vmlinuz=$("$TOP/vm/fetch-kernel.sh" "$rel") || fail "no kernel image for $rel"

work=$(mktemp -d "${TMPDIR:-/tmp}/nhot-vm.XXXXXX") || fail "mktemp failed"
emu_pid= ram_file=
# Every way out stops the emulator and removes its socket and RAM file.
cleanup() {
	stop_emu
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
root=$work/root

# --- the initramfs --------------------------------------------------------
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,root,lib/modules}
cp /bin/busybox "$root/bin/busybox" || fail "busybox-static is not installed"
ln -s busybox "$root/bin/sh"
file /bin/busybox 2>/dev/null | grep -q dynamic && fail "/bin/busybox is not static (install busybox-static)"
cp "$TOP/vm/init.sh" "$root/init"
chmod 755 "$root/init"
# The kernel opens /dev/console for /init before devtmpfs is mounted.
mknod -m 600 "$root/dev/console" c 5 1 2>/dev/null || true

for f in "${files[@]}"; do
	src=${f%%:*}
	dest=/root/$(basename "$src")
	[ "$src" != "$f" ] && dest=${f#*:}
	[ -e "$src" ] || bad "--file: no such file '$src'"
	case $dest in /*) ;; *) dest=/root/$dest ;; esac
	mkdir -p "$root$(dirname "$dest")"
	cp -a "$src" "$root$dest" || fail "cannot copy $src"
done

# Single-quote a word for the guest's sh.
quote() { printf "'%s'" "$(printf %s "$1" | sed "s/'/'\\\\''/g")"; }

script_args=
if [ -f "$1" ]; then
	cp "$1" "$root/root/.nhot-vm-script"
	shift
	for a in "$@"; do script_args="$script_args $(quote "$a")"; done
else
	printf '%s\n' "$*" >"$root/root/.nhot-vm-script"
fi

mod_in_vm=
if [ -n "$module" ]; then
	cp "$module" "$root/lib/modules/nhot.ko"
	mod_in_vm=/lib/modules/nhot.ko
fi
{
	echo "NHOT_MODULE=$mod_in_vm"
	echo "NHOT_MODULE_PARAMS='$params'"
	echo "NHOT_SCRIPT_ARGS=$(quote "$script_args")"
} >"$root/etc/nhot-vm.conf"

(cd "$root" && find . | cpio -o -H newc --quiet) >"$work/initrd.cpio" ||
	fail "cpio failed (is package cpio installed?)"

# --- the PCI engine (nhot-emu behind ivshmem-doorbell) -----------------------
stop_emu() {
	[ -n "$emu_pid" ] || return 0
	if kill -0 "$emu_pid" 2>/dev/null; then
		kill -TERM "$emu_pid" 2>/dev/null
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			kill -0 "$emu_pid" 2>/dev/null || break
			sleep 0.2
		done
		kill -KILL "$emu_pid" 2>/dev/null
	fi
	wait "$emu_pid" 2>/dev/null
	emu_pid=
	# The emulator removes both itself; not when it was killed.
	[ -n "$ram_file" ] && rm -f "$ram_file"
	rm -f "$work/emu.sock" "$work/emu.sock.tmp"
}

# Starts nhot-emu and waits for its socket (it listens before it appears).
start_emu() {
	# A fresh, unused name per boot: parallel runs never share one.
	ram_file=$(mktemp -u /dev/shm/nhot-vm-ram.XXXXXXXX) || fail "mktemp failed"
	# shellcheck disable=SC2086
	"$NHOT_EMU" --socket "$work/emu.sock" --ram "$ram_file" --ram-size "${mem}M" \
		$pci_opts </dev/null >>"$work/emu.log" 2>&1 &
	emu_pid=$!
	for _ in $(seq 100); do
		[ -S "$work/emu.sock" ] && return 0
		kill -0 "$emu_pid" 2>/dev/null || break
		sleep 0.1
	done
	echo "$prog: nhot-emu did not start:" >&2
	cat "$work/emu.log" >&2
	exit 1
}

qemu_pci=()
if [ -n "$pci" ]; then
	: >"$work/emu.log"
	qemu_pci=(-object "memory-backend-file,id=mem,size=${mem}M,mem-path=RAMFILE,share=on"
		-machine memory-backend=mem
		-chardev "socket,path=$work/emu.sock,id=nhotemu"
		-device "ivshmem-doorbell,chardev=nhotemu,vectors=$vectors")
fi

# --- boot -----------------------------------------------------------------
# no_timer_check: on a loaded host the TCG vCPU can miss the early IO-APIC
# timer check, and the kernel panics ("IO-APIC + timer doesn't work!").
boot() {
	: >"$work/status"
	: >"$work/console.log"
	local extra=()
	if [ -n "$pci" ]; then
		stop_emu
		start_emu
		extra=("${qemu_pci[@]/RAMFILE/$ram_file}")
	fi
	timeout -k 5 "$timeout" qemu-system-x86_64 \
		-accel tcg -cpu max -smp "$smp" -m "$mem" "${extra[@]}" \
		-nographic -no-reboot -net none -monitor none \
		-serial "file:$work/console.log" -serial stdio -serial "file:$work/status" \
		-kernel "$vmlinuz" -initrd "$work/initrd.cpio" \
		-append "console=ttyS0 panic=-1 no_timer_check $append" \
		</dev/null 2>"$work/qemu.err" | tr -d '\r'
	qrc=${PIPESTATUS[0]}
	stop_emu
}
boot
# A guest that died before starting /init never ran the script: that is the
# emulator, not the test. Boot once more.
if ! grep -q nhot-vm-exit= "$work/status" && ! grep -q 'Run /init' "$work/console.log"; then
	echo "$prog: the guest died while booting ($(grep -m1 -o 'Kernel panic.*' \
		"$work/console.log" || echo "qemu exit $qrc")); booting again" >&2
	# kept: a panic before /init (a KASAN report, say) must stay readable
	[ -n "$console" ] && cp "$work/console.log" "$console.failed-boot"
	boot
fi

[ -n "$console" ] && cp "$work/console.log" "$console"
[ -n "$pci" ] && [ -n "$emu_log" ] && cp "$work/emu.log" "$emu_log"

st=$(sed -n 's/^nhot-vm-exit=\([0-9]*\).*/\1/p' "$work/status" | tail -1)
if [ -n "$st" ]; then
	exit "$st"
fi
if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
	echo "$prog: VM ($rel) timed out after ${timeout}s" >&2
else
	echo "$prog: VM ($rel) ended without an exit status (qemu exit $qrc)" >&2
fi
grep -v 'TCG doesn.t support requested feature' "$work/qemu.err" | tail -5 >&2
if [ -n "$pci" ]; then
	echo "$prog: nhot-emu's log:" >&2
	tail -10 "$work/emu.log" >&2
fi
echo "$prog: last kernel messages:" >&2
tail -25 "$work/console.log" >&2
exit 1
