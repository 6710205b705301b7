/* The kernels, written once over a vector width: included by isa_*.c with VW (floats per vector), NV (vectors per
 * packed panel), MR (rows per micro-tile) and SUFFIX set, and compiled for that ISA.
 *
 * GEMM: C = A @ B with B packed once at load time into panels of NR = VW*NV columns (panel p holds B[:, p*NR:]
 * as K rows of NR floats, zero-filled past the last column), so no call re-packs the weights. A is read in place
 * when it is a plain matrix (Dense, 1x1 convolutions) or gathered block by block from the input image (other
 * convolutions: implicit im2col, padding written as zeros), never materialised whole. The epilogue (bias, a
 * residual operand, the activation) runs on the accumulators before the single store.
 */
#include <math.h>
#include <string.h>

#define KL_CAT2(a, b) a##_##b
#define KL_CAT(a, b) KL_CAT2(a, b)
#define KL_STR2(a) #a
#define KL_STR(a) KL_STR2(a)
#define F(name) KL_CAT(name, SUFFIX)
#define NR (VW * NV)
#define KC 256
#define MC (MR * 16)
#ifndef PF
#define PF 16  /* k rows of weights prefetched ahead */
#endif
#define WHOLE_A (128 * 1024)  /* floats of A kept whole in cache (512 KiB) */
#define SCRATCH ((WHOLE_A > MC * KC ? WHOLE_A : MC * KC) + 2 * VW)  /* + slack for copyn */

typedef float F(vf) __attribute__((vector_size(VW * 4), aligned(4)));
typedef int32_t F(vi) __attribute__((vector_size(VW * 4), aligned(4)));
#define vf F(vf)
#define vi F(vi)

static inline vf F(ld)(const float *p) { vf v; memcpy(&v, p, sizeof v); return v; }
static inline void F(st)(float *p, vf v) { memcpy(p, &v, sizeof v); }
static inline vf F(splat)(float s) { return (vf){0} + s; }
/* The first n (< VW) lanes, the rest zero / left untouched: masked moves where the ISA has them (they never touch
 * memory past p + n), else through a small buffer. */
static inline vf F(ldn)(const float *p, int64_t n) {
#ifdef KL_LOADN
    return KL_LOADN(p, n);
#else
    float t[VW] = {0};
    memcpy(t, p, (size_t)n * sizeof(float));
    return F(ld)(t);
#endif
}
static inline void F(stn)(float *p, vf v, int64_t n) {
#ifdef KL_STOREN
    KL_STOREN(p, v, n);
#else
    float t[VW];
    F(st)(t, v);
    memcpy(p, t, (size_t)n * sizeof(float));
#endif
}
static inline vf F(vmax)(vf a, vf b) { vi m = a > b; return (vf)(((vi)a & m) | ((vi)b & ~m)); }
static inline vf F(vmin)(vf a, vf b) { vi m = a < b; return (vf)(((vi)a & m) | ((vi)b & ~m)); }

/* tanh by a clamped odd rational function (|error| < 4e-7 in float32), the same as the Numba kernels. */
#define TANH_BODY(T, CLAMP_LO, CLAMP_HI)                                                                   \
    T x2 = v * v;                                                                                          \
    T p = x2 * -2.76076847742355e-16f + 2.00018790482477e-13f;                                             \
    p = p * x2 + -8.60467152213735e-11f;                                                                   \
    p = p * x2 + 5.12229709037114e-08f;                                                                    \
    p = p * x2 + 1.48572235717979e-05f;                                                                    \
    p = p * x2 + 6.37261928875436e-04f;                                                                    \
    p = p * x2 + 4.89352455891786e-03f;                                                                    \
    T q = x2 * 1.19825839466702e-06f + 1.18534705686654e-04f;                                              \
    q = q * x2 + 2.26843463243900e-03f;                                                                    \
    q = q * x2 + 4.89352518554385e-03f;                                                                    \
    return v * p / q;

static inline vf F(vtanh)(vf v) {
    v = F(vmin)(F(vmax)(v, F(splat)(-7.90531110763549805f)), F(splat)(7.90531110763549805f));
    TANH_BODY(vf, , )
}
static inline float F(stanh)(float v) {
    v = v < -7.90531110763549805f ? -7.90531110763549805f : (v > 7.90531110763549805f ? 7.90531110763549805f : v);
    TANH_BODY(float, , )
}

