// SPDX-License-Identifier: MIT
/*
 * nhotctl dev show|add|del|set: the "dev" attribute set, DEV_GET (do and
 * dump), DEV_NEW, DEV_DEL and DEV_SET.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/nhot.h>
#include <linux/nhot_netlink.h>
#include <netlink/attr.h>
#include <netlink/genl/genl.h>

#include "nhotctl.h"

static struct nla_policy dev_policy[NHOT_A_DEV_MAX + 1] = {
	[NHOT_A_DEV_ID] = { .type = NLA_U32 },
	[NHOT_A_DEV_NAME] = { .type = NLA_STRING, .maxlen = 32 },
	[NHOT_A_DEV_ENGINE] = { .type = NLA_U32 },
	[NHOT_A_DEV_STATE] = { .type = NLA_U32 },
	[NHOT_A_DEV_LAYER_TYPES] = { .type = NLA_U32 },
	[NHOT_A_DEV_N_MASK] = { .type = NLA_U32 },
	[NHOT_A_DEV_B_MASK] = { .type = NLA_U32 },
	[NHOT_A_DEV_PE_COUNT] = { .type = NLA_U32 },
	[NHOT_A_DEV_CLOCK_MHZ] = { .type = NLA_U32 },
	[NHOT_A_DEV_TIMEOUT_MS] = { .type = NLA_U32 },
	[NHOT_A_DEV_BUS] = { .type = NLA_STRING, .maxlen = 64 },
};

static void get_u32(struct nlattr **tb, int type, bool *has, uint32_t *v)
{
	*has = tb[type] != NULL;
	if (*has)
		*v = nla_get_u32(tb[type]);
}

static void get_str(struct nlattr **tb, int type, bool *has, char *buf, size_t len)
{
	*has = tb[type] != NULL;
	if (*has)
		snprintf(buf, len, "%.*s", nla_len(tb[type]), (const char *)nla_data(tb[type]));
	/* NLA_STRING may or may not count the NUL: strlen is what counts */
}

int dev_info_parse(struct nl_msg *msg, struct dev_info *d)
{
	struct nlattr *tb[NHOT_A_DEV_MAX + 1];

	memset(d, 0, sizeof(*d));
	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, NHOT_A_DEV_MAX, dev_policy))
		return -EPROTO;
	get_u32(tb, NHOT_A_DEV_ID, &d->has_id, &d->id);
	get_str(tb, NHOT_A_DEV_NAME, &d->has_name, d->name, sizeof(d->name));
	get_u32(tb, NHOT_A_DEV_ENGINE, &d->has_engine, &d->engine);
	get_u32(tb, NHOT_A_DEV_STATE, &d->has_state, &d->state);
	get_u32(tb, NHOT_A_DEV_LAYER_TYPES, &d->has_layer_types, &d->layer_types);
	get_u32(tb, NHOT_A_DEV_N_MASK, &d->has_n_mask, &d->n_mask);
	get_u32(tb, NHOT_A_DEV_B_MASK, &d->has_b_mask, &d->b_mask);
	get_u32(tb, NHOT_A_DEV_PE_COUNT, &d->has_pe_count, &d->pe_count);
	get_u32(tb, NHOT_A_DEV_CLOCK_MHZ, &d->has_clock_mhz, &d->clock_mhz);
	get_u32(tb, NHOT_A_DEV_TIMEOUT_MS, &d->has_timeout_ms, &d->timeout_ms);
	get_str(tb, NHOT_A_DEV_BUS, &d->has_bus, d->bus, sizeof(d->bus));
	/* Without its id nothing else about a device can be addressed. */
	if (!d->has_id)
		return -EPROTO;
	if (!d->has_name)
		snprintf(d->name, sizeof(d->name), "nhot%u", d->id);
	return 0;
}

/* Set bits of mask as "1-4" or "1,3,5-7". */
static void print_bit_ranges(uint32_t mask)
{
	const char *sep = "";
	int i = 0;

	while (i < 32) {
		int j;

		if (!(mask & (1U << i))) {
			i++;
			continue;
		}
		for (j = i; j + 1 < 32 && (mask & (1U << (j + 1))); j++)
			;
		if (j > i)
			printf("%s%d-%d", sep, i, j);
		else
			printf("%s%d", sep, i);
		sep = ",";
		i = j + 1;
	}
	if (!*sep)
		fputs("none", stdout);
}

static void print_enum(const char *key, const char *name, uint32_t v)
{
	if (name)
		printf(" %s %s", key, name);
	else
		printf(" %s %u", key, v);
}

