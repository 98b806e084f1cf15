// SPDX-License-Identifier: MIT
/*
 * nhotctl: the words of a command line: devices, numbers, KEY VALUE pairs.
 * Every bad word is a usage error: one line on stderr, exit 2.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "nhotctl.h"

int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("nhotctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (try --help)\n", stderr);
	return EXIT_USAGE;
}

int parse_u32(const char *s, uint32_t *v)
{
	uint64_t acc = 0;
	const char *p;

	/* Digits only: no sign, no spaces, no hex; strtoul accepts all three. */
	if (!*s)
		return -EINVAL;
	for (p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		acc = acc * 10 + (uint64_t)(*p - '0');
		if (acc > UINT32_MAX)
			return -ERANGE;
	}
	*v = (uint32_t)acc;
	return 0;
}

int parse_dev(const char *s, uint32_t *id)
{
	if (!strncmp(s, "/dev/nhot", 9))
		s += 9;
	else if (!strncmp(s, "nhot", 4))
		s += 4;
	/* "nhot007" is not a device name the module gives. */
	if (s[0] == '0' && s[1])
		return -EINVAL;
	return parse_u32(s, id) ? -EINVAL : 0;
}

int parse_dev_params(const char *cmd, int argc, char **argv, struct dev_params *p)
{
	static const struct {
		const char *key;
		size_t has, val;
	} keys[] = {
		{ "pe_count", offsetof(struct dev_params, has_pe_count),
		  offsetof(struct dev_params, pe_count) },
		{ "clock_mhz", offsetof(struct dev_params, has_clock_mhz),
		  offsetof(struct dev_params, clock_mhz) },
		{ "timeout_ms", offsetof(struct dev_params, has_timeout_ms),
		  offsetof(struct dev_params, timeout_ms) },
	};
	int i;

	for (i = 0; i < argc; i += 2) {
		bool *has = NULL;
		uint32_t *val = NULL;
		size_t k;
		int ret;

		for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
			if (!strcmp(argv[i], keys[k].key)) {
				has = (bool *)((char *)p + keys[k].has);
				val = (uint32_t *)((char *)p + keys[k].val);
				break;
			}
		}
		if (!has)
			return usage_error("%s: unknown key '%s' (pe_count, clock_mhz or timeout_ms)",
					   cmd, argv[i]);
		if (*has)
			return usage_error("%s: %s given twice", cmd, argv[i]);
		if (i + 1 >= argc)
			return usage_error("%s: %s wants a value", cmd, argv[i]);
		ret = parse_u32(argv[i + 1], val);
		if (ret == -ERANGE)
			return usage_error("%s: %s %s: too large (at most %u)", cmd, argv[i],
					   argv[i + 1], UINT32_MAX);
		if (ret)
			return usage_error("%s: %s wants a whole number, got '%s'", cmd, argv[i],
					   argv[i + 1]);
		*has = true;
	}
	return 0;
}
