/* SPDX-License-Identifier: MIT */
/*
 * nhotctl: manages nhot engines through the "nhot" generic netlink family
 * (docs/netlink/nhot.yaml, uapi/linux/nhot_netlink.h). One file per
 * concern: main.c (global options, the command table), args.c (words of
 * the command line), genl.c (the socket, requests, errors), names.c (enum
 * and number formatting), dev.c, stats.c, monitor.c (the commands),
 * json.c (the JSON writer).
 */
#ifndef NHOTCTL_H
#define NHOTCTL_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <netlink/genl/genl.h>

#include "json.h"

/* Exit codes (nhotctl.8, EXIT STATUS) */
#define EXIT_OK		0
#define EXIT_FAILED	1
#define EXIT_USAGE	2

struct nhotctl {
	bool json;
	struct nl_sock *sk;	/* requests and replies */
	int family;		/* resolved id of "nhot" */
};

/* --- args.c: the words of a command line ------------------------------- */

/* Prints "nhotctl: <message> (try --help)" on stderr; returns EXIT_USAGE. */
int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "nhotN", "N" or "/dev/nhotN" -> N; -EINVAL for anything else. */
int parse_dev(const char *s, uint32_t *id);
/* A whole unsigned decimal number that fits in a u32; -EINVAL or -ERANGE. */
int parse_u32(const char *s, uint32_t *v);

/* The settable keys of dev add and dev set, as netlink attributes. */
struct dev_params {
	bool has_pe_count, has_clock_mhz, has_timeout_ms;
	uint32_t pe_count, clock_mhz, timeout_ms;
};

/*
 * Parses KEY VALUE pairs (pe_count, clock_mhz, timeout_ms) of argv[0..argc)
 * into p. Returns 0, or EXIT_USAGE after printing the one-line reason.
 */
int parse_dev_params(const char *cmd, int argc, char **argv, struct dev_params *p);

/* --- genl.c: the family -------------------------------------------------- */

/* What a failed request reported. */
struct genl_err {
	int errnum;		/* positive errno */
	char msg[256];		/* the kernel's extack message, or "" */
	int bad_attr;		/* attribute type the kernel pointed at, or 0 */
	int missing_attr;	/* type of a missing required attribute, or 0 */
	bool has_range;		/* the policy of bad_attr: min..max */
	uint64_t min, max;
};

/*
 * Opens a generic netlink socket and resolves the "nhot" family. On failure
 * prints the reason (module not loaded, family not found, no netlink) and
 * returns EXIT_FAILED; 0 on success.
 */
int genl_open(struct nhotctl *ctl);
void genl_close(struct nhotctl *ctl);

/* A new request for cmd (NLM_F_DUMP when dump); NULL when out of memory. */
struct nl_msg *genl_request(struct nhotctl *ctl, uint8_t cmd, bool dump);

/*
 * Sends req and reads until its ack (do) or NLMSG_DONE (dump), calling
 * on_reply for every reply message; on_reply returns 0 or a negative errno,
 * which ends the exchange. Returns 0, or a negative errno with *err filled
 * in (errnum 0 in *err when the error was ours, not the kernel's). Frees req.
 */
int genl_exchange(struct nhotctl *ctl, struct nl_msg *req,
		  int (*on_reply)(struct nl_msg *msg, void *arg), void *arg,
		  struct genl_err *err);

/*
 * Prints "nhotctl: <what>: <reason>" for a failed exchange: the extack
 * message when there is one, clear words for no such device and missing
 * permission, strerror otherwise; the attribute names of attr_name (may be
 * NULL) for a rejected or missing attribute. Returns EXIT_FAILED.
 */
int report_error(const char *what, const struct genl_err *err,
		 const char *(*attr_name)(int type));

/* --- names.c: enums and numbers as words ---------------------------------- */

const char *engine_name(uint32_t engine);	/* NULL if unknown */
const char *state_name(uint32_t state);
const char *job_status_name(uint32_t status);
const char *layer_type_name(unsigned int type);
const char *dev_attr_name(int type);		/* for error messages */
const char *stats_attr_name(int type);
/* v with a comma every three digits: 1,234,567; buf of at least 27 bytes */
char *fmt_thousands(uint64_t v, char *buf, size_t len);

/* --- dev.c: the "dev" attribute set --------------------------------------- */

/* A device as DEV_GET (and the dev notifications) describe it. */
struct dev_info {
	uint32_t id;
	char name[32];
	char bus[64];
	bool has_id, has_name, has_engine, has_state, has_layer_types,
	     has_n_mask, has_b_mask, has_pe_count, has_clock_mhz,
	     has_timeout_ms, has_bus;
	uint32_t engine, state, layer_types, n_mask, b_mask;
	uint32_t pe_count, clock_mhz, timeout_ms;
};

/* Parses a message of the "dev" attribute set; 0 or -EPROTO. */
int dev_info_parse(struct nl_msg *msg, struct dev_info *d);
/*
 * One device: a text line to stdout (and with caps a second one with the
 * layer types, n and b), or its members into an open JSON object.
 */
void dev_info_print_text(const struct dev_info *d, const char *prefix, bool caps);
void dev_info_print_json(struct json *j, const struct dev_info *d);

/* --- the commands: argv[0] is the command's own name ---------------------- */

int cmd_dev(struct nhotctl *ctl, int argc, char **argv);
int cmd_stats(struct nhotctl *ctl, int argc, char **argv);
int cmd_monitor(struct nhotctl *ctl, int argc, char **argv);

/* Set by SIGINT/SIGTERM in the commands that run until interrupted. */
extern volatile sig_atomic_t stop_requested;
void install_stop_handlers(void);

#endif /* NHOTCTL_H */
