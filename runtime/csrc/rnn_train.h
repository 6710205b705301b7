/* Training's recurrences (keraslite.train, train/autodiff/recurrent_native.py): the whole forward sequence of a
 * SimpleRNN / LSTM / GRU layer call and its backward pass through time in one call each, so the steps do not
 * cross Python. The arithmetic is the Numba cells' (train/autodiff/recurrent_kernels.py), in the same internal
 * gate order (LSTM i, f, o, c~; GRU z, r, h~), with the runtime's activations (vec.h). The input projection
 * (x @ kernel for every step) and the weight gradients stay with BLAS in Python: they are a few large products.
 *
 * Rows of the batch are independent, so a call handles a row range [row0, row1) and the caller may split the batch
 * over threads with no synchronisation per step. Arrays are time-major: (T, N, ...) and states (T + 1, N, units).
 * Masking follows Keras (recurrent.py's loop): at a masked step a row keeps its states and repeats its previous
 * output (zeros before the first step, or always with zero_output).
 *
 * The first part (the job and the per-ISA table) is shared; the kernels follow when included by rnn_train_*.c
 * with VW and SUFFIX set.
 */
#ifndef KL_RNN_TRAIN_API
#define KL_RNN_TRAIN_API
#include <stdint.h>

typedef struct {
    int kind;                    /* 0 SimpleRNN, 1 LSTM, 2 GRU (reset_after), 3 GRU (reset before) */
    int act, ract;               /* activation codes (kl.h) */
    int zero_output;             /* masked steps output zeros (Bidirectional returning sequences) */
    int64_t steps, n, units;
    const float *xw;             /* (T, N, G): x @ kernel */
    const float *in_bias;        /* (G) added to xw, or NULL */
    const float *u;              /* recurrent kernel (units, G), internal gate order */
    const float *bias_h;         /* GRU reset_after: the candidate's recurrent bias (units), or NULL */
    const uint8_t *mask;         /* (T, N), nonzero = the step is valid; NULL: every step is */
    float *h, *c;                /* states (T + 1, N, units); c for LSTM only */
    float *gate;                 /* (T, N, G): gate values after their activations */
    float *aux;                  /* (T, N, units): LSTM act(c'), GRU reset_after h U_h + b_h, reset before r * h */
    float *out;                  /* (T, N, units) outputs when masked, else NULL (the outputs are h[1:]) */
    /* backward */
    const float *d_seq;          /* (T, N, units) gradient of the output sequence, or NULL */
    const float *d_last;         /* (N, units) gradient of the last output, or NULL */
    float *dh, *dc;              /* (N, units): in, the final states' gradients; out, the initial states' */
    float *dz;                   /* (T, N, G): gradients of the pre-activations */
    float *dm;                   /* GRU reset_after (T, N, G): gradient of h @ U + rbias (dz, candidate times r) */
    double *dbias, *drbias;      /* (G) sums over steps and rows of dz and dm (NULL: not wanted), rows [row0, row1) */
} kl_rnn_train;

typedef struct {
    const char *name;
    int (*forward)(const kl_rnn_train *, int64_t row0, int64_t row1);   /* 0, or -1 when out of memory */
    int (*backward)(const kl_rnn_train *, int64_t row0, int64_t row1);
} kl_rnn_train_isa;

#define RT_GATES(kind) ((kind) == 1 ? 4 : ((kind) >= 2 ? 3 : 1))

extern const kl_rnn_train_isa kl_rnn_train_avx512, kl_rnn_train_avx2, kl_rnn_train_base;
#endif

#ifdef SUFFIX
#include "kl.h"
#include "vec.h"

#ifndef RT_NV
#define RT_NV 4  /* vectors of columns per product block */
#endif
#define RT_RB 4  /* rows per product block */
#define RT_PAD(x) (((x) + VW - 1) / VW * VW)

