// SPDX-License-Identifier: MIT
/*
 * nhotctl stats [DEV] [--watch SECONDS [--count N]]: STATS_GET (do and
 * dump) as an aligned table, or one JSON array per sample.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/nhot_netlink.h>
#include <netlink/attr.h>
#include <netlink/genl/genl.h>

#include "nhotctl.h"

/* The u64 counters, in the order of the table and of the JSON object. */
static const struct counter {
	int attr;
	const char *key;	/* JSON */
	const char *head;	/* table */
} counters[] = {
	{ NHOT_A_STATS_JOBS_SUBMITTED, "jobs_submitted", "SUBMITTED" },
	{ NHOT_A_STATS_JOBS_COMPLETED, "jobs_completed", "COMPLETED" },
	{ NHOT_A_STATS_JOBS_FAILED, "jobs_failed", "FAILED" },
	{ NHOT_A_STATS_JOBS_TIMED_OUT, "jobs_timed_out", "TIMED_OUT" },
	{ NHOT_A_STATS_MACS, "macs", "MACS" },
	{ NHOT_A_STATS_SHIFT_ADDS, "shift_adds", "SHIFT_ADDS" },
	{ NHOT_A_STATS_CYCLES, "cycles", "CYCLES" },
	{ NHOT_A_STATS_BUSY_NS, "busy_ns", "BUSY_NS" },
	{ NHOT_A_STATS_RESETS, "resets", "RESETS" },
	{ NHOT_A_STATS_EVENTS_DROPPED, "events_dropped", "EV_DROPPED" },
};

#define NR_COUNTERS	(sizeof(counters) / sizeof(counters[0]))
#define MAX_SECONDS	86400.0

struct dev_stats {
	uint32_t id;
	char name[32];
	bool has[NR_COUNTERS];
	uint64_t v[NR_COUNTERS];
};

struct sample {
	struct dev_stats *devs;
	size_t count, cap;
};

static struct nla_policy stats_policy[NHOT_A_STATS_MAX + 1] = {
	[NHOT_A_STATS_DEV_ID] = { .type = NLA_U32 },
	[NHOT_A_STATS_DEV_NAME] = { .type = NLA_STRING, .maxlen = 32 },
	[NHOT_A_STATS_JOBS_SUBMITTED] = { .type = NLA_U64 },
	[NHOT_A_STATS_JOBS_COMPLETED] = { .type = NLA_U64 },
	[NHOT_A_STATS_JOBS_FAILED] = { .type = NLA_U64 },
	[NHOT_A_STATS_JOBS_TIMED_OUT] = { .type = NLA_U64 },
	[NHOT_A_STATS_MACS] = { .type = NLA_U64 },
	[NHOT_A_STATS_SHIFT_ADDS] = { .type = NLA_U64 },
	[NHOT_A_STATS_CYCLES] = { .type = NLA_U64 },
	[NHOT_A_STATS_BUSY_NS] = { .type = NLA_U64 },
	[NHOT_A_STATS_RESETS] = { .type = NLA_U64 },
	[NHOT_A_STATS_EVENTS_DROPPED] = { .type = NLA_U64 },
};

static int collect_stats(struct nl_msg *msg, void *arg)
{
	struct nlattr *tb[NHOT_A_STATS_MAX + 1];
	struct sample *s = arg;
	struct dev_stats *d;
	size_t i;

	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, NHOT_A_STATS_MAX, stats_policy) ||
	    !tb[NHOT_A_STATS_DEV_ID])
		return -EPROTO;
	if (s->count == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 8;
		struct dev_stats *more = realloc(s->devs, cap * sizeof(*more));

		if (!more)
			return -ENOMEM;
		s->devs = more;
		s->cap = cap;
	}
	d = &s->devs[s->count++];
	memset(d, 0, sizeof(*d));
	d->id = nla_get_u32(tb[NHOT_A_STATS_DEV_ID]);
	if (tb[NHOT_A_STATS_DEV_NAME])
		snprintf(d->name, sizeof(d->name), "%.*s", nla_len(tb[NHOT_A_STATS_DEV_NAME]),
			 (const char *)nla_data(tb[NHOT_A_STATS_DEV_NAME]));
	else
		snprintf(d->name, sizeof(d->name), "nhot%u", d->id);
	for (i = 0; i < NR_COUNTERS; i++) {
		struct nlattr *a = tb[counters[i].attr];

		d->has[i] = a != NULL;
		if (a)
			d->v[i] = nla_get_u64(a);
	}
	return 0;
}

static void print_json(const struct sample *s, struct json *j)
{
	size_t i, k;

	json_arr_begin(j);
	for (i = 0; i < s->count; i++) {
		const struct dev_stats *d = &s->devs[i];

		json_obj_begin(j);
		json_kv_u64(j, "id", d->id);
		json_kv_str(j, "name", d->name);
		for (k = 0; k < NR_COUNTERS; k++)
			if (d->has[k])
				json_kv_u64(j, counters[k].key, d->v[k]);
		json_obj_end(j);
	}
	json_arr_end(j);
}

/* Right-aligned columns, as wide as their widest cell; "-" for a counter
 * the kernel did not send.
 */
