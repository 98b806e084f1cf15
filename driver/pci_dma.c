// SPDX-License-Identifier: GPL-2.0
/*
 * DMA of job buffers for the PCI engine (docs/hw.md sections 5 and 9).
 *
 * Ownership: the device owns a job's buffers only while that job is on it.
 *  - At SUBMIT (process context, on behalf of the submitting process) the
 *    job gets what its transfer needs that can be allocated early: for each
 *    buffer slice it uses, a scatter-gather table of exactly the slice's
 *    bytes in the buffer object's pages, and one page list for all slices.
 *    The tables are charged to the caller's memory cgroup; the page lists
 *    are coherent DMA memory (a dma_pool for the common small job), which
 *    cannot be charged.  Nothing is mapped for the device yet.
 *  - When the job starts (nhot_pci_map_xfer(), the engine's start work, in
 *    process context) the tables are mapped: the mapping syncs for the
 *    device (with bounce buffering, swiotlb: the bytes are copied into the
 *    bounce buffer now, after every earlier job completed and the CPU wrote
 *    its inputs), and the page lists get the DMA addresses.
 *  - When it ends (nhot_pci_unmap_xfer(), in process context: the
 *    completion thread, or a reset once the device let go) the tables are
 *    unmapped, which syncs the output for the CPU, before the job is
 *    reported: the CPU and later jobs see the output, and nothing is copied
 *    back later.
 * Mapping exactly the slices (not their whole pages) keeps a transfer from
 * touching the bytes around them, which the CPU or other jobs may own; the
 * DMA minimum alignment of 4 KiB (probe) keeps a bounced slice at its offset
 * in the page, as the page lists need.  One transfer at a time is mapped
 * (the job path runs one job at a time), so no two mappings of one
 * cacheline for the device to write ever coexist.
 */
#include <linux/dma-mapping.h>
#include <linux/dmapool.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "pci.h"

static enum dma_data_direction nhot_pci_slot_dir(int slot)
{
	return slot == NHOT_BUF_OUTPUT ? DMA_FROM_DEVICE : DMA_TO_DEVICE;
}

/* The longest segment the device's DMA takes, whole pages (probe set it). */
static unsigned int nhot_pci_max_segment(struct device *dev)
{
	size_t max = min_t(size_t, dma_max_mapping_size(dev), dma_get_max_seg_size(dev));

	return max_t(size_t, rounddown(min_t(size_t, max, UINT_MAX), PAGE_SIZE), PAGE_SIZE);
}

/* A table of exactly @buf's slice in the buffer object's pages (charged). */
static int nhot_pci_slot_table(struct device *dev, struct nhot_job_buf *buf,
			       struct sg_table *sgt)
{
	u64 first = buf->offset >> PAGE_SHIFT;
	unsigned int i, n = nhot_pci_slice_pages(buf->offset, buf->bytes);
	struct page **pages;
	int ret;

	pages = kvmalloc_array(n, sizeof(*pages), GFP_KERNEL_ACCOUNT);
	if (!pages)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		pages[i] = vmalloc_to_page(buf->bo->vaddr + ((first + i) << PAGE_SHIFT));
	ret = sg_alloc_table_from_pages_segment(sgt, pages, n, offset_in_page(buf->offset),
						buf->bytes, nhot_pci_max_segment(dev),
						GFP_KERNEL_ACCOUNT);
	kvfree(pages);
	return ret;
}

/* Frees the page lists of @map, not mapped for the device (maps_lock held). */
static void nhot_pci_map_free_lists(struct nhot_pci *pe, struct nhot_pci_map *map)
{
	struct device *dev = &pe->pdev->dev;

	lockdep_assert_held(&pe->maps_lock);
	if (map->lists && map->lists_bytes <= NHOT_PCI_POOL_BYTES)
		dma_pool_free(pe->lists_pool, map->lists, map->lists_dma);
	else if (map->lists)
		dma_free_coherent(dev, map->lists_bytes, map->lists, map->lists_dma);
	map->lists = NULL;
}

/* Frees the tables and the page lists of @map, not mapped (maps_lock held). */
static void nhot_pci_map_free(struct nhot_pci *pe, struct nhot_pci_map *map)
{
	int slot;

	lockdep_assert_held(&pe->maps_lock);
	for (slot = 0; slot < NHOT_BUF_COUNT; slot++) {
		if (map->sgt[slot].sgl)
			sg_free_table(&map->sgt[slot]);
		map->sgt[slot].sgl = NULL;
	}
	nhot_pci_map_free_lists(pe, map);
}

