/* The packed-weight GEMM behind Dense and every convolution: micro-tiles, the implicit im2col gather, tasks.
 * Part of kernels.h. */
#define NR (VW * NV)
#define KC KL_KC
#define MC (MR * 16)
#ifndef PF
#define PF 16  /* k rows of weights prefetched ahead */
#endif
#define WHOLE_A (128 * 1024)  /* floats of A kept whole in cache (512 KiB) */
#define SCRATCH ((WHOLE_A > MC * KC ? WHOLE_A : MC * KC) + 2 * VW)  /* + slack for copyn */

/* The epilogue of a micro-tile, then its store: y = acc (+ C when accum); at the last K block + bias + res, then
 * the activation (hoisted out of the element loops, so each case compiles to straight vector code). The last
 * vector may be partial (nlast valid columns). */
static inline __attribute__((always_inline)) void F(store_tile)(
        const int R, const int NVX, vf acc[MR][NV], float *c, int64_t ldc, int nlast, int accum, int last,
        const float *bias, const float *res, int64_t ldres, int act) {
    _Pragma("GCC unroll 16") for (int r = 0; r < R; r++) {
        _Pragma("GCC unroll 4") for (int v = 0; v < NVX; v++) {
            int full = v < NVX - 1 || nlast == VW;
            float *cp = c + r * ldc + v * VW;
            if (accum) {
                acc[r][v] += full ? F(ld)(cp) : F(ldn)(cp, nlast);
            }
            if (last && bias) {
                acc[r][v] += full ? F(ld)(bias + v * VW) : F(ldn)(bias + v * VW, nlast);
            }
            if (last && res) {
                const float *rp = res + r * ldres + v * VW;
                acc[r][v] += full ? F(ld)(rp) : F(ldn)(rp, nlast);
            }
        }
    }
#define KL_ACT_ALL(expr)                                                                                          \
    _Pragma("GCC unroll 16") for (int r = 0; r < R; r++) _Pragma("GCC unroll 4") for (int v = 0; v < NVX; v++) { \
        vf y = acc[r][v];                                                                                         \
        acc[r][v] = (expr);                                                                                       \
    }
    if (last) {
        if (act == KL_RELU) KL_ACT_ALL(F(vmax)(y, F(splat)(0.0f)))
        else if (act == KL_RELU6) KL_ACT_ALL(F(vmin)(F(vmax)(y, F(splat)(0.0f)), F(splat)(6.0f)))
    }
#undef KL_ACT_ALL
    _Pragma("GCC unroll 16") for (int r = 0; r < R; r++) {
        _Pragma("GCC unroll 4") for (int v = 0; v < NVX; v++) {
            float *cp = c + r * ldc + v * VW;
            if (v < NVX - 1 || nlast == VW) F(st)(cp, acc[r][v]);
            else F(stn)(cp, acc[r][v], nlast);
        }
    }
    /* other activations on the stored rows, still in L1 (inlining them into every tile shape bloats the build) */
    if (last && act != KL_LINEAR && act != KL_RELU && act != KL_RELU6)
        for (int r = 0; r < R; r++) F(activate_row)(c + r * ldc, (NVX - 1) * VW + nlast, act);
}

/* The micro-tile: R rows of A (row stride lda) times the first NVX vectors of one packed panel, over kc. */
static inline __attribute__((always_inline)) void F(micro)(
        const int R, const int NVX, int64_t kc, const float *a, int64_t lda, const float *bp, float *c,
        int64_t ldc, int nlast, int accum, int last, const float *bias, const float *res, int64_t ldres, int act) {
    vf acc[MR][NV];
    _Pragma("GCC unroll 16") for (int r = 0; r < R; r++)
        _Pragma("GCC unroll 4") for (int v = 0; v < NVX; v++) acc[r][v] = F(splat)(0.0f);
    for (int64_t k = 0; k < kc; k++) {
        vf b[NV];
        /* the weights stream from memory in the layers bound by them: ask for them well ahead */
        _Pragma("GCC unroll 4") for (int q = 0; q < NR * 4; q += 64)
            __builtin_prefetch((const char *)(bp + (k + PF) * NR) + q);
        _Pragma("GCC unroll 4") for (int v = 0; v < NVX; v++) b[v] = F(ld)(bp + k * NR + v * VW);
        _Pragma("GCC unroll 16") for (int r = 0; r < R; r++) {
            float s = a[r * lda + k];
            _Pragma("GCC unroll 4") for (int v = 0; v < NVX; v++) acc[r][v] += s * b[v];
        }
    }
    F(store_tile)(R, NVX, acc, c, ldc, nlast, accum, last, bias, res, ldres, act);
}

