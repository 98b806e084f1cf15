#!/bin/sh
# Install every Debian package nhot needs to build, test, benchmark and demo.
# Idempotent: packages already installed are skipped, so a second run costs
# one dpkg query.  Called by the Makefile (target `setup`); safe to run by hand.
set -eu

PKGS="
build-essential pkg-config git kmod cpio xz-utils bc flex bison
libelf-dev libssl-dev dwarves
linux-headers-amd64 linux-headers-6.12-amd64
linux-source-6.1 linux-source-6.12
qemu-system-x86 busybox-static
libdnnl-dev libopenblas-dev
libnl-3-dev libnl-genl-3-dev
dataset-fashion-mnist
clang libclang-rt-14-dev llvm
gnuplot-nox zlib1g-dev
groff-base
python3-yaml python3-jsonschema
"

# Optional groups, for targets that make test does not run:
#   packaging  make debs / debs-check / dkms-check (Debian packaging, DKMS)
for group in "$@"; do
	case $group in
	packaging) PKGS="$PKGS debhelper dh-dkms dkms fakeroot dpkg-dev" ;;
	*) echo "setup: unknown package group '$group'" >&2; exit 2 ;;
	esac
done

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ]; then
	exit 0
fi

if [ "$(id -u)" != 0 ]; then
	echo "setup: missing packages:$missing (run as root to install)" >&2
	exit 1
fi

echo "setup: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# apt-cache/apt-get need fresh lists on a new machine.
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >&2
