#!/bin/bash
# make dkms-check: the real `dkms add` and `dkms build` of nhot for every
# installed Debian kernel with headers (/usr/src/linux-headers-*-amd64), in
# private trees under build/dkms-check (--sourcetree, --dkmstree): nothing in
# /usr/src or /lib/modules changes (dkms creates its signing key,
# /var/lib/dkms/mok.key, on first use). Each built module must
# carry its kernel's vermagic. Slow (about 1-2 minutes a kernel on a busy
# 2-core machine), so make test checks the source tree's completeness
# instead and this runs on demand.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v dkms > /dev/null || { echo "dkms-check: dkms is not installed (apt-get install dkms)" >&2; exit 2; }

version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' dkms.conf)
work=$PWD/build/dkms-check
src=$work/src
tree=$work/tree
rm -rf "$work" && mkdir -p "$tree"
make -s install-dkms DESTDIR="$work" DKMSSRCDIR=/src/nhot-"$version"

dkms_() { dkms "$@" -m nhot -v "$version" --sourcetree "$src" --dkmstree "$tree"; }
dkms_ add

status=0
for hdrs in $(ls -d /usr/src/linux-headers-*-amd64 | sort -V); do
	rel=${hdrs#/usr/src/linux-headers-}
	start=$SECONDS
	if ! dkms_ build -k "$rel" > "$work/build-$rel.log" 2>&1; then
		echo "not ok: dkms build for $rel failed:"; tail -20 "$work/build-$rel.log"
		status=1; continue
	fi
	ko=$(ls "$tree/nhot/$version/$rel"/*/module/nhot.ko* | head -1)
	vermagic=$(modinfo -F vermagic "$ko")
	if [ "${vermagic%% *}" = "$rel" ]; then
		echo "ok: dkms build nhot/$version for $rel in $((SECONDS - start)) s: ${ko#"$PWD"/} (vermagic $vermagic)"
	else
		echo "not ok: $ko has vermagic '$vermagic', expected $rel"; status=1
	fi
done
dkms status --dkmstree "$tree"
exit $status
