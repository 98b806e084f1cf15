// SPDX-License-Identifier: GPL-2.0
/*
 * DMA mappings of job buffers for the PCI engine (docs/hw.md section 5).
 *
 * At SUBMIT (where sleeping is allowed) each buffer slice a job uses is
 * mapped: the buffer object's vmalloc pages that hold the slice become a
 * scatter-gather table mapped for the device, and its 4 KiB page addresses
 * are written into a page list in coherent memory that the descriptor points
 * to: from a DMA pool for the common small job, else its own allocation.
 * The mapping lives until the job is freed, or until the device is
 * destroyed, whichever comes first: a removed PCI function must not keep
 * mappings, while the job, held by an open file, may live on.
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

/* Maps the whole pages that hold @buf's slice. */
static int nhot_pci_map_slot(struct device *dev, struct nhot_job_buf *buf,
			     struct sg_table *sgt, enum dma_data_direction dir)
{
	u64 first = buf->offset >> PAGE_SHIFT;
	u64 last = (buf->offset + buf->bytes - 1) >> PAGE_SHIFT;
	unsigned int i, n = last - first + 1;
	struct page **pages;
	int ret;

	pages = kvmalloc_array(n, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		pages[i] = vmalloc_to_page(buf->bo->vaddr + ((first + i) << PAGE_SHIFT));
	/* whole pages: every DMA segment starts page aligned */
	ret = sg_alloc_table_from_pages(sgt, pages, n, 0, (size_t)n << PAGE_SHIFT,
					GFP_KERNEL);
	kvfree(pages);
	if (ret)
		return ret;
	ret = dma_map_sgtable(dev, sgt, dir, 0);
	if (ret) {
		sg_free_table(sgt);
		return ret;
	}
	return 0;
}

/* Frees the mappings and page lists of @map (maps_lock held). */
static void nhot_pci_map_free_dma(struct nhot_pci *pe, struct nhot_pci_map *map)
{
	struct device *dev = &pe->pdev->dev;
	int slot;

	lockdep_assert_held(&pe->maps_lock);
	for (slot = 0; slot < NHOT_BUF_COUNT; slot++) {
		if (!map->sgt[slot].sgl)
			continue;
		dma_unmap_sgtable(dev, &map->sgt[slot], nhot_pci_slot_dir(slot), 0);
		sg_free_table(&map->sgt[slot]);
		map->sgt[slot].sgl = NULL;
	}
	if (map->lists && map->lists_bytes <= NHOT_PCI_POOL_BYTES)
		dma_pool_free(pe->lists_pool, map->lists, map->lists_dma);
	else if (map->lists)
		dma_free_coherent(dev, map->lists_bytes, map->lists, map->lists_dma);
	map->lists = NULL;
	map->live = false;
}

/* Writes each mapped slot's page list and its descriptor entry. */
static int nhot_pci_map_lists(struct nhot_pci *pe, struct nhot_kjob *job,
			      struct nhot_pci_map *map, const u32 *nr_pages)
{
	struct sg_dma_page_iter iter;
	u32 at = 0, n;
	int slot;

	for (slot = 0; slot < NHOT_BUF_COUNT; slot++) {
		if (!nr_pages[slot])
			continue;
		n = 0;
		for_each_sgtable_dma_page(&map->sgt[slot], &iter, 0) {
			if (n == nr_pages[slot])
				return -EIO;
			map->lists[at + n++] = sg_page_iter_dma_address(&iter);
		}
		if (n != nr_pages[slot])
			return -EIO;
		map->hw[slot].pages = map->lists_dma + (u64)at * sizeof(*map->lists);
		map->hw[slot].length = job->buf[slot].bytes;
		map->hw[slot].offset = offset_in_page(job->buf[slot].offset);
		map->hw[slot].nr_pages = n;
		at += n;
	}
	return 0;
}

/* Maps every buffer of @job and builds its page lists (maps_lock held). */
static int nhot_pci_map_job(struct nhot_pci *pe, struct nhot_kjob *job,
			    struct nhot_pci_map *map)
{
	struct device *dev = &pe->pdev->dev;
	u32 nr_pages[NHOT_BUF_COUNT] = { 0 };
	u64 total = 0;
	int slot, ret;

	for (slot = 0; slot < NHOT_BUF_COUNT; slot++) {
		struct nhot_job_buf *buf = &job->buf[slot];

		if (!buf->bo)
			continue;
		nr_pages[slot] = ((buf->offset + buf->bytes - 1) >> PAGE_SHIFT) -
				 (buf->offset >> PAGE_SHIFT) + 1;
		total += nr_pages[slot];
		ret = nhot_pci_map_slot(dev, buf, &map->sgt[slot],
					nhot_pci_slot_dir(slot));
		if (ret)
			goto err_free;
	}
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
	ret = nhot_pci_map_lists(pe, job, map, nr_pages);
	if (ret) {
		dev_err(dev, "job %llu: DMA pages do not match the buffer pages\n", job->id);
		goto err_free;
	}
	map->live = true;
	return 0;

err_free:
	nhot_pci_map_free_dma(pe, map);
	return ret;
}

/**
 * nhot_pci_prepare() - map a job's buffers for the device
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

	map = kzalloc(sizeof(*map), GFP_KERNEL);
	if (!map)
		return -ENOMEM;
	INIT_LIST_HEAD(&map->node);

	mutex_lock(&pe->maps_lock);
	if (pe->gone || READ_ONCE(pe->dead)) {
		nhot_dbg(ndev, "SUBMIT: engine dead or removed\n");
		ret = -ENODEV;
		goto err_unlock;
	}
	ret = nhot_pci_map_job(pe, job, map);
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
 * nhot_pci_unprepare() - the job is being freed: unmap its buffers
 * @ndev: the device (perhaps removed: the engine struct lives until release)
 * @job: the job
 */
void nhot_pci_unprepare(struct nhot_device *ndev, struct nhot_kjob *job)
{
	struct nhot_pci *pe = ndev->engine;
	struct nhot_pci_map *map = job->engine_data;

	mutex_lock(&pe->maps_lock);
	if (map->live) {
		list_del(&map->node);
		nhot_pci_map_free_dma(pe, map);
	}
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
 * nhot_pci_unmap_all() - the device is being destroyed: drop every mapping
 * @pe: the engine, quiet (no DMA, no job running)
 *
 * Jobs that outlive the device keep their (now empty) maps until they are
 * freed; no new mapping is made.  The pool goes too.
 */
void nhot_pci_unmap_all(struct nhot_pci *pe)
{
	struct nhot_pci_map *map, *tmp;

	mutex_lock(&pe->maps_lock);
	pe->gone = true;
	list_for_each_entry_safe(map, tmp, &pe->maps, node) {
		list_del_init(&map->node);
		nhot_pci_map_free_dma(pe, map);
	}
	dma_pool_destroy(pe->lists_pool);
	pe->lists_pool = NULL;
	mutex_unlock(&pe->maps_lock);
}

/**
 * nhot_pci_sync_output() - the device wrote a job's output: give it to the CPU
 * @pe: the engine
 * @job: the job the device completed (still running: its map is live)
 *
 * Any context.
 */
void nhot_pci_sync_output(struct nhot_pci *pe, struct nhot_kjob *job)
{
	struct nhot_pci_map *map = job->engine_data;

	if (map->sgt[NHOT_BUF_OUTPUT].sgl)
		dma_sync_sgtable_for_cpu(&pe->pdev->dev, &map->sgt[NHOT_BUF_OUTPUT],
					 DMA_FROM_DEVICE);
}
