# vm/: QEMU runner for kernel tests (see vm/README.md).
#
#   make vmtest       selftests/drivers/nhot on every installed Debian kernel
#   make vm-kernels   fetch the kernel images into the machine-wide cache

.PHONY: vm-kernels
vm-kernels: | setup
	@for r in $$($(TOP)/vm/kernel-release.sh); do \
		$(TOP)/vm/fetch-kernel.sh $$r >/dev/null || exit 1; done

vmtest: | setup
	@$(TOP)/vm/vmtest.sh

# The same tests on a KASAN + lockdep + UBSAN + kmemleak kernel built from
# linux-source-6.12 (once per machine, minutes; vm/debug-kernel.sh). Once it is
# built, plain `make vmtest` includes it too.
.PHONY: vmtest-debug
vmtest-debug: | setup
	@VMTEST_KERNELS=debug $(TOP)/vm/vmtest.sh