static inline vf F(vact)(vf y, int act) {
    switch (act) {
    case KL_RELU: return F(vmax)(y, F(splat)(0.0f));
    case KL_RELU6: return F(vmin)(F(vmax)(y, F(splat)(0.0f)), F(splat)(6.0f));
    case KL_TANH: return F(vtanh)(y);
    case KL_SIGMOID: return F(vtanh)(y * 0.5f) * 0.5f + 0.5f;
    case KL_HARD_SIGMOID: return F(vmin)(F(vmax)(y + 3.0f, F(splat)(0.0f)), F(splat)(6.0f)) * (1.0f / 6.0f);
    case KL_HARD_SIGMOID_K2: return F(vmin)(F(vmax)(y * 0.2f + 0.5f, F(splat)(0.0f)), F(splat)(1.0f));
    case KL_SWISH: return y * (F(vtanh)(y * 0.5f) * 0.5f + 0.5f);
    case KL_HARD_SWISH: return y * (F(vmin)(F(vmax)(y + 3.0f, F(splat)(0.0f)), F(splat)(6.0f)) * (1.0f / 6.0f));
    case KL_SOFTSIGN: return y / ((vf)((vi)y & 0x7fffffff) + 1.0f);
    default: return y;
    }
}

/* vact out of line, for the rarely taken paths that would otherwise inline all of it at every use */
static __attribute__((noinline)) vf F(vact_call)(vf y, int act) { return F(vact)(y, act); }

static inline float F(sact)(float y, int act) {
    float t;
    switch (act) {
    case KL_RELU: return y > 0.0f ? y : 0.0f;
    case KL_RELU6: return y > 0.0f ? (y < 6.0f ? y : 6.0f) : 0.0f;
    case KL_TANH: return F(stanh)(y);
    case KL_SIGMOID: return F(stanh)(y * 0.5f) * 0.5f + 0.5f;
    case KL_HARD_SIGMOID: t = y + 3.0f; t = t > 0.0f ? (t < 6.0f ? t : 6.0f) : 0.0f; return t * (1.0f / 6.0f);
    case KL_HARD_SIGMOID_K2: t = y * 0.2f + 0.5f; return t > 0.0f ? (t < 1.0f ? t : 1.0f) : 0.0f;
    case KL_SWISH: return y * (F(stanh)(y * 0.5f) * 0.5f + 0.5f);
    case KL_HARD_SWISH: t = y + 3.0f; t = t > 0.0f ? (t < 6.0f ? t : 6.0f) : 0.0f; return y * t * (1.0f / 6.0f);
    case KL_SOFTSIGN: return y / (fabsf(y) + 1.0f);
    default: return y;
    }
}

/* y[0:n] = act(y[0:n]) in place. */
static void F(activate)(float *y, int64_t n, int act) {
    if (act == KL_LINEAR) return;
    int64_t i = 0;
    for (; i + VW <= n; i += VW) F(st)(y + i, F(vact)(F(ld)(y + i), act));
    for (; i < n; i++) y[i] = F(sact)(y[i], act);
}

static __attribute__((noinline)) void F(activate_row)(float *y, int64_t n, int act) { F(activate)(y, n, act); }

/* y (rows, f) += bias (f, or NULL), then act, in place. */
static void F(bias_act)(float *y, int64_t rows, int64_t f, const float *bias, int act) {
    for (int64_t r = 0; r < rows; r++) {
        float *row = y + r * f;
        int64_t j = 0;
        for (; j + VW <= f; j += VW) {
            vf v = F(ld)(row + j);
            if (bias) v += F(ld)(bias + j);
            F(st)(row + j, F(vact)(v, act));
        }
        for (; j < f; j++) row[j] = F(sact)(row[j] + (bias ? bias[j] : 0.0f), act);
    }
}

/* Short copies and fills into the gather buffer, inline (a memcpy call per tap costs more than the copy for a few
 * channels). The last vector is read masked (never past the source) but stored whole: the buffer is filled front
 * to back, so the lanes past n are overwritten by the next segment, and it has VW floats of slack at its end. */
static inline void F(copyn)(float *d, const float *s, int64_t n) {
    int64_t q = 0;
    for (; q + VW <= n; q += VW) F(st)(d + q, F(ld)(s + q));
    if (q < n) F(st)(d + q, F(ldn)(s + q, n - q));
}
static inline void F(zeron)(float *d, int64_t n) {
    for (int64_t q = 0; q < n; q += VW) F(st)(d + q, F(splat)(0.0f));
}

/* d[0:len] = act(d * scale + shift) in place, scale/shift per channel from c0 (NULL: 1 / 0). */
static void F(prologue)(float *d, int64_t len, const float *scale, const float *shift, int act) {
    int64_t q = 0;
    for (; q + VW <= len; q += VW) {
        vf v = F(ld)(d + q);
        if (scale) v *= F(ld)(scale + q);
        if (shift) v += F(ld)(shift + q);
        F(st)(d + q, F(vact)(v, act));
    }
    if (q < len) {
        int64_t n = len - q;
        vf v = F(ldn)(d + q, n);
        if (scale) v *= F(ldn)(scale + q, n);
        if (shift) v += F(ldn)(shift + q, n);
        F(stn)(d + q, F(vact)(v, act), n);
    }
}

