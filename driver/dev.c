// SPDX-License-Identifier: GPL-2.0
/*
 * nhot device lifetime: creation, the device list, removal with files open.
 *
 * A device is refcounted.  The list holds one reference, every open file
 * another.  Removal marks the device removed (SUBMIT gets -ENODEV), cancels
 * its jobs, stops the engine, and unregisters /dev/nhotN; the memory goes
 * with the last reference.
 *
 * Its id (nhot_ida) is held until the last reference goes, and ids are
 * allocated below max_devices: that caps the devices alive at once, removed
 * ones with open files included (-ENOSPC beyond).
 */
#include <linux/idr.h>
#include <linux/slab.h>

#include "engine.h"
#include "netlink.h"
#include "nhot_drv.h"

static DEFINE_IDA(nhot_ida);
/* protects nhot_devices */
static DEFINE_MUTEX(nhot_devices_lock);
static LIST_HEAD(nhot_devices);

static void nhot_device_free(struct kref *ref)
{
	struct nhot_device *ndev = container_of(ref, struct nhot_device, ref);

	if (ndev->ops->release)
		ndev->ops->release(ndev);
	put_device(ndev->dev);
	ida_free(&nhot_ida, ndev->id);
	kfree(ndev);
	atomic_dec(&nhot_objects_total.live[NHOT_OBJ_DEVICES]);
}

void nhot_device_put(struct nhot_device *ndev)
{
	kref_put(&ndev->ref, nhot_device_free);
}

/* @data: a struct nhot_sim_cfg or NULL (the module parameters) */
static int nhot_sim_attach(struct nhot_device *ndev, void *data)
{
	const struct nhot_sim_cfg *cfg = data;

	if (cfg && cfg->pe_count)
		ndev->limits.pe_count = cfg->pe_count;
	if (cfg && cfg->clock_mhz)
		ndev->limits.clock_mhz = cfg->clock_mhz;
	if (cfg && cfg->timeout_ms) {
		ndev->limits.timeout_ms = cfg->timeout_ms;
		ndev->timeout_ms = cfg->timeout_ms;
	}
	return nhot_sim_create(ndev);
}

/* As nhot_device_create_engine(), plus a reference for the caller. */
static struct nhot_device *nhot_device_create_ref(u32 engine_kind, struct device *parent,
						  int (*attach)(struct nhot_device *ndev,
								void *data),
						  void *data);

/**
 * nhot_device_create() - create a simulated engine and its /dev/nhotN
 * @engine_kind: %NHOT_ENGINE_SIM
 *
 * Return: the device (owned by the device list) or an ERR_PTR.
 */
struct nhot_device *nhot_device_create(u32 engine_kind)
{
	if (engine_kind != NHOT_ENGINE_SIM)
		return ERR_PTR(-EOPNOTSUPP);
	return nhot_device_create_engine(engine_kind, NULL, nhot_sim_attach, NULL);
}

/**
 * nhot_device_create_sim() - create a simulated engine at run time (DEV_NEW)
 * @cfg: its cycle model and timeout; zero fields take the module parameters
 *
 * Return: the device with a reference for the caller (the list holds
 * another; a DEV_DEL may remove it at once), or an ERR_PTR.
 */
struct nhot_device *nhot_device_create_sim(const struct nhot_sim_cfg *cfg)
{
	return nhot_device_create_ref(NHOT_ENGINE_SIM, NULL, nhot_sim_attach, (void *)cfg);
}

/**
 * nhot_device_create_engine() - create a device around an engine backend
 * @engine_kind: an &enum nhot_engine_kind
 * @parent: the engine's own device (a PCI function), or NULL; names
 *	&nhot_device.bus and parents /dev/nhotN in sysfs
 * @attach: sets &nhot_device.ops and &nhot_device.engine; may sleep.  On
 *	failure it has undone itself; once it succeeded, the device owns the
 *	engine (&nhot_engine_ops.destroy and .release free it)
 * @data: passed to @attach
 *
 * Return: the device (owned by the device list) or an ERR_PTR.
 */
struct nhot_device *nhot_device_create_engine(u32 engine_kind, struct device *parent,
					      int (*attach)(struct nhot_device *ndev,
							    void *data),
					      void *data)
{
	struct nhot_device *ndev;

	ndev = nhot_device_create_ref(engine_kind, parent, attach, data);
	if (!IS_ERR(ndev))
		nhot_device_put(ndev);
	return ndev;
}

