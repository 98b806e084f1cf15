#!/bin/bash
# nhotctl on the host: the command line without a kernel behind it. Usage
# errors exit 2 with one line on stderr and nothing on stdout; a command
# line that parses reaches the kernel, and on this host (which cannot load
# nhot.ko) the "nhot" generic netlink family is missing: exit 1 with the
# one message that says the module is not loaded and how to load it. That
# is the real error path of a machine without the module, not a stand-in.
# Prints kselftest "ok N name" lines and a "# Totals:" line; exits non-zero
# when a case fails.
set -u
cd "$(dirname "$0")/../.." || exit 1
BIN=${NHOTCTL:-build/host/bin/nhotctl}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# shellcheck source=scripts/tests.d/lib/ktap.sh
. scripts/tests.d/lib/ktap.sh
# shellcheck source=scripts/tests.d/lib/cli.sh
. scripts/tests.d/lib/cli.sh
ktap_begin
# NHOTCTL=PATH checks another build of the tool; the default one is built here.
if [ -z "${NHOTCTL:-}" ] &&
   ! make -s "$PWD/$BIN" "$PWD/build/static/bin/nhotctl" >"$TMP/build" 2>&1; then
	result 1 "build nhotctl" "$(grep -v 'statically linked' "$TMP/build" | head -c 300)"
	finish
fi
if [ ! -x "$BIN" ]; then
	result 1 "$BIN is an executable"
	finish
fi
if [ -d /sys/module/nhot ]; then
	skip_case "nhot.ko is loaded on this host: the module-not-loaded cases need a host without it"
	no_module=
else
	no_module=1
fi

# expect_no_module NAME ARGS...: ARGS parse, so nhotctl asks the kernel for
# the family and fails with exit 1 and the module-not-loaded message.
expect_no_module() {
	local name=$1 lines
	shift
	[ -n "$no_module" ] || return 0
	run "$@"
	lines=$(wc -l <"$TMP/err")
	if [ "$rc" = 1 ] && [ "$lines" = 1 ] && [ ! -s "$TMP/out" ] &&
	   grep -q "^nhotctl: the nhot module is not loaded (generic netlink family \"nhot\" not found); load it with 'modprobe nhot'$" "$TMP/err"; then
		result 0 "no module: $name"
	else
		result 1 "no module: $name" "rc=$rc, $lines stderr lines: $(head -c 200 "$TMP/err")"
	fi
}

# --- help and version -------------------------------------------------------
for h in --help -h "dev --help" "stats -h" "--json --help"; do
	# shellcheck disable=SC2086	# the words are the arguments
	run $h
	if [ "$rc" = 0 ] && [ ! -s "$TMP/err" ] && head -1 "$TMP/out" | grep -q '^usage: nhotctl' &&
	   grep -q 'dev set DEV KEY VALUE' "$TMP/out" && grep -q -- '--watch SECONDS' "$TMP/out"; then
		result 0 "help: $h"
	else
		result 1 "help: $h" "rc=$rc"
	fi
done
run --version
ver=$(sed -n 's/^NHOT_VERSION *:= *//p' packaging/rules.mk)
if [ "$rc" = 0 ] && [ -n "$ver" ] &&
   [ "$(cat "$TMP/out")" = "nhotctl $ver (generic netlink family \"nhot\" version 1)" ]; then
	result 0 "--version names the release and the family version"
else
	result 1 "--version names the release and the family version" "$(cat "$TMP/out")"
fi

