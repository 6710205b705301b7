/* Vectors of VW floats (GCC/clang vector extensions), the activations on them, and the elementwise kernels
 * (bias + activation, BatchNormalization as an affine map, short copies). Part of kernels.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define KL_CAT2(a, b) a##_##b
#define KL_CAT(a, b) KL_CAT2(a, b)
#define KL_STR2(a) #a
#define KL_STR(a) KL_STR2(a)
#define F(name) KL_CAT(name, SUFFIX)
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
/* max / min that keep a NaN from either side, as numpy and Keras do (relu(NaN) is NaN, not 0) */
static inline vf F(vmax)(vf a, vf b) { vi m = (a > b) | (a != a); return (vf)(((vi)a & m) | ((vi)b & ~m)); }
static inline vf F(vmin)(vf a, vf b) { vi m = (a < b) | (a != a); return (vf)(((vi)a & m) | ((vi)b & ~m)); }
/* clamp that keeps a NaN */
static inline float F(sclamp)(float v, float lo, float hi) { return v < lo ? lo : (v > hi ? hi : v); }

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
    v = F(sclamp)(v, -7.90531110763549805f, 7.90531110763549805f);
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
    switch (act) {
    case KL_RELU: return y < 0.0f ? 0.0f : y;
    case KL_RELU6: return F(sclamp)(y, 0.0f, 6.0f);
    case KL_TANH: return F(stanh)(y);
    case KL_SIGMOID: return F(stanh)(y * 0.5f) * 0.5f + 0.5f;
    case KL_HARD_SIGMOID: return F(sclamp)(y + 3.0f, 0.0f, 6.0f) * (1.0f / 6.0f);
    case KL_HARD_SIGMOID_K2: return F(sclamp)(y * 0.2f + 0.5f, 0.0f, 1.0f);
    case KL_SWISH: return y * (F(stanh)(y * 0.5f) * 0.5f + 0.5f);
    case KL_HARD_SWISH: return y * (F(sclamp)(y + 3.0f, 0.0f, 6.0f) * (1.0f / 6.0f));  /* Keras' order */
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

/* exp by 2^n * p(r), r = x - n ln 2 in [-ln2/2, ln2/2], p Taylor to degree 6 (|relative error| < 2e-7); x clamped to
 * [-87.3, 88.3] so 2^n stays a normal float (exp(-87.3) ~ 1e-38 stands in for smaller values). */
static inline vf F(vexp)(vf x) {
    x = F(vmin)(F(vmax)(x, F(splat)(-87.3f)), F(splat)(88.3f));
    vf n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;  /* round to nearest: 1.5 * 2^23 */
    vf r = x - n * 0.693145751953125f - n * 1.42860682030941723e-6f;
    vf p = r * (1.0f / 720.0f) + (1.0f / 120.0f);
    p = p * r + (1.0f / 24.0f);
    p = p * r + (1.0f / 6.0f);
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    vi e = (__builtin_convertvector(n, vi) + 127) << 23;
    return p * (vf)e;
}

/* y (rows, n) = softmax over each row, in place; a NaN in a row makes the row NaN, as numpy's formula does. */
static void F(softmax)(float *y, int64_t rows, int64_t n) {
    for (int64_t r = 0; r < rows; r++) {
        float *row = y + r * n;
        vf mv = F(splat)(-INFINITY);
        int64_t j = 0;
        for (; j + VW <= n; j += VW) mv = F(vmax)(mv, F(ld)(row + j));
        float m = -INFINITY;
        for (int v = 0; v < VW; v++) m = mv[v] > m || mv[v] != mv[v] ? mv[v] : m;
        for (; j < n; j++) m = row[j] > m || row[j] != row[j] ? row[j] : m;
        vf sv = F(splat)(0.0f);
        for (j = 0; j + VW <= n; j += VW) {
            vf e = F(vexp)(F(ld)(row + j) - m);
            F(st)(row + j, e);
            sv += e;
        }
        float sum = 0.0f;
        for (int v = 0; v < VW; v++) sum += sv[v];
        for (; j < n; j++) {
            row[j] = F(vexp)(F(splat)(row[j] - m))[0];
            sum += row[j];
        }
        const float inv = 1.0f / sum;
        for (j = 0; j < n; j++) row[j] *= inv;
    }
}
