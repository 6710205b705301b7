/* A small thread pool for the kernels: workers started on first use, each job's tasks split into one contiguous
 * range per thread, a thread that finishes its own range taking the others' tasks from their far end.
 *
 * The ranges keep each core on the same part of the data from one layer to the next: the kernels number their tasks
 * along the rows (batch, then output pixels), so thread i reads mostly the rows it wrote in the previous layer,
 * from its own L2, not the other core's. With one shared counter the rows went to whichever thread came first.
 *
 * One job at a time: a caller that finds the pool busy (another Python thread is inside a parallel kernel) runs its
 * tasks on its own thread instead of waiting. The caller takes tasks too and waits only for tasks that a worker
 * has claimed, never for a worker that has not woken yet (on a busy machine it may not run for milliseconds): it
 * takes that worker's range from the back. Each range is one 64-bit word holding the job's generation, the range's
 * end and its next task, so a claim is one compare-and-swap that checks all three at once, and a worker that wakes
 * late for a finished job cannot claim a task of the next one (of the job it reads only the number of ranges
 * before a claim succeeds). A worker that finished a job polls for the next one for KL_WAIT_NS (the next layer
 * usually follows within microseconds, a training step's next product within a few hundred), then sleeps on a
 * condition variable: waking from it takes ~50 us, paid on each product whose gap outlasts the poll. After fork()
 * the child has no workers; the pool starts again on its next use there, so gunicorn's pre-fork model is safe.
 */
#include "kl.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>

#define KL_MAX_THREADS 64
#define KL_SPIN 4000  /* the caller's pauses before it yields while workers finish their claimed tasks */
/* A worker's poll for the next job, timed (a PAUSE takes 12 ns on this team's x86 machine, ~140 cycles on
 * Skylake-era cores): pauses for the first KL_PAUSE_NS, then sched_yield() between looks, so that a thread of
 * another process that wants this core runs (two wide-MLP trainings at once on two cores: 0.69-0.71 s an epoch each
 * with the yields, 0.98-1.34 s with 3 ms of pauses, 0.73-0.82 with 47 us of pauses), then asleep. One wide-MLP
 * training (bench/train.py's task): 0.91-0.93x the epoch of 47 us of pauses, the old poll, which left the worker
 * asleep for half the products. */
#define KL_PAUSE_NS 50000
#define KL_WAIT_NS 1000000

static pthread_mutex_t job_lock = PTHREAD_MUTEX_INITIALIZER;   /* held by the caller running a parallel job */
static pthread_mutex_t wake_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake_cond = PTHREAD_COND_INITIALIZER;
static int started;          /* workers running (tids 1..started) */
static int wanted = 1;       /* threads per job, the caller included */
static atomic_long generation;   /* bumped for every job; workers sleep on it */
/* Thread i's range of the current job: (generation << 32) | (end << 16) | next, claims numbered below 2^16 */
#define KL_CLAIMS 0xFFFF
static _Atomic uint64_t ranges[KL_MAX_THREADS];
static atomic_long done;         /* claims of the current job finished */
static atomic_int job_threads;   /* ranges of the current job */
static struct { kl_task_fn fn; void *ctx; int64_t ntasks, per; } job;  /* a claim: `per` consecutive tasks */
static int atfork_done;
static long start_generation[KL_MAX_THREADS];  /* the generation each worker was created at */

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* Claim one index of range r for job gen, from its front (the owner) or its back (a thief): 1 and *c set, 0 when
 * the range is empty, -1 when the job is no longer gen. */
static int claim(int r, uint32_t gen, int back, int64_t *c) {
    uint64_t w = atomic_load_explicit(&ranges[r], memory_order_acquire);
    for (;;) {
        if ((uint32_t)(w >> 32) != gen) return -1;
        uint32_t next = (uint32_t)w & 0xFFFF, end = (uint32_t)(w >> 16) & 0xFFFF;
        if (next >= end) return 0;
        uint64_t claimed = back ? w - ((uint64_t)1 << 16) : w + 1;
        if (atomic_compare_exchange_weak_explicit(&ranges[r], &w, claimed, memory_order_acq_rel,
                                                  memory_order_acquire)) {
            *c = back ? end - 1 : next;
            return 1;
        }
    }
}

static void run_claim(int64_t c, int tid) {
    int64_t t = c * job.per, end = t + job.per < job.ntasks ? t + job.per : job.ntasks;
    for (; t < end; t++) job.fn(job.ctx, t, tid);
    atomic_fetch_add_explicit(&done, 1, memory_order_release);
}

/* Run tasks of job generation gen until none is left (or the job is no longer gen): this thread's own range
 * first, front to back, then the others' from their backs. */
