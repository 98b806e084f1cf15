/* SPDX-License-Identifier: MIT */
/*
 * A tiny streaming JSON writer: objects, arrays, strings, integers and
 * booleans, written compactly to a FILE. Commas and nesting are tracked
 * here, so callers only say what comes next. Strings are escaped per
 * RFC 8259 and always come out as valid UTF-8 (a byte that does not start
 * a well-formed UTF-8 sequence becomes U+FFFD). Integers are written as
 * exact decimal numbers, u64 included.
 */
#ifndef NHOTCTL_JSON_H
#define NHOTCTL_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH	16

struct json {
	FILE *f;
	int depth;
	/* per open container: true once it holds a member */
	bool nonempty[JSON_MAX_DEPTH];
	/* a key was written; its value comes next, without a comma */
	bool after_key;
	/* nesting deeper than JSON_MAX_DEPTH or a close without an open */
	bool broken;
};

void json_init(struct json *j, FILE *f);
void json_obj_begin(struct json *j);
void json_obj_end(struct json *j);
void json_arr_begin(struct json *j);
void json_arr_end(struct json *j);
void json_key(struct json *j, const char *key);
void json_str(struct json *j, const char *s);
void json_u64(struct json *j, uint64_t v);
void json_s64(struct json *j, int64_t v);
void json_bool(struct json *j, bool v);
/* Ends a top-level document with a newline and flushes; false if the
 * document was not well nested or the stream failed.
 */
bool json_end_doc(struct json *j);

/* key + value shorthands for object members */
void json_kv_str(struct json *j, const char *key, const char *s);
void json_kv_u64(struct json *j, const char *key, uint64_t v);
void json_kv_s64(struct json *j, const char *key, int64_t v);

/* Writes s as a JSON string literal (quotes included). */
void json_write_string(FILE *f, const char *s);

#endif /* NHOTCTL_JSON_H */
