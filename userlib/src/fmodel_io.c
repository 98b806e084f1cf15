// SPDX-License-Identifier: MIT
/*
 * The float model file (docs/float-model-format.md): serialize, parse, load,
 * save. The parser reads through a bounds-checked cursor, so no input can
 * make it read outside the buffer.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nhot_fmodel.h"
#include "nhot_private.h"
#include "model_err.h"

#define FNET_MAGIC		"NHOTFNET"
#define FNET_VERSION		1
#define FNET_HEADER_BYTES	32
#define FNET_RECORD_WORDS	20
#define FNET_CRC_BYTES		4
/* Larger files are refused before reading: far beyond any model we make. */
#define FNET_MAX_FILE_BYTES	(1UL << 30)

uint32_t nhot_crc32(uint32_t crc, const void *data, size_t len)
{
	const uint8_t *p = data;
	int bit;

	crc = ~crc;
	while (len--) {
		crc ^= *p++;
		for (bit = 0; bit < 8; bit++)
			crc = (crc >> 1) ^ (0xEDB88320u & -(crc & 1));
	}
	return ~crc;
}

static void put_u32(uint8_t *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

static uint32_t get_u32(const uint8_t *p)
{
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_floats(uint8_t *p, const float *v, size_t count)
{
	uint32_t bits;
	size_t i;

	for (i = 0; i < count; i++) {
		memcpy(&bits, &v[i], 4);
		put_u32(p + 4 * i, bits);
	}
}

static void get_floats(const uint8_t *p, float *v, size_t count)
{
	uint32_t bits;
	size_t i;

	for (i = 0; i < count; i++) {
		bits = get_u32(p + 4 * i);
		memcpy(&v[i], &bits, 4);
	}
}

/* The 20 words of a node record, in file order. */
static void node_to_words(const struct nhot_fnode *n, uint32_t w[FNET_RECORD_WORDS])
{
	uint32_t v[FNET_RECORD_WORDS] = {
		n->op, n->act, (uint32_t)n->in[0], (uint32_t)n->in[1],
		n->out_h, n->out_w, n->out_c, n->kernel_h, n->kernel_w,
		n->stride_h, n->stride_w, n->dilation_h, n->dilation_w,
		n->pad_top, n->pad_bottom, n->pad_left, n->pad_right,
		n->groups, n->k, 0,
	};

	memcpy(w, v, sizeof(v));
}

static void words_to_node(const uint32_t w[FNET_RECORD_WORDS], struct nhot_fnode *n)
{
	memset(n, 0, sizeof(*n));
	n->op = w[0];
	n->act = w[1];
	n->in[0] = (int32_t)w[2];
	n->in[1] = (int32_t)w[3];
	n->out_h = w[4];
	n->out_w = w[5];
	n->out_c = w[6];
	n->kernel_h = w[7];
	n->kernel_w = w[8];
	n->stride_h = w[9];
	n->stride_w = w[10];
	n->dilation_h = w[11];
	n->dilation_w = w[12];
	n->pad_top = w[13];
	n->pad_bottom = w[14];
	n->pad_left = w[15];
	n->pad_right = w[16];
	n->groups = w[17];
	n->k = w[18];
}

static size_t param_floats(const struct nhot_fnode *n)
{
	return n->weights ? (size_t)n->out_c * n->k + n->out_c : 0;
}

int nhot_fnet_serialize(const struct nhot_fnet *net, void **data, size_t *len)
{
	uint32_t w[FNET_RECORD_WORDS], i, j;
	size_t size = FNET_HEADER_BYTES + FNET_CRC_BYTES, pos;
	uint8_t *buf;

	if (!data || !len)
		return -EINVAL;
	*data = NULL;
	*len = 0;
	if (nhot_fnet_validate(net))
		return -EINVAL;
	for (i = 0; i < net->node_count; i++)
		size += 4 * (FNET_RECORD_WORDS + param_floats(&net->nodes[i]));
	buf = malloc(size);
	if (!buf)
		return -ENOMEM;

	memcpy(buf, FNET_MAGIC, 8);
	put_u32(buf + 8, FNET_VERSION);
	put_u32(buf + 12, FNET_HEADER_BYTES);
	put_u32(buf + 16, net->node_count);
	put_u32(buf + 20, 0);
	put_u32(buf + 24, (uint32_t)size);
	put_u32(buf + 28, (uint32_t)((uint64_t)size >> 32));
	pos = FNET_HEADER_BYTES;
	for (i = 0; i < net->node_count; i++) {
		const struct nhot_fnode *n = &net->nodes[i];

		node_to_words(n, w);
		for (j = 0; j < FNET_RECORD_WORDS; j++, pos += 4)
			put_u32(buf + pos, w[j]);
		if (n->weights) {
			put_floats(buf + pos, n->weights, (size_t)n->out_c * n->k);
			pos += 4 * (size_t)n->out_c * n->k;
			put_floats(buf + pos, n->bias, n->out_c);
			pos += 4 * (size_t)n->out_c;
		}
	}
	put_u32(buf + pos, nhot_crc32(0, buf, pos));
	*data = buf;
	*len = size;
	return 0;
}

/* One node's parameters: checked against what is left before allocating. */
static int parse_params(const uint8_t *p, size_t *pos, size_t end, uint32_t i,
			struct nhot_fnode *node, char *err, size_t err_len)
{
	size_t floats = (size_t)node->out_c * node->k + node->out_c;

	if (node->out_c < 1 || node->k < 1)
		return model_fail(err, err_len, -EINVAL,
				  "node %u: a weighted layer with %u outputs of %u inputs", i,
				  node->out_c, node->k);
	if ((end - *pos) / 4 < floats)
		return model_fail(err, err_len, -EINVAL,
				  "node %u: %zu parameters do not fit in the %zu bytes left", i,
				  floats, end - *pos);
	node->weights = malloc((size_t)node->out_c * node->k * sizeof(float));
	node->bias = malloc((size_t)node->out_c * sizeof(float));
	if (!node->weights || !node->bias) {
		free(node->weights);
		free(node->bias);
		return model_fail(err, err_len, -ENOMEM, "out of memory");
	}
	get_floats(p + *pos, node->weights, (size_t)node->out_c * node->k);
	*pos += 4 * (size_t)node->out_c * node->k;
	get_floats(p + *pos, node->bias, node->out_c);
	*pos += 4 * (size_t)node->out_c;
	return 0;
}

/* Parses the node records of a file whose envelope was checked; end: where the checksum starts. */
static int parse_nodes(const uint8_t *p, size_t end, uint32_t count, struct nhot_fnet *net,
		       char *err, size_t err_len)
{
	uint32_t w[FNET_RECORD_WORDS], i, j;
	size_t pos = FNET_HEADER_BYTES;
	struct nhot_fnode node;
	int ret;

	net->nodes = calloc(count, sizeof(*net->nodes));
	if (!net->nodes)
		return model_fail(err, err_len, -ENOMEM, "out of memory");
	net->node_cap = count;
	for (i = 0; i < count; i++) {
		if (end - pos < 4 * FNET_RECORD_WORDS)
			return model_fail(err, err_len, -EINVAL,
					  "node %u of %u: record truncated", i, count);
		for (j = 0; j < FNET_RECORD_WORDS; j++, pos += 4)
			w[j] = get_u32(p + pos);
		if (w[FNET_RECORD_WORDS - 1] != 0)
			return model_fail(err, err_len, -EINVAL, "node %u: reserved word not 0", i);
		words_to_node(w, &node);
		if (node.op == NHOT_FOP_CONV2D || node.op == NHOT_FOP_FC) {
			ret = parse_params(p, &pos, end, i, &node, err, err_len);
			if (ret)
				return ret;
		} else if (node.k != 0) {
			return model_fail(err, err_len, -EINVAL,
					  "node %u: k = %u for a layer without weights", i, node.k);
		}
		net->nodes[i] = node;
		net->node_count = i + 1;
	}
	if (pos != end)
		return model_fail(err, err_len, -EINVAL, "%zu bytes after the last node",
				  end - pos);
	if (nhot_fnet_validate(net))
		return model_fail(err, err_len, -EINVAL,
				  "inconsistent network (an unknown op, a bad input index, a shape "
				  "or count out of the rules, or a parameter not finite)");
	return 0;
}

/* The header and the checksum of len >= 36 bytes; *count gets the node count. */
static int parse_envelope(const uint8_t *p, size_t len, uint32_t *count,
			  char *err, size_t err_len)
{
	uint64_t file_bytes;

	if (memcmp(p, FNET_MAGIC, 8))
		return model_fail(err, err_len, -EINVAL,
				  "not a float model (bad magic, want " FNET_MAGIC ")");
	file_bytes = get_u32(p + 24) | (uint64_t)get_u32(p + 28) << 32;
	if (file_bytes != len)
		return model_fail(err, err_len, -EBADMSG,
				  "header says %llu bytes, the file has %zu (truncated or "
				  "trailing data)", (unsigned long long)file_bytes, len);
	if (get_u32(p + len - FNET_CRC_BYTES) != nhot_crc32(0, p, len - FNET_CRC_BYTES))
		return model_fail(err, err_len, -EBADMSG, "checksum mismatch (a damaged file)");
	if (get_u32(p + 8) != FNET_VERSION)
		return model_fail(err, err_len, -EINVAL,
				  "float model format version %u, this library reads %u",
				  get_u32(p + 8), FNET_VERSION);
	if (get_u32(p + 12) != FNET_HEADER_BYTES || get_u32(p + 20) != 0)
		return model_fail(err, err_len, -EINVAL, "header size or reserved field wrong");
	*count = get_u32(p + 16);
	if (*count < 1 || *count > NHOT_FNET_MAX_NODES)
		return model_fail(err, err_len, -EINVAL, "%u nodes (1..%u)", *count,
				  NHOT_FNET_MAX_NODES);
	return 0;
}

static int fnet_parse(const void *data, size_t len, struct nhot_fnet **net,
		      char *err, size_t err_len)
{
	struct nhot_fnet *n;
	uint32_t count = 0;
	int ret;

	if (!net)
		return model_fail(err, err_len, -EINVAL, "no output");
	*net = NULL;
	if (!data)
		return model_fail(err, err_len, -EINVAL, "no data");
	/*
	 * A short file fails as truncated (-EBADMSG) whatever its first bytes,
	 * as nhot_fnet_parse() always did; the envelope then names the reason.
	 */
	if (len < FNET_HEADER_BYTES + FNET_CRC_BYTES)
		return model_fail(err, err_len, -EBADMSG, "truncated (%zu bytes%s)", len,
				  len >= 8 && !memcmp(data, FNET_MAGIC, 8) ? "" :
				  ", and not a float model: bad magic");
	ret = parse_envelope(data, len, &count, err, err_len);
	if (ret)
		return ret;
	n = calloc(1, sizeof(*n));
	if (!n)
		return model_fail(err, err_len, -ENOMEM, "out of memory");
	ret = parse_nodes(data, len - FNET_CRC_BYTES, count, n, err, err_len);
	if (ret) {
		nhot_fnet_free(n);
		return ret;
	}
	*net = n;
	return 0;
}

int nhot_fnet_parse(const void *data, size_t len, struct nhot_fnet **net)
{
	return fnet_parse(data, len, net, NULL, 0);
}

/* "PATH: " in front of the reason the parser gave. */
static void prefix_path(const char *path, char *err, size_t err_len)
{
	char reason[NHOT_PRIVATE_ERR_LEN];

	if (!err || !err_len)
		return;
	snprintf(reason, sizeof(reason), "%s", err);
	snprintf(err, err_len, "%s: %s", path, reason);
}

/* Regular files only: a FIFO (or a device) is refused at once, never waited on. */
static int read_model_file(const char *path, uint8_t **bufp, size_t *lenp,
			   char *err, size_t err_len)
{
	struct stat st;
	uint8_t *buf = NULL;
	size_t got = 0;
	ssize_t r;
	int fd, ret;

	fd = model_open_regular(path, &st, err, err_len);
	if (fd < 0)
		return fd;
	if ((uint64_t)st.st_size > FNET_MAX_FILE_BYTES) {
		ret = model_fail(err, err_len, -EFBIG, "%s: %lld bytes, more than the %lu a "
				 "float model may have", path, (long long)st.st_size,
				 FNET_MAX_FILE_BYTES);
		goto out_close;
	}
	buf = malloc(st.st_size ? st.st_size : 1);
	if (!buf) {
		ret = model_fail(err, err_len, -ENOMEM, "out of memory");
		goto out_close;
	}
	while (got < (size_t)st.st_size) {
		r = read(fd, buf + got, st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ret = model_fail(err, err_len, -errno, "%s: %s", path, strerror(errno));
			free(buf);
			goto out_close;
		}
		if (r == 0)
			break;	/* shrank under us: parse sees the short length */
		got += r;
	}
	*bufp = buf;
	*lenp = got;
	ret = 0;
out_close:
	close(fd);
	return ret;
}

int nhot_fnet_load_err(const char *path, struct nhot_fnet **net, char *err, size_t err_len)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int ret;

	if (!net)
		return model_fail(err, err_len, -EINVAL, "no output");
	*net = NULL;
	if (!path)
		return model_fail(err, err_len, -EINVAL, "no path");
	ret = read_model_file(path, &buf, &len, err, err_len);
	if (ret)
		return ret;
	ret = fnet_parse(buf, len, net, err, err_len);
	free(buf);
	if (ret)
		prefix_path(path, err, err_len);
	return ret;
}

int nhot_fnet_load(const char *path, struct nhot_fnet **net)
{
	return nhot_fnet_load_err(path, net, NULL, 0);
}

int nhot_fnet_save_err(const struct nhot_fnet *net, const char *path, char *err,
		       size_t err_len)
{
	void *data;
	size_t len;
	int ret;

	if (!path)
		return model_fail(err, err_len, -EINVAL, "no path");
	ret = nhot_fnet_serialize(net, &data, &len);
	if (ret)
		return model_fail(err, err_len, ret, "%s: %s", path, ret == -EINVAL ?
				  "the network is not valid" : strerror(-ret));
	ret = nhot_file_replace(path, data, len, err, err_len);
	free(data);
	return ret;
}

int nhot_fnet_save(const struct nhot_fnet *net, const char *path)
{
	return nhot_fnet_save_err(net, path, NULL, 0);
}
