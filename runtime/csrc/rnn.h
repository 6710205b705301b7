/* The recurrences of SimpleRNN, LSTM and GRU, each step's product on the packed GEMM. Part of kernels.h. */
/* z (n, G) += h @ packed U, with h (n, units): the GEMM's micro-tiles on one thread. Up to MR rows (one tile: a
 * batch-1 or small-batch recurrence, every step) they are called straight, without conv_task's set-up (its block
 * and padding checks were ~10% of an LSTM's step at batch 1); the tiles, K blocks and order are conv_task's, so
 * the sums are the same. */
static void F(rnn_project)(const float *h, int64_t n, int64_t units, const float *up, int64_t g, float *z) {
    if (n <= MR) {
        const int64_t panels = (g + NR - 1) / NR;
        for (int64_t p = 0; p < panels; p++) {
            const int ncols = g - p * NR < NR ? (int)(g - p * NR) : NR;
            const int nvx = (ncols + VW - 1) / VW, nlast = ncols - (nvx - 1) * VW;
            for (int64_t k0 = 0; k0 < units; k0 += KC) {
                const int64_t kc = units - k0 < KC ? units - k0 : KC;
                F(MICROS)[nvx][n](kc, h + k0, units, up + (p * units + k0) * NR, z + p * NR, g, nlast, 1,
                                  k0 + kc >= units, NULL, NULL, 0, KL_LINEAR);
            }
        }
        return;
    }
    kl_conv c = {0};
    c.x = h; c.n = n; c.h = c.w = 1; c.cin = c.cstride = units;
    c.kh = c.kw = c.sh = c.sw = c.dh = c.dw = 1; c.oh = c.ow = 1; c.groups = 1;
    c.bp = up; c.k = units; c.nout = g; c.y = z; c.ldy = g; c.act = KL_LINEAR; c.accumulate = 1;
    int64_t nm = F(conv_mblocks)(&c, 1);
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
