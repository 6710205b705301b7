/* Fused optimizer updates for keraslite.train: one pass over a float32 variable and its slots, in the order
 * Keras 3 writes the arithmetic (train/optimizers/kernels/adam.py is the reference; its numpy form gives the same
 * numbers). Here so that training a large model does not have to import Numba for its update loop.
 *
 * Adam (AMSGrad with vhat): m += (g - m) * (1 - b1); v += (g*g - v) * (1 - b2); [vhat = max(vhat, v)];
 * w -= (m * alpha) / (sqrt(v or vhat) + eps), alpha = lr * sqrt(1 - b2^t) / (1 - b1^t) computed by the caller.
 * Contraction is off (KL_NO_CONTRACT_FN, kl.h): an FMA would round once where Keras rounds twice. Compiled once
 * per ISA (kernels.h) and called through kl_isa, so the loops vectorise at the ISA's width.
 */
#ifndef KL_UPDATE_H
#define KL_UPDATE_H

#include <math.h>
#include <stdint.h>

#include "kl.h"

KL_NO_CONTRACT_FN static void kl_adam(const float *g, float *w, float *m, float *v, float *vhat, int64_t n,
                                      float alpha, float one_minus_b1, float one_minus_b2, float eps) {
    KL_NO_CONTRACT_BEGIN
    if (vhat) {
        for (int64_t i = 0; i < n; i++) {
            const float gi = g[i];
            const float mi = m[i] + (gi - m[i]) * one_minus_b1;
            const float vi = v[i] + (gi * gi - v[i]) * one_minus_b2;
            const float hi = vhat[i] > vi ? vhat[i] : vi;
            m[i] = mi;
            v[i] = vi;
            vhat[i] = hi;
            w[i] = w[i] - (mi * alpha) / (sqrtf(hi) + eps);
        }
        return;
    }
    for (int64_t i = 0; i < n; i++) {
        const float gi = g[i];
        const float mi = m[i] + (gi - m[i]) * one_minus_b1;
        const float vi = v[i] + (gi * gi - v[i]) * one_minus_b2;
        m[i] = mi;
        v[i] = vi;
        w[i] = w[i] - (mi * alpha) / (sqrtf(vi) + eps);
    }
}

/* The gradient through an activation read from its output y (training's Dense and convolution nodes): out = g * d,
 * d = (y > 0) for relu, (0 < y < 6) for relu6, 1 - y*y for tanh, in that arithmetic (a NaN or inf gradient times a
 * zero mask stays NaN, as numpy's g * (y > 0) gives). act: the KL_RELU / KL_RELU6 / KL_TANH codes. */
KL_NO_CONTRACT_FN static void kl_act_grad(const float *g, const float *y, float *out, int64_t n, int act) {
    KL_NO_CONTRACT_BEGIN
    if (act == KL_RELU) {
        for (int64_t i = 0; i < n; i++) out[i] = g[i] * (y[i] > 0.0f ? 1.0f : 0.0f);
    } else if (act == KL_RELU6) {
        for (int64_t i = 0; i < n; i++) out[i] = g[i] * (y[i] > 0.0f && y[i] < 6.0f ? 1.0f : 0.0f);
    } else {
        for (int64_t i = 0; i < n; i++) out[i] = g[i] * (1.0f - y[i] * y[i]);
    }
}

#endif
