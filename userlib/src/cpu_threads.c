// SPDX-License-Identifier: MIT
/*
 * The thread pool of nhot_cpu_run(): threads - 1 workers started once and
 * reused, the calling thread working as worker 0. The tasks are cut into one
 * contiguous chunk per thread; each thread claims the tasks of its own chunk
 * first and then helps with the others' (atomic counters), so uneven tasks
 * balance themselves while the same layer run again gives each thread the
 * same rows: they are still in its core's L2. With one shared counter the
 * rows changed cores every call: 12544x32x16 at 2 threads took 26-27 us p50
 * against 29 us at 1 thread, both threads equally busy.
 *
 * One job uses the pool at a time; a caller that finds it busy (another
 * thread of the application inside nhot_cpu_run()) runs its tasks alone
 * rather than wait. Tasks are claimed per job (see ticket), so the caller
 * never waits for a worker that has not woken up yet. Workers spin briefly
 * between jobs (layers come in quick succession) and then sleep on a
 * condition variable.
 *
 * A worker that finds itself on the CPU of the caller or of another worker
 * moves off it (dodge_shared_cpu()). Measured here (2 vCPUs): after the
 * caller slept, the scheduler woke the worker on the caller's CPU with the
 * other CPU idle, and kept both there; the spinning worker then only took
 * turns with the caller. A 196x384x64 FC layer ran in 13.4 us at 2 threads
 * (p50 of 3000 calls with a 5 ms sleep every 140) against 8.0 us once the
 * worker moved, and 13.6 us at 1 thread.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "cpu_internal.h"

/*
 * Rounds of polling before a worker sleeps: tens of microseconds, enough for
 * back-to-back layers; longer spins only burn a shared machine's cores.
 */
#define SPIN_ROUNDS	2000

static _Atomic int configured_threads;	/* 0: not yet read from the environment */

/* Serialises the jobs that use the pool; held for a whole cpu_parallel(). */
static pthread_mutex_t pool_user = PTHREAD_MUTEX_INITIALIZER;

static struct {
	/* Protects nworkers, tid[] and the sleeping side of generation. */
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int nworkers;
	pthread_t tid[CPU_MAX_THREADS];
	/*
	 * The current job: written before generation and ticket publish it,
	 * stable until all its tasks are done.
	 */
	cpu_task_fn fn;
	void *arg;
	_Atomic size_t ntasks;
	_Atomic size_t nchunks;		/* threads the job was cut for */
	/*
	 * Per chunk, (job number << 32) | next task: a worker claims a task
	 * with a CAS that fails if the job changed, so one that wakes late
	 * never runs a task of the wrong job, and the caller never waits for
	 * sleepers. One cache line each: the threads claim at the same time.
	 */
	struct {
		_Atomic uint64_t next;
		char pad[CPU_ALIGN - sizeof(uint64_t)];
	} ticket[CPU_MAX_THREADS];
	_Atomic size_t done;		/* tasks of the current job finished */
	_Atomic unsigned long generation;	/* bumped per job; ~0 asks workers to quit */
	unsigned long start_generation;	/* generation when the workers were created */
	/*
	 * The CPU each thread last ran a task on (index 0: the caller), -1
	 * unknown; written by that thread, read by workers as a hint only.
	 */
	_Atomic int cpu[CPU_MAX_THREADS];
	cpu_set_t allowed;		/* the creator's affinity when workers started */
} pool = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.wake = PTHREAD_COND_INITIALIZER,
};

#define GENERATION_QUIT	(~0UL)

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/*
 * Moves this worker off a CPU another thread of the pool runs on: it may
 * run on any CPU the creator was allowed except those. One syscall when it
 * happens, none while every thread has a CPU of its own.
 */
static void dodge_shared_cpu(int worker)
{
	int me = sched_getcpu(), i, shared = 0;
	cpu_set_t cpus;

	if (me < 0 || me >= CPU_SETSIZE)
		return;
	cpus = pool.allowed;
	for (i = 0; i < CPU_MAX_THREADS; i++) {
		int c = atomic_load_explicit(&pool.cpu[i], memory_order_relaxed);

		if (i == worker || c < 0 || c >= CPU_SETSIZE)
			continue;
		shared |= c == me;
		CPU_CLR(c, &cpus);
	}
	if (shared && CPU_COUNT(&cpus) &&
	    !pthread_setaffinity_np(pthread_self(), sizeof(cpus), &cpus))
		me = sched_getcpu();
	atomic_store_explicit(&pool.cpu[worker], me, memory_order_relaxed);
}

static void run_tasks(unsigned long generation, int worker)
{
	uint64_t job = (uint64_t)(uint32_t)generation << 32;
	size_t n = atomic_load(&pool.ntasks), nchunks = atomic_load(&pool.nchunks), k;

	if (worker)
		dodge_shared_cpu(worker);
	/* Its own chunk first, then the others' in turn. */
	for (k = 0; k < nchunks; k++) {
		size_t c = ((size_t)worker + k) % nchunks, end = (c + 1) * n / nchunks;
		_Atomic uint64_t *next = &pool.ticket[c].next;

		for (;;) {
			uint64_t t = atomic_load(next);
			size_t i = (size_t)(t & 0xffffffffu);

			if ((t & ~0xffffffffull) != job)
				return;		/* a later job: n and nchunks are stale */
			if (i >= end)
				break;
			if (!atomic_compare_exchange_weak(next, &t, t + 1))
				continue;
			pool.fn(pool.arg, i, worker);
			atomic_fetch_add(&pool.done, 1);
		}
	}
}