/* y (rows, c) = act(x * scale + shift), scale/shift per channel (NULL: 1 / 0). */
static void F(affine)(const float *x, float *y, int64_t rows, int64_t c, const float *scale, const float *shift,
                      int act) {
    for (int64_t r = 0; r < rows; r++) {
        memcpy(y + r * c, x + r * c, (size_t)c * sizeof(float));
        F(prologue)(y + r * c, c, scale, shift, act);
    }
}

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
        _Pragma("GCC unroll 4") for (int q = 0; q < NR * 4; q += 64) __builtin_prefetch((const char *)(bp + (k + PF) * NR) + q);
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
    _Pragma("GCC unroll 4") for (int v = 0; v < NVX; v++) acc[0][v] = (part[0][v] + part[1][v]) + (part[2][v] + part[3][v]);
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

static int F(is_direct)(const kl_conv *g) {
    return !g->pre && g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->pt == 0 && g->pl == 0 && g->oh == g->h
           && g->ow == g->w;
}

/* K is walked in blocks of whole taps (taps [t0, t1), every channel) when a tap's channels fit in KC, else in
 * channel slices of one tap ([c0, c1) of tap t0); block b of the layer: */
static void F(kblock)(const kl_conv *g, int64_t b, int64_t *t0, int64_t *t1, int64_t *c0, int64_t *c1) {
    const int64_t c = g->cin, taps = g->kh * g->kw;
    if (c <= KC) {
        int64_t per = KC / c;
        *t0 = b * per; *t1 = *t0 + per < taps ? *t0 + per : taps; *c0 = 0; *c1 = c;
    } else {
        int64_t slices = (c + KC - 1) / KC;
        *t0 = b / slices; *t1 = *t0 + 1; *c0 = (b % slices) * KC; *c1 = *c0 + KC < c ? *c0 + KC : c;
    }
}

static int64_t F(kblocks)(const kl_conv *g) {
    const int64_t c = g->cin, taps = g->kh * g->kw;
    return c <= KC ? (taps + KC / c - 1) / (KC / c) : taps * ((c + KC - 1) / KC);
}

/* Rows [m0, m0+rows) of the implicit im2col matrix of group grp, taps [t0, t1) x channels [c0, c1), into buf
 * (row stride (t1-t0)*(c1-c0)); pixels outside the input are zeros. With every channel and dw == 1, the taps of
 * one kernel row are one contiguous run of the input row, copied at once. */
