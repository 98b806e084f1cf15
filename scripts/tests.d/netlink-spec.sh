#!/bin/bash
# make test: the netlink spec and what is built from it stay in step.
#  - docs/netlink/nhot.yaml validates against the kernel's genetlink schema and
#    the kernel's own ynl-gen-c.py (linux-source-6.12) regenerates
#    uapi/linux/nhot_netlink.h byte for byte;
#  - driver/netlink.c has exactly the spec's do/dump operations, with
#    GENL_ADMIN_PERM exactly where the spec says admin-perm, and a dumpit
#    exactly where the spec has a dump.
# The generator is extracted once into build/ynl/ (about 10 s).
cd "$(dirname "$0")/../.." || exit 1
. scripts/tests.d/lib/ktap.sh

PY=/usr/bin/python3
SRC=/usr/src/linux-source-6.12.tar.xz
YNL=build/ynl
ktap_begin

if [ ! -r "$SRC" ] || ! $PY -c 'import yaml, jsonschema' 2>/dev/null; then
	skip_case "no $SRC or no python3-yaml/python3-jsonschema (scripts/setup.sh)"
	finish
fi

tree=$YNL/linux-source-6.12
if [ ! -e "$tree/.extracted" ] || [ "$SRC" -nt "$tree/.extracted" ]; then
	rm -rf "$YNL" && mkdir -p "$YNL"
	tar -xJf "$SRC" -C "$YNL" linux-source-6.12/tools/net/ynl \
		linux-source-6.12/Documentation/netlink/genetlink.yaml || { not_ok "extract ynl"; finish; }
	# ynl-gen-c.py looks for the tree's root by its MAINTAINERS file
	touch "$tree/MAINTAINERS" "$tree/.extracted"
fi

# The generator wants the spec inside Documentation/netlink/specs/ of its tree.
mkdir -p "$tree/Documentation/netlink/specs"
cp docs/netlink/nhot.yaml "$tree/Documentation/netlink/specs/nhot.yaml"
gen=$(mktemp)
trap 'rm -f "$gen"' EXIT
err=$(cd "$tree/tools/net/ynl" && timeout 120 $PY ynl-gen-c.py --mode uapi --header \
	--spec ../../../Documentation/netlink/specs/nhot.yaml -o "$gen" 2>&1 | tail -3)
result $? "nhot.yaml validates against the genetlink schema" "$err"
sed -i 's#Documentation/netlink/specs/nhot.yaml#docs/netlink/nhot.yaml#' "$gen"
cmp -s "$gen" uapi/linux/nhot_netlink.h
result $? "uapi/linux/nhot_netlink.h is what ynl-gen-c.py makes of nhot.yaml"

out=$($PY - docs/netlink/nhot.yaml driver/netlink.c <<'EOF'
import re, sys, yaml

spec = yaml.safe_load(open(sys.argv[1]))
src = open(sys.argv[2]).read()
def cname(op):
    return "NHOT_CMD_" + op.upper().replace("-", "_")
want = {}
for op in spec["operations"]["list"]:
    if "do" in op or "dump" in op:
        want[cname(op["name"])] = ("admin-perm" in op.get("flags", []), "dump" in op)
table = re.search(r"nhot_nl_ops\[\] = \{(.*?)\n\};", src, re.S)
if not table:
    sys.exit("no nhot_nl_ops table in " + sys.argv[2])
have = {}
for entry in re.findall(r"\{(.*?)\}", table.group(1), re.S):
    cmd = re.search(r"\.cmd = (NHOT_CMD_\w+)", entry)
    if cmd:
        have[cmd.group(1)] = ("GENL_ADMIN_PERM" in entry, ".dumpit" in entry)
bad = []
for cmd in sorted(set(want) | set(have)):
    if want.get(cmd) != have.get(cmd):
        bad.append("%s: spec (admin, dump) %s, driver %s" % (cmd, want.get(cmd), have.get(cmd)))
print("; ".join(bad))
sys.exit(1 if bad else 0)
EOF
)
result $? "driver/netlink.c has the spec's operations, admin-perm and dumps" "$out"
finish
