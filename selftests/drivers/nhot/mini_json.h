/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small strict JSON reader for the nhotctl selftest: it parses one whole
 * document (RFC 8259: objects, arrays, strings with every escape, numbers,
 * true/false/null; nothing but whitespace after it) into a fixed pool of
 * nodes, so the test can check that nhotctl's output is valid JSON and
 * read its members. String escapes are decoded (\uXXXX reads as one '?',
 * enough for the ASCII names nhotctl writes).
 */
#ifndef __SELFTEST_MINI_JSON_H
#define __SELFTEST_MINI_JSON_H

#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum mj_type { MJ_NULL, MJ_BOOL, MJ_NUM, MJ_STR, MJ_ARR, MJ_OBJ };

#define MJ_MAX_NODES	1024
#define MJ_MAX_TEXT	128

struct mj_node {
	enum mj_type type;
	char key[MJ_MAX_TEXT];		/* member name inside an object */
	char text[MJ_MAX_TEXT];		/* string, number or "true"/"false" */
	int first, next;		/* children (array, object), siblings; -1 ends */
	int count;			/* children */
};

struct mj_doc {
	struct mj_node n[MJ_MAX_NODES];
	int used;
	const char *p;
	bool bad;
};

static inline void mj_ws(struct mj_doc *d)
{
	while (*d->p == ' ' || *d->p == '\t' || *d->p == '\n' || *d->p == '\r')
		d->p++;
}

/* A string literal at d->p into out (truncated to MJ_MAX_TEXT - 1). */
static inline void mj_string(struct mj_doc *d, char *out)
{
	size_t o = 0;

	if (*d->p != '"') {
		d->bad = true;
		return;
	}
	d->p++;
	while (*d->p != '"') {
		char c = *d->p;

		if (!c || (unsigned char)c < 0x20) {
			d->bad = true;
			return;
		}
		if (c == '\\') {
			static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
			const char *hit;

			d->p++;
			hit = *d->p ? strchr(from, *d->p) : NULL;
			if (hit) {
				c = to[hit - from];
			} else if (*d->p == 'u') {
				for (int i = 1; i <= 4; i++) {
					if (!isxdigit((unsigned char)d->p[i])) {
						d->bad = true;
						return;
					}
				}
				c = '?';	/* one character, not decoded */
				d->p += 4;
			} else {
				d->bad = true;
				return;
			}
		}
		if (o + 1 < MJ_MAX_TEXT)
			out[o++] = c;
		d->p++;
	}
	d->p++;
	out[o] = 0;
}

static inline void mj_number(struct mj_doc *d, char *out)
{
	const char *s = d->p;

	if (*d->p == '-')
		d->p++;
	if (*d->p == '0')
		d->p++;
	else if (*d->p >= '1' && *d->p <= '9')
		while (isdigit((unsigned char)*d->p))
			d->p++;
	else
		d->bad = true;
	if (*d->p == '.') {
		d->p++;
		if (!isdigit((unsigned char)*d->p))
			d->bad = true;
		while (isdigit((unsigned char)*d->p))
			d->p++;
	}
	if (*d->p == 'e' || *d->p == 'E') {
		d->p++;
		if (*d->p == '+' || *d->p == '-')
			d->p++;
		if (!isdigit((unsigned char)*d->p))
			d->bad = true;
		while (isdigit((unsigned char)*d->p))
			d->p++;
	}
	snprintf(out, MJ_MAX_TEXT, "%.*s", (int)(d->p - s), s);
}

static inline int mj_value(struct mj_doc *d, int depth);

