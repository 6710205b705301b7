/* Bilinear resampling of (N, H, W, C) images as tf.image.resize(..., antialias=False) computes it: for each output
 * pixel, top = tl + (tr - tl) * wx, bottom = bl + (br - bl) * wx, out = top + (bottom - top) * wy, in float32 and
 * in that order, so results equal TensorFlow's (and resize.py's numpy and Numba forms) bit for bit. The taps
 * (lower/upper source index and lerp weight per output row and column) come from resize.py.
 *
 * Floating-point contraction is off: an FMA would round once where TensorFlow rounds twice.
 */
#ifndef KL_RESIZE_H
#define KL_RESIZE_H

#include <stdint.h>

#include "kl.h"  /* KL_NO_CONTRACT_FN / _BEGIN */

#define KL_BILINEAR_BODY(T)                                                                                          \
    for (int64_t b = 0; b < n; b++) {                                                                                \
        const T *img = x + b * h * w * c;                                                                            \
        float *dst = out + b * oh * ow * c;                                                                          \
        for (int64_t i = 0; i < oh; i++) {                                                                           \
            const T *top_row = img + ylo[i] * w * c, *bottom_row = img + yhi[i] * w * c;                             \
            const float wy = yl[i];                                                                                  \
            float *o = dst + i * ow * c;                                                                             \
            for (int64_t j = 0; j < ow; j++) {                                                                       \
                const int64_t a = xlo[j] * c, d = xhi[j] * c;                                                        \
                const float wx = xl[j];                                                                              \
                for (int64_t k = 0; k < c; k++) {                                                                    \
                    const float tl = (float)top_row[a + k], tr = (float)top_row[d + k];                              \
                    const float bl = (float)bottom_row[a + k], br = (float)bottom_row[d + k];                        \
                    const float top = tl + (tr - tl) * wx;                                                           \
                    const float bottom = bl + (br - bl) * wx;                                                        \
                    o[j * c + k] = top + (bottom - top) * wy;                                                        \
                }                                                                                                    \
            }                                                                                                        \
        }                                                                                                            \
    }

KL_NO_CONTRACT_FN static void kl_bilinear_u8(const uint8_t *x, int64_t n, int64_t h, int64_t w, int64_t c,
                                             const int64_t *ylo, const int64_t *yhi, const float *yl,
                                             const int64_t *xlo, const int64_t *xhi, const float *xl, float *out,
                                             int64_t oh, int64_t ow) {
    KL_NO_CONTRACT_BEGIN
    KL_BILINEAR_BODY(uint8_t)
}

KL_NO_CONTRACT_FN static void kl_bilinear_f32(const float *x, int64_t n, int64_t h, int64_t w, int64_t c,
                                              const int64_t *ylo, const int64_t *yhi, const float *yl,
                                              const int64_t *xlo, const int64_t *xhi, const float *xl, float *out,
                                              int64_t oh, int64_t ow) {
    KL_NO_CONTRACT_BEGIN
    KL_BILINEAR_BODY(float)
}

#endif