void dev_info_print_text(const struct dev_info *d, const char *prefix, bool caps)
{
	printf("%s%s:", prefix, d->name);
	if (d->has_engine)
		print_enum("engine", engine_name(d->engine), d->engine);
	if (d->has_state)
		print_enum("state", state_name(d->state), d->state);
	if (d->has_bus)
		printf(" bus %s", d->bus);
	if (d->has_pe_count)
		printf(" pe_count %u", d->pe_count);
	if (d->has_clock_mhz)
		printf(" clock_mhz %u", d->clock_mhz);
	if (d->has_timeout_ms)
		printf(" timeout_ms %u", d->timeout_ms);
	if (!caps || (!d->has_layer_types && !d->has_n_mask && !d->has_b_mask)) {
		putchar('\n');
		return;
	}
	/* The capabilities on a second line, under the first one's fields. */
	printf("\n%*s", (int)(strlen(prefix) + strlen(d->name) + 1), "");
	if (d->has_layer_types) {
		const char *sep = " ";
		unsigned int t;

		fputs(" layers", stdout);
		for (t = 0; t < 32; t++) {
			const char *name = layer_type_name(t);

			if (!(d->layer_types & (1U << t)))
				continue;
			if (name)
				printf("%s%s", sep, name);
			else
				printf("%stype%u", sep, t);
			sep = ",";
		}
		if (!*sep)
			fputs(" none", stdout);
	}
	if (d->has_n_mask) {
		fputs(" n ", stdout);
		print_bit_ranges(d->n_mask);
	}
	if (d->has_b_mask) {
		fputs(" b ", stdout);
		print_bit_ranges(d->b_mask);
	}
	putchar('\n');
}

static void json_kv_enum(struct json *j, const char *key, const char *name, uint32_t v)
{
	if (name)
		json_kv_str(j, key, name);
	else
		json_kv_u64(j, key, v);
}

static void json_kv_bits(struct json *j, const char *key, uint32_t mask)
{
	unsigned int i;

	json_key(j, key);
	json_arr_begin(j);
	for (i = 0; i < 32; i++)
		if (mask & (1U << i))
			json_u64(j, i);
	json_arr_end(j);
}

void dev_info_print_json(struct json *j, const struct dev_info *d)
{
	json_kv_u64(j, "id", d->id);
	json_kv_str(j, "name", d->name);
	if (d->has_engine)
		json_kv_enum(j, "engine", engine_name(d->engine), d->engine);
	if (d->has_state)
		json_kv_enum(j, "state", state_name(d->state), d->state);
	if (d->has_bus)
		json_kv_str(j, "bus", d->bus);
	if (d->has_pe_count)
		json_kv_u64(j, "pe_count", d->pe_count);
	if (d->has_clock_mhz)
		json_kv_u64(j, "clock_mhz", d->clock_mhz);
	if (d->has_timeout_ms)
		json_kv_u64(j, "timeout_ms", d->timeout_ms);
	if (d->has_layer_types) {
		unsigned int t;

		json_key(j, "layer_types");
		json_arr_begin(j);
		for (t = 0; t < 32; t++) {
			char other[16];

			if (!(d->layer_types & (1U << t)))
				continue;
			snprintf(other, sizeof(other), "type%u", t);
			json_str(j, layer_type_name(t) ? layer_type_name(t) : other);
		}
		json_arr_end(j);
		json_kv_u64(j, "layer_types_mask", d->layer_types);
	}
	if (d->has_n_mask) {
		json_kv_bits(j, "n", d->n_mask);
		json_kv_u64(j, "n_mask", d->n_mask);
	}
	if (d->has_b_mask) {
		json_kv_bits(j, "b", d->b_mask);
		json_kv_u64(j, "b_mask", d->b_mask);
	}
}

/* --- the subcommands ----------------------------------------------------- */

/* The devices of one exchange, printed as they arrive (text) or in an array. */
struct dev_printer {
	struct nhotctl *ctl;
	struct json j;
	int count;
};

static int print_dev_reply(struct nl_msg *msg, void *arg)
{
	struct dev_printer *p = arg;
	struct dev_info d;

	if (dev_info_parse(msg, &d))
		return -EPROTO;
	p->count++;
	if (p->ctl->json) {
		json_obj_begin(&p->j);
		dev_info_print_json(&p->j, &d);
		json_obj_end(&p->j);
	} else {
		dev_info_print_text(&d, "", true);
	}
	return 0;
}

static int finish_json(struct json *j)
{
	if (!json_end_doc(j)) {
		fprintf(stderr, "nhotctl: writing the output failed\n");
		return EXIT_FAILED;
	}
	return EXIT_OK;
}

/*
 * DEV_GET for one device (has_id) or all; one_object prints the one device
 * as a JSON object rather than an array (dev add, dev set).
 */
