/* Scratch buffers kept between calls, one set per calling thread.
 *
 * A kernel call needs scratch of the same few sizes every time (the GEMM's per-thread A blocks and weight slabs,
 * packed weights, a gathered im2col, a padded input). malloc'd and freed per call, buffers above glibc's mmap or
 * trim threshold come back as fresh pages: every call then faults them in and the kernel zeroes them. Training's
 * x.T @ dz of 128 x 256 x 512 spent 46% of its time in the kernel that way and ran at 0.4x the speed of the same
 * product read in place. Kept here, a buffer is reused while it is large enough and replaced when a call needs
 * more. Slots (kl.h) keep the buffers of one call apart; the thread that calls a kernel owns them and lends them to
 * the pool's workers for the call, which it does not leave before they are done. A thread's buffers are freed when
 * it exits. Requests beyond a thread's budget are plain malloc/free, as before.
 */
#include "kl.h"

#include <pthread.h>
#include <stdlib.h>

#define KL_KEEP_BUDGET ((size_t)16 << 20)  /* bytes kept per thread, all slots together */

typedef struct {
    void *buf[KL_SCRATCH_SLOTS];
    size_t size[KL_SCRATCH_SLOTS];
    size_t total;
} kept_set;

static pthread_key_t key;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int key_ok;

static void release_set(void *p) {
    kept_set *s = (kept_set *)p;
    for (int i = 0; i < KL_SCRATCH_SLOTS; i++) free(s->buf[i]);
    free(s);
}

static void make_key(void) { key_ok = pthread_key_create(&key, release_set) == 0; }

static kept_set *this_thread(void) {
    pthread_once(&once, make_key);
    if (!key_ok) return NULL;
    kept_set *s = (kept_set *)pthread_getspecific(key);
    if (!s) {
        s = (kept_set *)calloc(1, sizeof *s);
        if (s && pthread_setspecific(key, s)) { free(s); s = NULL; }
    }
    return s;
}

void *kl_scratch(int slot, size_t bytes) {
    if (bytes == 0) bytes = 1;
    kept_set *s = this_thread();
    if (!s || slot < 0 || slot >= KL_SCRATCH_SLOTS) return malloc(bytes);
    if (s->size[slot] >= bytes) return s->buf[slot];
    size_t want = bytes + bytes / 8;  /* room for a slightly larger call next time */
    if (s->total - s->size[slot] + want > KL_KEEP_BUDGET) return malloc(bytes);  /* beyond the budget: not kept */
    free(s->buf[slot]);
    s->total -= s->size[slot];
    s->buf[slot] = NULL;
    s->size[slot] = 0;
    void *p = NULL;
    if (posix_memalign(&p, 64, want)) return NULL;
    s->buf[slot] = p;
    s->size[slot] = want;
    s->total += want;
    return p;
}

void kl_scratch_done(int slot, void *p) {
    kept_set *s = key_ok ? (kept_set *)pthread_getspecific(key) : NULL;
    if (p && !(s && slot >= 0 && slot < KL_SCRATCH_SLOTS && s->buf[slot] == p)) free(p);
}