static void F(gather)(const kl_conv *g, int64_t grp, int64_t m0, int64_t rows, int64_t t0, int64_t t1, int64_t c0,
                      int64_t c1, float *buf) {
    const int64_t hw = g->oh * g->ow, len = c1 - c0, kc = (t1 - t0) * len, kw = g->kw;
    const int runs = len == g->cstride && g->dw == 1;
    const int64_t i_first = t0 / kw, j_first = t0 % kw;
    int64_t b = m0 / hw, rem = m0 % hw, oy = rem / g->ow, ox = rem % g->ow;
    const float *xg = g->x + grp * g->cin + c0;
    const float *pre_s = g->pre_scale ? g->pre_scale + grp * g->cin + c0 : NULL;
    const float *pre_t = g->pre_shift ? g->pre_shift + grp * g->cin + c0 : NULL;
    for (int64_t r = 0; r < rows; r++) {
        float *dst = buf + r * kc;
        const float *xb = xg + b * g->h * g->w * g->cstride;
        int64_t iy0 = oy * g->sh - g->pt, ix0 = ox * g->sw - g->pl;
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

static int64_t F(conv_mblocks)(const kl_conv *g) { return (g->n * g->oh * g->ow + MC - 1) / MC; }

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

/* Task (grp, m-block, panel chunk) of a convolution: every K block of rows [mb*MC, +MC) for panels of the chunk.
 * tasks run over groups x nm (m-blocks) x np (panel chunks). scratch holds SCRATCH floats.
 *
 * When the block's whole A fits in cache (few rows: small batches, late layers) it is gathered once and the panels
 * go outermost, so the packed weights stream through once, front to back (those layers are bound by reading
 * them); otherwise the K blocks go outermost, so an A block is reused by every panel while it sits in L2. */
static void F(conv_task)(const kl_conv *g, int64_t task, int64_t nm, int64_t np, float *scratch) {
    const int64_t m = g->n * g->oh * g->ow, panels = (g->nout + NR - 1) / NR;
    int64_t grp = task / (nm * np), rest = task % (nm * np), mb = rest / np, pc = rest % np;
    int64_t m0 = mb * MC, mc = m - m0 < MC ? m - m0 : MC;
    int64_t per = (panels + np - 1) / np, p0 = pc * per, p1 = p0 + per < panels ? p0 + per : panels;
    if (p0 >= p1 || mc <= 0) return;
    const int direct = F(is_direct)(g);
    const float *bpg = g->bp + grp * panels * g->k * NR;
    const int64_t nblocks = F(kblocks)(g);
    if (mc * g->k <= WHOLE_A) {
        if (!direct) {
            float *dst = scratch;
            for (int64_t blk = 0; blk < nblocks; blk++) {
                int64_t t0, t1, c0, c1;
                F(kblock)(g, blk, &t0, &t1, &c0, &c1);
                F(gather)(g, grp, m0, mc, t0, t1, c0, c1, dst);
                dst += mc * (t1 - t0) * (c1 - c0);
            }
        }
        for (int64_t p = p0; p < p1; p++) {
            int ncols = g->nout - p * NR < NR ? (int)(g->nout - p * NR) : NR;
            const float *a = scratch;
            for (int64_t blk = 0; blk < nblocks; blk++) {
                int64_t t0, t1, c0, c1;
                F(kblock)(g, blk, &t0, &t1, &c0, &c1);
                int64_t k0 = t0 * g->cin + c0, kc = (t1 - t0) * (c1 - c0);
                const float *ab = direct ? g->x + m0 * g->cstride + grp * g->cin + k0 : a;
                F(panel_block)(g, ab, direct ? g->cstride : kc, bpg + (p * g->k + k0) * NR, m0, mc,
                               grp * g->nout + p * NR, ncols, kc, blk > 0 || g->accumulate, blk == nblocks - 1);
                a += mc * kc;
            }
        }
        return;
    }
    for (int64_t blk = 0; blk < nblocks; blk++) {
        int64_t t0, t1, c0, c1;
        F(kblock)(g, blk, &t0, &t1, &c0, &c1);
        int64_t k0 = t0 * g->cin + c0, kc = (t1 - t0) * (c1 - c0);
        const float *a;
        int64_t lda;
        if (direct) {
            a = g->x + m0 * g->cstride + grp * g->cin + k0;
            lda = g->cstride;
        } else {
            F(gather)(g, grp, m0, mc, t0, t1, c0, c1, scratch);
            a = scratch;
            lda = kc;
        }
        for (int64_t p = p0; p < p1; p++) {
            int ncols = g->nout - p * NR < NR ? (int)(g->nout - p * NR) : NR;
            F(panel_block)(g, a, lda, bpg + (p * g->k + k0) * NR, m0, mc, grp * g->nout + p * NR, ncols, kc,
                           blk > 0 || g->accumulate, blk == nblocks - 1);
        }
    }
}

/* Channels [ch, ch+n) (n <= VW) of one pixel, through the prologue when there is one. */
static inline vf F(dw_in)(const kl_depthwise *d, const float *p, int64_t ch, int64_t n) {
    vf v = n == VW ? F(ld)(p) : F(ldn)(p, n);
    if (!d->pre) return v;
    if (d->pre_scale) v *= n == VW ? F(ld)(d->pre_scale + ch) : F(ldn)(d->pre_scale + ch, n);
    if (d->pre_shift) v += n == VW ? F(ld)(d->pre_shift + ch) : F(ldn)(d->pre_shift + ch, n);
    return F(vact)(v, d->pre_act);
}

static inline float F(dw_in1)(const kl_depthwise *d, float v, int64_t ch) {
    if (!d->pre) return v;
    return F(sact)(v * (d->pre_scale ? d->pre_scale[ch] : 1.0f) + (d->pre_shift ? d->pre_shift[ch] : 0.0f), d->pre_act);
}

/* One output pixel of a depthwise convolution for channels [ch, ch+n), taps clipped to the input. */
static inline vf F(dw_pixel)(const kl_depthwise *d, const float *xb, int64_t oy, int64_t ox, int64_t i0, int64_t i1,
                             int64_t ch, int64_t n, vf acc) {
    const int64_t cm = d->c, x0 = ox * d->sw - d->pl;
    for (int64_t i = i0; i < i1; i++) {
        const float *xr = xb + (oy * d->sh + i * d->dh - d->pt) * d->w * d->c;
        const float *kr = d->kernel + i * d->kw * cm;
        for (int64_t j = 0; j < d->kw; j++) {
            int64_t ix = x0 + j * d->dw;
            if (ix >= 0 && ix < d->w) {
                vf k = n == VW ? F(ld)(kr + j * cm + ch) : F(ldn)(kr + j * cm + ch, n);
                acc += F(dw_in)(d, xr + ix * d->c + ch, ch, n) * k;
            }
        }
    }
    return acc;
}

/* Interior output pixels [ox0, ox1) of a 3x3 depthwise row for channels [ch, ch+n) (out, r0..r2 offset by ch).
 * PRE: 0 none, 1 relu, 2 relu6, 3 any (pre_act); ACT: 0 linear, 1 relu, 2 relu6, 3 any (act). */
static inline __attribute__((always_inline)) void F(dw3_interior)(
        const int PRE, const int ACT, const float *r0, const float *r1, const float *r2, float *out, int64_t ox0,
        int64_t ox1, int64_t step, int64_t left, int64_t cm, int64_t s1, int64_t s2, int64_t n, const vf *ks, vf bias,
        vf ps, vf pt, int pre_act, int act) {
#define DW_LOAD(p) ({ vf v_ = n == VW ? F(ld)(p) : F(ldn)((p), n);                                               \
                      if (PRE) { v_ = v_ * ps + pt;                                                            \
                                 v_ = PRE == 1 ? F(vmax)(v_, F(splat)(0.0f))                                   \
                                      : PRE == 2 ? F(vmin)(F(vmax)(v_, F(splat)(0.0f)), F(splat)(6.0f))        \
                                      : F(vact_call)(v_, pre_act); }                                           \
                      v_; })
#define DW_STORE(ox, a) do { vf y_ = (a);                                                                     \
        if (ACT == 1) y_ = F(vmax)(y_, F(splat)(0.0f));                                                       \
        else if (ACT == 2) y_ = F(vmin)(F(vmax)(y_, F(splat)(0.0f)), F(splat)(6.0f));                         \
        else if (ACT == 3) y_ = F(vact_call)(y_, act);                                                        \
        if (n == VW) F(st)(out + (ox) * cm, y_); else F(stn)(out + (ox) * cm, y_, n); } while (0)
    if (step == cm && s1 == cm && ox0 < ox1) {
        /* stride 1, no dilation: neighbouring pixels share two of their three input columns, so each input
         * column is loaded (and put through the prologue) once, not three times */
        int64_t o = ox0 * cm - left;
        vf a0 = DW_LOAD(r0 + o), a1 = DW_LOAD(r1 + o), a2 = DW_LOAD(r2 + o);
        vf b0 = DW_LOAD(r0 + o + cm), b1 = DW_LOAD(r1 + o + cm), b2 = DW_LOAD(r2 + o + cm);
        for (int64_t ox = ox0; ox < ox1; ox++) {
            int64_t q = ox * cm - left + 2 * cm;
            vf c0 = DW_LOAD(r0 + q), c1 = DW_LOAD(r1 + q), c2 = DW_LOAD(r2 + q);
            vf acc = bias + a0 * ks[0] + b0 * ks[1] + c0 * ks[2] + a1 * ks[3] + b1 * ks[4] + c1 * ks[5]
                     + a2 * ks[6] + b2 * ks[7] + c2 * ks[8];
            DW_STORE(ox, acc);
            a0 = b0; a1 = b1; a2 = b2;
            b0 = c0; b1 = c1; b2 = c2;
        }
        return;
    }
    for (int64_t ox = ox0; ox < ox1; ox++) {
        int64_t o = ox * step - left;
        vf acc = bias;
        const float *rows[3] = {r0 + o, r1 + o, r2 + o};
        _Pragma("GCC unroll 3") for (int i = 0; i < 3; i++) {
            _Pragma("GCC unroll 3") for (int j = 0; j < 3; j++) {
                const float *p = rows[i] + (j == 0 ? 0 : j == 1 ? s1 : s2);
                vf v = n == VW ? F(ld)(p) : F(ldn)(p, n);
                if (PRE) {
                    v = v * ps + pt;
                    v = PRE == 1 ? F(vmax)(v, F(splat)(0.0f))
                        : PRE == 2 ? F(vmin)(F(vmax)(v, F(splat)(0.0f)), F(splat)(6.0f)) : F(vact_call)(v, pre_act);
                }
                acc += v * ks[i * 3 + j];
            }
        }
        DW_STORE(ox, acc);
    }