/* One row: four accumulator sets over k (a single chain would wait on the FMA latency); weight-bound (M = 1). */
static inline __attribute__((always_inline)) void F(micro_row)(
        const int NVX, int64_t kc, const float *a, const float *bp, float *c, int nlast, int accum, int last,
        const float *bias, const float *res, int act) {
    vf acc[MR][NV], part[4][NV];
    for (int u = 0; u < 4; u++)
        for (int v = 0; v < NV; v++) part[u][v] = F(splat)(0.0f);
    int64_t k = 0;
    for (; k + 4 <= kc; k += 4) {
        _Pragma("GCC unroll 4") for (int u = 0; u < 4; u++) {
            _Pragma("GCC unroll 4") for (int q = 0; q < NR * 4; q += 64)
                __builtin_prefetch((const char *)(bp + (k + u + PF) * NR) + q);
            float s = a[k + u];
            _Pragma("GCC unroll 4") for (int v = 0; v < NVX; v++) part[u][v] += s * F(ld)(bp + (k + u) * NR + v * VW);
        }
    }
    for (; k < kc; k++) {
        float s = a[k];
        _Pragma("GCC unroll 4") for (int v = 0; v < NVX; v++) part[0][v] += s * F(ld)(bp + k * NR + v * VW);
    }
    _Pragma("GCC unroll 4") for (int v = 0; v < NVX; v++)
        acc[0][v] = (part[0][v] + part[1][v]) + (part[2][v] + part[3][v]);
    F(store_tile)(1, NVX, acc, c, 0, nlast, accum, last, bias, res, 0, act);
}

typedef void (*F(micro_fn))(int64_t, const float *, int64_t, const float *, float *, int64_t, int, int, int,
                             const float *, const float *, int64_t, int);
#define MICRO_DEF(R, X)                                                                                         \
    static void F(micro_##R##_##X)(int64_t kc, const float *a, int64_t lda, const float *bp, float *c,           \
                                   int64_t ldc, int nlast, int accum, int last, const float *bias,               \
                                   const float *res, int64_t ldres, int act) {                                   \
        if (R == 1) { (void)lda; (void)ldc; (void)ldres;                                                        \
                      F(micro_row)(X, kc, a, bp, c, nlast, accum, last, bias, res, act); }                      \
        else F(micro)(R, X, kc, a, lda, bp, c, ldc, nlast, accum, last, bias, res, ldres, act);                  \
    }
