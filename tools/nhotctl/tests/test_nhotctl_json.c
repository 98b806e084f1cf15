// SPDX-License-Identifier: MIT
/*
 * nhotctl's JSON writer (json.c): separators and nesting, string escaping
 * per RFC 8259, invalid UTF-8 replaced byte by byte with U+FFFD, integers
 * exact to the last digit of u64 and s64, and json_end_doc's verdict on
 * documents that are not well nested. Every expectation is a literal
 * written out by hand here.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"

#include "json.h"

/* Output captured in memory: a stream, its buffer and its size. */
struct capture {
	FILE *f;
	char *buf;
	size_t len;
};

static void capture_open(struct capture *c)
{
	c->buf = NULL;
	c->len = 0;
	c->f = open_memstream(&c->buf, &c->len);
}

/* Closes the stream; the text stays in c->buf until capture_free. */
static const char *capture_text(struct capture *c)
{
	fclose(c->f);
	c->f = NULL;
	return c->buf;
}

static void capture_free(struct capture *c)
{
	free(c->buf);
}

/* The string s as json_write_string writes it, into a static buffer. */
static const char *escaped(const char *s)
{
	static char out[512];
	struct capture c;

	capture_open(&c);
	json_write_string(c.f, s);
	snprintf(out, sizeof(out), "%s", capture_text(&c));
	capture_free(&c);
	return out;
}

TEST(nesting_and_separators)
{
	struct capture c;
	struct json j;

	capture_open(&c);
	ASSERT_NE(NULL, c.f);
	json_init(&j, c.f);
	json_obj_begin(&j);
	json_kv_u64(&j, "a", 1);
	json_key(&j, "b");
	json_arr_begin(&j);
	json_u64(&j, 1);
	json_u64(&j, 2);
	json_obj_begin(&j);
	json_kv_str(&j, "c", "x");
	json_obj_end(&j);
	json_arr_begin(&j);
	json_arr_end(&j);
	json_arr_end(&j);
	json_key(&j, "d");
	json_obj_begin(&j);
	json_obj_end(&j);
	json_key(&j, "e");
	json_bool(&j, true);
	json_key(&j, "f");
	json_bool(&j, false);
	json_obj_end(&j);
	EXPECT_TRUE(json_end_doc(&j));
	EXPECT_STREQ("{\"a\":1,\"b\":[1,2,{\"c\":\"x\"},[]],\"d\":{},\"e\":true,\"f\":false}\n",
		     capture_text(&c));
	capture_free(&c);
}

TEST(top_level_array_of_objects)
{
	struct capture c;
	struct json j;
	int i;

	capture_open(&c);
	json_init(&j, c.f);
	json_arr_begin(&j);
	for (i = 0; i < 3; i++) {
		json_obj_begin(&j);
		json_kv_u64(&j, "id", (uint64_t)i);
		json_obj_end(&j);
	}
	json_arr_end(&j);
	EXPECT_TRUE(json_end_doc(&j));
	EXPECT_STREQ("[{\"id\":0},{\"id\":1},{\"id\":2}]\n", capture_text(&c));
	capture_free(&c);
}

TEST(integers_exact)
{
	struct capture c;
	struct json j;

	capture_open(&c);
	json_init(&j, c.f);
	json_arr_begin(&j);
	json_u64(&j, 0);
	json_u64(&j, UINT64_MAX);
	json_u64(&j, (1ULL << 53) + 1);	/* beyond a double's exact range */
	json_s64(&j, INT64_MIN);
	json_s64(&j, -110);
	json_arr_end(&j);
	EXPECT_TRUE(json_end_doc(&j));
	EXPECT_STREQ("[0,18446744073709551615,9007199254740993,-9223372036854775808,-110]\n",
		     capture_text(&c));
	capture_free(&c);
}

