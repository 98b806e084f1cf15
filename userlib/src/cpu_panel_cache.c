// SPDX-License-Identifier: MIT
/*
 * Decoded weights kept between calls. Inference runs the same layers over
 * and over; decoding the packed codes into a backend's panels can cost more
 * than the products of a layer with few output positions. An entry holds a
 * copy of the packed codes it was made from and is used only when the
 * caller's codes are byte for byte the same (memcmp, no hashing), so a hit
 * gives exactly the bits a fresh decode would. A prepared layer's entry
 * (nhot_cpu_layer_prepare()) is pinned to the layer instead: outside the
 * slots, never evicted, never compared, freed with the layer.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_internal.h"

#define PANEL_SLOTS		4
#define PANEL_MAX_BYTES		(32u << 20)	/* bigger layers are not kept */

/* Protects slots[], every entry's refs and stamp, and clock_now. */
static pthread_mutex_t panel_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cpu_panels *slots[PANEL_SLOTS];
static uint64_t clock_now;

static void panels_free(struct cpu_panels *p)
{
	cpu_free(p->packed);
	cpu_free(p->b);
	cpu_free(p->rowsum);
	cpu_free(p->colterms);
	cpu_free(p->epi);
	cpu_free(p->epi_params);
	free(p);
}

static void make_key(const struct cpu_job *job, uint64_t layout, uint64_t key[4])
{
	const struct nhot_layer *l = job->l;

	key[0] = ((uint64_t)l->w_n << 32) | l->w_b;
	key[1] = ((uint64_t)l->out_c << 32) | job->s.k;
	key[2] = ((uint64_t)job->groups << 32) | job->og;
	key[3] = layout;
}

/*
 * Comparing the codes is the price of a hit: 13% of a 49x320x1280 layer's
 * time (358 KB twice). Big ones are compared by all the job's threads.
 */
#define COMPARE_CHUNK	(64u << 10)

struct compare_job {
	const uint8_t *a, *b;
	size_t len;
	_Atomic int differ;
};

static void compare_task(void *arg, size_t task, int worker)
{
	struct compare_job *cj = arg;
	size_t off = task * COMPARE_CHUNK;
	size_t n = cj->len - off < COMPARE_CHUNK ? cj->len - off : COMPARE_CHUNK;

	(void)worker;
	if (!atomic_load_explicit(&cj->differ, memory_order_relaxed) &&
	    memcmp(cj->a + off, cj->b + off, n))
		atomic_store(&cj->differ, 1);
}

static int same_bytes(int threads, const uint8_t *a, const uint8_t *b, size_t len)
{
	struct compare_job cj = { .a = a, .b = b, .len = len };

	if (threads <= 1 || len <= COMPARE_CHUNK)
		return !memcmp(a, b, len);
	cpu_parallel(threads, (len + COMPARE_CHUNK - 1) / COMPARE_CHUNK, compare_task, &cj);
	return !atomic_load(&cj.differ);
}

struct cpu_panels *cpu_panels_get(const struct cpu_job *job, uint64_t layout)
{
	const uint8_t *w = job->t->weights;
	size_t len = (size_t)job->s.weight_bytes;
	struct cpu_panels *hit = NULL;
	uint64_t key[4];
	int i;

	make_key(job, layout, key);
	pthread_mutex_lock(&panel_lock);
	if (job->prep) {
		/* The layer's own codes: no comparison; the key tells the layout. */
		hit = job->prep->panels;
		if (hit && !memcmp(hit->key, key, sizeof(key)))
			hit->refs++;
		else
			hit = NULL;
		pthread_mutex_unlock(&panel_lock);
		return hit;
	}
	for (i = 0; i < PANEL_SLOTS; i++) {
		struct cpu_panels *p = slots[i];

		/* Cheap checks first: the ends of the codes, then the shape. */
		if (!p || p->packed_len != len || memcmp(p->key, key, sizeof(key)) ||
		    p->packed[0] != w[0] || p->packed[len - 1] != w[len - 1])
			continue;
		p->refs++;
		p->stamp = ++clock_now;
		hit = p;
		break;
	}
	pthread_mutex_unlock(&panel_lock);
	/* The entry is immutable while we hold a reference. */
	if (hit && !same_bytes(job->threads, hit->packed, w, len)) {
		cpu_panels_put(hit);
		hit = NULL;
	}
	return hit;
}

void cpu_panels_put(struct cpu_panels *p)
{
	int i, orphan = 1;

	if (!p)
		return;
	pthread_mutex_lock(&panel_lock);
	p->refs--;
	for (i = 0; i < PANEL_SLOTS; i++)
		if (slots[i] == p)
			orphan = 0;
	/* Evicted while in use: the last user frees it. Pinned: its layer does. */
	if (!orphan || p->refs || p->pinned)
		p = NULL;
	pthread_mutex_unlock(&panel_lock);
	if (p)
		panels_free(p);
}

