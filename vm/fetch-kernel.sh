#!/bin/bash
# Prints the path of a Debian kernel image (vmlinuz) for QEMU, fetching it once.
#
#   vm/fetch-kernel.sh RELEASE        e.g. 6.1.0-56-amd64 or 6.12.117+deb12-amd64
#
# The image comes from the Debian package linux-image-RELEASE: `apt-get
# download` + `dpkg -x`, which leaves /boot and the package database alone.
# It is kept in a machine-wide cache (NHOT_KERNEL_CACHE, default
# /var/cache/nhot/kernels/RELEASE/vmlinuz) so every clone on this machine
# reuses it. The package version is the one of the installed
# linux-headers-RELEASE when apt still has it, so the image matches the
# headers the module is built against. Concurrent callers serialise on a lock;
# a half-finished fetch never leaves a vmlinuz behind (it is renamed into
# place last).
set -euo pipefail

die() { echo "fetch-kernel: $*" >&2; exit 1; }

[ $# = 1 ] || { echo "usage: $0 RELEASE" >&2; exit 2; }
rel=$1
case $rel in
*/* | '' | .*) echo "fetch-kernel: bad kernel release '$rel'" >&2; exit 2 ;;
esac

cache=${NHOT_KERNEL_CACHE:-/var/cache/nhot/kernels}
dest=$cache/$rel/vmlinuz
if [ -s "$dest" ]; then
	echo "$dest"
	exit 0
fi

mkdir -p "$cache" || die "cannot create $cache"
exec 9>"$cache/.lock"
flock 9
# Another caller may have fetched it while we waited for the lock.
if [ -s "$dest" ]; then
	echo "$dest"
	exit 0
fi

tmp=$(mktemp -d "$cache/.fetch.XXXXXX")
chmod 755 "$tmp"	# apt drops to user _apt to download
trap 'rm -rf "$tmp"' EXIT

pkg=linux-image-$rel
want=$(dpkg-query -W -f='${Version}' "linux-headers-$rel" 2>/dev/null || true)
got=
if [ -n "$want" ]; then
	(cd "$tmp" && apt-get download -q "$pkg=$want" >&2) && got=1 || true
fi
if [ -z "$got" ]; then
	(cd "$tmp" && apt-get download -q "$pkg" >&2) && got=1 || true
fi
if [ -z "$got" ] && [ -s "/boot/vmlinuz-$rel" ]; then
	# No apt access (offline), but the host has that kernel installed.
	mkdir -p "$tmp/x/boot"
	cp "/boot/vmlinuz-$rel" "$tmp/x/boot/"
elif [ -z "$got" ]; then
	die "cannot download $pkg (try: apt-get update)"
else
	deb=$(ls "$tmp"/*.deb)
	dpkg -x "$deb" "$tmp/x" || die "cannot unpack $deb"
fi

img=$tmp/x/boot/vmlinuz-$rel
[ -s "$img" ] || die "$pkg has no boot/vmlinuz-$rel"
mkdir -p "$cache/$rel"
cp "$img" "$dest.tmp"
mv "$dest.tmp" "$dest"
echo "$dest"