#undef DW_LOAD
#undef DW_STORE
}

typedef void (*F(dw3_fn))(const float *, const float *, const float *, float *, int64_t, int64_t, int64_t, int64_t,
                          int64_t, int64_t, int64_t, int64_t, const vf *, vf, vf, vf, int, int);
#define DW3_DEF(PRE, ACT)                                                                                         \
    static __attribute__((noinline)) void F(dw3_##PRE##_##ACT)(                                                   \
            const float *r0, const float *r1, const float *r2, float *out, int64_t ox0, int64_t ox1, int64_t step, \
            int64_t left, int64_t cm, int64_t s1, int64_t s2, int64_t n, const vf *ks, vf bias, vf ps, vf pt,     \
            int pre_act, int act) {                                                                               \
        F(dw3_interior)(PRE, ACT, r0, r1, r2, out, ox0, ox1, step, left, cm, s1, s2, n, ks, bias, ps, pt,         \
                        pre_act, act);                                                                            \
    }
DW3_DEF(0, 0) DW3_DEF(0, 1) DW3_DEF(0, 2) DW3_DEF(1, 0) DW3_DEF(1, 1) DW3_DEF(1, 2) DW3_DEF(2, 0) DW3_DEF(2, 1)
DW3_DEF(2, 2) DW3_DEF(3, 3)
/* by pre * 4 + act (see depthwise_rows); 15: any prologue or activation */
static const F(dw3_fn) F(DW3)[16] = {F(dw3_0_0), F(dw3_0_1), F(dw3_0_2), 0, F(dw3_1_0), F(dw3_1_1), F(dw3_1_2), 0,
                                     F(dw3_2_0), F(dw3_2_1), F(dw3_2_2), 0, 0, 0, 0, F(dw3_3_3)};