/* What the requantization constants depend on besides the weights. */
static void epi_zero_clamp(const struct cpu_job *job, uint32_t zc[4])
{
	zc[0] = job->l->in_zero;
	zc[1] = job->l->out_zero;
	zc[2] = job->l->act_min;
	zc[3] = job->l->act_max;
}

const void *cpu_panels_epi(struct cpu_panels *p, const struct cpu_job *job)
{
	size_t len = (size_t)job->s.params_bytes;
	uint32_t zc[4];
	void *epi;

	pthread_mutex_lock(&panel_lock);
	epi = p->epi;
	pthread_mutex_unlock(&panel_lock);
	/* Once set, epi and what it was built for never change while p lives. */
	if (job->prep)
		return epi;	/* built from the prepared layer's own params */
	epi_zero_clamp(job, zc);
	if (!epi || p->epi_params_len != len || memcmp(p->epi_zero_clamp, zc, sizeof(zc)) ||
	    memcmp(p->epi_params, job->t->params, len))
		return NULL;
	return epi;
}

int cpu_panels_set_epi(struct cpu_panels *p, const struct cpu_job *job, void *epi)
{
	size_t len = (size_t)job->s.params_bytes;
	void *copy = cpu_alloc(len);
	int kept = 0;

	if (!copy)
		return 0;
	memcpy(copy, job->t->params, len);
	pthread_mutex_lock(&panel_lock);
	if (!p->epi) {
		epi_zero_clamp(job, p->epi_zero_clamp);
		p->epi_params = copy;
		p->epi_params_len = len;
		p->epi = epi;
		kept = 1;
	}
	pthread_mutex_unlock(&panel_lock);
	if (!kept)
		cpu_free(copy);
	return kept;
}

/* A prepared layer's entry, whatever its size, unless it has one already. */
static struct cpu_panels *panels_pin(struct cpu_prepared *prep, struct cpu_panels *p)
{
	pthread_mutex_lock(&panel_lock);
	if (prep->panels) {
		p = NULL;
	} else {
		p->pinned = 1;
		prep->panels = p;
	}
	pthread_mutex_unlock(&panel_lock);
	return p;
}

struct cpu_panels *cpu_panels_add(const struct cpu_job *job, uint64_t layout, void *b,
				  size_t b_bytes, int32_t *rowsum, uint32_t *colterms)
{
	size_t len = (size_t)job->s.weight_bytes;
	struct cpu_panels *p, *victim = NULL;
	int i, slot = -1;

	if (!job->prep && b_bytes + len > PANEL_MAX_BYTES)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	/* A prepared layer's entry is never compared: its codes are the layer's. */
	if (!job->prep) {
		p->packed = cpu_alloc(len);
		if (!p->packed) {
			free(p);
			return NULL;
		}
		memcpy(p->packed, job->t->weights, len);
	}
	p->packed_len = len;
	make_key(job, layout, p->key);
	p->b = b;
	p->b_bytes = b_bytes;
	p->rowsum = rowsum;
	p->colterms = colterms;
	p->refs = 1;
	if (job->prep) {
		if (panels_pin(job->prep, p))
			return p;
		/* Another run pinned one first: give the buffers back. */
		cpu_free(p->packed);
		free(p);
		return NULL;
	}

	pthread_mutex_lock(&panel_lock);
	/* An empty slot, else the least recently used entry nobody holds. */
	for (i = 0; i < PANEL_SLOTS; i++) {
		if (!slots[i]) {
			slot = i;
			break;
		}
		if (!slots[i]->refs && (slot < 0 || slots[i]->stamp < slots[slot]->stamp))
			slot = i;
	}
	if (slot >= 0) {
		victim = slots[slot];
		slots[slot] = p;
		p->stamp = ++clock_now;
	}
	pthread_mutex_unlock(&panel_lock);
	if (slot < 0) {
		/* Every entry is in use: give the buffers back to the caller. */
		cpu_free(p->packed);
		free(p);
		return NULL;
	}
	if (victim)
		panels_free(victim);
	return p;
}

void cpu_panels_unpin(struct cpu_panels *p)
{
	if (p)
		panels_free(p);
}

__attribute__((destructor(201))) static void cpu_panels_exit(void)
{
	int i;

	pthread_mutex_lock(&panel_lock);
	for (i = 0; i < PANEL_SLOTS; i++) {
		if (slots[i] && !slots[i]->refs)
			panels_free(slots[i]);
		slots[i] = NULL;
	}
	pthread_mutex_unlock(&panel_lock);
}
