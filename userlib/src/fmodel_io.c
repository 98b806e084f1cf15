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

/* Parses the node records of a file whose envelope was checked; end: where the checksum starts. */
static int parse_nodes(const uint8_t *p, size_t end, uint32_t count, struct nhot_fnet *net)
{
	uint32_t w[FNET_RECORD_WORDS], i, j;
	size_t pos = FNET_HEADER_BYTES, floats;
	struct nhot_fnode node;

	net->nodes = calloc(count, sizeof(*net->nodes));
	if (!net->nodes)
		return -ENOMEM;
	net->node_cap = count;
	for (i = 0; i < count; i++) {
		if (end - pos < 4 * FNET_RECORD_WORDS)
			return -EINVAL;
		for (j = 0; j < FNET_RECORD_WORDS; j++, pos += 4)
			w[j] = get_u32(p + pos);
		if (w[FNET_RECORD_WORDS - 1] != 0)
			return -EINVAL;
		words_to_node(w, &node);
		if (node.op == NHOT_FOP_CONV2D || node.op == NHOT_FOP_FC) {
			/* Checked before allocating, so a huge count cannot cost memory. */
			floats = (size_t)node.out_c * node.k + node.out_c;
			if (node.out_c < 1 || node.k < 1 || (end - pos) / 4 < floats)
				return -EINVAL;
			node.weights = malloc((size_t)node.out_c * node.k * sizeof(float));
			node.bias = malloc((size_t)node.out_c * sizeof(float));
			if (!node.weights || !node.bias) {
				free(node.weights);
				free(node.bias);
				return -ENOMEM;
			}
			get_floats(p + pos, node.weights, (size_t)node.out_c * node.k);
			pos += 4 * (size_t)node.out_c * node.k;
			get_floats(p + pos, node.bias, node.out_c);
			pos += 4 * (size_t)node.out_c;
		} else if (node.k != 0) {
			return -EINVAL;
		}
		net->nodes[i] = node;
		net->node_count = i + 1;
	}
	if (pos != end)
		return -EINVAL;
	return nhot_fnet_validate(net);
}

int nhot_fnet_parse(const void *data, size_t len, struct nhot_fnet **net)
{
	const uint8_t *p = data;
	struct nhot_fnet *n;
	uint64_t file_bytes;
	uint32_t count;
	int ret;

	if (!net)
		return -EINVAL;
	*net = NULL;
	if (!data)
		return -EINVAL;
	if (len < FNET_HEADER_BYTES + FNET_CRC_BYTES)
		return -EBADMSG;
	if (memcmp(p, FNET_MAGIC, 8))
		return -EINVAL;
	file_bytes = get_u32(p + 24) | (uint64_t)get_u32(p + 28) << 32;
	if (file_bytes != len)
		return -EBADMSG;
	if (get_u32(p + len - FNET_CRC_BYTES) != nhot_crc32(0, p, len - FNET_CRC_BYTES))
		return -EBADMSG;
	if (get_u32(p + 8) != FNET_VERSION || get_u32(p + 12) != FNET_HEADER_BYTES ||
	    get_u32(p + 20) != 0)
		return -EINVAL;
	count = get_u32(p + 16);
	if (count < 1 || count > NHOT_FNET_MAX_NODES)
		return -EINVAL;

	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	ret = parse_nodes(p, len - FNET_CRC_BYTES, count, n);
	if (ret) {
		nhot_fnet_free(n);
		return ret;
	}
	*net = n;
	return 0;
}

int nhot_fnet_load(const char *path, struct nhot_fnet **net)
{
	struct stat st;
	uint8_t *buf;
	size_t got = 0;
	ssize_t r;
	int fd, ret;

	if (!net)
		return -EINVAL;
	*net = NULL;
	if (!path)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		ret = -errno;
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = -EINVAL;
		goto out_close;
	}
	if ((uint64_t)st.st_size > FNET_MAX_FILE_BYTES) {
		ret = -EFBIG;
		goto out_close;
	}
	buf = malloc(st.st_size ? st.st_size : 1);
	if (!buf) {
		ret = -ENOMEM;
		goto out_close;
	}
	while (got < (size_t)st.st_size) {
		r = read(fd, buf + got, st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ret = -errno;
			goto out_free;
		}
		if (r == 0)
			break;	/* shrank under us: parse sees the short length */
		got += r;
	}
	ret = nhot_fnet_parse(buf, got, net);
out_free:
	free(buf);
out_close:
	close(fd);
	return ret;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
	ssize_t r;

	while (len) {
		r = write(fd, p, len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		p += r;
		len -= r;
	}
	return 0;
}

int nhot_fnet_save(const struct nhot_fnet *net, const char *path)
{
	char *tmp = NULL;
	void *data;
	size_t len;
	int fd, ret;

	if (!path)
		return -EINVAL;
	ret = nhot_fnet_serialize(net, &data, &len);
	if (ret)
		return ret;
	if (asprintf(&tmp, "%s.tmp", path) < 0) {
		ret = -ENOMEM;
		goto out_free;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		ret = -errno;
		goto out_free;
	}
	ret = write_all(fd, data, len);
	if (!ret && fsync(fd))
		ret = -errno;
	if (close(fd) && !ret)
		ret = -errno;
	if (!ret && rename(tmp, path))
		ret = -errno;
	if (ret)
		unlink(tmp);
out_free:
	free(tmp);
	free(data);
	return ret;
}