/* c (rows, ldc) (+)= a (rows, k; row stride lda) @ b (k, ldb), NVX vectors of columns. */
static inline __attribute__((always_inline)) void F(rt_block)(const int NVX, const float *a, int64_t lda,
                                                              int64_t rows, int64_t k, const float *b, int64_t ldb,
                                                              float *c, int64_t ldc, int accumulate) {
    int64_t r = 0;
    for (; r + RT_RB <= rows; r += RT_RB) {
        vf acc[RT_RB][RT_NV];
        for (int i = 0; i < RT_RB; i++)
            for (int v = 0; v < NVX; v++) acc[i][v] = accumulate ? F(ld)(c + (r + i) * ldc + v * VW) : F(splat)(0.0f);
        const float *ar = a + r * lda;
        for (int64_t q = 0; q < k; q++) {
            vf bv[RT_NV];
            for (int v = 0; v < NVX; v++) bv[v] = F(ld)(b + q * ldb + v * VW);
            for (int i = 0; i < RT_RB; i++) {
                float s = ar[i * lda + q];
                for (int v = 0; v < NVX; v++) acc[i][v] += s * bv[v];
            }
        }
        for (int i = 0; i < RT_RB; i++)
            for (int v = 0; v < NVX; v++) F(st)(c + (r + i) * ldc + v * VW, acc[i][v]);
    }
    for (; r < rows; r++) {
        vf acc[RT_NV];
        for (int v = 0; v < NVX; v++) acc[v] = accumulate ? F(ld)(c + r * ldc + v * VW) : F(splat)(0.0f);
        for (int64_t q = 0; q < k; q++) {
            float s = a[r * lda + q];
            for (int v = 0; v < NVX; v++) acc[v] += s * F(ld)(b + q * ldb + v * VW);
        }
        for (int v = 0; v < NVX; v++) F(st)(c + r * ldc + v * VW, acc[v]);
    }
}

/* c (rows, ldc) (+)= a @ b for b (k, ldb) with ldb a multiple of VW (zero-padded columns); c has ldb columns. */
static void F(rt_mm)(const float *a, int64_t lda, int64_t rows, int64_t k, const float *b, int64_t ldb, float *c,
                     int64_t ldc, int accumulate) {
    for (int64_t j = 0; j < ldb; j += RT_NV * VW) {
        int64_t nv = (ldb - j) / VW < RT_NV ? (ldb - j) / VW : RT_NV;
        switch (nv) {
        case 1: F(rt_block)(1, a, lda, rows, k, b + j, ldb, c + j, ldc, accumulate); break;
        case 2: F(rt_block)(2, a, lda, rows, k, b + j, ldb, c + j, ldc, accumulate); break;
#if RT_NV > 2
        case 3: F(rt_block)(3, a, lda, rows, k, b + j, ldb, c + j, ldc, accumulate); break;
        case 4: F(rt_block)(4, a, lda, rows, k, b + j, ldb, c + j, ldc, accumulate); break;
#endif
        default: break;
        }
    }
}

/* Columns [c0, c0 + cols) of m (rows, ld) into a zero-padded (rows, RT_PAD(cols)) copy; transposed: the copy is
 * of the (cols, rows) transpose, padded to RT_PAD(rows). */
static float *F(rt_padded)(const float *m, int64_t rows, int64_t ld, int64_t c0, int64_t cols, int transpose) {
    int64_t r = transpose ? cols : rows, c = transpose ? rows : cols, lp = RT_PAD(c);
    float *p = (float *)calloc((size_t)(r * lp + VW), sizeof(float));
    if (!p) return NULL;
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < cols; j++) {
            float v = m[i * ld + c0 + j];
            if (transpose) p[j * lp + i] = v;
            else p[i * lp + j] = v;
        }
    return p;
}

/* d act / dz from the output y, for the codes training's kernels take (recurrent_native.CODES); the branch is on
 * a loop-invariant code, once per vector. */
static inline vf F(rt_d)(vf y, int act) {
    const vf zero = F(splat)(0.0f), one = F(splat)(1.0f);
    switch (act) {
    case KL_TANH: return one - y * y;
    case KL_SIGMOID: return y * (one - y);
    case KL_RELU: return (vf)((vi)one & (y > zero));
    case KL_HARD_SIGMOID: return (vf)((vi)F(splat)(1.0f / 6.0f) & ((y > zero) & (y < one)));
    case KL_HARD_SIGMOID_K2: return (vf)((vi)F(splat)(0.2f) & ((y > zero) & (y < one)));
    default: return one;
    }
}

