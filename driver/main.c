// SPDX-License-Identifier: GPL-2.0
/*
 * nhot.ko: module parameters, module init and exit.
 *
 * The module creates sim_devices simulated engines at load time and drives
 * the PCI engines it finds (pci.c, docs/hw.md).  It can be unloaded once no
 * file is open (the file operations pin the module).
 */
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/sizes.h>

#include "engine.h"
#include "netlink.h"
#include "nhot_drv.h"

#define CREATE_TRACE_POINTS
#include "trace.h"

#define NHOT_MAX_SIM_DEVICES	32

static unsigned int sim_devices = 1;
module_param(sim_devices, uint, 0444);
MODULE_PARM_DESC(sim_devices, "simulated engines to create, /dev/nhot0.. (0..32, default 1)");

/*
 * Devices at once, simulated and PCI, counted from creation until their
 * last open file closes (their id is held that long).  6.1's misc core
 * hands out dynamic minors 127 downwards and collides with static ones
 * (psaux is 10:1): with a few other misc devices, the 123rd nhot device
 * failed there with -EEXIST and a sysfs trace.  64 stays clear of that.
 */
static unsigned int max_devices = NHOT_MAX_DEVICES;
module_param(max_devices, uint, 0444);
MODULE_PARM_DESC(max_devices, "most devices at once, simulated and PCI (sim_devices..64, default 64)");

static unsigned int max_jobs_per_submit = 1024;
module_param(max_jobs_per_submit, uint, 0444);
MODULE_PARM_DESC(max_jobs_per_submit, "most jobs one SUBMIT takes (default 1024)");

static unsigned int max_jobs = 4096;
module_param(max_jobs, uint, 0444);
MODULE_PARM_DESC(max_jobs, "most jobs one open file holds (default 4096)");

static unsigned int max_buffers = 4096;
module_param(max_buffers, uint, 0444);
MODULE_PARM_DESC(max_buffers, "most buffer objects one open file holds (default 4096)");

static unsigned long max_buffer_bytes = SZ_64M;
module_param(max_buffer_bytes, ulong, 0444);
MODULE_PARM_DESC(max_buffer_bytes, "largest buffer object in bytes (default 64 MiB)");

static unsigned long max_file_bytes = SZ_256M;
module_param(max_file_bytes, ulong, 0444);
MODULE_PARM_DESC(max_file_bytes, "most buffer bytes one open file holds (default 256 MiB)");

/* 0: half of the RAM at load; the parameter then reads the value in use */
static unsigned long max_total_bytes;
module_param(max_total_bytes, ulong, 0444);
MODULE_PARM_DESC(max_total_bytes,
		 "most buffer bytes (whole pages) of all files of all engines (default 0: half of the RAM)");

static unsigned int timeout_ms = 2000;
module_param(timeout_ms, uint, 0444);
MODULE_PARM_DESC(timeout_ms, "initial job timeout in ms (1..3600000, default 2000; per engine: netlink DEV_SET)");

static unsigned int pe_count = 64;
module_param(pe_count, uint, 0444);
MODULE_PARM_DESC(pe_count, "processing elements of the cycle model (1..65536, default 64)");

static unsigned int clock_mhz = 1000;
module_param(clock_mhz, uint, 0444);
MODULE_PARM_DESC(clock_mhz, "clock of the cycle model in MHz (1..100000, default 1000)");

/**
 * nhot_max_total_bytes() - the module-wide cap on buffer memory
 *
 * Return: the most bytes (whole pages) all buffers of all files of all
 * devices may hold together; BO_CREATE beyond it fails with -ENOMEM.
 */
u64 nhot_max_total_bytes(void)
{
	return max_total_bytes;
}

void nhot_default_limits(struct nhot_limits *limits)
{
	limits->max_jobs_per_submit = max_jobs_per_submit;
	limits->max_jobs = max_jobs;
	limits->max_buffers = max_buffers;
	limits->max_buffer_bytes = max_buffer_bytes;
	limits->max_file_bytes = max_file_bytes;
	limits->timeout_ms = timeout_ms;
	limits->pe_count = pe_count;
	limits->clock_mhz = clock_mhz;
}

/**
 * nhot_max_devices() - the most devices that may exist at once
 *
 * Return: the max_devices module parameter, 1..%NHOT_MAX_DEVICES.
 */
unsigned int nhot_max_devices(void)
{
	return max_devices;
}

static bool nhot_params_valid(void)
{
	/* Zero limits would make every request fail: refuse them at load. */
	return sim_devices <= NHOT_MAX_SIM_DEVICES && max_devices &&
	       max_devices <= NHOT_MAX_DEVICES && sim_devices <= max_devices &&
	       max_jobs_per_submit &&
	       max_jobs && max_jobs_per_submit <= max_jobs &&
	       max_buffers && max_buffers <= (1U << 20) && max_buffer_bytes &&
	       max_buffer_bytes <= max_file_bytes &&
	       timeout_ms && timeout_ms <= NHOT_MAX_TIMEOUT_MS &&
	       pe_count && pe_count <= NHOT_MAX_PE_COUNT &&
	       clock_mhz && clock_mhz <= NHOT_MAX_CLOCK_MHZ;
}

static int __init nhot_init(void)
{
	unsigned int i;
	int ret;

	if (!nhot_params_valid()) {
		pr_err("nhot: invalid module parameters\n");
		return -EINVAL;
	}
	if (!max_total_bytes)
		max_total_bytes = (totalram_pages() << PAGE_SHIFT) / 2;
	nhot_debugfs_init();
	for (i = 0; i < sim_devices; i++) {
		struct nhot_device *ndev = nhot_device_create(NHOT_ENGINE_SIM);

		if (IS_ERR(ndev)) {
			ret = PTR_ERR(ndev);
			goto err_remove;
		}
	}
	ret = nhot_pci_register();
	if (ret)
		goto err_remove;
	/* last: no DEV_NEW or DEV_DEL can race the removals below */
	ret = nhot_netlink_init();
	if (ret)
		goto err_pci_unregister;
	return 0;

err_pci_unregister:
	nhot_pci_unregister();
err_remove:
	nhot_device_remove_all();
	nhot_debugfs_exit();
	return ret;
}

static void __exit nhot_exit(void)
{
	/* first: waits for the requests in flight; none comes after */
	nhot_netlink_exit();
	nhot_pci_unregister();
	nhot_device_remove_all();
	nhot_debugfs_exit();
}

module_init(nhot_init);
module_exit(nhot_exit);

MODULE_DESCRIPTION("n-hot quantized neural-network accelerator");
MODULE_LICENSE("GPL");