static unsigned long wait_generation(unsigned long seen)
{
	unsigned long g;
	int i;

	for (i = 0; i < SPIN_ROUNDS; i++) {
		g = atomic_load(&pool.generation);
		if (g != seen)
			return g;
		cpu_relax();
	}
	pthread_mutex_lock(&pool.lock);
	while ((g = atomic_load(&pool.generation)) == seen)
		pthread_cond_wait(&pool.wake, &pool.lock);
	pthread_mutex_unlock(&pool.lock);
	return g;
}

static void *worker_main(void *arg)
{
	int worker = (int)(intptr_t)arg;
	/* Not a fresh load: the first job may already have been posted. */
	unsigned long seen = pool.start_generation;

	for (;;) {
		seen = wait_generation(seen);
		if (seen == GENERATION_QUIT)
			return NULL;
		run_tasks(seen, worker);
	}
}

/* Joins every worker; the caller holds pool_user. */
static void stop_workers(void)
{
	int i;

	if (!pool.nworkers)
		return;
	pthread_mutex_lock(&pool.lock);
	atomic_store(&pool.generation, GENERATION_QUIT);
	pthread_cond_broadcast(&pool.wake);
	pthread_mutex_unlock(&pool.lock);
	for (i = 0; i < pool.nworkers; i++)
		pthread_join(pool.tid[i], NULL);
	pool.nworkers = 0;
	atomic_store(&pool.generation, 0);
}

/* Makes nworkers workers run; fewer when threads cannot be created. */
static void resize_workers(int nworkers)
{
	int i;

	if (pool.nworkers == nworkers)
		return;
	stop_workers();
	pool.start_generation = atomic_load(&pool.generation);
	for (i = 0; i < CPU_MAX_THREADS; i++)
		atomic_store(&pool.cpu[i], -1);
	if (sched_getaffinity(0, sizeof(pool.allowed), &pool.allowed))
		CPU_ZERO(&pool.allowed);	/* then workers never move */
	while (pool.nworkers < nworkers) {
		int id = pool.nworkers + 1;

		if (pthread_create(&pool.tid[pool.nworkers], NULL, worker_main,
				   (void *)(intptr_t)id))
			break;
		pool.nworkers++;
	}
}

static void run_alone(size_t ntasks, cpu_task_fn fn, void *arg)
{
	size_t i;

	for (i = 0; i < ntasks; i++)
		fn(arg, i, 0);
}

void cpu_parallel(int threads, size_t ntasks, cpu_task_fn fn, void *arg)
{
	unsigned long generation;
	size_t nchunks, c;
	int i;

	if (threads <= 1 || ntasks <= 1 || pthread_mutex_trylock(&pool_user)) {
		run_alone(ntasks, fn, arg);
		return;
	}
	resize_workers(threads - 1);
	if (!pool.nworkers) {
		pthread_mutex_unlock(&pool_user);
		run_alone(ntasks, fn, arg);
		return;
	}
	/*
	 * Close the last job's tickets before ntasks changes: a worker that
	 * woke late for it could otherwise read a spent ticket, check the
	 * index against the new, larger ntasks, claim it with a CAS that still
	 * matches, and run the new job's task while done is being reset (the
	 * caller then returned early and freed buffers under it: seen as an
	 * ASan heap overflow under load). Index ~0 is past any job.
	 */
	nchunks = (size_t)pool.nworkers + 1;
	for (c = 0; c < nchunks; c++)
		atomic_store(&pool.ticket[c].next, UINT64_MAX);
	atomic_store_explicit(&pool.cpu[0], sched_getcpu(), memory_order_relaxed);
	pool.fn = fn;
	pool.arg = arg;
	atomic_store(&pool.ntasks, ntasks);
	atomic_store(&pool.nchunks, nchunks);
	atomic_store(&pool.done, 0);
	generation = atomic_load(&pool.generation) + 1;
	if (generation == GENERATION_QUIT)
		generation = 1;
	for (c = 0; c < nchunks; c++)
		atomic_store(&pool.ticket[c].next, ((uint64_t)(uint32_t)generation << 32) |
				  (c * ntasks / nchunks));
	pthread_mutex_lock(&pool.lock);
	atomic_store(&pool.generation, generation);
	pthread_cond_broadcast(&pool.wake);
	pthread_mutex_unlock(&pool.lock);

	run_tasks(generation, 0);
	for (i = 0; atomic_load(&pool.done) < ntasks; i++) {
		if (i < SPIN_ROUNDS)
			cpu_relax();
		else
			sched_yield();
	}
	pthread_mutex_unlock(&pool_user);
}

static int default_threads(void)
{
	const char *env = getenv("NHOT_THREADS");
	long n;

	if (env && *env) {
		char *end;

		n = strtol(env, &end, 10);
		if (!*end && n >= 1 && n <= CPU_MAX_THREADS)
			return (int)n;
	}
	n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		n = 1;
	return n > CPU_MAX_THREADS ? CPU_MAX_THREADS : (int)n;
}

int cpu_threads(void)
{
	int n = atomic_load(&configured_threads);

	if (!n) {
		n = default_threads();
		atomic_store(&configured_threads, n);
	}
	return n;
}

int nhot_cpu_set_threads(int threads)
{
	if (threads < 1 || threads > CPU_MAX_THREADS)
		return -EINVAL;
	atomic_store(&configured_threads, threads);
	return 0;
}

/* At exit: no worker outlives the library (and leak checkers see none). */
__attribute__((destructor)) static void cpu_threads_exit(void)
{
	pthread_mutex_lock(&pool_user);
	stop_workers();
	pthread_mutex_unlock(&pool_user);
}
