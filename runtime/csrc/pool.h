/* Max and average pooling. Part of kernels.h. */
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
