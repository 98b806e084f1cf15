/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Finding the device of an engine kind: the fixtures of nhot_abi, nhot_jobs
 * and nhot_layers have one variant per kind ("sim": the simulated engine,
 * "pci": the PCI engine behind nhot-emu, docs/hw.md) and run on the first
 * /dev/nhotN whose NHOT_IOCTL_GET_INFO reports that engine_kind.  A kind
 * with no device skips: a guest booted without vm/run-in-vm.sh --pci has no
 * PCI engine.
 */
#ifndef __SELFTEST_NHOT_ENGINE_H
#define __SELFTEST_NHOT_ENGINE_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/nhot.h>

/* Device minors are handed out from 0; more than enough for a test VM. */
#define NHOT_ENGINE_SCAN	64

static inline const char *nhot_engine_kind_name(uint32_t kind)
{
	return kind == NHOT_ENGINE_SIM ? "simulated" :
	       kind == NHOT_ENGINE_PCI ? "PCI" : "unknown";
}

/*
 * The index N of the first /dev/nhotN of @kind; -ENOENT when there is none,
 * -ENODEV when the module is not loaded.
 */
static inline int nhot_find_engine(uint32_t kind)
{
	for (int n = 0; n < NHOT_ENGINE_SCAN; n++) {
		struct nhot_info info;
		char path[32];
		int fd, ret;

		snprintf(path, sizeof(path), "/dev/nhot%d", n);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		info.size = sizeof(info);
		/* the number every module answers, old ones included */
		ret = ioctl(fd, NHOT_IOCTL_GET_INFO_V1, &info);
		close(fd);
		if (!ret && info.engine_kind == kind)
			return n;
	}
	return access("/sys/module/nhot", F_OK) ? -ENODEV : -ENOENT;
}

/*
 * In a fixture setup: the index of the device of @kind, or SKIP (module not
 * loaded, or no such engine in this guest).
 */
#define nhot_engine_or_skip(kind)                                             \
	({                                                                    \
		int __n = nhot_find_engine(kind);                             \
		if (__n == -ENODEV)                                           \
			SKIP(return, "nhot module not loaded");               \
		if (__n < 0)                                                  \
			SKIP(return, "no %s engine here%s",                   \
			     nhot_engine_kind_name(kind),                     \
			     (kind) == NHOT_ENGINE_PCI ?                      \
			     " (vm/run-in-vm.sh --pci adds one)" : "");       \
		__n;                                                          \
	})

#endif /* __SELFTEST_NHOT_ENGINE_H */
