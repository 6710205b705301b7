"""Convolution kernels, channels_last, 2-D (1-D runs as height 1): im2col views + one BLAS GEMM."""
import numpy as np
from numpy.lib.stride_tricks import as_strided


def pad2d(x, pads, value=0.0):
    """``x`` (N, H, W, C) padded by ((top, bottom), (left, right)); returns ``x`` itself when no padding."""
    (t, b), (l, r) = pads
    if not (t or b or l or r):
        return x
    shape = (x.shape[0], x.shape[1] + t + b, x.shape[2] + l + r, x.shape[3])
    out = np.zeros(shape, dtype=x.dtype) if value == 0 else np.full(shape, value, dtype=x.dtype)
    out[:, t:t + x.shape[1], l:l + x.shape[2], :] = x
    return out


def windows(xp, kh, kw, sh, sw, dh, dw, oh, ow):
    """A read-only view (N, oh, ow, kh, kw, C) of the sliding windows of padded ``xp`` (N, H, W, C)."""
    n, _, _, c = xp.shape
    s0, s1, s2, s3 = xp.strides
    shape, strides = (n, oh, ow, kh, kw, c), (s0, s1 * sh, s2 * sw, s1 * dh, s2 * dw, s3)
    if xp.flags.c_contiguous:  # the ndarray constructor is ~8x cheaper than as_strided (matters at batch 1)
        return np.ndarray(shape, xp.dtype, xp, 0, strides)
    return as_strided(xp, shape, strides, writeable=False)


def conv2d(x, kernel2d, kh, kw, sh, sw, dh, dw, pads, groups=1):
    """Conv of ``x`` (N, H, W, C) with ``kernel2d`` (kh*kw*C/groups, F), im2col then GEMM -> (N, oh, ow, F)."""
    xp = pad2d(x, pads)
    n, hp, wp, c = xp.shape
    oh = (hp - (kh - 1) * dh - 1) // sh + 1
    ow = (wp - (kw - 1) * dw - 1) // sw + 1
    f = kernel2d.shape[1]
    if kh == 1 and kw == 1 and sh == 1 and sw == 1 and groups == 1:
        cols = xp.reshape(n * oh * ow, c)
        return np.dot(cols, kernel2d).reshape(n, oh, ow, f)
    win = windows(xp, kh, kw, sh, sw, dh, dw, oh, ow)
    if groups == 1:
        cols = win.reshape(n * oh * ow, kh * kw * c)
        return np.dot(cols, kernel2d).reshape(n, oh, ow, f)
    cg, fg = c // groups, f // groups
    parts = []
    for g in range(groups):  # one GEMM per group
        cols = win[..., g * cg:(g + 1) * cg].reshape(n * oh * ow, kh * kw * cg)
        parts.append(np.dot(cols, kernel2d[:, g * fg:(g + 1) * fg]))
    return np.concatenate(parts, axis=1).reshape(n, oh, ow, f)


def depthwise2d_numpy(x, kernel, sh, sw, dh, dw, pads):
    """Depthwise conv (numpy): ``kernel`` (kh, kw, C*mult) as channels repeated ``mult`` times; a loop over taps."""
    kh, kw, cm = kernel.shape
    mult = cm // x.shape[3]
    if mult > 1:
        x = np.repeat(x, mult, axis=3)
    xp = pad2d(x, pads)
    n, hp, wp, _ = xp.shape
    oh = (hp - (kh - 1) * dh - 1) // sh + 1
    ow = (wp - (kw - 1) * dw - 1) // sw + 1
    out = np.zeros((n, oh, ow, cm), dtype=np.float32)
    for i in range(kh):
        for j in range(kw):
            tap = xp[:, i * dh:i * dh + (oh - 1) * sh + 1:sh, j * dw:j * dw + (ow - 1) * sw + 1:sw, :]
            out += tap * kernel[i, j]
    return out


def conv2d_transpose(x, kernel2d, kh, kw, sh, sw, pads_out, out_hw, project=None):
    """Transposed conv: GEMM to (N, H, W, kh, kw, F) then scatter-add over taps, cropped by ``pads_out``.

    ``project(rows)`` computes ``rows @ kernel2d`` when given (the compiled GEMM), else numpy's BLAS does."""
    n, h, w, c = x.shape
    f = kernel2d.shape[1] // (kh * kw)
    rows = x.reshape(n * h * w, c)
    cols = (np.dot(rows, kernel2d) if project is None else project(rows)).reshape(n, h, w, kh, kw, f)
    full_h, full_w = (h - 1) * sh + kh, (w - 1) * sw + kw
    full = np.zeros((n, max(full_h, out_hw[0] + pads_out[0]), max(full_w, out_hw[1] + pads_out[1]), f),
                    dtype=np.float32)
    for i in range(kh):  # loop over taps, each a strided block add
        for j in range(kw):
            full[:, i:i + (h - 1) * sh + 1:sh, j:j + (w - 1) * sw + 1:sw, :] += cols[:, :, :, i, j, :]
    t, l = pads_out
    return np.ascontiguousarray(full[:, t:t + out_hw[0], l:l + out_hw[1], :])
