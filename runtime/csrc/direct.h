/* The direct convolution: each micro-tile reads its rows' windows in place from the (zero-padded) input, one
 * pointer per output pixel and one offset per tap, and keeps its accumulators in registers across every tap and
 * channel; no im2col gather, one store. It pays where the packed GEMM's gather costs most against its
 * arithmetic: few input channels (an RGB first layer: K = 27) and small maps. Part of kernels.h. */

/* R output pixels (window origins rows[r]) times the first NVX vectors of one packed panel, over the whole window:
 * k walks every tap and channel, koff[k] its offset in the window (one table, so a window of 3 channels per tap
 * runs as one loop of 27 steps, not 9 of 3). Each K block (ends kend) is summed apart and added to the tile. */
static inline __attribute__((always_inline)) void F(direct_micro)(
        const int R, const int NVX, const float *const *rows, const int64_t *koff, const int64_t *kend,
        int64_t nblocks, const float *bp, float *c, int64_t ldc, int nlast, const float *bias, const float *res,
        int64_t ldres, int act) {
    const float *a[MR];
    _Pragma("GCC unroll 16") for (int r = 0; r < R; r++) a[r] = rows[r];
    int64_t q = 0;
    for (int64_t blk = 0; blk < nblocks; blk++) {
        vf acc[MR][NV];
        _Pragma("GCC unroll 16") for (int r = 0; r < R; r++)
            _Pragma("GCC unroll 4") for (int v = 0; v < NVX; v++) acc[r][v] = F(splat)(0.0f);
        for (const int64_t end = kend[blk]; q < end; q++, bp += NR) {
            const int64_t off = koff[q];
            vf b[NV];
            _Pragma("GCC unroll 4") for (int u = 0; u < NR * 4; u += 64)
                __builtin_prefetch((const char *)(bp + PF * NR) + u);
            _Pragma("GCC unroll 4") for (int v = 0; v < NVX; v++) b[v] = F(ld)(bp + v * VW);
            _Pragma("GCC unroll 16") for (int r = 0; r < R; r++) {
                float s = a[r][off];
                _Pragma("GCC unroll 4") for (int v = 0; v < NVX; v++) acc[r][v] += s * b[v];
            }
        }
        F(store_tile)(R, NVX, acc, c, ldc, nlast, blk > 0, blk == nblocks - 1, bias, res, ldres, act);
    }
}

typedef void (*F(direct_fn))(const float *const *, const int64_t *, const int64_t *, int64_t, const float *, float *,
                              int64_t, int, const float *, const float *, int64_t, int);
#define DIRECT_DEF(R, X)                                                                                        \
    static void F(direct_##R##_##X)(const float *const *rows, const int64_t *koff, const int64_t *kend,          \
                                    int64_t nblocks, const float *bp, float *c, int64_t ldc, int nlast,          \
                                    const float *bias, const float *res, int64_t ldres, int act) {               \
        F(direct_micro)(R, X, rows, koff, kend, nblocks, bp, c, ldc, nlast, bias, res, ldres, act);             \
    }
#define DIRECT_ROWS6(X) DIRECT_DEF(1, X) DIRECT_DEF(2, X) DIRECT_DEF(3, X) DIRECT_DEF(4, X) DIRECT_DEF(5, X)    \
                        DIRECT_DEF(6, X)
