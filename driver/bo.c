// SPDX-License-Identifier: GPL-2.0
/*
 * nhot buffer objects: zeroed vmalloc_user() memory that userspace maps with
 * mmap() and jobs read and write.
 *
 * A buffer is named by a handle private to its file; its mmap offset is the
 * handle in pages.  The handle table, each mapping and each job that uses the
 * buffer hold a reference, so BO_DESTROY only forgets the handle: the memory
 * lives until the last mapping is gone and the last job is released.
 * Per-file limits count the buffers in the handle table.
 */
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "nhot_drv.h"

static void nhot_bo_free(struct kref *ref)
{
	struct nhot_bo *bo = container_of(ref, struct nhot_bo, ref);

	vfree(bo->vaddr);
	nhot_objects_dec(&bo->ndev->objects, NHOT_OBJ_BOS);
	nhot_device_put(bo->ndev);
	kfree(bo);
}

void nhot_bo_put(struct nhot_bo *bo)
{
	kref_put(&bo->ref, nhot_bo_free);
}

/**
 * nhot_bo_lookup() - a buffer of this file, with a reference
 * @nf: the file
 * @handle: its handle
 *
 * The table's reference is dropped only after the handle is erased, under
 * the same xarray lock, so a buffer found here is alive.
 *
 * Return: the buffer (put it with nhot_bo_put()) or NULL.
 */
struct nhot_bo *nhot_bo_lookup(struct nhot_file *nf, u32 handle)
{
	struct nhot_bo *bo;

	xa_lock(&nf->bos);
	bo = xa_load(&nf->bos, handle);
	if (bo)
		kref_get(&bo->ref);
	xa_unlock(&nf->bos);
	return bo;
}

int nhot_bo_create(struct nhot_file *nf, struct nhot_bo_create *args)
{
	struct nhot_device *ndev = nf->ndev;
	const struct nhot_limits *lim = &ndev->limits;
	struct nhot_bo *bo;
	u32 handle;
	int ret;

	if (args->flags || args->pad) {
		nhot_dbg(ndev, "BO_CREATE: flags %#x pad %#x\n", args->flags, args->pad);
		return -EINVAL;
	}
	if (!args->length) {
		nhot_dbg(ndev, "BO_CREATE: length 0\n");
		return -EINVAL;
	}
	if (args->length > lim->max_buffer_bytes) {
		nhot_dbg(ndev, "BO_CREATE: length %llu > %llu\n", args->length,
			 lim->max_buffer_bytes);
		return -EFBIG;
	}

	bo = kzalloc(sizeof(*bo), GFP_KERNEL);
	if (!bo)
		return -ENOMEM;
	kref_init(&bo->ref);
	kref_get(&ndev->ref);
	bo->ndev = ndev;
	nhot_objects_inc(&ndev->objects, NHOT_OBJ_BOS);
	bo->length = args->length;
	bo->size = PAGE_ALIGN(args->length);
	bo->vaddr = vmalloc_user(bo->size);
	if (!bo->vaddr) {
		ret = -ENOMEM;
		goto err_free_bo;
	}

	mutex_lock(&nf->lock);
	if (nf->nr_bos >= lim->max_buffers) {
		nhot_dbg(ndev, "BO_CREATE: file holds %u buffers\n", nf->nr_bos);
		ret = -EMFILE;
		goto err_unlock;
	}
	if (nf->bo_bytes + bo->length > lim->max_file_bytes) {
		nhot_dbg(ndev, "BO_CREATE: file would hold %llu bytes\n",
			 nf->bo_bytes + bo->length);
		ret = -EDQUOT;
		goto err_unlock;
	}
	ret = xa_alloc_cyclic(&nf->bos, &handle, bo, xa_limit_32b, &nf->next_handle,
			      GFP_KERNEL);
	if (ret < 0)
		goto err_unlock;
	nf->nr_bos++;
	nf->bo_bytes += bo->length;
	mutex_unlock(&nf->lock);

	args->handle = handle;
	args->mmap_offset = (u64)handle << PAGE_SHIFT;
	return 0;

err_unlock:
	mutex_unlock(&nf->lock);
err_free_bo:
	nhot_bo_put(bo);
	return ret;
}