#if MR == 6
#define MICRO_ROWS(X) MICRO_DEF(1, X) MICRO_DEF(2, X) MICRO_DEF(3, X) MICRO_DEF(4, X) MICRO_DEF(5, X) MICRO_DEF(6, X)
#define MICRO_ROW_LIST(X) {0, F(micro_1_##X), F(micro_2_##X), F(micro_3_##X), F(micro_4_##X), F(micro_5_##X), \
                           F(micro_6_##X)}
#elif MR == 8
#define MICRO_ROWS(X) MICRO_DEF(1, X) MICRO_DEF(2, X) MICRO_DEF(3, X) MICRO_DEF(4, X) MICRO_DEF(5, X) MICRO_DEF(6, X) \
                      MICRO_DEF(7, X) MICRO_DEF(8, X)
#define MICRO_ROW_LIST(X) {0, F(micro_1_##X), F(micro_2_##X), F(micro_3_##X), F(micro_4_##X), F(micro_5_##X), \
                           F(micro_6_##X), F(micro_7_##X), F(micro_8_##X)}
#elif MR == 12
#define MICRO_ROWS(X) MICRO_DEF(1, X) MICRO_DEF(2, X) MICRO_DEF(3, X) MICRO_DEF(4, X) MICRO_DEF(5, X) MICRO_DEF(6, X) \
                      MICRO_DEF(7, X) MICRO_DEF(8, X) MICRO_DEF(9, X) MICRO_DEF(10, X) MICRO_DEF(11, X) MICRO_DEF(12, X)
#define MICRO_ROW_LIST(X) {0, F(micro_1_##X), F(micro_2_##X), F(micro_3_##X), F(micro_4_##X), F(micro_5_##X), \
                           F(micro_6_##X), F(micro_7_##X), F(micro_8_##X), F(micro_9_##X), F(micro_10_##X),     \
                           F(micro_11_##X), F(micro_12_##X)}
#else
#error "MR must be 6, 8 or 12"
#endif
#if NV == 2
MICRO_ROWS(1) MICRO_ROWS(2)
static const F(micro_fn) F(MICROS)[NV + 1][MR + 1] = {{0}, MICRO_ROW_LIST(1), MICRO_ROW_LIST(2)};
#elif NV == 4
MICRO_ROWS(1) MICRO_ROWS(2) MICRO_ROWS(3) MICRO_ROWS(4)
static const F(micro_fn) F(MICROS)[NV + 1][MR + 1] = {{0}, MICRO_ROW_LIST(1), MICRO_ROW_LIST(2), MICRO_ROW_LIST(3),
                                                      MICRO_ROW_LIST(4)};
#else
#error "NV must be 2 or 4"
#endif

/* The VW x VW tile in r (row i in r[i]) transposed in place: four rounds of in-register shuffles on AVX-512 and
 * AVX2, through memory on other ISAs. */
static inline void F(transpose)(vf r[VW]) {
#if defined(KL_TARGET_AVX512) && VW == 16
    __m512 t[16], u[16];
    for (int i = 0; i < 8; i++) {  /* pairs of rows interleaved within each 128-bit lane */
        t[2 * i] = _mm512_unpacklo_ps((__m512)r[2 * i], (__m512)r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps((__m512)r[2 * i], (__m512)r[2 * i + 1]);
    }
    for (int g = 0; g < 4; g++) {  /* u[4g + c], lane L: column 4L + c of rows 4g..4g+3 */
        u[4 * g] = _mm512_shuffle_ps(t[4 * g], t[4 * g + 2], 0x44);
        u[4 * g + 1] = _mm512_shuffle_ps(t[4 * g], t[4 * g + 2], 0xEE);
        u[4 * g + 2] = _mm512_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0x44);
        u[4 * g + 3] = _mm512_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0xEE);
    }
    for (int c = 0; c < 4; c++) {  /* column 4L + c gathers lane L of u[c], u[4 + c], u[8 + c], u[12 + c] */
        __m512 lo = _mm512_shuffle_f32x4(u[c], u[4 + c], 0x44), hi = _mm512_shuffle_f32x4(u[c], u[4 + c], 0xEE);
        __m512 lo2 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0x44);
        __m512 hi2 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0xEE);
        r[c] = (vf)_mm512_shuffle_f32x4(lo, lo2, 0x88);
        r[4 + c] = (vf)_mm512_shuffle_f32x4(lo, lo2, 0xDD);
        r[8 + c] = (vf)_mm512_shuffle_f32x4(hi, hi2, 0x88);
        r[12 + c] = (vf)_mm512_shuffle_f32x4(hi, hi2, 0xDD);
    }
#elif defined(KL_TARGET_AVX2) && VW == 8
    __m256 t[8], u[8];
    for (int i = 0; i < 4; i++) {
        t[2 * i] = _mm256_unpacklo_ps((__m256)r[2 * i], (__m256)r[2 * i + 1]);
        t[2 * i + 1] = _mm256_unpackhi_ps((__m256)r[2 * i], (__m256)r[2 * i + 1]);
    }
    for (int g = 0; g < 2; g++) {
        u[4 * g] = _mm256_shuffle_ps(t[4 * g], t[4 * g + 2], 0x44);
        u[4 * g + 1] = _mm256_shuffle_ps(t[4 * g], t[4 * g + 2], 0xEE);
        u[4 * g + 2] = _mm256_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0x44);
        u[4 * g + 3] = _mm256_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0xEE);
    }
    for (int c = 0; c < 4; c++) {
        r[c] = (vf)_mm256_permute2f128_ps(u[c], u[4 + c], 0x20);
        r[4 + c] = (vf)_mm256_permute2f128_ps(u[c], u[4 + c], 0x31);
    }