/* The tables and the page lists of every slice @job uses (maps_lock held). */
static int nhot_pci_map_alloc(struct nhot_pci *pe, struct nhot_kjob *job,
			      struct nhot_pci_map *map)
{
	struct device *dev = &pe->pdev->dev;
	u64 total = 0;
	int slot, ret;

	lockdep_assert_held(&pe->maps_lock);
	for (slot = 0; slot < NHOT_BUF_COUNT; slot++) {
		struct nhot_job_buf *buf = &job->buf[slot];

		if (!buf->bo)
			continue;
		ret = nhot_pci_slot_table(dev, buf, &map->sgt[slot]);
		if (ret)
			goto err_free;
		map->hw[slot].length = buf->bytes;
		map->hw[slot].offset = offset_in_page(buf->offset);
		map->hw[slot].nr_pages = nhot_pci_slice_pages(buf->offset, buf->bytes);
		total += map->hw[slot].nr_pages;
	}
	/* coherent memory: not chargeable to a memory cgroup */
	map->lists_bytes = max_t(u64, total, 1) * sizeof(*map->lists);
	if (map->lists_bytes <= NHOT_PCI_POOL_BYTES)
		map->lists = dma_pool_alloc(pe->lists_pool, GFP_KERNEL, &map->lists_dma);
	else
		map->lists = dma_alloc_coherent(dev, map->lists_bytes, &map->lists_dma,
						GFP_KERNEL);
	if (!map->lists) {
		ret = -ENOMEM;
		goto err_free;
	}
	return 0;

err_free:
	nhot_pci_map_free(pe, map);
	return ret;
}

/*
 * Writes the page list of a mapped slot at @list: the 4 KiB pages its DMA
 * segments cover.  Every segment but the first starts on a page, every one
 * but the last ends on one, and the slice keeps its offset in the first
 * page; else the mapping cannot be described by a page list.
 */
static int nhot_pci_slot_list(struct sg_table *sgt, const struct nhot_hw_buf *hw,
			      u64 *list)
{
	struct scatterlist *sg;
	u32 n = 0;
	int i;

	for_each_sgtable_dma_sg(sgt, sg, i) {
		dma_addr_t addr = sg_dma_address(sg), end = addr + sg_dma_len(sg);

		if (offset_in_page(addr) != (i ? 0 : hw->offset))
			return -EIO;
		if (i < sgt->nents - 1 && offset_in_page(end))
			return -EIO;
		for (addr = round_down(addr, PAGE_SIZE); addr < end; addr += PAGE_SIZE) {
			if (n == hw->nr_pages)
				return -EIO;
			list[n++] = addr;
		}
	}
	return n == hw->nr_pages ? 0 : -EIO;
}

static void nhot_pci_unmap_slots(struct device *dev, struct nhot_pci_map *map, int count)
{
	int slot;

	for (slot = 0; slot < count; slot++)
		if (map->sgt[slot].sgl)
			dma_unmap_sgtable(dev, &map->sgt[slot], nhot_pci_slot_dir(slot), 0);
}

/**
 * nhot_pci_map_xfer() - the job starts: map its buffers for the device
 * @pe: the engine
 * @job: the job being handed to the device, prepared
 *
 * Mapping syncs every buffer for the device: the device owns them from now
 * until nhot_pci_unmap_xfer().  Process context, &nhot_pci.xfer_lock held.
 *
 * Return: 0; -ENOMEM when the mapping failed (e.g. no bounce buffer space),
 * -EIO when the mapping does not fit the device's page lists, -ENODEV when
 * the device is gone.
 */
int nhot_pci_map_xfer(struct nhot_pci *pe, struct nhot_kjob *job)
{
	struct nhot_pci_map *map = job->engine_data;
	struct device *dev = &pe->pdev->dev;
	u64 *list;
	int slot, ret = 0;

	lockdep_assert_held(&pe->xfer_lock);
	if (!map->lists)
		return -ENODEV;		/* nhot_pci_unmap_all() freed them */
	list = map->lists;
	for (slot = 0; slot < NHOT_BUF_COUNT; slot++) {
		if (!map->sgt[slot].sgl)
			continue;
		ret = dma_map_sgtable(dev, &map->sgt[slot], nhot_pci_slot_dir(slot), 0);
		if (ret)
			break;
		ret = nhot_pci_slot_list(&map->sgt[slot], &map->hw[slot], list);
		if (ret) {
			dev_err(dev, "job %llu: DMA segments do not fit a page list\n", job->id);
			slot++;
			break;
		}
		map->hw[slot].pages = map->lists_dma + (list - map->lists) * sizeof(*list);
		list += map->hw[slot].nr_pages;
	}
	if (ret) {
		nhot_pci_unmap_slots(dev, map, slot);
		return ret;
	}
	map->mapped = true;
	return 0;
}