static int show_devices(struct nhotctl *ctl, bool has_id, uint32_t id, const char *what,
			bool one_object)
{
	struct dev_printer p = { .ctl = ctl };
	struct genl_err err;
	struct nl_msg *req;
	FILE *mem = NULL;
	char *buf = NULL;
	size_t len = 0;
	int ret;

	req = genl_request(ctl, NHOT_CMD_DEV_GET, !has_id);
	if (!req || (has_id && nla_put_u32(req, NHOT_A_DEV_ID, id))) {
		nlmsg_free(req);
		fprintf(stderr, "nhotctl: out of memory\n");
		return EXIT_FAILED;
	}
	/* JSON goes out whole or not at all: no half document before an error. */
	if (ctl->json) {
		mem = open_memstream(&buf, &len);
		if (!mem) {
			nlmsg_free(req);
			fprintf(stderr, "nhotctl: out of memory\n");
			return EXIT_FAILED;
		}
	}
	json_init(&p.j, mem);
	if (ctl->json && !one_object)
		json_arr_begin(&p.j);
	ret = genl_exchange(ctl, req, print_dev_reply, &p, &err);
	if (ret == -EPROTO && !err.errnum) {
		fprintf(stderr, "nhotctl: %s: malformed reply from the kernel\n", what);
		ret = EXIT_FAILED;
	} else if (ret) {
		ret = report_error(what, &err, dev_attr_name);
	} else if (has_id && p.count != 1) {
		fprintf(stderr, "nhotctl: %s: the kernel sent %d devices for one\n", what, p.count);
		ret = EXIT_FAILED;
	} else if (ctl->json) {
		if (!one_object)
			json_arr_end(&p.j);
		ret = finish_json(&p.j);
		if (!ret && (fwrite(buf, 1, len, stdout) != len || fflush(stdout)))
			ret = EXIT_FAILED;
	} else {
		ret = fflush(stdout) ? EXIT_FAILED : EXIT_OK;
	}
	if (mem) {
		fclose(mem);
		free(buf);
	}
	return ret;
}

static int dev_show(struct nhotctl *ctl, int argc, char **argv)
{
	char what[48];
	uint32_t id = 0;
	int ret;

	if (argc > 2)
		return usage_error("dev show: one DEV at most, got '%s' too", argv[2]);
	if (argc == 2 && parse_dev(argv[1], &id))
		return usage_error("dev show: bad device '%s' (nhotN, N or /dev/nhotN)", argv[1]);
	ret = genl_open(ctl);
	if (ret)
		return ret;
	if (argc == 2)
		snprintf(what, sizeof(what), "nhot%u", id);
	else
		snprintf(what, sizeof(what), "dev show");
	ret = show_devices(ctl, argc == 2, id, what, false);
	genl_close(ctl);
	return ret;
}

static int put_params(struct nl_msg *req, const struct dev_params *p)
{
	if (p->has_pe_count && nla_put_u32(req, NHOT_A_DEV_PE_COUNT, p->pe_count))
		return -ENOMEM;
	if (p->has_clock_mhz && nla_put_u32(req, NHOT_A_DEV_CLOCK_MHZ, p->clock_mhz))
		return -ENOMEM;
	if (p->has_timeout_ms && nla_put_u32(req, NHOT_A_DEV_TIMEOUT_MS, p->timeout_ms))
		return -ENOMEM;
	return 0;
}

static int dev_add(struct nhotctl *ctl, int argc, char **argv)
{
	struct dev_printer p = { .ctl = ctl };
	struct dev_params params = { 0 };
	uint32_t engine = 0;
	struct genl_err err;
	struct nl_msg *req;
	int first = 1, ret;

	/* An engine word first, if any: pci is the kernel's to refuse. */
	if (argc > 1 && !strcmp(argv[1], "sim")) {
		engine = NHOT_ENGINE_SIM;
		first = 2;
	} else if (argc > 1 && !strcmp(argv[1], "pci")) {
		engine = NHOT_ENGINE_PCI;
		first = 2;
	}
	ret = parse_dev_params("dev add", argc - first, argv + first, &params);
	if (ret)
		return ret;
	ret = genl_open(ctl);
	if (ret)
		return ret;
	req = genl_request(ctl, NHOT_CMD_DEV_NEW, false);
	if (!req || (engine && nla_put_u32(req, NHOT_A_DEV_ENGINE, engine)) ||
	    put_params(req, &params)) {
		nlmsg_free(req);
		genl_close(ctl);
		fprintf(stderr, "nhotctl: out of memory\n");
		return EXIT_FAILED;
	}
	json_init(&p.j, stdout);
	ret = genl_exchange(ctl, req, print_dev_reply, &p, &err);
	genl_close(ctl);
	if (ret == -EPROTO && !err.errnum) {
		fprintf(stderr, "nhotctl: dev add: malformed reply from the kernel\n");
		return EXIT_FAILED;
	}
	if (ret)
		return report_error("dev add", &err, dev_attr_name);
	if (p.count != 1) {
		fprintf(stderr, "nhotctl: dev add: the kernel sent %d devices for the new one\n",
			p.count);
		return EXIT_FAILED;
	}
	if (ctl->json)
		return finish_json(&p.j);
	return fflush(stdout) ? EXIT_FAILED : EXIT_OK;
}

