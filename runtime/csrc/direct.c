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
    /* K blocks as the GEMM's kblock: whole taps while a tap's channels fit in KL_KC, else slices of one tap */
    const int64_t taps = g->kh * g->kw, c = g->cin;
    const int64_t nblocks = c <= KL_KC ? (taps + KL_KC / c - 1) / (KL_KC / c) : taps * ((c + KL_KC - 1) / KL_KC);
    int64_t *koff = (int64_t *)malloc((size_t)(g->k + nblocks) * sizeof(int64_t)), *kend = koff + g->k;
    if (!koff) return -2;
    for (int64_t b = 0; b < nblocks; b++) {
        if (c <= KL_KC) {
            int64_t t1 = (b + 1) * (KL_KC / c);
            kend[b] = (t1 < taps ? t1 : taps) * c;
        } else {
            int64_t slices = (c + KL_KC - 1) / KL_KC, c1 = (b % slices + 1) * KL_KC;
            kend[b] = (b / slices) * c + (c1 < c ? c1 : c);
        }
    }
    float *xp = NULL;
    int in_place = !g->pre && hp == g->h && wp == g->w;  /* no padding to add and no prologue: read x itself */
    if (!in_place) {
        xp = (float *)malloc((size_t)(g->n * hp * wp * g->cstride) * sizeof(float));
        if (!xp) { free(koff); return -2; }
        isa->direct_pad(g, xp, hp, wp);
    }
    for (int64_t q = 0; q < g->k; q++) {
        int64_t t = q / g->cin;
        koff[q] = ((t / g->kw) * g->dh * wp + (t % g->kw) * g->dw) * g->cstride + q % g->cin;
    }
    kl_direct d = {g, in_place ? g->x : xp, hp, wp, koff, kend, nblocks};
    int64_t panels = (g->nout + isa->nr - 1) / isa->nr, nm = isa->conv_mblocks(g), np = 1;
    if (threads > 1 && g->groups * nm < 4 * threads) {  /* few row blocks: split the panels too, as the GEMM does */
        np = (4 * threads + g->groups * nm - 1) / (g->groups * nm);
        if (np > panels) np = panels;
    }
    direct_job job = {isa, &d, nm, np};
    kl_parallel(direct_run, &job, g->groups * nm * np, threads);
    free(xp);
    free(koff);
    return 0;
}
