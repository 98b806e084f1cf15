/* SPDX-License-Identifier: MIT */
/*
 * libnhot private: helpers the CONV2D/FC kernels of every backend share.
 */
#ifndef NHOT_CPU_CONV_H
#define NHOT_CPU_CONV_H

#include "cpu_internal.h"

/*
 * Writes the K = KH * KW * Cg input bytes output position (n, oy, ox) of
 * group g multiplies with, in the weights' (ky, kx, ci) order, padding as
 * in_zero. Returns K; 0 for FC (whose rows are the input itself).
 */
size_t cpu_im2col_row(const struct cpu_job *job, uint32_t n, uint32_t oy, uint32_t ox,
		      uint32_t g, uint8_t *buf);

/*
 * Decodes weight row o into dst[0..k) as int8 values, adds each code's NAF
 * term count to job->colterms[i] and the values' sum to *rowsum.
 * -EILSEQ for an invalid code.
 */
int cpu_decode_row(const struct cpu_job *job, uint32_t o, int8_t *dst, int32_t *rowsum);

#endif /* NHOT_CPU_CONV_H */
