#!/bin/bash
# Kernel releases the VM tests run on: one per installed Debian
# linux-headers-*-amd64 (the module is built against each of them).
#
#   vm/kernel-release.sh           every release, oldest first
#   vm/kernel-release.sh 6.12      the release of that series (6.1, 6.12, ...)
#   vm/kernel-release.sh 6.1.0-56-amd64   a full release, checked
set -euo pipefail

releases() {
	local d
	for d in /usr/src/linux-headers-*-amd64; do
		[ -d "$d" ] && [ -e "$d/Makefile" ] && echo "${d#/usr/src/linux-headers-}"
	done | sort -V
}

if [ $# = 0 ]; then
	releases
	exit 0
fi
[ $# = 1 ] || { echo "usage: $0 [SERIES|RELEASE]" >&2; exit 2; }

want=$1
hit=$(releases | while read -r r; do
	# "6.1" matches 6.1.0-56-amd64 but not 6.12.117+deb12-amd64.
	if [ "$r" = "$want" ] || [ "${r#"$want".}" != "$r" ] || [ "${r#"$want"-}" != "$r" ]; then
		echo "$r"
	fi
done | tail -1)
if [ -z "$hit" ]; then
	echo "kernel-release: no installed linux-headers for kernel '$want' (have: $(releases | tr '\n' ' '))" >&2
	exit 2
fi
echo "$hit"
