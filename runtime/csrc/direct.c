/* The direct convolution's driver (the per-ISA tiles are in direct.h): when it is chosen over the packed GEMM, the
 * zero-padded copy of the input it reads, and its tasks on the pool. */
#include "kl.h"

#include <stdlib.h>

/* Measured on AVX-512 (the tutorial CNN, single layers of keras.applications shapes at 96x96, batch 1-32): reading
 * the windows in place beats the GEMM's im2col gather for every kxk convolution whose weights fit in L2 (3-64 input
 * channels: 8-40 % less time, most for an RGB first layer, K = 27); with larger weights the GEMM's K blocking and
 * its weights-outer order (conv_task_wide) read them from memory fewer times. */
#define KL_DIRECT_MAX_WEIGHTS (1 << 20)

static int enabled = 1;

int kl_set_direct(int on) {
    int was = enabled;
    enabled = on;
    return was;
}

int kl_direct_pays(const kl_conv *g) {
    if (!enabled || g->accumulate || (g->kh == 1 && g->kw == 1)) return 0;  /* a 1x1 convolution has no window */
    return g->k * g->nout * g->groups * 4 <= KL_DIRECT_MAX_WEIGHTS;
}

typedef struct {
    const kl_isa *isa;
    const kl_direct *d;
    int64_t nm, np;
} direct_job;

static void direct_run(void *ctx, int64_t task, int tid) {
    (void)tid;
    direct_job *j = (direct_job *)ctx;
    j->isa->direct_task(j->d, task, j->nm, j->np);
}

int kl_conv_direct(const kl_isa *isa, const kl_conv *g, int threads) {
    /* the padded extent the windows reach: (o - 1) * s + (k - 1) * d + 1 rows, at least the input's */
    int64_t hp = (g->oh - 1) * g->sh + (g->kh - 1) * g->dh + 1, wp = (g->ow - 1) * g->sw + (g->kw - 1) * g->dw + 1;
    if (hp < g->h + g->pt) hp = g->h + g->pt;
    if (wp < g->w + g->pl) wp = g->w + g->pl;
    /* the GEMM's K blocks (kl_kblock), so both round alike */
    const int64_t nblocks = kl_kblocks(g);
    int64_t *koff = (int64_t *)kl_scratch(KL_SCRATCH_OFFSETS, (size_t)(g->k + nblocks) * sizeof(int64_t));
    if (!koff) return -2;
    int64_t *kend = koff + g->k;
    for (int64_t b = 0; b < nblocks; b++) {
        int64_t t0, t1, c0, c1;
        kl_kblock(g, b, &t0, &t1, &c0, &c1);
        kend[b] = (t1 - 1) * g->cin + c1;
    }
    float *xp = NULL;
    int in_place = !g->pre && hp == g->h && wp == g->w;  /* no padding to add and no prologue: read x itself */
    if (!in_place) {
        xp = (float *)kl_scratch(KL_SCRATCH_PADDED, (size_t)(g->n * hp * wp * g->cstride) * sizeof(float));
        if (!xp) { kl_scratch_done(KL_SCRATCH_OFFSETS, koff); return -2; }
        isa->direct_pad(g, xp, hp, wp);
    }
    /* K row q = (tap (ty, tx), channel c) reads offset (ty*dh*wp + tx*dw)*cstride + c of its window; nested loops,
     * not q's divisions (a 3x3x64 table by division was ~5 us of a 40 us call) */
    for (int64_t ty = 0, q = 0; ty < g->kh; ty++)
        for (int64_t tx = 0; tx < g->kw; tx++) {
            const int64_t tap = (ty * g->dh * wp + tx * g->dw) * g->cstride;
            for (int64_t c = 0; c < g->cin; c++) koff[q++] = tap + c;
        }
    kl_direct d = {g, in_place ? g->x : xp, hp, wp, koff, kend, nblocks};
    int64_t panels = (g->nout + isa->nr - 1) / isa->nr, nm = isa->conv_mblocks(g, threads);
    int64_t np = kl_panel_chunks(threads, g->groups * nm, panels);  /* as the GEMM splits them */
    direct_job job = {isa, &d, nm, np};
    kl_parallel(direct_run, &job, g->groups * nm * np, threads);
    kl_scratch_done(KL_SCRATCH_PADDED, xp);
    kl_scratch_done(KL_SCRATCH_OFFSETS, koff);
    return 0;
}
