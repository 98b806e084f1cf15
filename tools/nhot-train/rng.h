/* SPDX-License-Identifier: MIT */
/* A small seeded generator (splitmix64): the same seed gives the same stream everywhere. */
#ifndef NHOT_TRAIN_RNG_H
#define NHOT_TRAIN_RNG_H

#include <math.h>
#include <stdint.h>

struct rng {
	uint64_t s;
};

static inline uint64_t rng_next(struct rng *r)
{
	uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* Uniform in [0, 1) with 53 bits. */
static inline double rng_uniform(struct rng *r)
{
	return (rng_next(r) >> 11) * 0x1.0p-53;
}

/* Uniform integer in [0, n), n >= 1 (bias below 2^-32 for the sizes used here). */
static inline uint64_t rng_below(struct rng *r, uint64_t n)
{
	return rng_next(r) % n;
}

/* Standard normal (Box-Muller, one value per call). */
static inline double rng_normal(struct rng *r)
{
	double u1 = 1.0 - rng_uniform(r), u2 = rng_uniform(r);

	return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

#endif
