// SPDX-License-Identifier: MIT
/*
 * nhot-run's output: a readable summary, or one JSON object on one line
 * (the keys are documented in nhot-run.1).
 */
#include <stdio.h>

#include "nhot_run.h"

static double ratio(double a, double b)
{
	return b > 0 ? a / b : 0;
}

/* Did the engine count exactly the products and terms the model implies? */
static int counters_match(const struct run_result *r)
{
	return r->stats.macs == r->cost.macs * r->images &&
	       r->stats.shift_adds == r->cost.shift_adds * r->images;
}

/* JSON string: the device path and model path are plain, but escape anyway. */
static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", (unsigned char)*s);
		else
			putchar(*s);
	}
	putchar('"');
}

void report_json(const struct run_opts *o, const struct run_result *r)
{
	double ops = ratio((double)r->stats.shift_adds, r->images);
	double macs = ratio((double)r->stats.macs, r->images);

	printf("{\"model\":");
	json_string(o->model);
	printf(",\"device\":");
	json_string(r->device);
	printf(",\"n\":%d,\"b\":%d,\"images\":%u,\"accuracy\":%.4f,\"images_per_s\":%.1f",
	       r->n, r->b, r->images, ratio(r->correct, r->images),
	       ratio(r->images, r->seconds));
	printf(",\"macs_per_image\":%.0f,\"ops_per_image\":%.0f", macs, ops);
	printf(",\"ops_ratio_vs_uniform8\":%.4f", ratio(ops, 8 * macs));
	printf(",\"uniform8_zero_skip_ops_per_image\":%llu",
	       (unsigned long long)r->cost.u8_zero_skip);
	printf(",\"ops_ratio_vs_uniform8_zero_skip\":%.4f",
	       ratio(ops, (double)r->cost.u8_zero_skip));
	printf(",\"weight_bytes\":%llu,\"size_ratio_vs_uniform8\":%.4f",
	       (unsigned long long)r->cost.weight_bytes,
	       ratio((double)r->cost.weight_bytes, (double)r->cost.weight_count));
	printf(",\"cycles_per_image\":%.0f", ratio((double)r->stats.cycles, r->images));
	printf(",\"counters_match_model\":%s", counters_match(r) ? "true" : "false");
	if (r->verified)
		printf(",\"bit_exact\":%s", r->mismatched_bytes ? "false" : "true");
	else
		printf(",\"bit_exact\":null");
	printf("}\n");
}

void report_text(const struct run_opts *o, const struct run_result *r)
{
	double ops = ratio((double)r->stats.shift_adds, r->images);
	double macs = ratio((double)r->stats.macs, r->images);

	printf("model      %s (n=%d, b=%d) on %s\n", o->model, r->n, r->b, r->device);
	printf("accuracy   %.2f%% of %u images\n", 100 * ratio(r->correct, r->images),
	       r->images);
	printf("speed      %.1f images/s\n", ratio(r->images, r->seconds));
	printf("operations %.0f shift-adds per image for %.0f MACs: %.3f x uniform 8-bit "
	       "(8 per MAC), %.3f x a zero-skipping uniform 8-bit datapath\n",
	       ops, macs, ratio(ops, 8 * macs), ratio(ops, (double)r->cost.u8_zero_skip));
	printf("weights    %llu bytes, %.3f x 8-bit weights\n",
	       (unsigned long long)r->cost.weight_bytes,
	       ratio((double)r->cost.weight_bytes, (double)r->cost.weight_count));
	printf("counters   %s the model's static count\n",
	       counters_match(r) ? "match" : "DO NOT match");
	if (!r->verified)
		printf("bit-exact  not checked (use --verify)\n");
	else if (!r->mismatched_bytes)
		printf("bit-exact  yes: every node's output equals the reference\n");
	else
		printf("bit-exact  NO: %llu bytes differ, first at node %u\n",
		       (unsigned long long)r->mismatched_bytes, r->first_bad_node);
}
