#!/bin/bash
# make test's packaging suite: nhot installed the way a user gets it.
#
# `make install DESTDIR=<scratch> PREFIX=/usr`, then, using only what landed
# in the scratch root: the files are there, libnhot.so has its soname and
# exports exactly the functions of the public headers (versioned NHOT_*),
# each installed header compiles on its own (C11 and C++), pkg-config finds
# the library, examples/ builds with its own Makefile (shared and static),
# the installed nhot-quant quantizes a model and the installed nhot-run
# runs it, classify prints the class the reference arithmetic computes and
# fails cleanly on bad input, the DKMS source tree is complete (make
# dkms-check runs the real dkms build), and make uninstall removes every file.
#
# Output: kselftest lines and a "# Totals:" line. FMNIST_DIR overrides the
# data folder.
set -u
cd "$(dirname "$0")/../.." || exit 1
TOP=$PWD
WORK=$TOP/build/packaging-test
ROOT=$WORK/root
DATA=${FMNIST_DIR:-/usr/share/datasets/fashion-mnist}
LIB=$ROOT/usr/lib
export PKG_CONFIG_PATH=$LIB/pkgconfig PKG_CONFIG_SYSROOT_DIR=$ROOT
export NHOT_DEVICE=cpu

rm -rf "$WORK" && mkdir -p "$WORK"
LOG=$WORK/steps.log
# shellcheck source=scripts/tests.d/lib/ktap.sh
. scripts/tests.d/lib/ktap.sh
ktap_begin

# check NAME COMMAND...: one test; the command's output goes to the log and,
# on failure, into the report.
check() {
	local name=$1; shift
	local t0=$SECONDS
	if "$@" > "$WORK/out" 2>&1; then
		ok "$name"
	else
		not_ok "$name"
		sed 's/^/#   /' "$WORK/out" | tail -20
	fi
	{ echo "== $name ($((SECONDS - t0)) s)"; cat "$WORK/out"; } >> "$LOG"
}

version_of_tree() { sed -n 's/^NHOT_VERSION *:= *//p' packaging/rules.mk; }
VERSION=$(version_of_tree)

# --- install ----------------------------------------------------------------
check "make install DESTDIR PREFIX=/usr" \
	make -s install DESTDIR="$ROOT" PREFIX=/usr

files_present() {
	local f missing=0
	for f in usr/lib/libnhot.so.$VERSION usr/lib/libnhot.so.1 usr/lib/libnhot.so \
		 usr/lib/libnhot.a usr/lib/pkgconfig/nhot.pc \
		 usr/include/nhot/nhot.h usr/include/nhot/nhot_model.h \
		 usr/include/nhot/nhot_fmodel.h usr/include/nhot/linux/nhot.h \
		 usr/include/nhot/linux/nhot_netlink.h usr/bin/nhotctl usr/bin/nhot-emu \
		 usr/bin/nhot-quant usr/bin/nhot-run \
		 etc/udev/rules.d/60-nhot.rules usr/share/doc/nhot/examples/nhot-modprobe.conf; do
		[ -e "$ROOT/$f" ] || { echo "missing: /$f"; missing=1; }
	done
	for f in tools/*/*.[1-8]; do
		[ -e "$f" ] || continue
		f=usr/share/man/man${f##*.}/${f##*/}
		[ -f "$ROOT/$f" ] || { echo "missing man page: /$f"; missing=1; }
	done
	return $missing
}
check "installed files" files_present

soname_ok() {
	readelf -d "$LIB/libnhot.so.$VERSION" | grep -q 'Library soname: \[libnhot.so.1\]' &&
	[ "$(readlink "$LIB/libnhot.so")" = libnhot.so.1 ] &&
	[ "$(readlink "$LIB/libnhot.so.1")" = "libnhot.so.$VERSION" ]
}
check "soname libnhot.so.1 and its links" soname_ok

# The functions the installed headers declare, as the compiler sees them.
header_functions() {
	local h
	for h in nhot.h nhot_model.h nhot_fmodel.h; do
		gcc -E -P -I"$ROOT/usr/include/nhot" "$ROOT/usr/include/nhot/$h"
	done | tr -s ' \t\n' ' ' | grep -oE '\bnhot_[A-Za-z0-9_]+ ?\(' | sed 's/ *(//' | sort -u
}
exports_match_headers() {
	local dyn
	dyn=$(nm -D --defined-only "$LIB/libnhot.so.$VERSION" | awk '$2 != "A" { print $3 }')
	if grep -v '^nhot_[A-Za-z0-9_]*@@\?NHOT_[0-9.]*$' <<<"$dyn"; then
		echo "exported without an NHOT_ version or outside nhot_*: the lines above"
		return 1
	fi
	diff -u <(header_functions) <(sed 's/@.*//' <<<"$dyn" | sort -u) ||
		{ echo "(-: declared in a header but not exported; +: exported but not declared)"
		  echo "fix: list the function in userlib/libnhot.map (a new version node after a release)"
		  return 1; }
}
check "exports == public header functions, all NHOT_*" exports_match_headers

