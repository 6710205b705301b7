/* The direct convolution's driver (the per-ISA tiles are in direct.h): when it is chosen over the packed GEMM, the
 * zero-padded copy of the input it reads, and its tasks on the pool. */
#include "kl.h"

#include <stdlib.h>

/* Measured on AVX-512 (tutorial CNN, keras.applications at 96x96): the GEMM's per-row im2col gather costs most
 * against its arithmetic when a pixel's window is short (K = kh*kw*cin up to a few hundred: the RGB first layer
 * has K = 27) or the map is small. */
#define KL_DIRECT_MAX_K 288

#include <stdio.h>
int kl_direct_pays(const kl_conv *g) {
    static long maxk = -1;
    if (maxk < 0) { const char *e = getenv("KL_DIRECT_MAX_K"); maxk = e ? atol(e) : KL_DIRECT_MAX_K; }
    if (g->accumulate || (g->kh == 1 && g->kw == 1)) return 0;  /* a 1x1 convolution has no window to gather */
    return g->k <= maxk;
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
    int64_t *koff = (int64_t *)malloc((size_t)g->k * sizeof(int64_t));
    if (!koff) return -2;
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
    kl_direct d = {g, in_place ? g->x : xp, hp, wp, koff};
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
