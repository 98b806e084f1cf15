#!/bin/bash
# make test: the kernel selftests in QEMU on every installed Debian kernel.
exec "$(dirname "$0")/../../vm/vmtest.sh"