/* A loop over the columns [0, u) of a row, a vector at a time; the last vector may be partial (m lanes). */
#define RT_COLS(j, m, u) for (int64_t j = 0, m = (u) < VW ? (u) : VW; j < (u); j += VW, m = (u) - j < VW ? (u) - j : VW)
#define LD(p) (m == VW ? F(ld)(p) : F(ldn)((p), m))
#define ST(p, v) (m == VW ? F(st)((p), (v)) : F(stn)((p), (v), m))

/* After step t computed h[t+1] (and c[t+1]) for every row: Keras' masking of the rows whose step is not valid. */
static void F(rt_mask_step)(const kl_rnn_train *r, int64_t t, int64_t row0, int64_t row1) {
    const int64_t n = r->n, u = r->units;
    for (int64_t b = row0; b < row1; b++) {
        float *ob = r->out + (t * n + b) * u, *hn = r->h + ((t + 1) * n + b) * u, *hp = r->h + (t * n + b) * u;
        if (r->mask[t * n + b]) {
            memcpy(ob, hn, (size_t)u * sizeof(float));
            continue;
        }
        if (r->zero_output || t == 0) memset(ob, 0, (size_t)u * sizeof(float));
        else memcpy(ob, r->out + ((t - 1) * n + b) * u, (size_t)u * sizeof(float));
        memcpy(hn, hp, (size_t)u * sizeof(float));
        if (r->c) memcpy(r->c + ((t + 1) * n + b) * u, r->c + (t * n + b) * u, (size_t)u * sizeof(float));
    }
}

static int F(rt_forward)(const kl_rnn_train *r, int64_t row0, int64_t row1) {
    const int64_t n = r->n, u = r->units, steps = r->steps, g = RT_GATES(r->kind) * u, rows = row1 - row0;
    if (rows <= 0) return 0;
    const int before = r->kind == 3;
    const int64_t gz = before ? 2 * u : g, gp = RT_PAD(gz), upad = RT_PAD(u);
    float *ub = F(rt_padded)(r->u, u, g, 0, gz, 0);
    float *uh = before ? F(rt_padded)(r->u, u, g, 2 * u, u, 0) : NULL;
    float *z = (float *)malloc((size_t)(rows * (gp + upad) + VW) * sizeof(float));
    if (!ub || !z || (before && !uh)) {
        free(ub); free(uh); free(z);
        return -1;
    }
    float *zh = z + rows * gp;
    float *zeros = r->in_bias ? NULL : (float *)calloc((size_t)g, sizeof(float));
    if (!r->in_bias && !zeros) {
        free(ub); free(uh); free(z);
        return -1;
    }
    const float *ib = r->in_bias ? r->in_bias : zeros;
    for (int64_t t = 0; t < steps; t++) {
        const float *xwt = r->xw + (t * n + row0) * g;
        const float *ht = r->h + (t * n + row0) * u;
        float *hn = r->h + ((t + 1) * n + row0) * u;
        float *gt = r->gate + (t * n + row0) * g;
        float *at = r->aux ? r->aux + (t * n + row0) * u : NULL;
        F(rt_mm)(ht, u, rows, u, ub, gp, z, gp, 0);
        if (r->kind == 0) {
            for (int64_t b = 0; b < rows; b++) {
                float *a = gt + b * g;
                const float *zb = z + b * gp, *xb = xwt + b * g;
                for (int64_t j = 0; j < u; j++) a[j] = zb[j] + (xb[j] + ib[j]);
                F(activate)(a, u, r->act);
                memcpy(hn + b * u, a, (size_t)u * sizeof(float));
            }
        } else if (r->kind == 1) {
            const float *ct = r->c + (t * n + row0) * u;
            float *cn = r->c + ((t + 1) * n + row0) * u;
            for (int64_t b = 0; b < rows; b++) {
                float *a = gt + b * g, *tc = at + b * u, *cb = cn + b * u, *hb = hn + b * u;
                const float *zb = z + b * gp, *xb = xwt + b * g, *cp = ct + b * u;
                for (int64_t j = 0; j < g; j++) a[j] = zb[j] + (xb[j] + ib[j]);
                F(activate)(a, 3 * u, r->ract);
                F(activate)(a + 3 * u, u, r->act);
                for (int64_t j = 0; j < u; j++) cb[j] = a[u + j] * cp[j] + a[j] * a[3 * u + j];
                memcpy(tc, cb, (size_t)u * sizeof(float));
                F(activate)(tc, u, r->act);
                for (int64_t j = 0; j < u; j++) hb[j] = a[2 * u + j] * tc[j];
            }
        } else if (r->kind == 2) {
            for (int64_t b = 0; b < rows; b++) {
                float *a = gt + b * g, *s = at + b * u, *hb = hn + b * u;
                const float *zb = z + b * gp, *xb = xwt + b * g, *hp = ht + b * u;
                for (int64_t j = 0; j < 2 * u; j++) a[j] = zb[j] + (xb[j] + ib[j]);
                F(activate)(a, 2 * u, r->ract);
                for (int64_t j = 0; j < u; j++) s[j] = zb[2 * u + j] + (r->bias_h ? r->bias_h[j] : 0.0f);
                for (int64_t j = 0; j < u; j++) a[2 * u + j] = (xb[2 * u + j] + ib[2 * u + j]) + a[u + j] * s[j];
                F(activate)(a + 2 * u, u, r->act);
                for (int64_t j = 0; j < u; j++) hb[j] = a[2 * u + j] + a[j] * (hp[j] - a[2 * u + j]);
            }
        } else {
            for (int64_t b = 0; b < rows; b++) {
                float *a = gt + b * g, *s = at + b * u;
                const float *zb = z + b * gp, *xb = xwt + b * g, *hp = ht + b * u;
                for (int64_t j = 0; j < 2 * u; j++) a[j] = zb[j] + (xb[j] + ib[j]);
                F(activate)(a, 2 * u, r->ract);
                for (int64_t j = 0; j < u; j++) s[j] = a[u + j] * hp[j];
            }
            F(rt_mm)(at, u, rows, u, uh, upad, zh, upad, 0);
            for (int64_t b = 0; b < rows; b++) {
                float *a = gt + b * g, *hb = hn + b * u;
                const float *zb = zh + b * upad, *xb = xwt + b * g, *hp = ht + b * u;
                for (int64_t j = 0; j < u; j++) a[2 * u + j] = zb[j] + (xb[2 * u + j] + ib[2 * u + j]);
                F(activate)(a + 2 * u, u, r->act);
                for (int64_t j = 0; j < u; j++) hb[j] = a[2 * u + j] + a[j] * (hp[j] - a[2 * u + j]);
            }
        }
        if (r->mask) F(rt_mask_step)(r, t, row0, row1);
    }
    free(ub); free(uh); free(z); free(zeros);
    return 0;
}

