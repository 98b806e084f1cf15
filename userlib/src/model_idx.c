// SPDX-License-Identifier: MIT
/*
 * IDX files (the MNIST / Fashion-MNIST format), gzipped or plain: a 4-byte
 * magic 0x0000 0x08 (unsigned byte) ndim, ndim big-endian u32 sizes, then
 * the bytes. Only ndim 1 (labels) and 3 (images) are accepted.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "nhot_model.h"
#include "model_err.h"

#define IDX_MAX_ITEMS	(1U << 20)
#define IDX_MAX_BYTES	(1ULL << 30)

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Reads exactly len bytes; a short read is a truncated file. */
static int read_all(gzFile f, void *buf, size_t len)
{
	uint8_t *p = buf;
	int n;

	while (len) {
		unsigned int chunk = len > (1U << 30) ? (1U << 30) : (unsigned int)len;

		n = gzread(f, p, chunk);
		if (n <= 0)
			return -EBADMSG;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

void nhot_idx_free(struct nhot_idx *idx)
{
	if (!idx)
		return;
	free(idx->data);
	memset(idx, 0, sizeof(*idx));
}

int nhot_idx_load(const char *path, struct nhot_idx *idx, char *err, size_t err_len)
{
	uint8_t head[16];
	uint64_t bytes;
	unsigned int ndim;
	struct stat st;
	gzFile f;
	int fd, rc;

	if (!path || !idx)
		return model_fail(err, err_len, -EINVAL, "no path");
	memset(idx, 0, sizeof(*idx));
	fd = model_open_regular(path, &st, err, err_len);
	if (fd < 0)
		return fd;
	f = gzdopen(fd, "rb");	/* owns fd from here, also on failure to read */
	if (!f) {
		close(fd);
		return model_fail(err, err_len, -ENOMEM, "%s: out of memory", path);
	}
	rc = read_all(f, head, 4);
	if (rc || head[0] || head[1] || head[2] != 0x08 || (head[3] != 1 && head[3] != 3)) {
		rc = model_fail(err, err_len, -EBADMSG,
				"%s: not an unsigned-byte IDX file of 1 or 3 dimensions", path);
		goto out_close;
	}
	ndim = head[3];
	if (read_all(f, head + 4, 4 * ndim)) {
		rc = model_fail(err, err_len, -EBADMSG, "%s: truncated IDX header", path);
		goto out_close;
	}
	idx->count = be32(head + 4);
	idx->rows = ndim == 3 ? be32(head + 8) : 0;
	idx->cols = ndim == 3 ? be32(head + 12) : 0;
	bytes = (uint64_t)idx->count * (ndim == 3 ? (uint64_t)idx->rows * idx->cols : 1);
	if (!idx->count || idx->count > IDX_MAX_ITEMS || bytes > IDX_MAX_BYTES ||
	    (ndim == 3 && (!idx->rows || !idx->cols || idx->rows > NHOT_MAX_DIM ||
			   idx->cols > NHOT_MAX_DIM))) {
		rc = model_fail(err, err_len, -EFBIG, "%s: IDX sizes out of range", path);
		goto out_close;
	}
	idx->data = malloc((size_t)bytes);
	if (!idx->data) {
		rc = model_fail(err, err_len, -ENOMEM, "out of memory");
		goto out_close;
	}
	if (read_all(f, idx->data, (size_t)bytes)) {
		rc = model_fail(err, err_len, -EBADMSG, "%s: truncated IDX data", path);
		goto out_close;
	}
	rc = 0;
out_close:
	gzclose(f);
	if (rc)
		nhot_idx_free(idx);
	return rc;
}
