// SPDX-License-Identifier: MIT
/*
 * IDX files (the MNIST container): a big-endian header "0 0 type dims" with
 * one 32-bit size per dimension, then the data. Both files are gzipped; zlib
 * reads them. Every size is checked against the bytes that really arrive.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "idx.h"

#define IDX_UBYTE	0x08
#define MAX_IMAGES	(1u << 24)
#define MAX_SIDE	4096u
#define NUM_CLASSES	10

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Reads exactly len bytes; -EBADMSG when the file ends early or is corrupt. */
static int read_exact(gzFile f, void *buf, size_t len)
{
	uint8_t *p = buf;
	int r;

	while (len) {
		unsigned int chunk = len > (1u << 30) ? 1u << 30 : (unsigned int)len;

		r = gzread(f, p, chunk);
		if (r <= 0)
			return -EBADMSG;
		p += r;
		len -= r;
	}
	return 0;
}

/*
 * Opens one IDX file of unsigned bytes with dims dimensions and returns the
 * sizes; the data follows at the read position.
 */
static int idx_open(const char *path, unsigned int dims, uint32_t *sizes, gzFile *out,
		    char *err, size_t err_len)
{
	uint8_t hdr[4 + 4 * 3];
	unsigned int i;
	gzFile f;

	f = gzopen(path, "rb");
	if (!f) {
		snprintf(err, err_len, "cannot open %s: %s", path,
			 errno ? strerror(errno) : "out of memory");
		return errno ? -errno : -ENOMEM;
	}
	if (read_exact(f, hdr, 4 + 4 * dims) || hdr[0] || hdr[1] || hdr[2] != IDX_UBYTE ||
	    hdr[3] != dims) {
		snprintf(err, err_len, "%s: not an IDX file of %u-dimensional unsigned bytes",
			 path, dims);
		gzclose(f);
		return -EBADMSG;
	}
	for (i = 0; i < dims; i++)
		sizes[i] = be32(hdr + 4 + 4 * i);
	*out = f;
	return 0;
}

/* One byte past the data must not exist: a longer file is not the file we think it is. */
static int at_end(gzFile f)
{
	uint8_t extra;

	return gzread(f, &extra, 1) == 0;
}

static char *join(const char *dir, const char *prefix, const char *suffix)
{
	char *p;

	if (asprintf(&p, "%s/%s-%s", dir, prefix, suffix) < 0)
		return NULL;
	return p;
}

int dataset_load(const char *dir, const char *prefix, struct dataset *ds,
		 char *err, size_t err_len)
{
	char *ipath = join(dir, prefix, "images-idx3-ubyte.gz");
	char *lpath = join(dir, prefix, "labels-idx1-ubyte.gz");
	uint32_t isz[3], lsz[1];
	uint8_t *pix = NULL;
	gzFile fi = NULL, fl = NULL;
	size_t i, n;
	int ret;

	memset(ds, 0, sizeof(*ds));
	if (!ipath || !lpath) {
		snprintf(err, err_len, "out of memory");
		ret = -ENOMEM;
		goto out;
	}
	ret = idx_open(ipath, 3, isz, &fi, err, err_len);
	if (ret)
		goto out;
	ret = idx_open(lpath, 1, lsz, &fl, err, err_len);
	if (ret)
		goto out;
	if (isz[0] != lsz[0] || !isz[0] || isz[0] > MAX_IMAGES || !isz[1] || !isz[2] ||
	    isz[1] > MAX_SIDE || isz[2] > MAX_SIDE) {
		snprintf(err, err_len, "%s, %s: inconsistent sizes (%u images of %ux%u, %u labels)",
			 ipath, lpath, isz[0], isz[1], isz[2], lsz[0]);
		ret = -EBADMSG;
		goto out;
	}
	n = (size_t)isz[0] * isz[1] * isz[2];
	pix = malloc(n);
	ds->images = malloc(n * sizeof(float));
	ds->labels = malloc(isz[0]);
	if (!pix || !ds->images || !ds->labels) {
		snprintf(err, err_len, "out of memory");
		ret = -ENOMEM;
		goto out;
	}
	if (read_exact(fi, pix, n) || !at_end(fi) || read_exact(fl, ds->labels, isz[0]) ||
	    !at_end(fl)) {
		snprintf(err, err_len, "%s, %s: truncated, corrupt or over-long data", ipath, lpath);
		ret = -EBADMSG;
		goto out;
	}
	for (i = 0; i < isz[0]; i++) {
		if (ds->labels[i] >= NUM_CLASSES) {
			snprintf(err, err_len, "%s: label %u of image %zu is not a class 0..9",
				 lpath, ds->labels[i], i);
			ret = -EBADMSG;
			goto out;
		}
	}
	for (i = 0; i < n; i++)
		ds->images[i] = pix[i] / 255.0f;
	ds->count = isz[0];
	ds->rows = isz[1];
	ds->cols = isz[2];
out:
	if (ret)
		dataset_free(ds);
	if (fi)
		gzclose(fi);
	if (fl)
		gzclose(fl);
	free(pix);
	free(ipath);
	free(lpath);
	return ret;
}

void dataset_free(struct dataset *ds)
{
	free(ds->images);
	free(ds->labels);
	memset(ds, 0, sizeof(*ds));
}