int nhot_bo_destroy(struct nhot_file *nf, struct nhot_bo_destroy *args)
{
	struct nhot_bo *bo;

	if (args->flags || args->pad) {
		nhot_dbg(nf->ndev, "BO_DESTROY: flags %#x pad %#x\n", args->flags,
			 args->pad);
		return -EINVAL;
	}
	mutex_lock(&nf->lock);
	bo = args->handle ? xa_erase(&nf->bos, args->handle) : NULL;
	if (bo) {
		nf->nr_bos--;
		nf->bo_bytes -= bo->length;
	}
	mutex_unlock(&nf->lock);
	if (!bo) {
		nhot_dbg(nf->ndev, "BO_DESTROY: no handle %u\n", args->handle);
		return -ENOENT;
	}
	nhot_bo_put(bo);
	return 0;
}

/* Every new VMA (fork, split) holds its own reference. */
static void nhot_bo_vm_open(struct vm_area_struct *vma)
{
	struct nhot_bo *bo = vma->vm_private_data;

	kref_get(&bo->ref);
	nhot_objects_inc(&bo->ndev->objects, NHOT_OBJ_MAPPINGS);
}

static void nhot_bo_vm_close(struct vm_area_struct *vma)
{
	struct nhot_bo *bo = vma->vm_private_data;

	nhot_objects_dec(&bo->ndev->objects, NHOT_OBJ_MAPPINGS);
	nhot_bo_put(bo);
}

static const struct vm_operations_struct nhot_bo_vm_ops = {
	.open = nhot_bo_vm_open,
	.close = nhot_bo_vm_close,
};

/**
 * nhot_bo_mmap() - map a buffer: the offset names it, the length fits it
 * @nf: the file
 * @vma: a shared mapping whose offset is a buffer's mmap_offset
 *
 * Return: 0 or -EINVAL (private mapping, no such buffer, too long).
 */
int nhot_bo_mmap(struct nhot_file *nf, struct vm_area_struct *vma)
{
	struct nhot_bo *bo;
	int ret;

	/* MAP_SHARED of a writable file: the engine writes these pages too */
	if (!(vma->vm_flags & VM_SHARED)) {
		nhot_dbg(nf->ndev, "mmap: private mapping\n");
		return -EINVAL;
	}
	if (!vma->vm_pgoff || vma->vm_pgoff > U32_MAX) {
		nhot_dbg(nf->ndev, "mmap: offset %#lx names no buffer\n", vma->vm_pgoff);
		return -EINVAL;
	}
	bo = nhot_bo_lookup(nf, vma->vm_pgoff);
	if (!bo) {
		nhot_dbg(nf->ndev, "mmap: offset %#lx names no buffer\n", vma->vm_pgoff);
		return -EINVAL;
	}
	if (vma->vm_end - vma->vm_start > bo->size) {
		nhot_dbg(nf->ndev, "mmap: %lu bytes > buffer of %zu\n",
			 vma->vm_end - vma->vm_start, bo->size);
		ret = -EINVAL;
		goto err_put;
	}
	ret = remap_vmalloc_range(vma, bo->vaddr, 0);
	if (ret)
		goto err_put;
	vma->vm_private_data = bo;
	vma->vm_ops = &nhot_bo_vm_ops;
	nhot_objects_inc(&bo->ndev->objects, NHOT_OBJ_MAPPINGS);
	return 0;

err_put:
	nhot_bo_put(bo);
	return ret;
}

/* The file is closing: forget every handle; mappings keep their buffers. */
void nhot_bo_release_all(struct nhot_file *nf)
{
	struct nhot_bo *bo;
	unsigned long handle;

	xa_for_each(&nf->bos, handle, bo) {
		xa_erase(&nf->bos, handle);
		nhot_bo_put(bo);
	}
	nf->nr_bos = 0;
	nf->bo_bytes = 0;
}