/**
 * nhot_pci_unmap_xfer() - the device let go of the job: unmap its buffers
 * @pe: the engine
 * @job: the job mapped by nhot_pci_map_xfer()
 *
 * Unmapping syncs the output for the CPU (with bounce buffering: copies it
 * out of the bounce buffer); the CPU owns every buffer again.  Called
 * exactly once per successful nhot_pci_map_xfer(), before the job is
 * reported.  Process context, &nhot_pci.xfer_lock held.
 */
void nhot_pci_unmap_xfer(struct nhot_pci *pe, struct nhot_kjob *job)
{
	struct nhot_pci_map *map = job->engine_data;

	lockdep_assert_held(&pe->xfer_lock);
	nhot_pci_unmap_slots(&pe->pdev->dev, map, NHOT_BUF_COUNT);
	map->mapped = false;
}

/**
 * nhot_pci_prepare() - what a job's transfer needs, allocated at SUBMIT
 * @ndev: the device
 * @job: a validated job, not yet queued
 *
 * Return: 0, -ENOMEM, or -ENODEV once the device is dead or gone.
 */
int nhot_pci_prepare(struct nhot_device *ndev, struct nhot_kjob *job)
{
	struct nhot_pci *pe = ndev->engine;
	struct nhot_pci_map *map;
	int ret;

	/* the engine uses 4 KiB page lists (docs/hw.md) */
	BUILD_BUG_ON(PAGE_SIZE != NHOT_HW_PAGE_SIZE);

	map = kzalloc(sizeof(*map), GFP_KERNEL_ACCOUNT);
	if (!map)
		return -ENOMEM;
	INIT_LIST_HEAD(&map->node);

	mutex_lock(&pe->maps_lock);
	if (pe->gone || READ_ONCE(pe->dead)) {
		nhot_dbg(ndev, "SUBMIT: engine dead or removed\n");
		ret = -ENODEV;
		goto err_unlock;
	}
	ret = nhot_pci_map_alloc(pe, job, map);
	if (ret)
		goto err_unlock;
	list_add_tail(&map->node, &pe->maps);
	mutex_unlock(&pe->maps_lock);
	job->engine_data = map;
	return 0;

err_unlock:
	mutex_unlock(&pe->maps_lock);
	kfree(map);
	return ret;
}

/**
 * nhot_pci_unprepare() - the job is being freed: free what prepare made
 * @ndev: the device (perhaps removed: the engine struct lives until release)
 * @job: the job, not on the device (its transfer was unmapped when it ended)
 */
void nhot_pci_unprepare(struct nhot_device *ndev, struct nhot_kjob *job)
{
	struct nhot_pci *pe = ndev->engine;
	struct nhot_pci_map *map = job->engine_data;

	mutex_lock(&pe->maps_lock);
	list_del(&map->node);
	nhot_pci_map_free(pe, map);
	mutex_unlock(&pe->maps_lock);
	kfree(map);
	job->engine_data = NULL;
}

/**
 * nhot_pci_dma_init() - the engine's page-list pool
 * @pe: the engine
 *
 * Return: 0 or -ENOMEM.
 */
int nhot_pci_dma_init(struct nhot_pci *pe)
{
	pe->lists_pool = dma_pool_create("nhot-page-lists", &pe->pdev->dev,
					 NHOT_PCI_POOL_BYTES, sizeof(u64), 0);
	return pe->lists_pool ? 0 : -ENOMEM;
}

/**
 * nhot_pci_unmap_all() - the device is being destroyed: free every page list
 * @pe: the engine, quiet (no DMA, no transfer mapped)
 *
 * Jobs that outlive the device keep their tables (plain memory) until they
 * are freed; they can no longer be mapped.  The pool goes too.
 */
void nhot_pci_unmap_all(struct nhot_pci *pe)
{
	struct nhot_pci_map *map;

	mutex_lock(&pe->maps_lock);
	pe->gone = true;
	list_for_each_entry(map, &pe->maps, node)
		nhot_pci_map_free_lists(pe, map);
	dma_pool_destroy(pe->lists_pool);
	pe->lists_pool = NULL;
	mutex_unlock(&pe->maps_lock);
}
