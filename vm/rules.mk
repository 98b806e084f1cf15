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
