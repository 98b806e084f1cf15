// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the .nhq loader (nhot_qnet_parse()). Whatever the bytes,
 * it must return 0 or a negative errno with a message, never read out of
 * bounds or leak. Each input is parsed as given and again with its checksum
 * fixed, so the checks behind the checksum are reached too. An accepted file must serialize back to the same bytes and
 * run through the reference arithmetic (when small enough to be quick).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nhot_fmodel.h"	/* nhot_crc32() */
#include "nhot_model.h"

/* Keep each input fast: skip running networks above this many MACs. */
#define FUZZ_MAX_MACS	(1u << 18)

static void run_reference(const struct nhot_qnet *net)
{
	struct nhot_qnet_cost cost;
	uint8_t **outs = NULL, *img;
	size_t bytes = nhot_qnet_input_bytes(net);

	nhot_qnet_cost(net, &cost);
	if (cost.macs > FUZZ_MAX_MACS || bytes > (1u << 20))
		return;
	img = calloc(1, bytes);
	if (!img)
		return;
	memset(img, 0x5a, bytes);
	if (nhot_qnet_ref_run(net, img, 1, &outs) == 0)
		nhot_qnet_outputs_free(net, outs);
	free(img);
}

static void parse_one(const uint8_t *data, size_t size)
{
	char err[NHOT_QNET_ERR_LEN] = "";
	struct nhot_qnet *net = NULL;
	uint8_t *again = NULL;
	size_t len = 0;
	int rc;

	rc = nhot_qnet_parse(data, size, &net, err, sizeof(err));
	if (rc) {
		if (rc >= 0 || net || !err[0])
			abort();	/* a failure must be an errno with a reason */
		return;
	}
	if (nhot_qnet_serialize(net, &again, &len, err, sizeof(err)) ||
	    len != size || memcmp(again, data, size))
		abort();	/* what the loader accepts, the writer reproduces */
	free(again);
	run_reference(net);
	nhot_qnet_free(net);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *fixed;
	uint32_t crc;

	parse_one(data, size);
	/*
	 * Nearly every mutation breaks the checksum; parse a copy with the
	 * checksum made right as well, so the structural checks get fuzzed.
	 */
	if (size < 16)
		return 0;
	fixed = malloc(size);
	if (!fixed)
		return 0;
	memcpy(fixed, data, size);
	crc = nhot_crc32(0, fixed + 16, size - 16);
	fixed[12] = (uint8_t)crc;
	fixed[13] = (uint8_t)(crc >> 8);
	fixed[14] = (uint8_t)(crc >> 16);
	fixed[15] = (uint8_t)(crc >> 24);
	parse_one(fixed, size);
	free(fixed);
	return 0;
}
