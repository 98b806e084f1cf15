// SPDX-License-Identifier: MIT
/*
 * nhotctl: the family's enums and attributes as the words nhotctl prints,
 * and counters with thousands separators.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <linux/nhot.h>
#include <linux/nhot_netlink.h>

#include "nhotctl.h"

#define NAME_OF(table, i) \
	((i) < sizeof(table) / sizeof((table)[0]) ? (table)[i] : NULL)

const char *engine_name(uint32_t engine)
{
	static const char *const names[] = {
		[NHOT_ENGINE_SIM] = "sim",
		[NHOT_ENGINE_PCI] = "pci",
	};

	return NAME_OF(names, engine);
}

const char *state_name(uint32_t state)
{
	static const char *const names[] = {
		[NHOT_DEV_STATE_READY] = "ready",
		[NHOT_DEV_STATE_RESETTING] = "resetting",
		[NHOT_DEV_STATE_REMOVING] = "removing",
	};

	return NAME_OF(names, state);
}

const char *job_status_name(uint32_t status)
{
	static const char *const names[] = {
		[NHOT_JOB_QUEUED] = "queued",
		[NHOT_JOB_RUNNING] = "running",
		[NHOT_JOB_DONE] = "done",
		[NHOT_JOB_FAILED] = "failed",
		[NHOT_JOB_TIMEDOUT] = "timedout",
		[NHOT_JOB_CANCELLED] = "cancelled",
	};

	return NAME_OF(names, status);
}

const char *layer_type_name(unsigned int type)
{
	static const char *const names[] = {
		[NHOT_LAYER_CONV2D] = "conv2d",
		[NHOT_LAYER_FC] = "fc",
		[NHOT_LAYER_ADD] = "add",
		[NHOT_LAYER_AVGPOOL] = "avgpool",
		[NHOT_LAYER_GLOBAL_AVGPOOL] = "global_avgpool",
		[NHOT_LAYER_MAXPOOL] = "maxpool",
	};

	return NAME_OF(names, type);
}

/* The names of the command line (dev add/set keys) where there is one. */
const char *dev_attr_name(int type)
{
	static const char *const names[] = {
		[NHOT_A_DEV_ID] = "id",
		[NHOT_A_DEV_NAME] = "name",
		[NHOT_A_DEV_ENGINE] = "engine",
		[NHOT_A_DEV_STATE] = "state",
		[NHOT_A_DEV_LAYER_TYPES] = "layer_types",
		[NHOT_A_DEV_N_MASK] = "n_mask",
		[NHOT_A_DEV_B_MASK] = "b_mask",
		[NHOT_A_DEV_PE_COUNT] = "pe_count",
		[NHOT_A_DEV_CLOCK_MHZ] = "clock_mhz",
		[NHOT_A_DEV_TIMEOUT_MS] = "timeout_ms",
		[NHOT_A_DEV_BUS] = "bus",
	};

	return type > 0 ? NAME_OF(names, (unsigned int)type) : NULL;
}

const char *stats_attr_name(int type)
{
	static const char *const names[] = {
		[NHOT_A_STATS_DEV_ID] = "dev_id",
		[NHOT_A_STATS_DEV_NAME] = "dev_name",
	};

	return type > 0 ? NAME_OF(names, (unsigned int)type) : NULL;
}

char *fmt_thousands(uint64_t v, char *buf, size_t len)
{
	char digits[24];
	size_t n, i, o = 0;

	n = (size_t)snprintf(digits, sizeof(digits), "%" PRIu64, v);
	for (i = 0; i < n && o + 1 < len; i++) {
		if (i && (n - i) % 3 == 0 && o + 2 < len)
			buf[o++] = ',';
		buf[o++] = digits[i];
	}
	buf[o] = '\0';
	return buf;
}
