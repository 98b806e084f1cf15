#!/bin/bash
# Builds (once per machine) a small debug kernel for the VM tests: KASAN,
# lockdep (PROVE_LOCKING), UBSAN, kmemleak, fault injection, hung-task and
# atomic-sleep checks; and nhot.ko against it.
#
#   vm/debug-kernel.sh kernel    prints the tree's path, building it if needed
#   vm/debug-kernel.sh module    prints the path of nhot.ko built against it
#   vm/debug-kernel.sh status    exit 0 if the kernel is built and current
#
# The tree is linux-source-6.12 from Debian, tinyconfig + vm/debug-kernel.config,
# in NHOT_DEBUG_KERNEL_DIR (default /var/cache/nhot/debug-kernel): a machine-wide
# cache, since the build takes minutes. The tree's directory is named after the
# source version, and the stamp holds the fragment's hash and the tarball's size
# and mtime, so a tree built from another source or fragment is never reused.
# Every option the fragment sets to y must come out y after olddefconfig
# (Kconfig drops an option silently when a dependency is missing): the build
# fails otherwise. The module is built from a private copy of the driver
# sources in build/kmod/debug/ (the same set driver/rules.mk uses). Concurrent
# callers serialise on a lock. Builds run at nice 19, -j2.
set -euo pipefail

TOP=$(cd "$(dirname "$0")/.." && pwd)
die() { echo "debug-kernel: $*" >&2; exit 1; }

[ $# = 1 ] || { echo "usage: $0 kernel|module|status" >&2; exit 2; }
what=$1
case $what in kernel | module | status) ;; *) echo "usage: $0 kernel|module|status" >&2; exit 2 ;; esac

cache=${NHOT_DEBUG_KERNEL_DIR:-/var/cache/nhot/debug-kernel}
src=linux-source-6.12
tar=/usr/src/$src.tar.xz
tree=$cache/$src
frag=$TOP/vm/debug-kernel.config
stamp=$tree/.nhot-built

# Rebuilt when the fragment or the source tarball changes (the tarball by
# size and mtime: hashing 140 MB on every call would cost seconds).
[ -f "$tar" ] || die "$tar missing (package ${src})"
want="$(sha256sum "$frag" | cut -d' ' -f1) $(stat -c '%s %Y' "$tar")"
if [ "$what" = status ]; then
	[ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]
	exit
fi

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
	if [ ! -f "$tree/Makefile" ]; then
		echo "debug-kernel: extracting $tar" >&2
		rm -rf "$tree.tmp" && mkdir -p "$tree.tmp"
		tar -xJf "$tar" -C "$tree.tmp"
		mv "$tree.tmp/$src" "$tree" && rmdir "$tree.tmp"
	fi
	rm -f "$stamp"
	echo "debug-kernel: configuring and building $tree (minutes)" >&2
	(
		cd "$tree"
		make -s tinyconfig >&2
		scripts/kconfig/merge_config.sh -m .config "$frag" >&2
		make -s olddefconfig >&2
		missing=$(sed -n 's/^\(CONFIG_[A-Z0-9_]*\)=y$/\1/p' "$frag" | while read -r opt; do
			grep -qx "$opt=y" .config || echo "$opt"
		done)
		[ -z "$missing" ] || {
			echo "debug-kernel: not set after olddefconfig: $(echo "$missing" | tr '\n' ' ')" >&2
			exit 1
		}
		nice -n 19 make -s -j2 bzImage modules >&2
	) || die "kernel build failed"
	echo "$want" >"$stamp"
fi

if [ "$what" = kernel ]; then
	echo "$tree"
	exit 0
fi

# The module, from the same source set as driver/rules.mk.
out=$TOP/build/kmod/debug
ko=$out/nhot.ko
cd "$TOP"
srcs=$(ls Kbuild driver/Kbuild driver/*.c driver/*.h driver/hw/*.h driver/model/*.c driver/model/*.h \
	uapi/linux/nhot*.h 2>/dev/null)
newest=$(ls -t $srcs "$stamp" | head -1)
if [ ! -f "$ko" ] || [ "$newest" -nt "$ko" ]; then
	rm -rf "$out/src" && mkdir -p "$out/src"
	# shellcheck disable=SC2086
	cp --parents $srcs "$out/src/"
	make -s -C "$tree" M="$out/src" modules >&2 || die "nhot.ko build against $tree failed"
	cp "$out/src/driver/nhot.ko" "$ko"
fi
echo "$ko"
