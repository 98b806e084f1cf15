// SPDX-License-Identifier: MIT
/*
 * The thread pool of nhot_cpu_run(): threads - 1 workers started once and
 * reused, the calling thread working as worker 0. Tasks are handed out by an
 * atomic counter, so uneven tasks balance themselves.
 *
 * One job uses the pool at a time; a caller that finds it busy (another
 * thread of the application inside nhot_cpu_run()) runs its tasks alone
 * rather than wait. Workers spin briefly between jobs (layers come in quick
 * succession) and then sleep on a condition variable.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "cpu_internal.h"

/* Rounds of polling before a worker sleeps: some tens of microseconds. */
#define SPIN_ROUNDS	20000

static _Atomic int configured_threads;	/* 0: not yet read from the environment */

/* Serialises the jobs that use the pool; held for a whole cpu_parallel(). */
static pthread_mutex_t pool_user = PTHREAD_MUTEX_INITIALIZER;

static struct {
	/* Protects nworkers, tid[] and the sleeping side of generation. */
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int nworkers;
	pthread_t tid[CPU_MAX_THREADS];
	/* Written under lock before generation is bumped; read by workers after. */
	cpu_task_fn fn;
	void *arg;
	size_t ntasks;
	_Atomic size_t next;		/* next task to hand out */
	_Atomic int busy;		/* workers still in the current job */
	_Atomic unsigned long generation;	/* bumped per job; ~0 asks workers to quit */
	unsigned long start_generation;	/* generation when the workers were created */
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

static void run_tasks(int worker)
{
	size_t i;

	while ((i = atomic_fetch_add(&pool.next, 1)) < pool.ntasks)
		pool.fn(pool.arg, i, worker);
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
		run_tasks(worker);
		atomic_fetch_sub(&pool.busy, 1);
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
	if (pool.nworkers == nworkers)
		return;
	stop_workers();
	pool.start_generation = atomic_load(&pool.generation);
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
	pool.fn = fn;
	pool.arg = arg;
	pool.ntasks = ntasks;
	atomic_store(&pool.next, 0);
	atomic_store(&pool.busy, pool.nworkers);
	pthread_mutex_lock(&pool.lock);
	atomic_fetch_add(&pool.generation, 1);
	pthread_cond_broadcast(&pool.wake);
	pthread_mutex_unlock(&pool.lock);

	run_tasks(0);
	for (i = 0; atomic_load(&pool.busy); i++) {
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
