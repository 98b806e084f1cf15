// SPDX-License-Identifier: MIT
/*
 * The .nhq file: byte layout, parser and writer (docs/model-format.md).
 *
 * Every field is read through rd32()/rd64() from a cursor that knows how many
 * bytes remain, so a short or lying file fails a bounds check instead of
 * reading past the end. Sizes are compared in 64-bit before anything is
 * allocated from them.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nhot_model.h"
#include "nhot_fmodel.h"	/* nhot_crc32() */
#include "nhot_private.h"
#include "model_err.h"

#define NODE_FIXED_BYTES	176	/* a node record before its arrays */
#define CHAN_BYTES		20	/* f64 weight scale + 12-byte params */
#define TAP_BYTES		8	/* u64 uniform-8 digit count */
#define LAYER_WORDS		(sizeof(struct nhot_layer) / 4)

/* ------------------------------------------------------------------------ */
/* Little-endian access                                                     */

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static double getf64(const uint8_t *p)
{
	uint64_t u = get64(p);
	double d;

	memcpy(&d, &u, sizeof(d));
	return d;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static void putf64(uint8_t *p, double d)
{
	uint64_t u;

	memcpy(&u, &d, sizeof(u));
	put64(p, u);
}

/* struct nhot_layer is 32 __u32 fields with no padding: word i is field i. */
static void get_layer(const uint8_t *p, struct nhot_layer *l)
{
	uint32_t w[LAYER_WORDS];
	size_t i;

	for (i = 0; i < LAYER_WORDS; i++)
		w[i] = get32(p + 4 * i);
	memcpy(l, w, sizeof(*l));
}

static void put_layer(uint8_t *p, const struct nhot_layer *l)
{
	uint32_t w[LAYER_WORDS];
	size_t i;

	memcpy(w, l, sizeof(*l));
	for (i = 0; i < LAYER_WORDS; i++)
		put32(p + 4 * i, w[i]);
}

_Static_assert(sizeof(struct nhot_layer) == 128, "nhot_layer is 32 words");
_Static_assert(sizeof(struct nhot_chan_params) == 12, "chan params are 12 bytes");

static uint32_t array_count(const struct nhot_layer *l)
{
	return (l->type == NHOT_LAYER_CONV2D || l->type == NHOT_LAYER_FC) ? l->out_c : 0;
}

/* ------------------------------------------------------------------------ */
/* Parsing                                                                  */

void nhot_qnet_free(struct nhot_qnet *net)
{
	uint32_t i;

	if (!net)
		return;
	if (net->nodes) {
		for (i = 0; i < net->node_count; i++) {
			free(net->nodes[i].w_scales);
			free(net->nodes[i].params);
			free(net->nodes[i].weights);
			free(net->nodes[i].u8_tap_digits);
			free(net->nodes[i].tap_digits);
		}
	}
	free(net->nodes);
	free(net);
}

static int parse_arrays(struct nhot_qnode *nd, uint32_t chans, uint32_t taps,
			const uint8_t *p)
{
	uint32_t c;

	nd->w_scales = calloc(chans ? chans : 1, sizeof(*nd->w_scales));
	nd->params = calloc(chans ? chans : 1, sizeof(*nd->params));
	nd->u8_tap_digits = calloc(taps ? taps : 1, sizeof(*nd->u8_tap_digits));
	nd->weights = malloc(nd->weight_bytes ? nd->weight_bytes : 1);
	if (!nd->w_scales || !nd->params || !nd->u8_tap_digits || !nd->weights)
		return -ENOMEM;
	for (c = 0; c < chans; c++)
		nd->w_scales[c] = getf64(p + 8 * (size_t)c);
	p += 8 * (size_t)chans;
	for (c = 0; c < chans; c++) {
		nd->params[c].bias = (int32_t)get32(p + 12 * (size_t)c);
		nd->params[c].mult = get32(p + 12 * (size_t)c + 4);
		nd->params[c].shift = get32(p + 12 * (size_t)c + 8);
	}
	p += 12 * (size_t)chans;
	for (c = 0; c < taps; c++)
		nd->u8_tap_digits[c] = get64(p + 8 * (size_t)c);
	p += 8 * (size_t)taps;
	memcpy(nd->weights, p, nd->weight_bytes);
	return 0;
}

static uint64_t record_bytes(uint32_t chans, uint32_t taps, uint64_t weight_bytes)
{
	return NODE_FIXED_BYTES + (uint64_t)chans * CHAN_BYTES +
	       (uint64_t)taps * TAP_BYTES + weight_bytes;
}

static int parse_node(struct nhot_qnet *net, uint32_t i, const uint8_t *p,
		      size_t left, size_t *used, char *err, size_t err_len)
{
	struct nhot_qnode *nd = &net->nodes[i];
	uint32_t chans, taps;
	uint64_t rec, need;
	int rc;

	if (left < NODE_FIXED_BYTES)
		return model_fail(err, err_len, -EBADMSG,
				  "node %u: record truncated (%zu bytes left)", i, left);
	rec = get32(p);
	nd->src[0] = get32(p + 4);
	nd->src[1] = get32(p + 8);
	if (get32(p + 12) || get32(p + 156) || get32(p + 172))
		return model_fail(err, err_len, -EBADMSG, "node %u: reserved field not 0", i);
	get_layer(p + 16, &nd->layer);
	nd->out_scale = getf64(p + 144);
	nd->out_zero = get32(p + 152);
	nd->weight_bytes = get64(p + 160);
	taps = get32(p + 168);
	chans = array_count(&nd->layer);
	if (chans > NHOT_MAX_CHANNELS)
		return model_fail(err, err_len, -EFBIG, "node %u: %u output channels", i, chans);
	if (taps != nhot_layer_taps(&nd->layer) || taps > NHOT_MAX_KERNEL * NHOT_MAX_KERNEL)
		return model_fail(err, err_len, -EBADMSG,
				  "node %u: %u digit counts, the layer has %u taps", i, taps,
				  nhot_layer_taps(&nd->layer));
	if (nd->weight_bytes > NHOT_QNET_MAX_FILE_BYTES)
		return model_fail(err, err_len, -EFBIG, "node %u: %llu weight bytes", i,
				  (unsigned long long)nd->weight_bytes);
	need = record_bytes(chans, taps, nd->weight_bytes);
	if (rec != need)
		return model_fail(err, err_len, -EBADMSG,
				  "node %u: record says %llu bytes, its contents take %llu",
				  i, (unsigned long long)rec, (unsigned long long)need);
	if (need > left)
		return model_fail(err, err_len, -EBADMSG,
				  "node %u: record of %llu bytes, %zu left", i,
				  (unsigned long long)need, left);
	rc = parse_arrays(nd, chans, taps, p + NODE_FIXED_BYTES);
	if (rc)
		return model_fail(err, err_len, rc, "out of memory");
	*used = (size_t)need;
	return 0;
}

static int parse_header(const uint8_t *p, size_t len, struct nhot_qnet *net,
			char *err, size_t err_len)
{
	uint32_t version;
	uint64_t file_bytes;

	if (len < 8 || memcmp(p, NHOT_QNET_MAGIC, 8))
		return model_fail(err, err_len, -EBADMSG, "not an nhot model (bad magic)");
	if (len < NHOT_QNET_HEADER_BYTES)
		return model_fail(err, err_len, -EBADMSG, "truncated header (%zu bytes)", len);
	version = get32(p + 8);
	if (version != NHOT_QNET_VERSION)
		return model_fail(err, err_len, -EPROTONOSUPPORT,
				  "model format version %u, this library reads %u",
				  version, NHOT_QNET_VERSION);
	file_bytes = get64(p + 16);
	if (file_bytes > NHOT_QNET_MAX_FILE_BYTES)
		return model_fail(err, err_len, -EFBIG, "file of %llu bytes is too large",
				  (unsigned long long)file_bytes);
	if (file_bytes != len)
		return model_fail(err, err_len, -EBADMSG,
				  "header says %llu bytes, got %zu (truncated or trailing data)",
				  (unsigned long long)file_bytes, len);
	if (nhot_crc32(0, p + 16, len - 16) != get32(p + 12))
		return model_fail(err, err_len, -EBADMSG, "checksum mismatch (corrupt file)");
	if (get32(p + 24) != NHOT_QNET_HEADER_BYTES || get32(p + 56) || get32(p + 60))
		return model_fail(err, err_len, -EBADMSG, "header size, flags or reserved field wrong");
	net->node_count = get32(p + 28);
	net->in_h = get32(p + 32);
	net->in_w = get32(p + 36);
	net->in_c = get32(p + 40);
	net->in_zero = get32(p + 44);
	net->in_scale = getf64(p + 48);
	if (!net->node_count || net->node_count > NHOT_QNET_MAX_NODES)
		return model_fail(err, err_len, -EFBIG, "%u nodes (1..%u)",
				  net->node_count, NHOT_QNET_MAX_NODES);
	/* Each node takes at least its fixed part: reject a lying count early. */
	if ((uint64_t)net->node_count * NODE_FIXED_BYTES > len - NHOT_QNET_HEADER_BYTES)
		return model_fail(err, err_len, -EBADMSG, "%u nodes cannot fit in %zu bytes",
				  net->node_count, len);
	return 0;
}

int nhot_qnet_parse(const void *data, size_t len, struct nhot_qnet **out,
		    char *err, size_t err_len)
{
	const uint8_t *p = data;
	struct nhot_qnet *net;
	size_t off, used = 0;
	uint32_t i;
	int rc;

	if (!out || (!data && len))
		return model_fail(err, err_len, -EINVAL, "no data");
	*out = NULL;
	net = calloc(1, sizeof(*net));
	if (!net)
		return model_fail(err, err_len, -ENOMEM, "out of memory");
	rc = parse_header(p, len, net, err, err_len);
	if (rc)
		goto err_free;
	net->nodes = calloc(net->node_count, sizeof(*net->nodes));
	if (!net->nodes) {
		rc = model_fail(err, err_len, -ENOMEM, "out of memory");
		goto err_free;
	}
	off = NHOT_QNET_HEADER_BYTES;
	for (i = 0; i < net->node_count; i++) {
		rc = parse_node(net, i, p + off, len - off, &used, err, err_len);
		if (rc)
			goto err_free;
		off += used;
	}
	if (off != len) {
		rc = model_fail(err, err_len, -EBADMSG, "%zu bytes after the last node", len - off);
		goto err_free;
	}
	rc = nhot_qnet_validate(net, err, err_len);
	if (rc)
		goto err_free;
	*out = net;
	return 0;

err_free:
	nhot_qnet_free(net);
	return rc;
}

int nhot_qnet_load(const char *path, struct nhot_qnet **net, char *err, size_t err_len)
{
	struct stat st;
	uint8_t *buf;
	size_t got = 0;
	ssize_t n;
	int fd, rc;

	if (!path || !net)
		return model_fail(err, err_len, -EINVAL, "no path");
	fd = model_open_regular(path, &st, err, err_len);
	if (fd < 0)
		return fd;
	if ((uint64_t)st.st_size > NHOT_QNET_MAX_FILE_BYTES) {
		close(fd);
		return model_fail(err, err_len, -EFBIG, "%s: file too large", path);
	}
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf) {
		close(fd);
		return model_fail(err, err_len, -ENOMEM, "out of memory");
	}
	while (got < (size_t)st.st_size) {
		n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	rc = nhot_qnet_parse(buf, got, net, err, err_len);
	free(buf);
	if (rc && err && err_len) {
		char tmp[NHOT_PRIVATE_ERR_LEN];

		snprintf(tmp, sizeof(tmp), "%s", err);
		snprintf(err, err_len, "%s: %s", path, tmp);
	}
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Writing                                                                  */

static void write_node(uint8_t *p, const struct nhot_qnode *nd, uint64_t rec)
{
	uint32_t chans = array_count(&nd->layer), taps = nhot_layer_taps(&nd->layer), c;

	memset(p, 0, NODE_FIXED_BYTES);
	put32(p, (uint32_t)rec);
	put32(p + 4, nd->src[0]);
	put32(p + 8, nd->src[1]);
	put_layer(p + 16, &nd->layer);
	putf64(p + 144, nd->out_scale);
	put32(p + 152, nd->out_zero);
	put64(p + 160, nd->weight_bytes);
	put32(p + 168, taps);
	p += NODE_FIXED_BYTES;
	for (c = 0; c < chans; c++)
		putf64(p + 8 * (size_t)c, nd->w_scales[c]);
	p += 8 * (size_t)chans;
	for (c = 0; c < chans; c++) {
		put32(p + 12 * (size_t)c, (uint32_t)nd->params[c].bias);
		put32(p + 12 * (size_t)c + 4, nd->params[c].mult);
		put32(p + 12 * (size_t)c + 8, nd->params[c].shift);
	}
	p += 12 * (size_t)chans;
	for (c = 0; c < taps; c++)
		put64(p + 8 * (size_t)c, nd->u8_tap_digits[c]);
	p += 8 * (size_t)taps;
	if (nd->weight_bytes)
		memcpy(p, nd->weights, nd->weight_bytes);
}

static uint64_t node_record_bytes(const struct nhot_qnode *nd)
{
	return record_bytes(array_count(&nd->layer), nhot_layer_taps(&nd->layer),
			    nd->weight_bytes);
}

int nhot_qnet_serialize(struct nhot_qnet *net, uint8_t **data, size_t *len,
			char *err, size_t err_len)
{
	uint64_t total = NHOT_QNET_HEADER_BYTES, rec;
	uint8_t *buf, *p;
	uint32_t i;
	int rc;

	if (!data || !len)
		return model_fail(err, err_len, -EINVAL, "no output");
	rc = nhot_qnet_validate(net, err, err_len);
	if (rc)
		return rc;
	for (i = 0; i < net->node_count; i++)
		total += node_record_bytes(&net->nodes[i]);
	if (total > NHOT_QNET_MAX_FILE_BYTES)
		return model_fail(err, err_len, -EFBIG, "model of %llu bytes is too large",
				  (unsigned long long)total);
	buf = calloc(1, (size_t)total);
	if (!buf)
		return model_fail(err, err_len, -ENOMEM, "out of memory");
	memcpy(buf, NHOT_QNET_MAGIC, 8);
	put32(buf + 8, NHOT_QNET_VERSION);
	put64(buf + 16, total);
	put32(buf + 24, NHOT_QNET_HEADER_BYTES);
	put32(buf + 28, net->node_count);
	put32(buf + 32, net->in_h);
	put32(buf + 36, net->in_w);
	put32(buf + 40, net->in_c);
	put32(buf + 44, net->in_zero);
	putf64(buf + 48, net->in_scale);
	p = buf + NHOT_QNET_HEADER_BYTES;
	for (i = 0; i < net->node_count; i++) {
		const struct nhot_qnode *nd = &net->nodes[i];

		rec = node_record_bytes(nd);
		write_node(p, nd, rec);
		p += rec;
	}
	put32(buf + 12, nhot_crc32(0, buf + 16, (size_t)total - 16));
	*data = buf;
	*len = (size_t)total;
	return 0;
}

int nhot_qnet_save(struct nhot_qnet *net, const char *path, char *err, size_t err_len)
{
	uint8_t *buf;
	size_t len;
	int rc;

	if (!path)
		return model_fail(err, err_len, -EINVAL, "no path");
	rc = nhot_qnet_serialize(net, &buf, &len, err, err_len);
	if (rc)
		return rc;
	rc = nhot_file_replace(path, buf, len, err, err_len);
	free(buf);
	return rc;
}