#else
    float m[VW][VW];
    for (int i = 0; i < VW; i++) F(st)(m[i], r[i]);
    for (int i = 0; i < VW; i++)
        for (int j = 0; j < i; j++) {
            float s = m[i][j];
            m[i][j] = m[j][i];
            m[j][i] = s;
        }
    for (int i = 0; i < VW; i++) r[i] = F(ld)(m[i]);
#endif
}

/* dst[i * ds + j] = src[j * ss + i] for i < rows, j < cols, and 0 for cols <= j < width: a transposing copy in
 * VW x VW tiles, each reading one vector from each of VW source rows, so every cache line read is used at once.
 * Packs transposed weights (pack_t) and gathers a transposed A (gather). */
static void F(transpose_copy)(const float *src, int64_t ss, float *dst, int64_t ds, int64_t rows, int64_t cols,
                              int64_t width) {
    for (int64_t i0 = 0; i0 < rows; i0 += VW) {
        const int64_t ni = rows - i0 < VW ? rows - i0 : VW;
        for (int64_t j0 = 0; j0 < width; j0 += VW) {
            const int64_t wj = width - j0 < VW ? width - j0 : VW;
            vf r[VW];
            for (int64_t t = 0; t < VW; t++) {
                const float *p = src + (j0 + t) * ss + i0;
                r[t] = j0 + t >= cols ? F(splat)(0.0f) : ni == VW ? F(ld)(p) : F(ldn)(p, ni);
            }
            F(transpose)(r);
            for (int64_t t = 0; t < ni; t++) {
                if (wj == VW) F(st)(dst + (i0 + t) * ds + j0, r[t]);
                else F(stn)(dst + (i0 + t) * ds + j0, r[t], wj);
            }
        }
    }
}

/* kl_pack_slab for weights whose K rows are contiguous and columns sn floats apart (W.T of a row-major W). */
static void F(pack_t)(const float *b, int64_t sn, int64_t k0, int64_t kc, int64_t col0, int64_t ncols, float *dst) {
    F(transpose_copy)(b + k0 + col0 * sn, sn, dst, NR, kc, ncols, NR);
}

/* Whether some of the values v * stride + k * step - pad for v in [lo, hi] fall in [0, n). */
static inline int F(hits)(int64_t lo, int64_t hi, int64_t stride, int64_t off, int64_t n) {
    /* v * stride + off in [0, n)  <=>  v in [ceil(-off / stride), floor((n - 1 - off) / stride)] */
    int64_t a = -off, b = n - 1 - off;
    int64_t vmin = a <= 0 ? 0 : (a + stride - 1) / stride, vmax = b < 0 ? -1 : b / stride;
    if (vmin < lo) vmin = lo;
    if (vmax > hi) vmax = hi;
    return vmin <= vmax;
}

/* live[b] = 1 unless K block b reads only padding for rows [m0, m0+mc) (a 3x3 'same' convolution over a 1x1 map
 * reads 1 tap of 9; the others would multiply zeros). A tap is dead when its kernel row misses the input for
 * every output row the block covers, or its kernel column for every output column. Sets *first and *last to the
 * first and last live block (block 0 when none is, so the epilogue still runs). */