static void run_tasks(uint32_t gen, int tid) {
    const int n = atomic_load_explicit(&job_threads, memory_order_relaxed);
    int64_t c;
    for (int k = 0; k < n; k++) {
        int r = (tid + k) % n, got;
        while ((got = claim(r, gen, k > 0, &c)) == 1) run_claim(c, tid);
        if (got < 0) return;
    }
}

static int64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void *worker(void *arg) {
    int tid = (int)(intptr_t)arg;
    long seen = start_generation[tid];  /* not a fresh load: the first job may already be published */
    for (;;) {
        const int64_t idle_since = now_ns();
        int64_t waited = 0;
        for (int polls = 1; atomic_load_explicit(&generation, memory_order_acquire) == seen; polls++) {
            if (waited < KL_PAUSE_NS) {
                cpu_relax();
                if (polls % 64 == 0) waited = now_ns() - idle_since;
            } else if (waited < KL_WAIT_NS) {
                sched_yield();
                waited = now_ns() - idle_since;
            } else {
                pthread_mutex_lock(&wake_lock);
                while (atomic_load_explicit(&generation, memory_order_acquire) == seen)
                    pthread_cond_wait(&wake_cond, &wake_lock);
                pthread_mutex_unlock(&wake_lock);
            }
        }
        seen = atomic_load_explicit(&generation, memory_order_acquire);
        if (tid < atomic_load_explicit(&job_threads, memory_order_relaxed)) run_tasks((uint32_t)seen, tid);
    }
    return NULL;
}

static void before_fork(void) { pthread_mutex_lock(&job_lock); }
static void after_fork_parent(void) { pthread_mutex_unlock(&job_lock); }
static void after_fork_child(void) {
    started = 0;  /* the workers were not copied into this process */
    pthread_mutex_init(&job_lock, NULL);
    pthread_mutex_init(&wake_lock, NULL);
    pthread_cond_init(&wake_cond, NULL);
}

static void start_workers(int n) {
    if (!atfork_done) {
        pthread_atfork(before_fork, after_fork_parent, after_fork_child);
        atfork_done = 1;
    }
    while (started < n - 1 && started < KL_MAX_THREADS - 1) {
        pthread_t th;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        start_generation[started + 1] = atomic_load_explicit(&generation, memory_order_relaxed);
        int ok = pthread_create(&th, &attr, worker, (void *)(intptr_t)(started + 1)) == 0;
        pthread_attr_destroy(&attr);
        if (!ok) break;  /* fewer threads than asked: the job still completes */
        started++;
    }
}

void kl_set_threads(int n) {
    if (n < 1) n = 1;
    if (n > KL_MAX_THREADS) n = KL_MAX_THREADS;
    wanted = n;
}

int kl_threads(void) { return wanted; }

void kl_parallel(kl_task_fn fn, void *ctx, int64_t ntasks, int max_threads) {
    int n = wanted < max_threads ? wanted : max_threads;
    if (n > ntasks) n = (int)ntasks;
    if (n <= 1 || pthread_mutex_trylock(&job_lock) != 0) {
        for (int64_t t = 0; t < ntasks; t++) fn(ctx, t, 0);
        return;
    }
    start_workers(n);
    if (started == 0) {
        pthread_mutex_unlock(&job_lock);
        for (int64_t t = 0; t < ntasks; t++) fn(ctx, t, 0);
        return;
    }
    long gen = atomic_load_explicit(&generation, memory_order_relaxed) + 1;
    int nthreads = n < started + 1 ? n : started + 1;
    int64_t per = (ntasks + KL_CLAIMS - 1) / KL_CLAIMS, claims = (ntasks + per - 1) / per;
    job.fn = fn;
    job.ctx = ctx;
    job.ntasks = ntasks;
    job.per = per;
    atomic_store_explicit(&done, 0, memory_order_relaxed);
    atomic_store_explicit(&job_threads, nthreads, memory_order_relaxed);
    for (int i = 0; i < nthreads; i++) {
        uint64_t first = (uint64_t)(claims * i / nthreads), end = (uint64_t)(claims * (i + 1) / nthreads);
        atomic_store_explicit(&ranges[i], (uint64_t)(uint32_t)gen << 32 | end << 16 | first, memory_order_release);
    }
    pthread_mutex_lock(&wake_lock);
    atomic_store_explicit(&generation, gen, memory_order_release);
    pthread_cond_broadcast(&wake_cond);
    pthread_mutex_unlock(&wake_lock);
    run_tasks((uint32_t)gen, 0);
    int spins = 0;
    while (atomic_load_explicit(&done, memory_order_acquire) < claims) {
        if (++spins < KL_SPIN) cpu_relax();
        else sched_yield();
    }
    pthread_mutex_unlock(&job_lock);
}