/* Depthwise rows [row0, row1) of the (n*oh) output rows: channels innermost in vectors (the last one masked); for
 * 3x3 kernels the nine tap vectors stay in registers across the row's interior pixels; borders clipped in the tap
 * loop (no padded copy). */
static void F(depthwise_rows)(const kl_depthwise *d, int64_t row0, int64_t row1) {
    const int64_t cm = d->c * d->mult, kh = d->kh, kw = d->kw;
    for (int64_t row = row0; row < row1; row++) {
        int64_t b = row / d->oh, oy = row % d->oh;
        float *out = d->y + row * d->ow * cm;
        int64_t i0 = 0, i1 = kh;  /* taps whose input row is inside */
        while (i0 < kh && oy * d->sh + i0 * d->dh - d->pt < 0) i0++;
        while (i1 > i0 && oy * d->sh + (i1 - 1) * d->dh - d->pt >= d->h) i1--;
        const float *xb = d->x + b * d->h * d->w * d->c;
        if (d->mult == 1) {
            /* interior columns: every tap of the row inside the input */
            int64_t lo = (d->pl + d->sw - 1) / d->sw, last = d->w - 1 - (kw - 1) * d->dw + d->pl;
            int64_t hi = last >= 0 ? last / d->sw + 1 : 0;
            if (hi > d->ow) hi = d->ow;
            if (lo > hi) lo = hi;
            const int fast = kh == 3 && kw == 3 && i0 == 0 && i1 == 3;
            for (int64_t ch = 0; ch < cm; ch += VW) {
                const int64_t n = cm - ch < VW ? cm - ch : VW;
#define LDN(p) (n == VW ? F(ld)(p) : F(ldn)((p), n))
#define STN(p, v) (n == VW ? F(st)((p), (v)) : F(stn)((p), (v), n))
                vf bias = d->bias ? LDN(d->bias + ch) : F(splat)(0.0f);
                int64_t ox = 0;
                if (fast) {
                    const float *r0 = xb + (oy * d->sh - d->pt) * d->w * cm + ch;
                    const float *r1 = r0 + d->dh * d->w * cm, *r2 = r1 + d->dh * d->w * cm;
                    const float *k = d->kernel + ch;
                    vf k0 = LDN(k), k1 = LDN(k + cm), k2 = LDN(k + 2 * cm), k3 = LDN(k + 3 * cm);
                    vf k4 = LDN(k + 4 * cm), k5 = LDN(k + 5 * cm), k6 = LDN(k + 6 * cm);
                    vf k7 = LDN(k + 7 * cm), k8 = LDN(k + 8 * cm);
                    const int64_t s1 = d->dw * cm, s2 = 2 * d->dw * cm;
                    for (; ox < lo; ox++)
                        STN(out + ox * cm + ch, F(vact)(F(dw_pixel)(d, xb, oy, ox, i0, i1, ch, n, bias), d->act));
                    vf ps = F(splat)(1.0f), pt = F(splat)(0.0f);
                    if (d->pre && d->pre_scale) ps = LDN(d->pre_scale + ch);
                    if (d->pre && d->pre_shift) pt = LDN(d->pre_shift + ch);
                    const vf ks[9] = {k0, k1, k2, k3, k4, k5, k6, k7, k8};
                    const int pre = d->pre ? 1 + (d->pre_act == KL_RELU ? 0 : d->pre_act == KL_RELU6 ? 1 : 2) : 0;
                    const int act = d->act == KL_LINEAR ? 0 : d->act == KL_RELU ? 1 : d->act == KL_RELU6 ? 2 : 3;
                    /* the interior with the prologue and activation chosen once per row, not per load */
                    int variant = pre * 4 + act;
                    if (variant % 4 == 3 || variant >= 12) variant = 15;
                    F(DW3)[variant](r0, r1, r2, out + ch, ox, hi, d->sw * cm, d->pl * cm, cm, s1, s2, n, ks, bias, ps,
                                    pt, d->pre_act, d->act);
                    ox = hi;
                }
                for (; ox < d->ow; ox++)
                    STN(out + ox * cm + ch, F(vact)(F(dw_pixel)(d, xb, oy, ox, i0, i1, ch, n, bias), d->act));
#undef LDN
#undef STN
            }
        } else {
            for (int64_t ox = 0; ox < d->ow; ox++) {
                float *o = out + ox * cm;
                for (int64_t q = 0; q < cm; q++) o[q] = d->bias ? d->bias[q] : 0.0f;
                int64_t x0 = ox * d->sw - d->pl;
                for (int64_t i = i0; i < i1; i++) {
                    const float *xr = xb + (oy * d->sh + i * d->dh - d->pt) * d->w * d->c;
                    for (int64_t j = 0; j < kw; j++) {
                        int64_t ix = x0 + j * d->dw;
                        if (ix < 0 || ix >= d->w) continue;
                        const float *src = xr + ix * d->c, *k = d->kernel + (i * kw + j) * cm;
                        for (int64_t ch = 0; ch < d->c; ch++)
                            for (int64_t q = 0; q < d->mult; q++)
                                o[ch * d->mult + q] += F(dw_in1)(d, src[ch], ch) * k[ch * d->mult + q];
                    }
                }
                F(activate)(o, cm, d->act);
            }
        }
    }
}

