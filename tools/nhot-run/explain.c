// SPDX-License-Identifier: MIT
/*
 * nhot-run's one line when a run fails: which device (and why that one),
 * which job, the errno's name and meaning, and what the user can change:
 * group membership for a permission error, nhotctl's timeout_ms or a
 * smaller --batch for a job that ran past the engine's timeout.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nhot_run.h"

/* "EINVAL: Invalid argument"; the number when the C library has no name. */
static const char *errno_text(int err, char *buf, size_t len)
{
	const char *name = strerrorname_np(err);

	if (name)
		snprintf(buf, len, "%s: %s", name, strerror(err));
	else
		snprintf(buf, len, "error %d: %s", err, strerror(err));
	return buf;
}

/*
 * The device nhot_open() was given or chose, and how, as nhot-run.1 and
 * nhot_open() describe: --device, else $NHOT_DEVICE, else /dev/nhot0 when it
 * exists (else the CPU, which does not fail to open).
 */
static const char *chosen_device(const struct run_opts *o, const struct run_result *res,
				 const char **why)
{
	const char *env = getenv("NHOT_DEVICE");

	*why = "";
	if (o->device)
		return o->device;
	if (env && env[0])
		*why = " (from NHOT_DEVICE)";
	else
		*why = " (the default device)";
	if (res->device[0])
		return res->device;
	return env && env[0] ? env : "/dev/nhot0";
}

/* "nhot0" of "/dev/nhot0", for nhotctl. */
static const char *dev_name(const char *dev)
{
	const char *slash = strrchr(dev, '/');

	return slash ? slash + 1 : dev;
}

/*
 * The engine's timeout_ms as the user can see it: the engine's own value in
 * debugfs (root only), else the module parameter (every engine's initial
 * value); 0 when neither is readable.
 */
static unsigned long read_timeout_ms(const char *dev, const char **source)
{
	char path[128];
	unsigned long ms = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/kernel/debug/nhot/%s/timeout_ms", dev_name(dev));
	*source = "the engine's";
	f = fopen(path, "r");
	if (!f) {
		*source = "the module's default";
		f = fopen("/sys/module/nhot/parameters/timeout_ms", "r");
	}
	if (!f)
		return 0;
	if (fscanf(f, "%lu", &ms) != 1)
		ms = 0;
	fclose(f);
	return ms;
}

static void explain_open(const struct run_opts *o, const struct run_result *res, int rc)
{
	const char *why, *dev = chosen_device(o, res, &why);
	char e[96];

	errno_text(-rc, e, sizeof(e));
	if (rc == -EACCES || rc == -EPERM)
		fprintf(stderr, "nhot-run: cannot open %s%s: %s; the device belongs to group "
			"'nhot': add yourself (usermod -aG nhot USER, then log in again) or "
			"run on the CPU with --device cpu\n", dev, why, e);
	else if (rc == -ENOENT || rc == -ENODEV || rc == -ENXIO)
		fprintf(stderr, "nhot-run: cannot open %s%s: %s; is the nhot module loaded "
			"(modprobe nhot)? --device cpu runs on the CPU\n", dev, why, e);
	else
		fprintf(stderr, "nhot-run: cannot open %s%s: %s\n", dev, why, e);
}

static void explain_timeout(const struct run_opts *o, const struct run_result *res)
{
	const char *source, *why, *dev = chosen_device(o, res, &why);
	unsigned long ms = read_timeout_ms(dev, &source);
	char timeout[80] = "its job timeout";

	if (ms)
		snprintf(timeout, sizeof(timeout), "%s job timeout (timeout_ms %lu)", source, ms);
	fprintf(stderr, "nhot-run: %s%s: the job of node %d (images %u..%u of %s, --batch %u) "
		"ran past %s and the engine was reset; raise it with 'nhotctl dev set %s "
		"timeout_ms MS' or run smaller jobs with a smaller --batch\n",
		dev, why, res->failed_node, res->failed_first,
		res->failed_first + res->failed_count - 1, o->model, o->batch, timeout,
		dev_name(dev));
}

void explain_failure(const struct run_opts *o, const struct run_result *res, int rc)
{
	const char *why, *dev = chosen_device(o, res, &why);
	char e[96];

	if (res->open_failed) {
		explain_open(o, res, rc);
		return;
	}
	/* The job's status, not rc: it is what says the engine's timeout fired. */
	if (res->failed_node >= 0 && res->failed_status == NHOT_JOB_TIMEDOUT) {
		explain_timeout(o, res);
		return;
	}
	errno_text(-rc, e, sizeof(e));
	if (res->failed_node >= 0)
		fprintf(stderr, "nhot-run: %s%s: the job of node %d (images %u..%u of %s) "
			"failed: %s\n", dev, why, res->failed_node, res->failed_first,
			res->failed_first + res->failed_count - 1, o->model, e);
	else
		fprintf(stderr, "nhot-run: running %s on %s%s failed: %s\n", o->model,
			dev, why, e);
}
