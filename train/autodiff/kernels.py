"""Numba kernels for the training primitives whose numpy form costs many passes: pooling (forward with the
winning index, backward scatter; for float32 when the compiled kernels are built, native.py's instead), the col2im scatter of a convolution's input gradient, and the projective image
warp of the augmentation layers (forward and its scatter-back).

Each kernel is compiled on first use (and cached on disk by Numba); without Numba (``KERASLITE_DISABLE_NUMBA=1``
or no wheel) ``get`` returns None and the callers keep their numpy paths, which give the same numbers.
"""
from __future__ import annotations

import numpy as np

_compiled = {}


def _max_pool(x, ph, pw, sh, sw, pt, pl, out, arg):
    n_, h_, w_, c_ = x.shape
    oh, ow = out.shape[1], out.shape[2]
    for n in range(n_):
        for i in range(oh):
            for j in range(ow):
                for c in range(c_):
                    out[n, i, j, c] = -np.inf
                    arg[n, i, j, c] = -1
                for di in range(ph):
                    r = i * sh - pt + di
                    if r < 0 or r >= h_:
                        continue
                    for dj in range(pw):
                        q = j * sw - pl + dj
                        if q < 0 or q >= w_:
                            continue
                        for c in range(c_):
                            v = x[n, r, q, c]
                            if v > out[n, i, j, c] or arg[n, i, j, c] < 0:  # the first maximum wins ties
                                out[n, i, j, c] = v
                                arg[n, i, j, c] = r * w_ + q


def _max_pool_grad(g, arg, gx):
    n_, oh, ow, c_ = g.shape
    w_ = gx.shape[2]
    for n in range(n_):
        for i in range(oh):
            for j in range(ow):
                for c in range(c_):
                    k = arg[n, i, j, c]
                    gx[n, k // w_, k % w_, c] += g[n, i, j, c]


def _col2im(gcols, sh, sw, dh, dw, gxp):
    """Add window gradients (N, OH, OW, KH, KW, C) back into the padded input gradient (N, HP, WP, C)."""
    n_, oh, ow, kh, kw, c_ = gcols.shape
    for n in range(n_):
        for i in range(oh):
            for j in range(ow):
                for a in range(kh):
                    r = i * sh + a * dh
                    for b in range(kw):
                        q = j * sw + b * dw
                        for c in range(c_):
                            gxp[n, r, q, c] += gcols[n, i, j, a, b, c]


def _warp(src, t, nearest, mode, fill, dst, backward):
    """TensorFlow's projective image transform (see image.py), one output pixel at a time, in float32.

    Forward (``backward`` False): ``dst[n, i, j]`` = the interpolated read of ``src`` at the pixel's source point.
    Backward: ``src`` is the output gradient and each read's weight times it is added into ``dst`` (the input
    gradient) at the pixels that were read. ``mode``: 0 reflect, 1 wrap, 2 constant, 3 nearest.
    """
    n_, h_, w_, c_ = src.shape
    one, zero, half = np.float32(1.0), np.float32(0.0), np.float32(0.5)
    for n in range(n_):
        k = n if t.shape[0] > 1 else 0
        a0, a1, a2, b0, b1, b2, c0, c1 = t[k, 0], t[k, 1], t[k, 2], t[k, 3], t[k, 4], t[k, 5], t[k, 6], t[k, 7]
        for i in range(h_):
            yi = np.float32(i)
            for j in range(w_):
                xj = np.float32(j)
                proj = c0 * xj + c1 * yi + one
                if proj == zero:
                    if not backward:
                        for c in range(c_):
                            dst[n, i, j, c] = fill
                    continue
                sx, sy = zero, zero
                for axis in range(2):
                    if axis == 0:
                        v, size = (a0 * xj + a1 * yi + a2) / proj, w_
                    else:
                        v, size = (b0 * xj + b1 * yi + b2) / proj, h_
                    sizef = np.float32(size)
                    if mode != 2 and size <= 1:
                        v = zero
                    elif mode == 0:
                        sz2 = np.float32(2 * size)
                        if v < zero:
                            v = sz2 * np.float32(np.trunc(-v / sz2)) + v
                            v = v + sz2 if v < -sizef else -v - one
                        elif v > sizef - one:
                            v = v - sz2 * np.float32(np.trunc(v / sz2))
                            if v >= sizef:
                                v = sz2 - v - one
                    elif mode == 1:
                        span = np.float32(size - 1)
                        if v < zero:
                            v = v + sizef * (np.float32(np.trunc(-v / span)) + one)
                        elif v > sizef - one:
                            v = v - sizef * np.float32(np.trunc(v / span))
                    if mode != 2:
                        v = min(max(v, zero), sizef - one)
                    if axis == 0:
                        sx = v
                    else:
                        sy = v
                if not backward:
                    for c in range(c_):
                        dst[n, i, j, c] = zero
                y0, x0 = np.floor(sy), np.floor(sx)
                for corner in range(1 if nearest else 4):
                    if nearest:  # std::round: halves away from zero
                        ry = np.floor(abs(sy) + half) * (one if sy >= zero else -one)
                        rx = np.floor(abs(sx) + half) * (one if sx >= zero else -one)
                        weight = one
                    else:
                        ry = y0 if corner < 2 else y0 + one
                        rx = x0 if corner % 2 == 0 else x0 + one
                        weight = (y0 + one - sy if corner < 2 else sy - y0) * (x0 + one - sx if corner % 2 == 0
                                                                              else sx - x0)
                    inside = zero <= ry < np.float32(h_) and zero <= rx < np.float32(w_)
                    if backward:
                        if inside:
                            r, q = int(ry), int(rx)
                            for c in range(c_):
                                dst[n, r, q, c] += weight * src[n, i, j, c]
                    elif inside:
                        r, q = int(ry), int(rx)
                        for c in range(c_):
                            dst[n, i, j, c] += weight * src[n, r, q, c]
                    else:
                        for c in range(c_):
                            dst[n, i, j, c] += weight * fill


SOURCES = {"max_pool": _max_pool, "max_pool_grad": _max_pool_grad, "col2im": _col2im, "warp": _warp}


def get(name):
    """The compiled kernel ``name``, or None when Numba is unavailable."""
    if name not in _compiled:
        from ...runtime._jit import njit

        _compiled[name] = njit(SOURCES[name])
    return _compiled[name]


__all__ = ["get"]
