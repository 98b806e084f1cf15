// SPDX-License-Identifier: GPL-2.0
/*
 * nhot device lifetime: creation, the device list, removal with files open.
 *
 * A device is refcounted.  The list holds one reference, every open file
 * another.  Removal marks the device removed (SUBMIT gets -ENODEV), cancels
 * its jobs, stops the engine, and unregisters /dev/nhotN; the memory goes
 * with the last reference.
 */
#include <linux/idr.h>
#include <linux/slab.h>

#include "engine.h"
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

static int nhot_sim_attach(struct nhot_device *ndev, void *data)
{
	return nhot_sim_create(ndev);
}

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
	int ret;

	ndev = kzalloc(sizeof(*ndev), GFP_KERNEL);
	if (!ndev)
		return ERR_PTR(-ENOMEM);
	kref_init(&ndev->ref);
	atomic_inc(&nhot_objects_total.live[NHOT_OBJ_DEVICES]);
	ret = ida_alloc(&nhot_ida, GFP_KERNEL);
	if (ret < 0)
		goto err_free;
	ndev->id = ret;
	snprintf(ndev->name, sizeof(ndev->name), "nhot%d", ndev->id);
	nhot_default_limits(&ndev->limits);
	ndev->timeout_ms = ndev->limits.timeout_ms;
	ndev->engine_kind = engine_kind;
	nhot_device_jobs_init(ndev);

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
	mutex_lock(&nhot_devices_lock);
	list_add_tail(&ndev->node, &nhot_devices);
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
	/* open() runs under the misc lock: after this no file can find ndev */
	misc_deregister(&ndev->misc);
	nhot_debugfs_remove_device(ndev);
	nhot_device_stop_jobs(ndev);
	ndev->ops->destroy(ndev);
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