TEST(escapes)
{
	EXPECT_STREQ("\"\"", escaped(""));
	EXPECT_STREQ("\"nhot0\"", escaped("nhot0"));
	EXPECT_STREQ("\"a\\\"b\\\\c/d\"", escaped("a\"b\\c/d"));
	EXPECT_STREQ("\"\\b\\f\\n\\r\\t\"", escaped("\b\f\n\r\t"));
	EXPECT_STREQ("\"\\u0001\\u001f\\u007f \"", escaped("\x01\x1f\x7f "));
}

TEST(valid_utf8_passes_through)
{
	/* U+00E9, U+20AC, U+1D11E, U+10FFFF, U+D7FF, U+E000 */
	EXPECT_STREQ("\"\xc3\xa9\xe2\x82\xac\xf0\x9d\x84\x9e\xf4\x8f\xbf\xbf\xed\x9f\xbf\xee\x80\x80\"",
		     escaped("\xc3\xa9\xe2\x82\xac\xf0\x9d\x84\x9e\xf4\x8f\xbf\xbf\xed\x9f\xbf\xee\x80\x80"));
}

TEST(invalid_utf8_replaced)
{
	/* a stray continuation byte, 0xff, an overlong '/' */
	EXPECT_STREQ("\"\\ufffd\\ufffd\\ufffd\\ufffda\"", escaped("\x80\xff\xc0\xaf" "a"));
	/* a surrogate (U+D800) is three bad bytes: each is replaced */
	EXPECT_STREQ("\"\\ufffd\\ufffd\\ufffd\"", escaped("\xed\xa0\x80"));
	/* above U+10FFFF */
	EXPECT_STREQ("\"\\ufffd\\ufffd\\ufffd\\ufffd\"", escaped("\xf4\x90\x80\x80"));
	/* a sequence cut short by the end of the string */
	EXPECT_STREQ("\"x\\ufffd\\ufffd\"", escaped("x\xe2\x82"));
	/* overlong three-byte form of U+007F */
	EXPECT_STREQ("\"\\ufffd\\ufffd\\ufffd\"", escaped("\xe0\x81\xbf"));
}

TEST(end_doc_rejects_unbalanced)
{
	struct capture c;
	struct json j;

	capture_open(&c);
	json_init(&j, c.f);
	json_obj_begin(&j);
	EXPECT_FALSE(json_end_doc(&j));		/* left open */

	json_init(&j, c.f);
	json_arr_end(&j);
	EXPECT_FALSE(json_end_doc(&j));		/* closed without opening */

	json_init(&j, c.f);
	json_obj_begin(&j);
	json_key(&j, "k");
	json_obj_end(&j);
	EXPECT_FALSE(json_end_doc(&j));		/* a key without its value */

	json_init(&j, c.f);
	json_key(&j, "k");
	json_u64(&j, 1);
	EXPECT_FALSE(json_end_doc(&j));		/* a key outside any object */
	capture_text(&c);
	capture_free(&c);
}

TEST(too_deep)
{
	struct capture c;
	struct json j;
	int i;

	capture_open(&c);
	json_init(&j, c.f);
	for (i = 0; i < JSON_MAX_DEPTH; i++)
		json_arr_begin(&j);
	for (i = 0; i < JSON_MAX_DEPTH; i++)
		json_arr_end(&j);
	EXPECT_TRUE(json_end_doc(&j));

	json_init(&j, c.f);
	for (i = 0; i <= JSON_MAX_DEPTH; i++)
		json_arr_begin(&j);
	EXPECT_FALSE(json_end_doc(&j));
	capture_text(&c);
	capture_free(&c);
}

TEST(write_error_reported)
{
	struct json j;
	FILE *f = fopen("/dev/full", "w");

	if (!f)
		SKIP(return, "no /dev/full");
	json_init(&j, f);
	json_obj_begin(&j);
	json_kv_str(&j, "k", "v");
	json_obj_end(&j);
	EXPECT_FALSE(json_end_doc(&j));
	fclose(f);
}

TEST_HARNESS_MAIN