static void F(live_blocks)(const kl_conv *g, int64_t m0, int64_t mc, int64_t nblocks, uint8_t *live, int64_t *first,
                           int64_t *last) {
    const int64_t hw = g->oh * g->ow, e = m0 + mc - 1;
    int64_t b0 = m0 / hw, oy0 = m0 % hw / g->ow, ox0 = m0 % g->ow, b1 = e / hw, oy1 = e % hw / g->ow, ox1 = e % g->ow;
    int64_t ylo = b1 > b0 ? 0 : oy0, yhi = b1 > b0 ? g->oh - 1 : oy1;
    int64_t xlo = b1 > b0 || oy1 > oy0 ? 0 : ox0, xhi = b1 > b0 || oy1 > oy0 ? g->ow - 1 : ox1;
    *first = -1;
    *last = 0;
    for (int64_t blk = 0; blk < nblocks; blk++) {
        int64_t t0, t1, c0, c1;
        kl_kblock(g, blk, &t0, &t1, &c0, &c1);
        live[blk] = 0;
        for (int64_t t = t0; t < t1 && !live[blk]; t++) {
            int64_t i = t / g->kw, j = t % g->kw;
            live[blk] = F(hits)(ylo, yhi, g->sh, i * g->dh - g->pt, g->h)
                        && F(hits)(xlo, xhi, g->sw, j * g->dw - g->pl, g->w);
        }
        if (live[blk]) {
            if (*first < 0) *first = blk;
            *last = blk;
        }
    }
    if (*first < 0) {
        live[0] = 1;
        *first = *last = 0;
    }
}

/* gather (below) into rows of buf ld floats apart, ld >= (t1-t0)*(c1-c0) */
static void F(gather_ld)(const kl_conv *g, int64_t grp, int64_t m0, int64_t rows, int64_t t0, int64_t t1, int64_t c0,
                         int64_t c1, float *buf, int64_t ld) {
    if (g->trans) {  /* a GEMM on A^T (K, M): columns [m0, m0+rows) x rows [c0, c1), transposed */
        F(transpose_copy)(g->x + c0 * g->cstride + m0, g->cstride, buf, ld, rows, c1 - c0, c1 - c0);
        (void)grp; (void)t0; (void)t1;
        return;
    }
    const int64_t hw = g->oh * g->ow, len = c1 - c0, kw = g->kw;
    const int runs = len == g->cstride && g->dw == 1;
    const int64_t i_first = t0 / kw, j_first = t0 % kw;
    const int whole = runs && t0 == 0 && t1 == g->kh * kw;  /* the block holds every tap, all channels */
    int64_t b = m0 / hw, rem = m0 % hw, oy = rem / g->ow, ox = rem % g->ow;
    const float *xg = g->x + grp * g->cin + c0;
    const float *pre_s = g->pre_scale ? g->pre_scale + grp * g->cin + c0 : NULL;
    const float *pre_t = g->pre_shift ? g->pre_shift + grp * g->cin + c0 : NULL;
    for (int64_t r = 0; r < rows; r++) {
        float *dst = buf + r * ld;
        const float *xb = xg + b * g->h * g->w * g->cstride;
        int64_t iy0 = oy * g->sh - g->pt, ix0 = ox * g->sw - g->pl;
        if (whole && iy0 >= 0 && iy0 + (g->kh - 1) * g->dh < g->h && ix0 >= 0 && ix0 + kw - 1 < g->w) {
            /* every tap inside (most rows): one run per kernel row, no bounds to check */
            for (int64_t i = 0; i < g->kh; i++) {
                float *d = dst + i * kw * len;
                F(copyn)(d, xb + ((iy0 + i * g->dh) * g->w + ix0) * g->cstride, kw * len);
                if (g->pre)
                    for (int64_t px = 0; px < kw; px++) F(prologue)(d + px * len, len, pre_s, pre_t, g->pre_act);
            }
            if (++ox == g->ow) { ox = 0; if (++oy == g->oh) { oy = 0; b++; } }
            continue;
        }
        int64_t t = t0, i = i_first, ja = j_first;
        while (t < t1) {
            int64_t jb = kw < ja + (t1 - t) ? kw : ja + (t1 - t);
            int64_t iy = iy0 + i * g->dh;
            if ((uint64_t)iy >= (uint64_t)g->h) {
                F(zeron)(dst, (jb - ja) * len);
            } else if (runs) {
                int64_t lo = ja, hi = jb;  /* taps j in [lo, hi) read inside the row */
                if (ix0 + lo < 0) lo = -ix0 < hi ? -ix0 : hi;
                if (ix0 + hi > g->w) hi = g->w - ix0 > lo ? g->w - ix0 : lo;
                if (lo > ja) F(zeron)(dst, (lo - ja) * len);
                if (hi > lo) {
                    float *d = dst + (lo - ja) * len;
                    F(copyn)(d, xb + (iy * g->w + ix0 + lo) * g->cstride, (hi - lo) * len);
                    if (g->pre)
                        for (int64_t px = 0; px < hi - lo; px++)
                            F(prologue)(d + px * len, len, pre_s, pre_t, g->pre_act);
                }
                if (jb > hi) F(zeron)(dst + (hi - ja) * len, (jb - hi) * len);
            } else {
                for (int64_t j = ja; j < jb; j++) {
                    float *d = dst + (j - ja) * len;
                    int64_t ix = ix0 + j * g->dw;
                    if ((uint64_t)ix < (uint64_t)g->w) {
                        const float *src = xb + (iy * g->w + ix) * g->cstride;
                        F(copyn)(d, src, len);
                        if (g->pre) F(prologue)(d, len, pre_s, pre_t, g->pre_act);
                    } else {
                        F(zeron)(d, len);
                    }
                }
            }
            dst += (jb - ja) * len;
            t += jb - ja;
            i++;
            ja = 0;
        }
        if (++ox == g->ow) { ox = 0; if (++oy == g->oh) { oy = 0; b++; } }
    }
}