headers_standalone() {
	local h
	for h in nhot.h nhot_model.h nhot_fmodel.h linux/nhot.h; do
		# shellcheck disable=SC2046
		echo "#include <$h>" | gcc -std=c11 -Wall -Wextra -Werror -fsyntax-only \
			$(pkg-config --cflags nhot) -x c - || { echo "C: $h"; return 1; }
		# shellcheck disable=SC2046
		echo "#include <$h>" | g++ -Wall -Wextra -Werror -fsyntax-only \
			$(pkg-config --cflags nhot) -x c++ - || { echo "C++: $h"; return 1; }
	done
}
check "installed headers compile alone (C11, C++)" headers_standalone

pkgconfig_ok() {
	local cflags libs static
	cflags=$(pkg-config --cflags nhot) && libs=$(pkg-config --libs nhot) &&
	static=$(pkg-config --static --libs nhot) || return 1
	printf 'cflags: %s\nlibs: %s\nstatic: %s\n' "$cflags" "$libs" "$static"
	[ "$(pkg-config --modversion nhot)" = "$VERSION" ] &&
	[[ " $cflags " == *" -I$ROOT/usr/include/nhot "* ]] &&
	[ "${libs%"${libs##*[! ]}"}" = "-L$LIB -lnhot" ] &&
	[[ " $static " == *" -lz "* ]]
}
check "pkg-config nhot: version, cflags, libs" pkgconfig_ok

versions_agree() {
	local dkms deb
	dkms=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' dkms.conf)
	deb=$(dpkg-parsechangelog -l debian/changelog -S Version)
	echo "packaging/rules.mk $VERSION, dkms.conf $dkms, debian/changelog $deb"
	[ "$dkms" = "$VERSION" ] && [ "$deb" = "$VERSION" ]
}
check "one version: rules.mk, dkms.conf, debian/changelog" versions_agree

# --- build against the install ---------------------------------------------
cp -r examples "$WORK/examples"
build_example() {
	make -s -C "$WORK/examples" classify &&
	readelf -d "$WORK/examples/classify" | grep -q 'NEEDED.*\[libnhot.so.1\]' &&
	LD_LIBRARY_PATH=$LIB ldd "$WORK/examples/classify" | grep -q "libnhot.so.1 => $LIB/"
}
check "examples/ builds with pkg-config, links libnhot.so.1" build_example

build_example_static() {
	mkdir -p "$WORK/static" && cp examples/classify.c examples/Makefile "$WORK/static/" &&
	make -s -C "$WORK/static" STATIC=1 classify &&
	! readelf -d "$WORK/static/classify" 2>/dev/null | grep -q NEEDED
}
check "examples/ builds static (pkg-config --static)" build_example_static

build_mkmodel() {
	# shellcheck disable=SC2046
	gcc -std=c11 -Wall -Wextra -Werror -O2 $(pkg-config --cflags nhot) \
		packaging/tests/mkmodel.c -o "$WORK/mkmodel" $(pkg-config --libs nhot)
}
check "a test program builds against the install" build_mkmodel

# --- run what was installed -------------------------------------------------
run() { LD_LIBRARY_PATH=$LIB "$@"; }
MODEL=$WORK/centroid.nhq
check "float model (class centroids) from the training set" \
	run "$WORK/mkmodel" float "$WORK/centroid.nhf" "$DATA/train-images-idx3-ubyte.gz" \
		"$DATA/train-labels-idx1-ubyte.gz"
check "installed nhot-quant quantizes it (n=2, b=8)" \
	run "$ROOT/usr/bin/nhot-quant" quantize -i "$WORK/centroid.nhf" -o "$MODEL" \
		--scheme nhot -n 2 -b 8 --calib 200 --data "$DATA" --quiet

nhot_run_ok() {
	local out acc
	out=$(run "$ROOT/usr/bin/nhot-run" -m "$MODEL" --data "$DATA" --limit 1000 --device cpu --json) ||
		return 1
	echo "$out"
	acc=$(sed -n 's/.*"accuracy":\([0-9.]*\).*/\1/p' <<<"$out" | tail -1)
	# A nearest-centroid classifier gets about 68% of Fashion-MNIST; chance is 10%.
	awk -v a="$acc" 'BEGIN { exit !(a != "" && a > 0.5 && a <= 1) }'
}
check "installed nhot-run runs it, accuracy > 50%" nhot_run_ok

classify_matches_reference() {
	local i got want
	for i in 0 1 2 3 4 5 6 7; do
		got=$(run "$WORK/examples/classify" "$MODEL" "$i" "$DATA/t10k-images-idx3-ubyte.gz") ||
			return 1
		want=$(run "$WORK/mkmodel" expect "$MODEL" "$DATA/t10k-images-idx3-ubyte.gz" "$i") ||
			return 1
		echo "$got (reference: $want)"
		grep -q "^image $i: class $want (.*) on cpu$" <<<"$got" || return 1
	done
	got=$("$WORK/static/classify" "$MODEL" 3 "$DATA/t10k-images-idx3-ubyte.gz") &&
	want=$(run "$WORK/mkmodel" expect "$MODEL" "$DATA/t10k-images-idx3-ubyte.gz" 3) &&
	grep -q "^image 3: class $want " <<<"$got"
}
check "classify prints the reference class (shared and static)" classify_matches_reference

# expect_fail STATUS ARGS...: classify exits STATUS with one line on stderr.
expect_fail() {
	local want=$1 rc lines; shift
	run "$WORK/examples/classify" "$@" > "$WORK/stdout" 2> "$WORK/stderr"
	rc=$?
	lines=$(wc -l < "$WORK/stderr")
	echo "classify $*: exit $rc, stderr: $(cat "$WORK/stderr")"
	[ "$rc" = "$want" ] && [ "$lines" = 1 ] && [ ! -s "$WORK/stdout" ]
}
classify_errors() {
	local images=$DATA/t10k-images-idx3-ubyte.gz
	expect_fail 2 &&
	expect_fail 2 "$MODEL" 1 "$images" extra &&
	expect_fail 2 "$MODEL" -1 &&
	expect_fail 2 "$MODEL" 12x &&
	expect_fail 2 "$MODEL" 10000 "$images" &&
	expect_fail 1 "$WORK/no-such.nhq" &&
	expect_fail 1 "$WORK/centroid.nhf" &&
	expect_fail 1 "$MODEL" 0 "$DATA/t10k-labels-idx1-ubyte.gz" &&
	expect_fail 1 "$MODEL" 0 "$WORK/no-such-images"
}
check "classify: usage errors exit 2, bad files exit 1, one stderr line" classify_errors

# --- the DKMS source tree ---------------------------------------------------
# Building nhot.ko through dkms takes minutes on this machine (make
# dkms-check does it for every kernel); here: the installed tree holds every
# object driver/Kbuild names and every header its sources include, and
# dkms.conf's MAKE runs kbuild in the tree's root as `make module` does.
dkms_tree_complete() {
	local tree=$WORK/dkms/usr/src/nhot-$VERSION f inc dir objs o missing=0
	make -s install-dkms DESTDIR="$WORK/dkms" || return 1
	for f in dkms.conf Kbuild driver/Kbuild uapi/linux/nhot.h; do
		[ -f "$tree/$f" ] || { echo "missing: $f"; missing=1; }
	done
	objs=$(sed -e ':a' -e '/\\$/{N; s/\\\n//; ba}' "$tree/driver/Kbuild" |
		sed -n 's/^nhot-[ym] *[:+]\?= *//p')
	[ -n "$objs" ] || { echo "driver/Kbuild names no nhot-y objects"; return 1; }
	for o in $objs; do
		[ -f "$tree/driver/${o%.o}.c" ] || { echo "missing source of $o"; missing=1; }
	done
	while read -r f; do
		dir=$(dirname "$f")
		for inc in $(sed -n 's/^#include "\(.*\)".*/\1/p' "$f"); do
			[ -f "$dir/$inc" ] || [ -f "$tree/driver/$inc" ] ||
				{ echo "${f#"$tree"/} includes \"$inc\": not in the tree"; missing=1; }
		done
	done < <(find "$tree/driver" -name '*.[ch]')
	# shellcheck disable=SC2016 # dkms expands these, not the shell
	grep -q '^MAKE\[0\]="make -C ${kernel_source_dir} M=${dkms_tree}/${PACKAGE_NAME}/${PACKAGE_VERSION}/build modules"$' \
		"$tree/dkms.conf" || { echo "unexpected MAKE[0] in dkms.conf"; missing=1; }
	grep -q '^BUILT_MODULE_LOCATION\[0\]="driver/"$' "$tree/dkms.conf" || missing=1
	return $missing
}
check "the DKMS tree holds every source and header of nhot.ko" dkms_tree_complete

# --- uninstall --------------------------------------------------------------
uninstall_clean() {
	make -s uninstall DESTDIR="$ROOT" PREFIX=/usr || return 1
	local left
	left=$(find "$ROOT" ! -type d)
	[ -z "$left" ] || { echo "left behind:"; echo "$left"; return 1; }
}
check "make uninstall removes every file" uninstall_clean

ktap_totals