static int dev_del(struct nhotctl *ctl, int argc, char **argv)
{
	struct genl_err err;
	struct nl_msg *req;
	char what[48];
	uint32_t id;
	int ret;

	if (argc != 2)
		return usage_error(argc < 2 ? "dev del: which DEV?" :
				   "dev del: one DEV only");
	if (parse_dev(argv[1], &id))
		return usage_error("dev del: bad device '%s' (nhotN, N or /dev/nhotN)", argv[1]);
	ret = genl_open(ctl);
	if (ret)
		return ret;
	req = genl_request(ctl, NHOT_CMD_DEV_DEL, false);
	if (!req || nla_put_u32(req, NHOT_A_DEV_ID, id)) {
		nlmsg_free(req);
		genl_close(ctl);
		fprintf(stderr, "nhotctl: out of memory\n");
		return EXIT_FAILED;
	}
	ret = genl_exchange(ctl, req, NULL, NULL, &err);
	genl_close(ctl);
	snprintf(what, sizeof(what), "dev del nhot%u", id);
	if (ret)
		return report_error(what, &err, dev_attr_name);
	if (ctl->json) {
		struct json j;

		json_init(&j, stdout);
		json_obj_begin(&j);
		json_kv_u64(&j, "id", id);
		snprintf(what, sizeof(what), "nhot%u", id);
		json_kv_str(&j, "name", what);
		json_key(&j, "deleted");
		json_bool(&j, true);
		json_obj_end(&j);
		return finish_json(&j);
	}
	printf("nhot%u deleted\n", id);
	return fflush(stdout) ? EXIT_FAILED : EXIT_OK;
}

static int dev_set(struct nhotctl *ctl, int argc, char **argv)
{
	struct dev_params params = { 0 };
	struct genl_err err;
	struct nl_msg *req;
	char what[48];
	uint32_t id;
	int ret;

	if (argc < 2)
		return usage_error("dev set: which DEV?");
	if (parse_dev(argv[1], &id))
		return usage_error("dev set: bad device '%s' (nhotN, N or /dev/nhotN)", argv[1]);
	if (argc < 3)
		return usage_error("dev set: nothing to set (pe_count, clock_mhz, timeout_ms)");
	ret = parse_dev_params("dev set", argc - 2, argv + 2, &params);
	if (ret)
		return ret;
	ret = genl_open(ctl);
	if (ret)
		return ret;
	req = genl_request(ctl, NHOT_CMD_DEV_SET, false);
	if (!req || nla_put_u32(req, NHOT_A_DEV_ID, id) || put_params(req, &params)) {
		nlmsg_free(req);
		genl_close(ctl);
		fprintf(stderr, "nhotctl: out of memory\n");
		return EXIT_FAILED;
	}
	snprintf(what, sizeof(what), "dev set nhot%u", id);
	ret = genl_exchange(ctl, req, NULL, NULL, &err);
	if (ret) {
		genl_close(ctl);
		return report_error(what, &err, dev_attr_name);
	}
	/* What the device holds now, in the words of dev show. */
	ret = show_devices(ctl, true, id, what, true);
	genl_close(ctl);
	return ret;
}

static const struct {
	const char *name;
	int (*run)(struct nhotctl *ctl, int argc, char **argv);
} dev_cmds[] = {
	{ "show", dev_show },
	{ "add", dev_add },
	{ "del", dev_del },
	{ "set", dev_set },
};

int cmd_dev(struct nhotctl *ctl, int argc, char **argv)
{
	static char *show_all[] = { "show", NULL };
	size_t i;

	/* "nhotctl dev" alone lists the devices, as "dev show" does. */
	if (argc < 2)
		return dev_show(ctl, 1, show_all);
	for (i = 0; i < sizeof(dev_cmds) / sizeof(dev_cmds[0]); i++)
		if (!strcmp(argv[1], dev_cmds[i].name))
			return dev_cmds[i].run(ctl, argc - 1, argv + 1);
	return usage_error("dev: unknown command '%s' (show, add, del or set)", argv[1]);
}
