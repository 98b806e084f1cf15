// SPDX-License-Identifier: GPL-2.0
/*
 * nhot buffer objects: zeroed pages charged to the creator's memory cgroup,
 * vmap()ed for the engines and mapped into userspace page by page on fault.
 *
 * A buffer is named by a handle private to its file; its mmap offset is the
 * handle in pages.  The handle table, each mapping and each job that uses the
 * buffer hold a reference, so BO_DESTROY only forgets the handle: the memory
 * lives until the last mapping is gone and the last job is released.
 *
 * Limits count memory, not handles: a buffer counts against its file's
 * max_buffers and max_file_bytes, and against the module-wide max_total_bytes,
 * from before its pages are allocated until they are freed.  Since a buffer
 * can outlive its file (a mapping), the file's counts live in a small
 * refcounted struct nhot_bo_account that the file and each of its buffers
 * hold.
 */
#include <linux/atomic.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "nhot_drv.h"

/*
 * Everything BO_CREATE allocates is charged to the caller's memory cgroup;
 * over the cgroup's memory.max (or when the system is out of memory) the
 * allocation fails and BO_CREATE returns -ENOMEM instead of waking the OOM
 * killer.  No allocation warning: the size is the caller's choice.
 */
#define NHOT_BO_GFP	(GFP_KERNEL_ACCOUNT | __GFP_RETRY_MAYFAIL | __GFP_NOWARN)

/* Page bytes of all buffers of all files of all devices (max_total_bytes). */
static atomic64_t nhot_total_bytes = ATOMIC64_INIT(0);

#ifndef NHOT_HAVE_VM_FLAGS_SET
/* Before 6.3 vm_flags is written directly (the mmap lock is held). */
static inline void vm_flags_set(struct vm_area_struct *vma, vm_flags_t flags)
{
	vma->vm_flags |= flags;
}

static inline void vm_flags_clear(struct vm_area_struct *vma, vm_flags_t flags)
{
	vma->vm_flags &= ~flags;
}
#endif

/* Adds @bytes to @used unless the sum would exceed @limit. */
static bool nhot_reserve_bytes(atomic64_t *used, u64 bytes, u64 limit)
{
	s64 old = atomic64_read(used);

	do {
		if (bytes > limit || old > limit - bytes)
			return false;
	} while (!atomic64_try_cmpxchg(used, &old, old + bytes));
	return true;
}

static void nhot_bo_account_free(struct kref *ref)
{
	kfree(container_of(ref, struct nhot_bo_account, ref));
}

static void nhot_bo_account_put(struct nhot_bo_account *acct)
{
	kref_put(&acct->ref, nhot_bo_account_free);
}

/* The file's account, created at its first BO_CREATE; NULL without memory. */
static struct nhot_bo_account *nhot_bo_account_of(struct nhot_file *nf)
{
	struct nhot_bo_account *acct;

	mutex_lock(&nf->lock);
	acct = nf->bo_account;
	if (!acct) {
		acct = kzalloc(sizeof(*acct), NHOT_BO_GFP);
		if (acct) {
			kref_init(&acct->ref);
			nf->bo_account = acct;
		}
	}
	mutex_unlock(&nf->lock);
	return acct;
}

/*
 * Counts a buffer of @length bytes (@size in pages) against the file's and
 * the module's limits, before anything is allocated for it.
 */
static int nhot_bo_reserve(struct nhot_device *ndev, struct nhot_bo_account *acct,
			   u64 length, size_t size)
{
	const struct nhot_limits *lim = &ndev->limits;

	if (!atomic_add_unless(&acct->nr_bos, 1, lim->max_buffers)) {
		nhot_dbg(ndev, "BO_CREATE: file holds %u buffers\n", lim->max_buffers);
		return -EMFILE;
	}
	if (!nhot_reserve_bytes(&acct->bytes, length, lim->max_file_bytes)) {
		nhot_dbg(ndev, "BO_CREATE: file would hold more than %llu bytes\n",
			 lim->max_file_bytes);
		atomic_dec(&acct->nr_bos);
		return -EDQUOT;
	}
	if (!nhot_reserve_bytes(&nhot_total_bytes, size, nhot_max_total_bytes())) {
		nhot_dbg(ndev, "BO_CREATE: buffers would exceed max_total_bytes %llu\n",
			 nhot_max_total_bytes());
		atomic64_sub(length, &acct->bytes);
		atomic_dec(&acct->nr_bos);
		return -ENOMEM;
	}
	return 0;
}

