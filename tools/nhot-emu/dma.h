/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * nhot-emu: DMA into the guest's RAM.
 *
 * QEMU runs the guest with its RAM in a shared file
 * (-object memory-backend-file,mem-path=FILE,share=on -machine
 * memory-backend=...).  nhot-emu creates that file before QEMU starts and
 * maps it; with no vIOMMU a bus address the driver hands the device is a
 * guest physical address, and for guests of at most EMU_DMA_MAX_RAM (all RAM
 * below the PCI hole) that is the offset in the file.  Every access is
 * bounds-checked: a bad address is the job's error, never a crash here.
 */
#ifndef NHOT_EMU_DMA_H
#define NHOT_EMU_DMA_H

#include <stdint.h>

/* Guests up to 2 GiB keep all RAM below QEMU's PCI hole (pc and q35). */
#define EMU_DMA_MAX_RAM	(2ULL << 30)

struct emu_dma {
	char *path;	/* the RAM file, unlinked on close */
	int fd;
	uint8_t *base;
	uint64_t size;
};

int dma_open(struct emu_dma *d, const char *path, uint64_t size);
void *dma_ptr(const struct emu_dma *d, uint64_t addr, uint64_t len);
void dma_close(struct emu_dma *d);

#endif /* NHOT_EMU_DMA_H */