static void print_table(const struct sample *s)
{
	int width[NR_COUNTERS], name_width = 3;
	char buf[32];
	size_t i, k;

	for (k = 0; k < NR_COUNTERS; k++)
		width[k] = (int)strlen(counters[k].head);
	for (i = 0; i < s->count; i++) {
		int n = (int)strlen(s->devs[i].name);

		if (n > name_width)
			name_width = n;
		for (k = 0; k < NR_COUNTERS; k++) {
			n = (int)strlen(fmt_thousands(s->devs[i].v[k], buf, sizeof(buf)));
			if (n > width[k])
				width[k] = n;
		}
	}
	printf("%-*s", name_width, "DEV");
	for (k = 0; k < NR_COUNTERS; k++)
		printf("  %*s", width[k], counters[k].head);
	putchar('\n');
	for (i = 0; i < s->count; i++) {
		printf("%-*s", name_width, s->devs[i].name);
		for (k = 0; k < NR_COUNTERS; k++)
			printf("  %*s", width[k], s->devs[i].has[k] ?
			       fmt_thousands(s->devs[i].v[k], buf, sizeof(buf)) : "-");
		putchar('\n');
	}
}

/* One STATS_GET and its output; EXIT_* */
static int stats_once(struct nhotctl *ctl, bool has_id, uint32_t id, const char *what)
{
	struct sample s = { 0 };
	struct genl_err err;
	struct nl_msg *req;
	int ret;

	req = genl_request(ctl, NHOT_CMD_STATS_GET, !has_id);
	if (!req || (has_id && nla_put_u32(req, NHOT_A_STATS_DEV_ID, id))) {
		nlmsg_free(req);
		fprintf(stderr, "nhotctl: out of memory\n");
		return EXIT_FAILED;
	}
	ret = genl_exchange(ctl, req, collect_stats, &s, &err);
	if (ret && !err.errnum) {
		fprintf(stderr, "nhotctl: %s: %s\n", what, ret == -EPROTO ?
			"malformed reply from the kernel" : err.msg[0] ? err.msg : strerror(-ret));
		ret = EXIT_FAILED;
	} else if (ret) {
		ret = report_error(what, &err, stats_attr_name);
	} else if (ctl->json) {
		struct json j;

		json_init(&j, stdout);
		print_json(&s, &j);
		ret = json_end_doc(&j) ? EXIT_OK : EXIT_FAILED;
	} else {
		print_table(&s);
		ret = fflush(stdout) ? EXIT_FAILED : EXIT_OK;
	}
	free(s.devs);
	return ret;
}

/* A positive number of seconds, decimals allowed ("0.5"), at most a day. */
static int parse_seconds(const char *str, double *sec)
{
	const char *p;
	char *end;
	int dots = 0;

	for (p = str; *p; p++) {
		if (*p == '.')
			dots++;
		else if (*p < '0' || *p > '9')
			return -EINVAL;
	}
	if (!*str || dots > 1 || !strcmp(str, "."))
		return -EINVAL;
	*sec = strtod(str, &end);
	if (*end || *sec < 0.1 || *sec > MAX_SECONDS)
		return -ERANGE;
	return 0;
}

int cmd_stats(struct nhotctl *ctl, int argc, char **argv)
{
	bool has_id = false, watch = false;
	uint32_t id = 0, count = 0;
	double sec = 0;
	char what[32];
	uint32_t n;
	int i, ret;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--watch") || !strcmp(argv[i], "-w")) {
			if (i + 1 >= argc)
				return usage_error("stats: %s wants SECONDS", argv[i]);
			if (parse_seconds(argv[++i], &sec))
				return usage_error("stats: --watch wants seconds in 0.1..%.0f, got '%s'",
						   MAX_SECONDS, argv[i]);
			watch = true;
		} else if (!strcmp(argv[i], "--count") || !strcmp(argv[i], "-c")) {
			if (i + 1 >= argc)
				return usage_error("stats: %s wants N", argv[i]);
			if (parse_u32(argv[++i], &count) || !count)
				return usage_error("stats: --count wants a positive whole number, got '%s'",
						   argv[i]);
		} else if (argv[i][0] == '-') {
			return usage_error("stats: unknown option '%s'", argv[i]);
		} else if (has_id) {
			return usage_error("stats: one DEV at most, got '%s' too", argv[i]);
		} else if (parse_dev(argv[i], &id)) {
			return usage_error("stats: bad device '%s' (nhotN, N or /dev/nhotN)", argv[i]);
		} else {
			has_id = true;
		}
	}
	if (count && !watch)
		return usage_error("stats: --count goes with --watch");

	ret = genl_open(ctl);
	if (ret)
		return ret;
	if (has_id)
		snprintf(what, sizeof(what), "nhot%u", id);
	else
		snprintf(what, sizeof(what), "stats");
	if (watch)
		install_stop_handlers();
	for (n = 1; ; n++) {
		struct timespec ts = {
			.tv_sec = (time_t)sec,
			.tv_nsec = (long)((sec - (double)(time_t)sec) * 1e9),
		};

		ret = stats_once(ctl, has_id, id, what);
		if (ret || !watch || (count && n >= count) || stop_requested)
			break;
		if (!ctl->json)
			putchar('\n');
		/* A signal cuts the sleep short; the flag says whether to stop. */
		while (nanosleep(&ts, &ts) && errno == EINTR && !stop_requested)
			;
		if (stop_requested)
			break;
	}
	genl_close(ctl);
	return ret;
}