static void nhot_bo_unreserve(struct nhot_bo_account *acct, u64 length, size_t size)
{
	atomic64_sub(size, &nhot_total_bytes);
	atomic64_sub(length, &acct->bytes);
	atomic_dec(&acct->nr_bos);
}

/* Allocates the zeroed pages and maps them for the engines. */
static int nhot_bo_alloc_pages(struct nhot_bo *bo)
{
	unsigned long i;

	bo->pages = kvcalloc(bo->nr_pages, sizeof(*bo->pages), NHOT_BO_GFP);
	if (!bo->pages)
		return -ENOMEM;
	for (i = 0; i < bo->nr_pages; i++) {
		bo->pages[i] = alloc_page(NHOT_BO_GFP | __GFP_ZERO);
		if (!bo->pages[i])
			return -ENOMEM;
	}
	bo->vaddr = vmap(bo->pages, bo->nr_pages, VM_MAP, PAGE_KERNEL);
	return bo->vaddr ? 0 : -ENOMEM;
}

/* Frees what nhot_bo_alloc_pages() got, also after it failed half way. */
static void nhot_bo_free_pages(struct nhot_bo *bo)
{
	unsigned long i;

	if (bo->vaddr)
		vunmap(bo->vaddr);
	if (!bo->pages)
		return;
	for (i = 0; i < bo->nr_pages && bo->pages[i]; i++)
		__free_page(bo->pages[i]);
	kvfree(bo->pages);
}

