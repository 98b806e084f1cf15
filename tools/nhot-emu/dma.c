// SPDX-License-Identifier: GPL-2.0 OR MIT
/* nhot-emu: the guest RAM file and bounds-checked DMA (see dma.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dma.h"

/**
 * dma_open() - create and map the guest RAM file
 * @d: the mapping
 * @path: the file QEMU's memory-backend-file uses; must not exist yet
 * @size: the guest's RAM in bytes (QEMU's -m), at most %EMU_DMA_MAX_RAM
 *
 * The file is created here, at its final size, so that QEMU (which opens an
 * existing file as it is) and nhot-emu share the same pages from the start.
 *
 * Return: 0, or a negative errno (-EEXIST when @path exists, -EINVAL for a
 * size of 0, above %EMU_DMA_MAX_RAM or not a whole number of pages).
 */
int dma_open(struct emu_dma *d, const char *path, uint64_t size)
{
	int err;

	memset(d, 0, sizeof(*d));
	d->fd = -1;
	if (!size || size > EMU_DMA_MAX_RAM || size % 4096)
		return -EINVAL;
	d->path = strdup(path);
	if (!d->path)
		return -ENOMEM;
	d->fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (d->fd < 0) {
		err = -errno;
		free(d->path);
		d->path = NULL;
		return err;
	}
	if (ftruncate(d->fd, (off_t)size) < 0)
		goto fail;
	d->base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, d->fd, 0);
	if (d->base == MAP_FAILED) {
		d->base = NULL;
		goto fail;
	}
	d->size = size;
	return 0;

fail:
	err = -errno;
	dma_close(d);
	return err;
}

/**
 * dma_ptr() - where a DMA range of the guest lives in this process
 * @d: the mapping
 * @addr: bus (guest physical) address
 * @len: bytes from @addr, may be 0
 *
 * Return: the address, or NULL when any byte of the range lies outside the
 * guest's RAM (overflow included).
 */
void *dma_ptr(const struct emu_dma *d, uint64_t addr, uint64_t len)
{
	if (!d->base || addr > d->size || len > d->size - addr)
		return NULL;
	return d->base + addr;
}

/**
 * dma_close() - unmap, close and remove the RAM file
 * @d: the mapping (may be partly opened)
 *
 * QEMU keeps its own mapping: removing the name does not disturb a guest
 * that still runs.
 */
void dma_close(struct emu_dma *d)
{
	if (d->base)
		munmap(d->base, d->size);
	if (d->fd >= 0)
		close(d->fd);
	if (d->path)
		unlink(d->path);
	free(d->path);
	memset(d, 0, sizeof(*d));
	d->fd = -1;
}