/* Pooling rows [row0, row1) of the (n*oh) output rows, channels in vectors; the window clipped to the input. */
static void F(pool_rows)(const kl_pool *p, int64_t row0, int64_t row1) {
    const int64_t c = p->c;
    for (int64_t row = row0; row < row1; row++) {
        int64_t b = row / p->oh, oy = row % p->oh, iy0 = oy * p->sh - p->pt;
        int64_t i0 = iy0 < 0 ? -iy0 : 0, i1 = iy0 + p->ph > p->h ? p->h - iy0 : p->ph;
        const float *xb = p->x + b * p->h * p->w * c;
        float *out = p->y + row * p->ow * c;
        for (int64_t ox = 0; ox < p->ow; ox++) {
            int64_t ix0 = ox * p->sw - p->pl;
            int64_t j0 = ix0 < 0 ? -ix0 : 0, j1 = ix0 + p->pw > p->w ? p->w - ix0 : p->pw;
            int64_t inside = (i1 > i0 ? i1 - i0 : 0) * (j1 > j0 ? j1 - j0 : 0);
            int clipped = inside < p->ph * p->pw;
            float scale = p->avg ? 1.0f / (float)(p->pad_zeros ? p->ph * p->pw : (inside ? inside : 1)) : 1.0f;
            float start = p->avg || (clipped && p->pad_zeros) ? 0.0f : -INFINITY;
            float *o = out + ox * c;
            for (int64_t ch = 0; ch < c; ch += VW) {
                int64_t n = c - ch < VW ? c - ch : VW;
                vf acc = F(splat)(start);
                for (int64_t i = i0; i < i1; i++) {
                    const float *xr = xb + ((iy0 + i) * p->w + ix0) * c + ch;
                    for (int64_t j = j0; j < j1; j++) {
                        vf v = n == VW ? F(ld)(xr + j * c) : F(ldn)(xr + j * c, n);
                        acc = p->avg ? acc + v : F(vmax)(acc, v);
                    }
                }
                acc = p->avg ? acc * scale : acc;
                if (n == VW) F(st)(o + ch, acc);
                else F(stn)(o + ch, acc, n);
            }
        }
    }
}

/* z (n, G) += h @ packed U, with h (n, units): the GEMM driver on one thread. */
static void F(rnn_project)(const float *h, int64_t n, int64_t units, const float *up, int64_t g, float *z) {
    kl_conv c = {0};
    c.x = h; c.n = n; c.h = c.w = 1; c.cin = c.cstride = units;
    c.kh = c.kw = c.sh = c.sw = c.dh = c.dw = 1; c.oh = c.ow = 1; c.groups = 1;
    c.bp = up; c.k = units; c.nout = g; c.y = z; c.ldy = g; c.act = KL_LINEAR; c.accumulate = 1;
    int64_t nm = F(conv_mblocks)(&c);
    for (int64_t t = 0; t < nm; t++) F(conv_task)(&c, t, nm, 1, NULL);
}

