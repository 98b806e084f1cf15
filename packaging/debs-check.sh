#!/bin/bash
# make debs-check: the packages of `make debs` (build/debs/*.deb), checked
# without touching the system: each is unpacked (dpkg -x) into one scratch
# root, must hold what it promises and nothing of another's, and the
# unpacked system must work: the installed nhot-quant runs, and the example
# shipped in libnhot-dev builds with pkg-config against the unpacked
# libnhot-dev and runs against the unpacked libnhot1. kselftest output.
set -u
cd "$(dirname "$0")/.." || exit 1
TOP=$PWD
DEBS=$TOP/build/debs
WORK=$TOP/build/debs-check
ROOT=$WORK/root
MA=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
LIB=$ROOT/usr/lib/$MA
export PKG_CONFIG_PATH=$LIB/pkgconfig PKG_CONFIG_SYSROOT_DIR=$ROOT NHOT_DEVICE=cpu
rm -rf "$WORK" && mkdir -p "$ROOT"
num=0 pass=0 fail=0
echo "TAP version 13"
check() {
	local name=$1; shift
	num=$((num + 1))
	if "$@" > "$WORK/out" 2>&1; then
		pass=$((pass + 1)); echo "ok $num $name"
	else
		fail=$((fail + 1)); echo "not ok $num $name"; sed 's/^/#   /' "$WORK/out" | tail -20
	fi
}

deb() { ls "$DEBS"/"$1"_*.deb 2>/dev/null | head -1; }
# holds PACKAGE PATH-REGEX...: every regex matches a path of the package.
holds() {
	local pkg=$1 d re list; shift
	d=$(deb "$pkg"); [ -n "$d" ] || { echo "no $pkg .deb in $DEBS (make debs)"; return 1; }
	list=$(dpkg-deb -c "$d" | awk '{ print $6 }')
	for re in "$@"; do
		grep -qE "$re" <<<"$list" || { echo "$pkg lacks $re"; return 1; }
	done
}
check "nhot-dkms: module sources, dkms.conf, udev rule, modprobe example" \
	holds nhot-dkms '^\./usr/src/nhot-[0-9.]+/dkms\.conf$' '^\./usr/src/nhot-[0-9.]+/driver/main\.c$' \
	'^\./usr/src/nhot-[0-9.]+/uapi/linux/nhot\.h$' '^\./lib/udev/rules\.d/60-nhot\.rules$' \
	'^\./usr/share/doc/nhot-dkms/examples/nhot-modprobe\.conf$'
check "libnhot1: libnhot.so.1" holds libnhot1 "^\./usr/lib/$MA/libnhot\.so\.1"
check "libnhot-dev: headers, .so link, .a, nhot.pc, example" \
	holds libnhot-dev '^\./usr/include/nhot/nhot\.h$' '^\./usr/include/nhot/linux/nhot\.h$' \
	"^\./usr/lib/$MA/libnhot\.so$" "^\./usr/lib/$MA/libnhot\.a$" "^\./usr/lib/$MA/pkgconfig/nhot\.pc$" \
	'^\./usr/share/doc/libnhot-dev/examples/classify\.c$'
check "nhot-tools: tools and man pages" \
	holds nhot-tools '^\./usr/bin/nhot-quant$' '^\./usr/bin/nhot-run$' '^\./usr/share/man/man1/nhot-quant\.1\.gz$'

maintainer_scripts() {
	local d=$WORK/ctrl
	dpkg-deb -e "$(deb nhot-dkms)" "$d" &&
	grep -q 'addgroup --quiet --system nhot' "$d/postinst" &&
	grep -q 'dkms' "$d/postinst" && grep -q 'dkms' "$d/prerm" &&
	dpkg-deb -f "$(deb libnhot1)" Depends | grep -q libc6 &&
	dpkg-deb -f "$(deb libnhot-dev)" Depends | grep -q 'libnhot1 (='
}
check "nhot-dkms creates the group, dkms in postinst/prerm; dependencies" maintainer_scripts

unpack() { local d; for d in "$DEBS"/*.deb; do dpkg -x "$d" "$ROOT" || return 1; done; }
check "all packages unpack into one root" unpack

check "the unpacked nhot-quant runs" \
	env LD_LIBRARY_PATH="$LIB" "$ROOT/usr/bin/nhot-quant" table -n 2 -b 4

example_from_dev_package() {
	local rc
	cp -r "$ROOT/usr/share/doc/libnhot-dev/examples" "$WORK/ex" &&
	make -s -C "$WORK/ex" classify &&
	LD_LIBRARY_PATH=$LIB ldd "$WORK/ex/classify" | grep -q "libnhot.so.1 => $LIB/" || return 1
	# Loaded and linked: without arguments it answers with its usage (exit 2).
	LD_LIBRARY_PATH=$LIB "$WORK/ex/classify" 2> "$WORK/err"
	rc=$?
	cat "$WORK/err"
	[ "$rc" = 2 ] && grep -q usage "$WORK/err"
}
check "libnhot-dev's example builds with pkg-config and runs on libnhot1" example_from_dev_package

echo "1..$num"
echo "# Totals: pass:$pass fail:$fail xfail:0 xpass:0 skip:0 error:0"
[ "$fail" = 0 ]