/* One step backwards for rows [0, rows) of step t: gh = the gradient reaching h[t+1] (output's included), dcb the
 * cell state's (LSTM); writes dz (and dm), the previous h's gradient into dprev (full rows of upad floats) and
 * the previous cell state's into dc_prev. */
static void F(rt_back_step)(const kl_rnn_train *r, int64_t t, int64_t row0, int64_t rows, const float *gh,
                            const float *dcb, float *dprev, float *dc_prev, const float *ut, const float *uht,
                            float *drh, int64_t upad) {
    const int64_t n = r->n, u = r->units, g = RT_GATES(r->kind) * u;
    const float *gt = r->gate + (t * n + row0) * g, *at = r->aux ? r->aux + (t * n + row0) * u : NULL;
    const float *hp_t = r->h + (t * n + row0) * u;
    float *dzt = r->dz + (t * n + row0) * g;
    const int ract = r->ract, act = r->act;
    if (r->kind == 0) {
        for (int64_t b = 0; b < rows; b++)
            RT_COLS(j, m, u) ST(dzt + b * g + j, LD(gh + b * u + j) * F(rt_d)(LD(gt + b * g + j), act));
        F(rt_mm)(dzt, g, rows, g, ut, upad, dprev, upad, 0);
        return;
    }
    if (r->kind == 1) {
        const float *cp_t = r->c + (t * n + row0) * u;
        for (int64_t b = 0; b < rows; b++) {
            const float *a = gt + b * g, *tc = at + b * u, *hb = gh + b * u, *cb = dcb + b * u, *cp = cp_t + b * u;
            float *dz = dzt + b * g, *dcp = dc_prev + b * u;
            RT_COLS(j, m, u) {
                vf ai = LD(a + j), af = LD(a + u + j), ao = LD(a + 2 * u + j), ac = LD(a + 3 * u + j);
                vf tcv = LD(tc + j), hv = LD(hb + j);
                vf dcc = hv * ao * F(rt_d)(tcv, act) + LD(cb + j);
                ST(dz + j, dcc * ac * F(rt_d)(ai, ract));
                ST(dz + u + j, dcc * LD(cp + j) * F(rt_d)(af, ract));
                ST(dz + 2 * u + j, hv * tcv * F(rt_d)(ao, ract));
                ST(dz + 3 * u + j, dcc * ai * F(rt_d)(ac, act));
                ST(dcp + j, dcc * af);
            }
        }
        F(rt_mm)(dzt, g, rows, g, ut, upad, dprev, upad, 0);
        return;
    }
    /* GRU: the z and candidate pre-activations and the direct path h' -> h (into dprev, then the products add) */
    for (int64_t b = 0; b < rows; b++) {
        const float *a = gt + b * g, *hb = gh + b * u, *hp = hp_t + b * u;
        float *dz = dzt + b * g, *db = dprev + b * upad;
        RT_COLS(j, m, u) {
            vf az = LD(a + j), ah = LD(a + 2 * u + j), hv = LD(hb + j);
            ST(dz + j, hv * (LD(hp + j) - ah) * F(rt_d)(az, ract));
            ST(dz + 2 * u + j, hv * (F(splat)(1.0f) - az) * F(rt_d)(ah, act));
            ST(db + j, hv * az);
        }
    }
    if (r->kind == 2) {
        float *dmt = r->dm + (t * n + row0) * g;
        for (int64_t b = 0; b < rows; b++) {
            const float *a = gt + b * g, *s = at + b * u;
            float *dz = dzt + b * g, *dm = dmt + b * g;
            RT_COLS(j, m, u) {
                vf dh = LD(dz + 2 * u + j), ar = LD(a + u + j);
                ST(dz + u + j, dh * LD(s + j) * F(rt_d)(ar, ract));
                ST(dm + j, LD(dz + j));
                ST(dm + u + j, LD(dz + u + j));
                ST(dm + 2 * u + j, dh * ar);
            }
        }
        F(rt_mm)(dmt, g, rows, g, ut, upad, dprev, upad, 1);
        return;
    }
    /* reset before: d(r * h) from the candidate's product, then r's pre-activation and r's share of the direct path */
    F(rt_mm)(dzt + 2 * u, g, rows, u, uht, upad, drh, upad, 0);
    for (int64_t b = 0; b < rows; b++) {
        const float *a = gt + b * g, *hp = hp_t + b * u, *d = drh + b * upad;
        float *dz = dzt + b * g, *db = dprev + b * upad;
        RT_COLS(j, m, u) {
            vf dv = LD(d + j), ar = LD(a + u + j);
            ST(dz + u + j, dv * LD(hp + j) * F(rt_d)(ar, ract));
            ST(db + j, LD(db + j) + dv * ar);
        }
    }
    F(rt_mm)(dzt, g, rows, 2 * u, ut, upad, dprev, upad, 1);
}

