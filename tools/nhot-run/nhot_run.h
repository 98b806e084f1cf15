/* SPDX-License-Identifier: MIT */
/* nhot-run: the pieces main.c puts together. */
#ifndef NHOT_RUN_H
#define NHOT_RUN_H

#include <stdint.h>

#include "nhot.h"
#include "nhot_model.h"

/** What the command line asked for. */
struct run_opts {
	const char *model;
	const char *data;
	const char *device;	/* NULL: $NHOT_DEVICE or the default of nhot_open() */
	unsigned int limit;	/* 0: the whole test set */
	unsigned int batch;
	int verify;
	int json;
	int quiet;
};

/** What a run measured. */
struct run_result {
	unsigned int images;
	unsigned int correct;
	double seconds;			/* in nhot_qnet_runner_run() only */
	struct nhot_qnet_stats stats;	/* the engine's counters */
	struct nhot_qnet_cost cost;	/* the static cost of one image */
	int verified;
	uint64_t mismatched_bytes;	/* device vs reference, every node */
	uint32_t first_bad_node;	/* valid when mismatched_bytes */
	char device[64];
	int n, b;			/* of the first weighted layer */
	int open_failed;		/* nhot_open() failed */
	int failed_node;		/* -1, or the node whose job failed */
	uint32_t failed_status;		/* its enum nhot_job_status */
	unsigned int failed_first;	/* the failed batch's first image */
	unsigned int failed_count;	/* and its size */
};

/* Runs the test set through net; prints progress on stderr. 0 or -errno. */
int run_evaluate(const struct run_opts *o, const struct nhot_qnet *net,
		 const uint8_t *images, const uint8_t *labels, unsigned int count,
		 struct run_result *res);

/*
 * The one stderr line for a failed run_evaluate() (rc < 0): the device and
 * how it was chosen, the job, the errno's name, and what to change.
 */
void explain_failure(const struct run_opts *o, const struct run_result *res, int rc);

/* The human summary (stdout) and the one-line JSON object. */
void report_text(const struct run_opts *o, const struct run_result *r);
void report_json(const struct run_opts *o, const struct run_result *r);

#endif /* NHOT_RUN_H */