/* Rows [m0, m0+rows) of the implicit im2col matrix of group grp, taps [t0, t1) x channels [c0, c1), into buf
 * (row stride (t1-t0)*(c1-c0)); pixels outside the input are zeros. With every channel and dw == 1, the taps of
 * one kernel row are one contiguous run of the input row, copied at once. Each row's last vector store may run up
 * to VW - 1 floats past its end: into the next row, written after it, or the caller's slack. */
static void F(gather)(const kl_conv *g, int64_t grp, int64_t m0, int64_t rows, int64_t t0, int64_t t1, int64_t c0,
                      int64_t c1, float *buf) {
    F(gather_ld)(g, grp, m0, rows, t0, t1, c0, c1, buf, (t1 - t0) * (c1 - c0));
}

/* Rows [m0, m0+rows) of g's whole im2col matrix (group 0) into dst, rows kl_ag_ld(g) floats apart. */
static void F(gather_rows)(const kl_conv *g, int64_t m0, int64_t rows, float *dst) {
    F(gather_ld)(g, 0, m0, rows, 0, g->kh * g->kw, 0, g->cin, dst, kl_ag_ld(g));
}

/* Row blocks (tasks along the output pixels) for a call on `threads` threads: as few as keep each block within MC
 * rows and, when there are more than one, a multiple of the threads, so that every thread takes as many rows (a
 * remainder block left one thread idle for its length: 7 blocks of training's 784-row weight gradient on 2 threads
 * ran as 4 + 3). One block stays one block: with few rows the panels are split instead (kl_panel_chunks). */
static int64_t F(conv_mblocks)(const kl_conv *g, int threads) {
    const int64_t m = g->n * g->oh * g->ow, tiles = (m + MR - 1) / MR;
    int64_t nm = (m + MC - 1) / MC;
    if (threads > 1 && nm > 1) {
        nm = (nm + threads - 1) / threads * threads;
        if (nm > tiles) nm = tiles;
    }
    return nm;
}

/* Rows [*m0, *m0 + *mc) of row block mb of nm: the micro-tiles shared out evenly (blocks differ by one tile at most,
 * every block but the last a whole number of tiles), so the rows a tile holds do not depend on nm's rounding. */
static inline void F(row_block)(int64_t m, int64_t nm, int64_t mb, int64_t *m0, int64_t *mc) {
    const int64_t tiles = (m + MR - 1) / MR, a = mb * tiles / nm * MR, b = (mb + 1) * tiles / nm * MR;
    *m0 = a;
    *mc = (b < m ? b : m) - a;
}

/* The packed weights of K rows [k0, k0+kc) of panel p: in place, or with unpacked weights (g->braw) that slab
 * packed now into bslab (KC x NR floats of the task's scratch, after the A block). */
