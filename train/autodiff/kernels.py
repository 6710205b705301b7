"""Numba kernels for the training primitives whose numpy form costs many passes: pooling (forward with the
winning index, backward scatter), and a convolution's im2col gather and col2im scatter.

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


def _im2col(xp, kh, kw, sh, sw, dh, dw, cols):
    """Windows of the padded input (N, HP, WP, C) as rows of (N, OH, OW, KH, KW, C): the copy numpy makes of a
    strided 6-D view goes element by element when C is small."""
    n_, oh, ow = cols.shape[0], cols.shape[1], cols.shape[2]
    c_ = xp.shape[3]
    for n in range(n_):
        for i in range(oh):
            for j in range(ow):
                for a in range(kh):
                    r = i * sh + a * dh
                    for b in range(kw):
                        q = j * sw + b * dw
                        for c in range(c_):
                            cols[n, i, j, a, b, c] = xp[n, r, q, c]


SOURCES = {"max_pool": _max_pool, "max_pool_grad": _max_pool_grad, "col2im": _col2im, "im2col": _im2col}


def get(name):
    """The compiled kernel ``name``, or None when Numba is unavailable."""
    if name not in _compiled:
        from ...runtime._jit import njit

        _compiled[name] = njit(SOURCES[name])
    return _compiled[name]


__all__ = ["get"]