static struct nhot_device *nhot_device_create_ref(u32 engine_kind, struct device *parent,
						  int (*attach)(struct nhot_device *ndev,
								void *data),
						  void *data)
{
	struct nhot_device *ndev;
	int ret;

	ndev = kzalloc(sizeof(*ndev), GFP_KERNEL);
	if (!ndev)
		return ERR_PTR(-ENOMEM);
	kref_init(&ndev->ref);
	atomic_inc(&nhot_objects_total.live[NHOT_OBJ_DEVICES]);
	/* the device cap: -ENOSPC once max_devices ids are held */
	ret = ida_alloc_max(&nhot_ida, nhot_max_devices() - 1, GFP_KERNEL);
	if (ret < 0)
		goto err_free;
	ndev->id = ret;
	snprintf(ndev->name, sizeof(ndev->name), "nhot%d", ndev->id);
	nhot_default_limits(&ndev->limits);
	ndev->timeout_ms = ndev->limits.timeout_ms;
	ndev->engine_kind = engine_kind;
	nhot_device_jobs_init(ndev);
	nhot_nl_device_init(ndev);

	if (parent)
		strscpy(ndev->bus, dev_name(parent), sizeof(ndev->bus));
	ret = attach(ndev, data);
	if (ret)
		goto err_free_id;

	ndev->misc.minor = MISC_DYNAMIC_MINOR;
	ndev->misc.name = ndev->name;
	ndev->misc.fops = &nhot_fops;
	ndev->misc.parent = parent;
	/*
	 * Root only by default: an open file may pin max_file_bytes of
	 * memory, so who else may use the engine is the administrator's
	 * choice (packaging/60-nhot.rules: group nhot, mode 0660).
	 */
	ndev->misc.mode = 0600;
	ret = misc_register(&ndev->misc);
	if (ret)
		goto err_destroy_engine;
	ndev->dev = get_device(ndev->misc.this_device);

	nhot_debugfs_add_device(ndev);
	/* the caller's reference: a DEV_DEL may remove it once it is listed */
	kref_get(&ndev->ref);
	mutex_lock(&nhot_devices_lock);
	list_add_tail(&ndev->node, &nhot_devices);
	/* under the lock: no DEV_DEL finds it, and notifies, before this */
	nhot_nl_notify_dev(ndev, NHOT_CMD_DEV_ADD_NTF);
	mutex_unlock(&nhot_devices_lock);
	return ndev;

err_destroy_engine:
	ndev->ops->destroy(ndev);
	if (ndev->ops->release)
		ndev->ops->release(ndev);
err_free_id:
	ida_free(&nhot_ida, ndev->id);
err_free:
	kfree(ndev);
	atomic_dec(&nhot_objects_total.live[NHOT_OBJ_DEVICES]);
	return ERR_PTR(ret);
}

/* Takes the device off the list; the list's reference goes too. */
static void nhot_device_teardown(struct nhot_device *ndev)
{
	/* no new jobs; the monitor sees the device in state "removing" */
	spin_lock_irq(&ndev->lock);
	ndev->removed = true;
	spin_unlock_irq(&ndev->lock);
	nhot_nl_notify_dev(ndev, NHOT_CMD_DEV_DEL_NTF);

	/* open() runs under the misc lock: after this no file can find ndev */
	misc_deregister(&ndev->misc);
	nhot_debugfs_remove_device(ndev);
	nhot_device_stop_jobs(ndev);
	ndev->ops->destroy(ndev);
	/* no job ends any more: send the failures that did, then no work runs */
	nhot_nl_device_flush(ndev);
	nhot_device_put(ndev);
}

/**
 * nhot_device_remove() - remove a device, open files or not
 * @ndev: a device on the list
 */
void nhot_device_remove(struct nhot_device *ndev)
{
	mutex_lock(&nhot_devices_lock);
	list_del(&ndev->node);
	mutex_unlock(&nhot_devices_lock);
	nhot_device_teardown(ndev);
}

void nhot_device_remove_all(void)
{
	struct nhot_device *ndev;

	for (;;) {
		mutex_lock(&nhot_devices_lock);
		ndev = list_first_entry_or_null(&nhot_devices, struct nhot_device, node);
		if (ndev)
			list_del(&ndev->node);
		mutex_unlock(&nhot_devices_lock);
		if (!ndev)
			return;
		nhot_device_teardown(ndev);
	}
}

/**
 * nhot_device_remove_sim() - remove a simulated engine by id (DEV_DEL)
 * @id: its id
 *
 * The device leaves the list under the list lock, so of two removals of the
 * same device one finds it and the other gets -ENODEV.
 *
 * Return: 0, -ENODEV (no such device, or being removed), -EOPNOTSUPP (not a
 * simulated engine: PCI engines go away by unbind).
 */
int nhot_device_remove_sim(u32 id)
{
	struct nhot_device *ndev;

	mutex_lock(&nhot_devices_lock);
	list_for_each_entry(ndev, &nhot_devices, node) {
		if ((u32)ndev->id != id)
			continue;
		if (ndev->engine_kind != NHOT_ENGINE_SIM) {
			mutex_unlock(&nhot_devices_lock);
			return -EOPNOTSUPP;
		}
		list_del(&ndev->node);
		mutex_unlock(&nhot_devices_lock);
		nhot_device_teardown(ndev);
		return 0;
	}
	mutex_unlock(&nhot_devices_lock);
	return -ENODEV;
}

/**
 * nhot_device_get_by_id() - find a listed device
 * @id: its id
 *
 * Return: the device with a reference (nhot_device_put()), or NULL.
 */
struct nhot_device *nhot_device_get_by_id(u32 id)
{
	struct nhot_device *ndev, *found = NULL;

	mutex_lock(&nhot_devices_lock);
	list_for_each_entry(ndev, &nhot_devices, node) {
		if ((u32)ndev->id == id) {
			kref_get(&ndev->ref);
			found = ndev;
			break;
		}
	}
	mutex_unlock(&nhot_devices_lock);
	return found;
}

/**
 * nhot_device_get_next() - the listed device with the smallest id >= @id
 * @id: where a dump goes on
 *
 * Return: the device with a reference (nhot_device_put()), or NULL.
 */
struct nhot_device *nhot_device_get_next(unsigned long id)
{
	struct nhot_device *ndev, *found = NULL;

	mutex_lock(&nhot_devices_lock);
	list_for_each_entry(ndev, &nhot_devices, node)
		if ((unsigned long)ndev->id >= id && (!found || ndev->id < found->id))
			found = ndev;
	if (found)
		kref_get(&found->ref);
	mutex_unlock(&nhot_devices_lock);
	return found;
}