static inline const float *F(weights)(const kl_conv *g, const float *bpg, int64_t p, int64_t k0, int64_t kc,
                                      int ncols, float *bslab) {
    if (!g->braw) return bpg + (p * g->k + k0) * NR;
    kl_pack_slab(g->braw, g->bsk, g->bsn, k0, kc, p * NR, ncols, NR, bslab);
    return bslab;
}

/* The micro-tiles of rows [0, mc) x panel p for one K block (A at a, row stride lda). */
static inline void F(panel_block)(const kl_conv *g, const float *a, int64_t lda, const float *bpp, int64_t m0,
                                  int64_t mc, int64_t col, int ncols, int64_t kc, int accum, int last) {
    int nvx = (ncols + VW - 1) / VW, nlast = ncols - (nvx - 1) * VW;
    const float *bias = g->bias ? g->bias + col : NULL;
    for (int64_t i = 0; i < mc; i += MR) {
        int rows = mc - i < MR ? (int)(mc - i) : MR;
        const float *res = g->res ? g->res + (m0 + i) * g->ldres + col : NULL;
        F(MICROS)[nvx][rows](kc, a + i * lda, lda, bpp, g->y + (m0 + i) * g->ldy + col, g->ldy, nlast, accum, last,
                             bias, res, g->ldres, g->act);
    }
}

/* Task (grp, m-block, panel chunk) of a convolution: every K block of row block mb (row_block) for panels of the
 * chunk.
 * tasks run over groups x nm (m-blocks) x np (panel chunks). scratch holds SCRATCH floats.
 *
 * When the block's whole A fits in cache (few rows: small batches, late layers) it is gathered once and the panels
 * go outermost, so the packed weights stream through once, front to back (those layers are bound by reading
 * them); otherwise the K blocks go outermost, so an A block is reused by every panel while it sits in L2. */
static void F(conv_task)(const kl_conv *g, int64_t task, int64_t nm, int64_t np, float *scratch) {
    const int64_t m = g->n * g->oh * g->ow, panels = (g->nout + NR - 1) / NR;
    int64_t grp = task / (nm * np), rest = task % (nm * np), mb = rest / np, pc = rest % np;
    int64_t m0, mc;
    F(row_block)(m, nm, mb, &m0, &mc);
    int64_t per = (panels + np - 1) / np, p0 = pc * per, p1 = p0 + per < panels ? p0 + per : panels;
    if (p0 >= p1 || mc <= 0) return;
    const int direct = kl_is_direct(g) || g->ag;
    const float *ax = g->ag ? g->ag : g->x;  /* A read in place: the input, or the im2col gathered once */
    const int64_t ldx = g->ag ? kl_ag_ld(g) : g->cstride, xoff = g->ag ? 0 : grp * g->cin;
    const float *bpg = g->braw ? NULL : g->bp + grp * panels * g->k * NR;
    float *bslab = g->braw ? scratch + SCRATCH : NULL;  /* conv_execute sized the scratch for it */
    const int64_t nblocks = kl_kblocks(g);
    uint8_t stack_live[256], *live = nblocks <= 256 ? stack_live : (uint8_t *)malloc((size_t)nblocks);
    int64_t first = 0, last = nblocks - 1;
    const int all = live == NULL;  /* no memory for the mask: every block */
    if (!all) F(live_blocks)(g, m0, mc, nblocks, live, &first, &last);
#define LIVE(b) (all || live[b])
    if (mc * g->k <= WHOLE_A) {
        if (!direct) {
            float *dst = scratch;
            for (int64_t blk = 0; blk < nblocks; blk++) {
                int64_t t0, t1, c0, c1;
                if (!LIVE(blk)) continue;
                kl_kblock(g, blk, &t0, &t1, &c0, &c1);
                F(gather)(g, grp, m0, mc, t0, t1, c0, c1, dst);
                dst += mc * (t1 - t0) * (c1 - c0);
            }
        }
        for (int64_t p = p0; p < p1; p++) {
            int ncols = g->nout - p * NR < NR ? (int)(g->nout - p * NR) : NR;
            const float *a = scratch;
            for (int64_t blk = 0; blk < nblocks; blk++) {
                int64_t t0, t1, c0, c1;
                if (!LIVE(blk)) continue;
                kl_kblock(g, blk, &t0, &t1, &c0, &c1);
                int64_t k0 = t0 * g->cin + c0, kc = (t1 - t0) * (c1 - c0);
                const float *ab = direct ? ax + m0 * ldx + xoff + k0 : a;
                F(panel_block)(g, ab, direct ? ldx : kc, F(weights)(g, bpg, p, k0, kc, ncols, bslab), m0,
                               mc, grp * g->nout + p * NR, ncols, kc, blk > first || g->accumulate, blk == last);
                a += mc * kc;
            }
        }
    } else {
        for (int64_t blk = 0; blk < nblocks; blk++) {
            int64_t t0, t1, c0, c1;
            if (!LIVE(blk)) continue;
            kl_kblock(g, blk, &t0, &t1, &c0, &c1);
            int64_t k0 = t0 * g->cin + c0, kc = (t1 - t0) * (c1 - c0);
            const float *a;
            int64_t lda;
            if (direct) {
                a = ax + m0 * ldx + xoff + k0;
                lda = ldx;
            } else {
                F(gather)(g, grp, m0, mc, t0, t1, c0, c1, scratch);
                a = scratch;
                lda = kc;
            }
            for (int64_t p = p0; p < p1; p++) {
                int ncols = g->nout - p * NR < NR ? (int)(g->nout - p * NR) : NR;
                F(panel_block)(g, a, lda, F(weights)(g, bpg, p, k0, kc, ncols, bslab), m0, mc, grp * g->nout + p * NR,
                               ncols, kc, blk > first || g->accumulate, blk == last);
            }
        }
    }
#undef LIVE
    if (live && live != stack_live) free(live);
}

