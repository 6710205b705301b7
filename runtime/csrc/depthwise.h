/* Depthwise convolution, channels innermost. Part of kernels.h. */
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