# --- usage errors: exit 2, one line, before any netlink -----------------------
expect_usage_error "nhotctl: a command is required" "no command"
expect_usage_error "nhotctl: a command is required" "only --json" --json
expect_usage_error "nhotctl: unknown command 'frob'" "unknown command" frob
expect_usage_error "nhotctl: unknown option '--frob'" "unknown global option" --frob dev show
expect_usage_error "nhotctl: dev: unknown command 'list'" "dev list" dev list
expect_usage_error "nhotctl: dev show: bad device 'eth0'" "dev show eth0" dev show eth0
expect_usage_error "nhotctl: dev show: bad device 'nhot'" "dev show nhot" dev show nhot
expect_usage_error "nhotctl: dev show: bad device 'nhot01'" "dev show nhot01 (leading zero)" dev show nhot01
expect_usage_error "nhotctl: dev show: bad device '/dev/nhot-1'" "dev show /dev/nhot-1" dev show /dev/nhot-1
expect_usage_error "nhotctl: dev show: bad device '/dev/0'" "dev show /dev/0" dev show /dev/0
expect_usage_error "nhotctl: dev show: bad device '4294967296'" "dev show 2^32" dev show 4294967296
expect_usage_error "nhotctl: dev show: bad device ' 1'" "dev show ' 1'" dev show " 1"
expect_usage_error "nhotctl: dev show: one DEV at most" "dev show two devices" dev show 0 1
expect_usage_error "nhotctl: dev del: which DEV?" "dev del without DEV" dev del
expect_usage_error "nhotctl: dev del: one DEV only" "dev del two devices" dev del 1 2
expect_usage_error "nhotctl: dev del: bad device 'x'" "dev del x" dev del x
expect_usage_error "nhotctl: dev set: which DEV?" "dev set without DEV" dev set
expect_usage_error "nhotctl: dev set: nothing to set" "dev set without KEY" dev set nhot0
expect_usage_error "nhotctl: dev set: unknown key 'pes'" "dev set bad key" dev set nhot0 pes 4
expect_usage_error "nhotctl: dev set: pe_count wants a value" "dev set key without value" dev set 0 pe_count
expect_usage_error "nhotctl: dev set: pe_count wants a whole number, got '-5'" "dev set negative" dev set 0 pe_count -5
expect_usage_error "nhotctl: dev set: clock_mhz wants a whole number, got '0x10'" "dev set hex" dev set 0 clock_mhz 0x10
expect_usage_error "nhotctl: dev set: clock_mhz wants a whole number, got '1.5'" "dev set fraction" dev set 0 clock_mhz 1.5
expect_usage_error "nhotctl: dev set: timeout_ms wants a whole number, got ''" "dev set empty value" dev set 0 timeout_ms ""
expect_usage_error "nhotctl: dev set: timeout_ms 4294967296: too large" "dev set 2^32" dev set 0 timeout_ms 4294967296
expect_usage_error "nhotctl: dev set: pe_count given twice" "dev set key twice" dev set 0 pe_count 1 pe_count 2
expect_usage_error "nhotctl: dev add: unknown key 'gpu'" "dev add gpu" dev add gpu
expect_usage_error "nhotctl: dev add: unknown key 'sim'" "dev add sim twice" dev add sim sim
expect_usage_error "nhotctl: dev add: clock_mhz wants a whole number" "dev add bad value" dev add sim clock_mhz fast
expect_usage_error "nhotctl: stats: one DEV at most" "stats two devices" stats 0 1
expect_usage_error "nhotctl: stats: bad device 'all'" "stats all" stats all
expect_usage_error "nhotctl: stats: --watch wants SECONDS" "stats --watch without value" stats --watch
expect_usage_error "nhotctl: stats: --watch wants seconds in 0.1..86400, got '0'" "stats --watch 0" stats --watch 0
expect_usage_error "nhotctl: stats: --watch wants seconds in 0.1..86400, got '0.05'" "stats --watch 0.05" stats --watch 0.05
expect_usage_error "nhotctl: stats: --watch wants seconds in 0.1..86400, got '1e3'" "stats --watch 1e3" stats --watch 1e3
expect_usage_error "nhotctl: stats: --watch wants seconds in 0.1..86400, got '86401'" "stats --watch 86401" stats --watch 86401
expect_usage_error "nhotctl: stats: --watch wants seconds in 0.1..86400, got '1.2.3'" "stats --watch 1.2.3" stats --watch 1.2.3
expect_usage_error "nhotctl: stats: --count goes with --watch" "stats --count alone" stats --count 3
expect_usage_error "nhotctl: stats: --count wants a positive whole number, got '0'" "stats --count 0" stats --watch 1 --count 0
expect_usage_error "nhotctl: stats: unknown option '--interval'" "stats unknown option" stats --interval 1
expect_usage_error "nhotctl: monitor: takes no arguments" "monitor with an argument" monitor nhot0

# --- well-formed command lines reach the kernel: here, no module --------------
expect_no_module "dev show" dev show
expect_no_module "dev (alone)" dev
expect_no_module "dev show nhot3" dev show nhot3
expect_no_module "dev show /dev/nhot12 --json" dev show /dev/nhot12 --json
expect_no_module "--json dev show 0" --json dev show 0
expect_no_module "dev add" dev add
expect_no_module "dev add sim pe_count 8 clock_mhz 500 timeout_ms 100" dev add sim pe_count 8 clock_mhz 500 timeout_ms 100
expect_no_module "dev add pci" dev add pci
expect_no_module "dev del nhot1" dev del nhot1
expect_no_module "dev set 0 pe_count 4294967295" dev set 0 pe_count 4294967295
expect_no_module "stats" stats
expect_no_module "stats nhot0 --watch 0.5 --count 2 -j" stats nhot0 --watch 0.5 --count 2 -j
expect_no_module "monitor" monitor
expect_no_module "monitor --json" monitor --json

# --- no leak and no invalid access on these paths (valgrind) -----------------
if command -v valgrind >/dev/null; then
	for args in "dev show nhot0" "--json stats" "stats 1 --watch 1 --count 2" "monitor" \
		    "dev add sim pe_count 8" "dev set 0 colour 1" "--help"; do
		# shellcheck disable=SC2086	# the words are the arguments
		valgrind -q --leak-check=full --show-leak-kinds=all --errors-for-leak-kinds=all \
			--error-exitcode=99 "$BIN" $args >"$TMP/out" 2>"$TMP/err"
		vrc=$?
		if [ "$vrc" != 99 ] && ! grep -q '^==[0-9]*==' "$TMP/err"; then
			result 0 "valgrind clean: $args"
		else
			result 1 "valgrind clean: $args" "$(grep -m3 '^==' "$TMP/err")"
		fi
	done
else
	skip_case "valgrind is not installed"
fi

# --- the static build for the VM is static ----------------------------------
if file build/static/bin/nhotctl | grep -q 'statically linked'; then
	result 0 "build/static/bin/nhotctl is statically linked"
else
	result 1 "build/static/bin/nhotctl is statically linked" "$(file build/static/bin/nhotctl)"
fi
finish
