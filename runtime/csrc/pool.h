/* Max and average pooling. Part of kernels.h. */

/* Output pixels [ox0, ox1) of one row whose windows lie wholly inside the input (xr: the first one's top-left
 * pixel): no clipping, no per-pixel scale, the window loops of fixed length PH x PW when given (0: ph x pw). */
static inline __attribute__((always_inline)) void F(pool_inside)(
        const int AVG, const int PH, const int PW, const kl_pool *p, const float *xr, float *o, int64_t ox0,
        int64_t ox1) {
    const int64_t c = p->c, ph = PH ? PH : p->ph, pw = PW ? PW : p->pw, step = p->sw * c, line = p->w * c;
    const float scale = 1.0f / (float)(ph * pw);
    for (int64_t ox = ox0; ox < ox1; ox++, xr += step, o += c) {
        for (int64_t ch = 0; ch < c; ch += VW) {
            int64_t n = c - ch < VW ? c - ch : VW;
            const float *q = xr + ch;
            vf acc = n == VW ? F(ld)(q) : F(ldn)(q, n);
            for (int64_t i = 0; i < ph; i++)
                for (int64_t j = i ? 0 : 1; j < pw; j++) {
                    vf v = n == VW ? F(ld)(q + i * line + j * c) : F(ldn)(q + i * line + j * c, n);
                    acc = AVG ? acc + v : F(vmax)(acc, v);
                }
            if (AVG) acc *= scale;
            if (n == VW) F(st)(o + ch, acc);
            else F(stn)(o + ch, acc, n);
        }
    }
}

/* Pooling rows [row0, row1) of the (n*oh) output rows, channels in vectors; the window clipped to the input. */
static void F(pool_rows)(const kl_pool *p, int64_t row0, int64_t row1) {
    const int64_t c = p->c;
    /* the output columns whose windows are inside the input: [in0, in1) */
    int64_t in0 = (p->pl + p->sw - 1) / p->sw;
    int64_t in1 = p->w - p->pw + p->pl >= 0 ? (p->w - p->pw + p->pl) / p->sw + 1 : 0;
    if (in1 > p->ow) in1 = p->ow;
    if (in0 > in1) in0 = in1;
    for (int64_t row = row0; row < row1; row++) {
        int64_t b = row / p->oh, oy = row % p->oh, iy0 = oy * p->sh - p->pt;
        int64_t i0 = iy0 < 0 ? -iy0 : 0, i1 = iy0 + p->ph > p->h ? p->h - iy0 : p->ph;
        const float *xb = p->x + b * p->h * p->w * c;
        float *out = p->y + row * p->ow * c;
        int fast = i0 == 0 && i1 == p->ph && in1 > in0;
        if (fast) {
            const float *xr = xb + (iy0 * p->w + in0 * p->sw - p->pl) * c;
            float *o = out + in0 * c;
            if (p->avg) F(pool_inside)(1, 0, 0, p, xr, o, in0, in1);
            else if (p->ph == 2 && p->pw == 2) F(pool_inside)(0, 2, 2, p, xr, o, in0, in1);
            else if (p->ph == 3 && p->pw == 3) F(pool_inside)(0, 3, 3, p, xr, o, in0, in1);
            else F(pool_inside)(0, 0, 0, p, xr, o, in0, in1);
        }
        for (int64_t ox = 0; ox < p->ow; ox++) {
            if (fast && ox == in0) ox = in1;
            if (ox >= p->ow) break;
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
