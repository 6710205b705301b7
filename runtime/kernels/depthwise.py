"""Depthwise 2-D convolution as one Numba loop nest: channels innermost (contiguous, vectorised), borders handled
in the loop bounds (no padded copy), bias and a relu/relu6 activation fused into the same pass."""
import numpy as np

from .._jit import njit
from .conv import depthwise2d_numpy

# Activations the kernel applies itself; others run afterwards on numpy.
ACT_CODES = {"linear": 0, "relu": 1, "relu6": 2}


def _depthwise(x, kernel, bias, act, sh, sw, dh, dw, pt, pl, oh, ow):
    n, hgt, wid, c = x.shape
    kh, kw, cm = kernel.shape
    mult = cm // c
    out = np.empty((n, oh, ow, cm), dtype=np.float32)
    for b in range(n):
        for y in range(oh):
            orow = out[b, y]
            for xo in range(ow):
                o = orow[xo]
                for ch in range(cm):
                    o[ch] = bias[ch]
            for i in range(kh):
                iy = y * sh + i * dh - pt
                if iy < 0 or iy >= hgt:
                    continue
                xrow = x[b, iy]
                for j in range(kw):
                    k = kernel[i, j]
                    off = j * dw - pl  # input column = xo * sw + off, valid when 0 <= it < wid
                    lo = 0 if off >= 0 else (-off + sw - 1) // sw
                    hi = min(ow, (wid - 1 - off) // sw + 1) if wid - 1 - off >= 0 else 0
                    for xo in range(lo, hi):
                        src = xrow[xo * sw + off]
                        o = orow[xo]
                        if mult == 1:
                            for ch in range(cm):
                                o[ch] += src[ch] * k[ch]
                        else:
                            for ch in range(c):
                                v = src[ch]
                                for m in range(mult):
                                    o[ch * mult + m] += v * k[ch * mult + m]
            if act == 1:
                for xo in range(ow):
                    o = orow[xo]
                    for ch in range(cm):
                        o[ch] = max(o[ch], np.float32(0.0))
            elif act == 2:
                for xo in range(ow):
                    o = orow[xo]
                    for ch in range(cm):
                        o[ch] = min(max(o[ch], np.float32(0.0)), np.float32(6.0))
    return out


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