/* A convolution whose weights are too large for L2 over many rows (VGG- and ResNet-style late layers at batch 8),
 * on one thread (see module.c): task p takes panel chunk p (one group only) and walks K blocks outermost, rows
 * inside, so
 * each K block of its weights stays in L2 while every row block passes over it, and the weights are read from
 * memory once (the row-outer order reads them once per row block). The accumulating C tiles of the chunk stay in
 * L2 meanwhile; each A block is gathered once per task. */
static void F(conv_task_wide)(const kl_conv *g, int64_t task, int64_t np, float *scratch) {
    const int64_t m = g->n * g->oh * g->ow, panels = (g->nout + NR - 1) / NR;
    int64_t per = (panels + np - 1) / np, p0 = task * per, p1 = p0 + per < panels ? p0 + per : panels;
    if (p0 >= p1) return;
    const int direct = kl_is_direct(g);
    const int64_t nblocks = kl_kblocks(g);
    for (int64_t blk = 0; blk < nblocks; blk++) {
        int64_t t0, t1, c0, c1;
        kl_kblock(g, blk, &t0, &t1, &c0, &c1);
        int64_t k0 = t0 * g->cin + c0, kc = (t1 - t0) * (c1 - c0);
        for (int64_t m0 = 0; m0 < m; m0 += MC) {
            int64_t mc = m - m0 < MC ? m - m0 : MC, first = 0, last = nblocks - 1;
            if (nblocks <= 256) {  /* skip the K blocks wholly in the padding, as conv_task does */
                uint8_t live[256];
                F(live_blocks)(g, m0, mc, nblocks, live, &first, &last);
                if (!live[blk]) continue;
            }
            const float *a = scratch;
            int64_t lda = kc;
            if (direct) {
                a = g->x + m0 * g->cstride + k0;
                lda = g->cstride;
            } else {
                F(gather)(g, 0, m0, mc, t0, t1, c0, c1, scratch);
            }
            for (int64_t p = p0; p < p1; p++) {
                int ncols = g->nout - p * NR < NR ? (int)(g->nout - p * NR) : NR;
                F(panel_block)(g, a, lda, g->bp + (p * g->k + k0) * NR, m0, mc, p * NR, ncols, kc,
                               blk > first || g->accumulate, blk == last);
            }
        }
    }
}
