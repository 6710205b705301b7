"""Depthwise 2-D convolution as one Numba loop nest (channels innermost, so it vectorises)."""
import numpy as np

from .._jit import njit
from .conv import depthwise2d_numpy, pad2d


def _depthwise(xp, kernel, mult, sh, sw, dh, dw, oh, ow):
    n, _, _, c = xp.shape
    kh, kw, cm = kernel.shape
    out = np.zeros((n, oh, ow, cm), dtype=np.float32)
    for b in range(n):
        for y in range(oh):
            for x in range(ow):
                for i in range(kh):
                    for j in range(kw):
                        row = xp[b, y * sh + i * dh, x * sw + j * dw]
                        k = kernel[i, j]
                        o = out[b, y, x]
                        if mult == 1:
                            for ch in range(c):
                                o[ch] += row[ch] * k[ch]
                        else:
                            for ch in range(c):
                                for m in range(mult):
                                    o[ch * mult + m] += row[ch] * k[ch * mult + m]
    return out


_depthwise_jit = njit(_depthwise)


def depthwise2d(x, kernel, sh, sw, dh, dw, pads):
    """Depthwise conv of ``x`` (N, H, W, C) with ``kernel`` (kh, kw, C*mult) -> (N, oh, ow, C*mult)."""
    if _depthwise_jit is None:
        return depthwise2d_numpy(x, kernel, sh, sw, dh, dw, pads)
    kh, kw, cm = kernel.shape
    xp = np.ascontiguousarray(pad2d(x, pads))
    oh = (xp.shape[1] - (kh - 1) * dh - 1) // sh + 1
    ow = (xp.shape[2] - (kw - 1) * dw - 1) // sw + 1
    return _depthwise_jit(xp, kernel, cm // x.shape[3], sh, sw, dh, dw, oh, ow)