/* The last reference is gone (process context: vunmap() may sleep). */
static void nhot_bo_free(struct kref *ref)
{
	struct nhot_bo *bo = container_of(ref, struct nhot_bo, ref);

	nhot_bo_free_pages(bo);
	nhot_bo_unreserve(bo->account, bo->length, bo->size);
	nhot_bo_account_put(bo->account);
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

/*
 * A buffer counted against the limits, with its pages, and no handle yet;
 * an ERR_PTR when a limit or the memory (cgroup) refuses it.
 */
static struct nhot_bo *nhot_bo_alloc(struct nhot_file *nf, u64 length)
{
	struct nhot_device *ndev = nf->ndev;
	struct nhot_bo_account *acct;
	size_t size = PAGE_ALIGN(length);
	struct nhot_bo *bo;
	int ret;

	acct = nhot_bo_account_of(nf);
	if (!acct)
		return ERR_PTR(-ENOMEM);
	ret = nhot_bo_reserve(ndev, acct, length, size);
	if (ret)
		return ERR_PTR(ret);
	bo = kzalloc(sizeof(*bo), NHOT_BO_GFP);
	if (!bo) {
		nhot_bo_unreserve(acct, length, size);
		return ERR_PTR(-ENOMEM);
	}
	/* from here on nhot_bo_free() undoes everything */
	kref_init(&bo->ref);
	kref_get(&ndev->ref);
	bo->ndev = ndev;
	nhot_objects_inc(&ndev->objects, NHOT_OBJ_BOS);
	kref_get(&acct->ref);
	bo->account = acct;
	bo->length = length;
	bo->size = size;
	bo->nr_pages = size >> PAGE_SHIFT;
	ret = nhot_bo_alloc_pages(bo);
	if (ret) {
		nhot_dbg(ndev, "BO_CREATE: no memory for %zu bytes\n", size);
		nhot_bo_put(bo);
		return ERR_PTR(ret);
	}
	return bo;
}

int nhot_bo_create(struct nhot_file *nf, struct nhot_bo_create *args)
{
	struct nhot_device *ndev = nf->ndev;
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
	if (args->length > ndev->limits.max_buffer_bytes) {
		nhot_dbg(ndev, "BO_CREATE: length %llu > %llu\n", args->length,
			 ndev->limits.max_buffer_bytes);
		return -EFBIG;
	}

	bo = nhot_bo_alloc(nf, args->length);
	if (IS_ERR(bo))
		return PTR_ERR(bo);
	/* sets bo->handle before a lookup (mmap, fault) can find the buffer */
	mutex_lock(&nf->lock);
	ret = xa_alloc_cyclic(&nf->bos, &bo->handle, bo, xa_limit_32b, &nf->next_handle,
			      GFP_KERNEL_ACCOUNT);
	handle = bo->handle;	/* BO_DESTROY may free bo once the lock is gone */
	mutex_unlock(&nf->lock);
	if (ret < 0) {
		nhot_bo_put(bo);
		return ret;
	}
	args->handle = handle;
	args->mmap_offset = (u64)handle << PAGE_SHIFT;
	return 0;
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

/*
 * A page of the mapping is touched for the first time, or again after
 * MADV_DONTNEED (or any other zap): hand out the buffer's page, so the
 * mapping always shows the buffer's bytes.
 */
static vm_fault_t nhot_bo_vm_fault(struct vm_fault *vmf)
{
	struct nhot_bo *bo = vmf->vma->vm_private_data;
	/* the mapping's offset in pages is the handle plus the page's index */
	pgoff_t index = vmf->pgoff - bo->handle;

	if (vmf->pgoff < bo->handle || index >= bo->nr_pages)
		return VM_FAULT_SIGBUS;
	get_page(bo->pages[index]);
	vmf->page = bo->pages[index];
	return 0;
}

static const struct vm_operations_struct nhot_bo_vm_ops = {
	.open = nhot_bo_vm_open,
	.close = nhot_bo_vm_close,
	.fault = nhot_bo_vm_fault,
};

/**
 * nhot_bo_mmap() - map a buffer: the offset names it, the length fits it
 * @nf: the file
 * @vma: a shared mapping whose offset is a buffer's mmap_offset
 *
 * The pages are mapped on fault (nhot_bo_vm_fault()).  The mapping can never
 * be executable: PROT_EXEC is refused, and VM_MAYEXEC is cleared so that
 * mprotect() cannot add it later.
 *
 * Return: 0, -EINVAL (private mapping, no such buffer, too long) or -EPERM
 * (PROT_EXEC).
 */
int nhot_bo_mmap(struct nhot_file *nf, struct vm_area_struct *vma)
{
	struct nhot_bo *bo;

	/* MAP_SHARED of a writable file: the engine writes these pages too */
	if (!(vma->vm_flags & VM_SHARED)) {
		nhot_dbg(nf->ndev, "mmap: private mapping\n");
		return -EINVAL;
	}
	if (vma->vm_flags & VM_EXEC) {
		nhot_dbg(nf->ndev, "mmap: executable mapping\n");
		return -EPERM;
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
		nhot_bo_put(bo);
		return -EINVAL;
	}
	vm_flags_set(vma, VM_DONTEXPAND | VM_DONTDUMP);
	vm_flags_clear(vma, VM_MAYEXEC);
	vma->vm_private_data = bo;
	vma->vm_ops = &nhot_bo_vm_ops;
	nhot_objects_inc(&bo->ndev->objects, NHOT_OBJ_MAPPINGS);
	return 0;
}

/*
 * The file is closing: forget every handle; mappings keep their buffers,
 * which keep the file's account until they are freed.
 */
void nhot_bo_release_all(struct nhot_file *nf)
{
	struct nhot_bo *bo;
	unsigned long handle;

	xa_for_each(&nf->bos, handle, bo) {
		xa_erase(&nf->bos, handle);
		nhot_bo_put(bo);
	}
	if (nf->bo_account)
		nhot_bo_account_put(nf->bo_account);
	nf->bo_account = NULL;
}