/* total (g) += the column sums of m (rows, g): a float sum per step (rows at a time), then a double over steps. */
static void F(rt_colsum)(const float *a, int64_t rows, int64_t g, float *step_sum, double *total) {
    RT_COLS(j, m, g) {
        vf acc = F(splat)(0.0f);
        for (int64_t b = 0; b < rows; b++) acc += LD(a + b * g + j);
        F(st)(step_sum + j, acc);
    }
    for (int64_t j = 0; j < g; j++) total[j] += (double)step_sum[j];
}

static int F(rt_backward)(const kl_rnn_train *r, int64_t row0, int64_t row1) {
    const int64_t n = r->n, u = r->units, steps = r->steps, g = RT_GATES(r->kind) * u, rows = row1 - row0;
    if (rows <= 0) return 0;
    const int before = r->kind == 3, lstm = r->kind == 1;
    const int64_t upad = RT_PAD(u), gk = before ? 2 * u : g;
    float *ut = F(rt_padded)(r->u, u, g, 0, gk, 1);                      /* (gk, upad) */
    float *uht = before ? F(rt_padded)(r->u, u, g, 2 * u, u, 1) : NULL;   /* (u, upad) */
    /* dh, dh2: the state gradient carried between steps (row stride upad, the product's); gh: what reaches h[t+1]
     * (the output's included); dc, dc2: the cell's; dout: the output's; carry: a masked step's output gradient,
     * handed on to the previous output; drh: reset-before scratch */
    float *buf = (float *)calloc((size_t)(rows * (3 * upad + 5 * u) + RT_PAD(g) + VW), sizeof(float));
    if (!ut || !buf || (before && !uht)) {
        free(ut); free(uht); free(buf);
        return -1;
    }
    float *dh = buf, *dh2 = dh + rows * upad, *drh = dh2 + rows * upad, *gh = drh + rows * upad;
    float *dc = gh + rows * u, *dc2 = dc + rows * u, *dout = dc2 + rows * u, *carry = dout + rows * u;
    float *step_sum = carry + rows * u;
    for (int64_t b = 0; b < rows; b++) {
        memcpy(dh + b * upad, r->dh + (row0 + b) * u, (size_t)u * sizeof(float));
        if (lstm) memcpy(dc + b * u, r->dc + (row0 + b) * u, (size_t)u * sizeof(float));
    }
    const vf zero = F(splat)(0.0f);
    for (int64_t t = steps - 1; t >= 0; t--) {
        const uint8_t *valid = r->mask ? r->mask + t * n + row0 : NULL;
        /* the output's gradient at step t: the sequence's, the last output's, a later masked step's */
        for (int64_t b = 0; b < rows; b++) {
            const float *ds = r->d_seq ? r->d_seq + (t * n + row0 + b) * u : NULL;
            const float *dl = (r->d_last && t == steps - 1) ? r->d_last + (row0 + b) * u : NULL;
            float *o = dout + b * u, *gb = gh + b * u, *hb = dh + b * upad, *cy = carry + b * u;
            RT_COLS(j, m, u) {
                vf v = ds ? LD(ds + j) : zero;
                if (dl) v += LD(dl + j);
                if (valid) v += LD(cy + j);
                ST(o + j, v);
                ST(gb + j, LD(hb + j) + v);
            }
        }
        /* every row (a held row's results are replaced below) */
        F(rt_back_step)(r, t, row0, rows, gh, dc, dh2, dc2, ut, uht, drh, upad);
        if (valid) {
            for (int64_t b = 0; b < rows; b++) {
                float *cy = carry + b * u;
                if (valid[b]) {
                    memset(cy, 0, (size_t)u * sizeof(float));
                    continue;
                }
                /* a masked step: the states' gradients pass through, the output's goes to the previous output */
                if (r->zero_output) memset(cy, 0, (size_t)u * sizeof(float));
                else memcpy(cy, dout + b * u, (size_t)u * sizeof(float));
                memcpy(dh2 + b * upad, dh + b * upad, (size_t)u * sizeof(float));
                if (lstm) memcpy(dc2 + b * u, dc + b * u, (size_t)u * sizeof(float));
                memset(r->dz + (t * n + row0 + b) * g, 0, (size_t)g * sizeof(float));
                if (r->dm) memset(r->dm + (t * n + row0 + b) * g, 0, (size_t)g * sizeof(float));
            }
        }
        if (r->dbias) F(rt_colsum)(r->dz + (t * n + row0) * g, rows, g, step_sum, r->dbias);
        if (r->drbias) F(rt_colsum)(r->dm + (t * n + row0) * g, rows, g, step_sum, r->drbias);
        float *swap = dh; dh = dh2; dh2 = swap;
        swap = dc; dc = dc2; dc2 = swap;
    }
    for (int64_t b = 0; b < rows; b++) {
        memcpy(r->dh + (row0 + b) * u, dh + b * upad, (size_t)u * sizeof(float));
        if (lstm) memcpy(r->dc + (row0 + b) * u, dc + b * u, (size_t)u * sizeof(float));
    }
    free(ut); free(uht); free(buf);
    return 0;
}

#endif
