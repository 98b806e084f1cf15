// SPDX-License-Identifier: MIT
/*
 * The one-line reasons libnhot gives the tools (issue #14, item 17): the
 * .nhf loader says what is wrong as the .nhq loader does, and a layer that
 * nhot_layer_check() rejects is reported with the errno's name and meaning,
 * not a bare number. Run from the top of the tree (make test does).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The harness's TEST() wrappers leave parameters unused. */
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#include "nhot_fmodel.h"
#include "nhot_model.h"
#include "nhot_private.h"

#define SEED_MODEL	"fuzz/corpus/residual-n2b8.nhq"

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

FIXTURE(nhf) {
	char path[64];
	char err[NHOT_PRIVATE_ERR_LEN];
	uint8_t *data;
	size_t len;
};

FIXTURE_SETUP(nhf)
{
	struct nhot_fnode fc = { .op = NHOT_FOP_FC, .in = { 0, -1 }, .out_c = 3 };
	struct nhot_fnet *net;
	void *data;
	int fd;

	strcpy(self->path, "/tmp/nhot-test-msg-XXXXXX");
	fd = mkstemp(self->path);
	ASSERT_LE(0, fd);
	close(fd);
	ASSERT_EQ(0, nhot_fnet_create(4, 4, 1, &net));
	ASSERT_LE(0, nhot_fnet_add(net, &fc));
	ASSERT_EQ(0, nhot_fnet_serialize(net, &data, &self->len));
	self->data = data;
	nhot_fnet_free(net);
}

FIXTURE_TEARDOWN(nhf)
{
	free(self->data);
	unlink(self->path);
}

/* Writes the (edited) image to the file and loads it; returns the errno. */
static int load_edited(FIXTURE_DATA(nhf) *self, size_t len, int reseal)
{
	struct nhot_fnet *net = NULL;
	FILE *f;
	int rc;

	if (reseal)
		put32(self->data + len - 4, nhot_crc32(0, self->data, len - 4));
	f = fopen(self->path, "wb");
	if (!f)
		return -EIO;
	fwrite(self->data, 1, len, f);
	fclose(f);
	rc = nhot_fnet_load_err(self->path, &net, self->err, sizeof(self->err));
	nhot_fnet_free(net);
	return rc;
}

/* err is "PATH: " followed by want. */
static int says(FIXTURE_DATA(nhf) *self, const char *want)
{
	size_t n = strlen(self->path);

	return !strncmp(self->err, self->path, n) && !strncmp(self->err + n, ": ", 2) &&
	       strstr(self->err + n, want) != NULL;
}

TEST_F(nhf, good_file_loads)
{
	EXPECT_EQ(0, load_edited(self, self->len, 0));
}

TEST_F(nhf, bad_magic)
{
	self->data[0] = 'X';
	EXPECT_EQ(-EINVAL, load_edited(self, self->len, 1));
	EXPECT_TRUE(says(self, "not a float model (bad magic, want NHOTFNET)")) {
		TH_LOG("%s", self->err);
	}
}

TEST_F(nhf, checksum_mismatch)
{
	self->data[self->len / 2] ^= 1;
	EXPECT_EQ(-EBADMSG, load_edited(self, self->len, 0));
	EXPECT_TRUE(says(self, "checksum mismatch")) {
		TH_LOG("%s", self->err);
	}
}

TEST_F(nhf, truncated)
{
	EXPECT_EQ(-EBADMSG, load_edited(self, self->len - 10, 0));
	EXPECT_TRUE(says(self, "truncated or trailing data")) {
		TH_LOG("%s", self->err);
	}
	EXPECT_EQ(-EBADMSG, load_edited(self, 20, 0));
	EXPECT_TRUE(says(self, "truncated (20 bytes)")) {
		TH_LOG("%s", self->err);
	}
}

TEST_F(nhf, other_version)
{
	put32(self->data + 8, 2);
	EXPECT_EQ(-EINVAL, load_edited(self, self->len, 1));
	EXPECT_TRUE(says(self, "version 2, this library reads 1")) {
		TH_LOG("%s", self->err);
	}
}

TEST_F(nhf, reserved_word_of_a_node)
{
	put32(self->data + 32 + 80 - 4, 7);	/* node 0's last word */
	EXPECT_EQ(-EINVAL, load_edited(self, self->len, 1));
	EXPECT_TRUE(says(self, "node 0: reserved word not 0")) {
		TH_LOG("%s", self->err);
	}
}

TEST_F(nhf, missing_file)
{
	unlink(self->path);
	EXPECT_EQ(-ENOENT, nhot_fnet_load_err(self->path, &(struct nhot_fnet *){ NULL },
					      self->err, sizeof(self->err)));
	EXPECT_TRUE(says(self, "No such file")) {
		TH_LOG("%s", self->err);
	}
}

/* The public loader keeps its errno values (nhot_fmodel.h). */
TEST_F(nhf, public_loader_same_errno)
{
	struct nhot_fnet *net = NULL;
	FILE *f;

	self->data[self->len / 2] ^= 1;
	f = fopen(self->path, "wb");
	ASSERT_NE(NULL, f);
	fwrite(self->data, 1, self->len, f);
	fclose(f);
	EXPECT_EQ(-EBADMSG, nhot_fnet_load(self->path, &net));
	EXPECT_EQ(NULL, net);
}

/* "(-75)" was all a rejected layer said. */
TEST(layer_rejection_names_the_errno)
{
	char err[NHOT_PRIVATE_ERR_LEN];
	struct nhot_qnet *q = NULL;
	uint32_t i;

	if (access(SEED_MODEL, R_OK))
		SKIP(return, "no %s here (run from the top of the tree)", SEED_MODEL);
	ASSERT_EQ(0, nhot_qnet_load(SEED_MODEL, &q, err, sizeof(err)));
	for (i = 0; i < q->node_count && q->nodes[i].layer.type != NHOT_LAYER_CONV2D; i++)
		;
	ASSERT_LT(i, q->node_count);
	q->nodes[i].layer.stride_h = 9;		/* limit 1..8: -EOVERFLOW */
	EXPECT_EQ(-EOVERFLOW, nhot_qnet_validate(q, err, sizeof(err)));
	TH_LOG("%s", err);
	EXPECT_NE(NULL, strstr(err, "EOVERFLOW (Value too large for defined data type)"));
	EXPECT_NE(NULL, strstr(err, "beyond docs/arith.md 3's limits"));
	EXPECT_EQ(NULL, strstr(err, "-75"));
	q->nodes[i].layer.stride_h = 1;
	q->nodes[i].layer.w_n = 5;		/* n outside 1..4: -EOPNOTSUPP */
	EXPECT_EQ(-EOPNOTSUPP, nhot_qnet_validate(q, err, sizeof(err)));
	TH_LOG("%s", err);
	EXPECT_NE(NULL, strstr(err, "EOPNOTSUPP"));
	nhot_qnet_free(q);
}

TEST_HARNESS_MAIN