#define DIRECT_LIST6(X) F(direct_1_##X), F(direct_2_##X), F(direct_3_##X), F(direct_4_##X), F(direct_5_##X),     \
                        F(direct_6_##X)
#if MR == 6
#define DIRECT_ROWS(X) DIRECT_ROWS6(X)
#define DIRECT_ROW_LIST(X) {0, DIRECT_LIST6(X)}
#elif MR == 8
#define DIRECT_ROWS(X) DIRECT_ROWS6(X) DIRECT_DEF(7, X) DIRECT_DEF(8, X)
#define DIRECT_ROW_LIST(X) {0, DIRECT_LIST6(X), F(direct_7_##X), F(direct_8_##X)}
#else
#error "the direct kernel takes MR = 6 or 8"
#endif
#if NV == 2
DIRECT_ROWS(1) DIRECT_ROWS(2)
static const F(direct_fn) F(DIRECTS)[NV + 1][MR + 1] = {{0}, DIRECT_ROW_LIST(1), DIRECT_ROW_LIST(2)};
#elif NV == 4
DIRECT_ROWS(1) DIRECT_ROWS(2) DIRECT_ROWS(3) DIRECT_ROWS(4)
static const F(direct_fn) F(DIRECTS)[NV + 1][MR + 1] = {{0}, DIRECT_ROW_LIST(1), DIRECT_ROW_LIST(2),
                                                        DIRECT_ROW_LIST(3), DIRECT_ROW_LIST(4)};
#endif

/* Task (grp, m-block, panel chunk), as conv_task numbers them: the output pixels of row block mb of group grp,
 * for the panels of chunk pc. The window origins of the block's pixels are found once, then every panel passes over
 * them (its weights stay in L1 while it does). */
static void F(direct_task)(const kl_direct *d, int64_t task, int64_t nm, int64_t np) {
    const kl_conv *g = d->g;
    const int64_t m = g->n * g->oh * g->ow, panels = (g->nout + NR - 1) / NR;
    int64_t grp = task / (nm * np), rest = task % (nm * np), mb = rest / np, pc = rest % np;
    int64_t m0, mc;
    F(row_block)(m, nm, mb, &m0, &mc);
    int64_t per = (panels + np - 1) / np, p0 = pc * per, p1 = p0 + per < panels ? p0 + per : panels;
    if (p0 >= p1 || mc <= 0) return;
    const float *rows[MC];
    int64_t b = m0 / (g->oh * g->ow), oy = m0 % (g->oh * g->ow) / g->ow, ox = m0 % g->ow;
    const float *x0 = d->xp + grp * g->cin;
    for (int64_t r = 0; r < mc; r++) {
        rows[r] = x0 + ((b * d->hp + oy * g->sh) * d->wp + ox * g->sw) * g->cstride;
        if (++ox == g->ow) { ox = 0; if (++oy == g->oh) { oy = 0; b++; } }
    }
    const float *bpg = g->bp + grp * panels * g->k * NR;
    for (int64_t p = p0; p < p1; p++) {
        int ncols = g->nout - p * NR < NR ? (int)(g->nout - p * NR) : NR;
        int nvx = (ncols + VW - 1) / VW, nlast = ncols - (nvx - 1) * VW;
        int64_t col = grp * g->nout + p * NR;
        const float *bias = g->bias ? g->bias + col : NULL;
        for (int64_t i = 0; i < mc; i += MR) {
            int r = mc - i < MR ? (int)(mc - i) : MR;
            const float *res = g->res ? g->res + (m0 + i) * g->ldres + col : NULL;
            F(DIRECTS)[nvx][r](rows + i, d->koff, d->kend, d->nblocks, bpg + p * g->k * NR,
                               g->y + (m0 + i) * g->ldy + col, g->ldy, nlast, bias, res, g->ldres, g->act);
        }
    }
}

/* xp (n, hp, wp, cstride) = x placed at (pt, pl), zeros around it, the prologue applied to the pixels only (the
 * padding stays zero, as in the gather). */
static void F(direct_pad)(const kl_conv *g, float *xp, int64_t hp, int64_t wp) {
    const int64_t cs = g->cstride, row = g->w * cs;
    for (int64_t b = 0; b < g->n; b++) {
        for (int64_t y = 0; y < hp; y++) {
            float *dst = xp + (b * hp + y) * wp * cs;
            int64_t iy = y - g->pt;
            if (iy < 0 || iy >= g->h) {
                memset(dst, 0, (size_t)(wp * cs) * sizeof(float));
                continue;
            }
            memset(dst, 0, (size_t)(g->pl * cs) * sizeof(float));
            float *d = dst + g->pl * cs;
            memcpy(d, g->x + (b * g->h + iy) * row, (size_t)row * sizeof(float));
            if (g->pre)
                for (int64_t px = 0; px < g->w; px++)
                    F(prologue)(d + px * cs, cs, g->pre_scale, g->pre_shift, g->pre_act);
            memset(d + row, 0, (size_t)((wp - g->pl - g->w) * cs) * sizeof(float));
        }
    }
}