/* Appends a child to parent's list; returns its index. */
static inline int mj_children(struct mj_doc *d, int parent, bool obj, int depth)
{
	char close = obj ? '}' : ']';
	int last = -1;

	d->p++;
	mj_ws(d);
	if (*d->p == close) {
		d->p++;
		return 0;
	}
	for (;;) {
		char key[MJ_MAX_TEXT] = "";
		int c;

		mj_ws(d);
		if (obj) {
			mj_string(d, key);
			mj_ws(d);
			if (d->bad || *d->p != ':') {
				d->bad = true;
				return -1;
			}
			d->p++;
		}
		c = mj_value(d, depth + 1);
		if (c < 0)
			return -1;
		memcpy(d->n[c].key, key, sizeof(key));
		if (last < 0)
			d->n[parent].first = c;
		else
			d->n[last].next = c;
		last = c;
		d->n[parent].count++;
		mj_ws(d);
		if (*d->p == ',') {
			d->p++;
			continue;
		}
		if (*d->p != close) {
			d->bad = true;
			return -1;
		}
		d->p++;
		return 0;
	}
}

static inline int mj_value(struct mj_doc *d, int depth)
{
	struct mj_node *n;
	int i;

	mj_ws(d);
	if (d->bad || d->used >= MJ_MAX_NODES || depth > 32) {
		d->bad = true;
		return -1;
	}
	i = d->used++;
	n = &d->n[i];
	memset(n, 0, sizeof(*n));
	n->first = n->next = -1;
	switch (*d->p) {
	case '{':
		n->type = MJ_OBJ;
		if (mj_children(d, i, true, depth))
			return -1;
		break;
	case '[':
		n->type = MJ_ARR;
		if (mj_children(d, i, false, depth))
			return -1;
		break;
	case '"':
		n->type = MJ_STR;
		mj_string(d, n->text);
		break;
	case 't':
	case 'f':
	case 'n': {
		static const char *const words[] = { "true", "false", "null" };

		for (int w = 0; w < 3; w++)
			if (!strncmp(d->p, words[w], strlen(words[w]))) {
				n->type = w == 2 ? MJ_NULL : MJ_BOOL;
				snprintf(n->text, sizeof(n->text), "%s", words[w]);
				d->p += strlen(words[w]);
				return i;
			}
		d->bad = true;
		return -1;
	}
	default:
		n->type = MJ_NUM;
		mj_number(d, n->text);
		break;
	}
	return d->bad ? -1 : i;
}

/* Parses text, which must hold one document and nothing else; root or -1. */
static inline int mj_parse(struct mj_doc *d, const char *text)
{
	int root;

	d->used = 0;
	d->bad = false;
	d->p = text;
	root = mj_value(d, 0);
	mj_ws(d);
	if (root < 0 || d->bad || *d->p)
		return -1;
	return root;
}

/* Member key of object node obj, or -1. */
static inline int mj_get(const struct mj_doc *d, int obj, const char *key)
{
	if (obj < 0 || d->n[obj].type != MJ_OBJ)
		return -1;
	for (int c = d->n[obj].first; c >= 0; c = d->n[c].next)
		if (!strcmp(d->n[c].key, key))
			return c;
	return -1;
}

/* Element i of array node arr, or -1. */
static inline int mj_at(const struct mj_doc *d, int arr, int i)
{
	int c;

	if (arr < 0 || d->n[arr].type != MJ_ARR)
		return -1;
	for (c = d->n[arr].first; c >= 0 && i > 0; c = d->n[c].next)
		i--;
	return c;
}

/* A member that is a string: its text, or NULL. */
static inline const char *mj_str(const struct mj_doc *d, int obj, const char *key)
{
	int c = mj_get(d, obj, key);

	return c >= 0 && d->n[c].type == MJ_STR ? d->n[c].text : NULL;
}

/* A member that is a non-negative integer: 0 and *v, or -1. */
static inline int mj_u64(const struct mj_doc *d, int obj, const char *key, uint64_t *v)
{
	int c = mj_get(d, obj, key);
	char *end;

	if (c < 0 || d->n[c].type != MJ_NUM || d->n[c].text[0] == '-' ||
	    strpbrk(d->n[c].text, ".eE"))
		return -1;
	*v = strtoull(d->n[c].text, &end, 10);
	return *end ? -1 : 0;
}

#endif /* __SELFTEST_MINI_JSON_H */