/* Every step of one recurrent layer; scratch holds n*(G + 2*units) floats. */
static void F(rnn)(const kl_rnn *r, float *scratch) {
    const int64_t n = r->n, u = r->units, steps = r->steps;
    const int64_t g = r->kind == 1 ? 4 * u : (r->kind >= 2 ? 3 * u : u);
    float *z = scratch, *tmp = scratch + n * g, *tmp2 = tmp + n * u;
    for (int64_t t = 0; t < steps; t++) {
        if (r->kind == 3) {  /* GRU, reset gate applied before the recurrent product of the candidate */
            for (int64_t b = 0; b < n; b++) {
                memcpy(z + b * 2 * u, r->xw + (b * steps + t) * g, (size_t)(2 * u) * sizeof(float));
                memset(tmp2 + b * u, 0, (size_t)u * sizeof(float));
            }
            F(rnn_project)(r->h, n, u, r->up, 2 * u, z);
            for (int64_t b = 0; b < n; b++) {
                float *zb = z + b * 2 * u, *hb = r->h + b * u, *rh = tmp + b * u;
                F(activate)(zb, 2 * u, r->ract);
                for (int64_t j = 0; j < u; j++) rh[j] = zb[u + j] * hb[j];
            }
            F(rnn_project)(tmp, n, u, r->up2, u, tmp2);
            for (int64_t b = 0; b < n; b++) {
                const float *xb = r->xw + (b * steps + t) * g + 2 * u;
                float *zb = z + b * 2 * u, *hb = r->h + b * u, *cand = tmp2 + b * u;
                for (int64_t j = 0; j < u; j++) cand[j] += xb[j];
                F(activate)(cand, u, r->act);
                for (int64_t j = 0; j < u; j++) hb[j] = zb[j] * hb[j] + (1.0f - zb[j]) * cand[j];
                memcpy(r->seq + (b * steps + t) * u, hb, (size_t)u * sizeof(float));
            }
            continue;
        }
        for (int64_t b = 0; b < n; b++) {
            if (r->kind == 2) {  /* GRU reset_after: z holds h @ U + rbias; the input part is added per gate */
                memcpy(z + b * g, r->rbias, (size_t)g * sizeof(float));
            } else {
                memcpy(z + b * g, r->xw + (b * steps + t) * g, (size_t)g * sizeof(float));
            }
        }
        F(rnn_project)(r->h, n, u, r->up, g, z);
        for (int64_t b = 0; b < n; b++) {
            float *zb = z + b * g, *hb = r->h + b * u;
            const float *xb = r->xw + (b * steps + t) * g;
            if (r->kind == 0) {
                F(activate)(zb, u, r->act);
                memcpy(hb, zb, (size_t)u * sizeof(float));
            } else if (r->kind == 1) {
                float *cb = r->c + b * u, *tc = tmp + b * u;
                F(activate)(zb, 2 * u, r->ract);
                F(activate)(zb + 2 * u, u, r->act);
                F(activate)(zb + 3 * u, u, r->ract);
                for (int64_t j = 0; j < u; j++) {
                    float cj = zb[u + j] * cb[j] + zb[j] * zb[2 * u + j];
                    cb[j] = cj;
                    tc[j] = cj;
                }
                F(activate)(tc, u, r->act);
                for (int64_t j = 0; j < u; j++) hb[j] = zb[3 * u + j] * tc[j];
            } else {
                float *cand = tmp + b * u;
                for (int64_t j = 0; j < 2 * u; j++) zb[j] += xb[j];
                F(activate)(zb, 2 * u, r->ract);
                for (int64_t j = 0; j < u; j++) cand[j] = xb[2 * u + j] + zb[u + j] * zb[2 * u + j];
                F(activate)(cand, u, r->act);
                for (int64_t j = 0; j < u; j++) hb[j] = zb[j] * hb[j] + (1.0f - zb[j]) * cand[j];
            }
            memcpy(r->seq + (b * steps + t) * u, hb, (size_t)u * sizeof(float));
        }
    }
}

const kl_isa F(kl_isa) = {
    .name = KL_STR(SUFFIX), .nr = NR, .conv_task = F(conv_task), .conv_mblocks = F(conv_mblocks),
    .scratch_floats = SCRATCH, .depthwise_rows = F(depthwise_rows), .rnn = F(rnn), .pool_rows = F(pool_rows), .activate = F(activate),
    .bias_act = F(bias_act), .affine = F(affine),
};
