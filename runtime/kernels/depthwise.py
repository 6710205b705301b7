"""Depthwise 2-D convolution as one Numba loop nest: channels innermost (contiguous, vectorised), borders handled
in the loop bounds (no padded copy), bias and a relu/relu6 activation fused into the same pass."""
import numpy as np

from .._jit import njit
from .conv import depthwise2d_numpy

# Activations the kernel applies itself; others run afterwards on numpy.
ACT_CODES = {"linear": 0, "relu": 1, "relu6": 2}


def _finish(o, act):
    """Activation ``act`` (ACT_CODES) over one output pixel's channels, in place."""
    if act == 1:
        for ch in range(o.shape[0]):
            o[ch] = max(o[ch], np.float32(0.0))
    elif act == 2:
        for ch in range(o.shape[0]):
            o[ch] = min(max(o[ch], np.float32(0.0)), np.float32(6.0))


def _depthwise(x, kernel, bias, act, sh, sw, dh, dw, pt, pl, oh, ow):
    n, hgt, wid, c = x.shape
    kh, kw, cm = kernel.shape
    mult = cm // c
    out = np.empty((n, oh, ow, cm), dtype=np.float32)
    fast3 = kh == 3 and kw == 3 and mult == 1
    lo_x = (pl + sw - 1) // sw  # first output column whose window starts inside the input
    hi_x = (wid - 1 - 2 * dw + pl) // sw + 1 if wid - 1 - 2 * dw + pl >= 0 else 0  # past the last fully inside
    t1, t2 = min(1, kh - 1), min(2, kh - 1)  # tap indices (clamped so the loads are valid for any kernel size)
    u1, u2 = min(1, kw - 1), min(2, kw - 1)
    k0, k1, k2 = kernel[0, 0], kernel[0, u1], kernel[0, u2]
    k3, k4, k5 = kernel[t1, 0], kernel[t1, u1], kernel[t1, u2]
    k6, k7, k8 = kernel[t2, 0], kernel[t2, u1], kernel[t2, u2]
    for b in range(n):
        for y in range(oh):
            y0 = y * sh - pt
            row_inside = fast3 and y0 >= 0 and y0 + 2 * dh < hgt
            r0 = x[b, max(min(y0, hgt - 1), 0)]
            r1 = x[b, max(min(y0 + dh, hgt - 1), 0)]
            r2 = x[b, max(min(y0 + 2 * dh, hgt - 1), 0)]
            for xo in range(ow):
                o = out[b, y, xo]
                if row_inside and lo_x <= xo < hi_x:
                    # 3x3 window fully inside: nine taps summed in registers, one store (the common case)
                    x0 = xo * sw - pl
                    x1, x2 = x0 + dw, x0 + 2 * dw
                    for ch in range(cm):
                        o[ch] = (bias[ch] + r0[x0, ch] * k0[ch] + r0[x1, ch] * k1[ch] + r0[x2, ch] * k2[ch]
                                 + r1[x0, ch] * k3[ch] + r1[x1, ch] * k4[ch] + r1[x2, ch] * k5[ch]
                                 + r2[x0, ch] * k6[ch] + r2[x1, ch] * k7[ch] + r2[x2, ch] * k8[ch])
                else:
                    for ch in range(cm):
                        o[ch] = bias[ch]
                    for i in range(kh):
                        iy = y * sh + i * dh - pt
                        if iy < 0 or iy >= hgt:
                            continue
                        for j in range(kw):
                            ix = xo * sw + j * dw - pl
                            if ix < 0 or ix >= wid:
                                continue
                            src = x[b, iy, ix]
                            k = kernel[i, j]
                            if mult == 1:
                                for ch in range(cm):
                                    o[ch] += src[ch] * k[ch]
                            else:
                                for ch in range(c):
                                    v = src[ch]
                                    for m in range(mult):
                                        o[ch * mult + m] += v * k[ch * mult + m]
                _finish_j(o, act)
    return out


_finish_j = njit(_finish, fastmath=True, inline=True)
_depthwise_jit = njit(_depthwise, fastmath=True)


def depthwise2d(x, kernel, sh, sw, dh, dw, pads, bias=None, act=0):
    """Depthwise conv of ``x`` (N, H, W, C) with ``kernel`` (kh, kw, C*mult) -> (N, oh, ow, C*mult).

    ``bias`` (C*mult,) and ``act`` (an ``ACT_CODES`` value) are applied in the same pass when Numba is present;
    without Numba the numpy fallback applies them afterwards.
    """
    kh, kw, cm = kernel.shape
    (pt, pb), (pl, pr) = pads
    oh = (x.shape[1] + pt + pb - (kh - 1) * dh - 1) // sh + 1
    ow = (x.shape[2] + pl + pr - (kw - 1) * dw - 1) // sw + 1
    if _depthwise_jit is None:
        out = depthwise2d_numpy(x, kernel, sh, sw, dh, dw, pads)
        if bias is not None:
            out += bias
        if act == 1:
            np.maximum(out, 0, out=out)
        elif act == 2:
            np.clip(out, 0, 6, out=out)
        return out
    if bias is None:
        bias = np.zeros(cm, np.float32)
    return _depthwise_jit(np.ascontiguousarray(x), kernel, bias, act, sh, sw, dh, dw, pt, pl, oh, ow)
