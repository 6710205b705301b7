"""Convolution and pooling primitives on channels-last (NHWC) arrays, with their VJPs.

A float32 2-D convolution runs on the runtime's compiled convolution when it is built (native.py: windows
gathered as it multiplies, no im2col copy), and so does the input gradient of a stride-1 one (a convolution of the
output gradient with the flipped kernel). Otherwise, and for other dtypes, a convolution is one matrix product over
im2col windows (a strided view, copied once), and its input gradient scatters the window gradients back (col2im: a
Numba loop, else ``kh * kw`` strided adds); the kernel gradient is always the im2col product. Like ``nn.dense``,
``conv2d`` can apply linear/relu/relu6/tanh itself: one tape node instead of two. Float32 max pooling runs on the
runtime's pooling kernel, its gradient on a compiled scatter to each window's first maximum (native.py); else the
Numba kernels (kernels.py) or numpy, which route it the same way. 1-D layers call these with a height of 1.
Padding follows TensorFlow: ``same`` puts the odd pixel at the bottom/right.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from . import kernels, native
from .core import primitive
from .nn import DENSE_ACTIVATIONS, activation_and_bias_grad
from .parallel import matmul


def same_padding(size: int, k: int, s: int, d: int = 1):
    """``(before, after)`` padding of TensorFlow's ``same`` for one axis."""
    out = -(-size // s)
    total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
    return total // 2, total - total // 2


def out_size(size: int, k: int, s: int, d: int, padding: str) -> int:
    """Output length of one axis for ``valid`` or ``same`` padding."""
    if padding == "same":
        return -(-size // s)
    return max((size - (k - 1) * d - 1) // s + 1, 0)


def _pads(x_shape, kh, kw, strides, dilation, padding):
    if padding == "same":
        return (same_padding(x_shape[1], kh, strides[0], dilation[0]),
                same_padding(x_shape[2], kw, strides[1], dilation[1]))
    return (0, 0), (0, 0)


def _windows(xp, kh, kw, strides, dilation, oh, ow):
    """View of ``xp`` (N, H, W, C) as (N, OH, OW, KH, KW, C) windows."""
    n, _, _, c = xp.shape
    s0, s1, s2, s3 = xp.strides
    shape = (n, oh, ow, kh, kw, c)
    steps = (s0, s1 * strides[0], s2 * strides[1], s1 * dilation[0], s2 * dilation[1], s3)
    if xp.flags.c_contiguous:  # the ndarray constructor costs a fraction of as_strided's bookkeeping
        return np.ndarray(shape, xp.dtype, xp, 0, steps)
    return as_strided(xp, shape, steps, writeable=False)


def _pad(x, pads, value=0.0):
    """``x`` (N, H, W, C) with ``pads`` ((top, bottom), (left, right)) of ``value`` (np.pad is ~20x slower)."""
    (t, b), (l, r) = pads
    if not (t or b or l or r):
        return x
    shape = (x.shape[0], x.shape[1] + t + b, x.shape[2] + l + r, x.shape[3])
    out = np.zeros(shape, x.dtype) if value == 0 else np.full(shape, value, x.dtype)
    out[:, t:t + x.shape[1], l:l + x.shape[2], :] = x
    return out


def col2im(cols, strides, dilation, out):
    """Add window values ``cols`` (N, OH, OW, KH, KW, C) into ``out`` (N, HP, WP, C) where the windows lie."""
    _, oh, ow, kh, kw, _ = cols.shape
    sh, sw = strides
    kernel = kernels.get("col2im")
    if kernel is not None:
        kernel(cols, sh, sw, dilation[0], dilation[1], out)
        return out
    for i in range(kh):
        for j in range(kw):
            r, c = i * dilation[0], j * dilation[1]
            out[:, r:r + sh * (oh - 1) + 1:sh, c:c + sw * (ow - 1) + 1:sw, :] += cols[:, :, :, i, j, :]
    return out


def _im2col(xp, kh, kw, strides, dilation, oh, ow):
    """The (N*OH*OW, KH*KW*C) window matrix of the padded input (one strided copy)."""
    return _windows(xp, kh, kw, strides, dilation, oh, ow).reshape(-1, kh * kw * xp.shape[3])


def _conv_fwd(x, kernel, bias, strides=(1, 1), padding="valid", dilation=(1, 1), activation="linear"):
    kh, kw, cin, f = kernel.shape
    pads = _pads(x.shape, kh, kw, strides, dilation, padding)
    oh = out_size(x.shape[1], kh, strides[0], dilation[0], padding)
    ow = out_size(x.shape[2], kw, strides[1], dilation[1], padding)
    # only the geometry waits for the backward pass: the input is the node's argument already, and a frozen
    # kernel (feature extraction, style transfer) never needs the windows again
    if native.usable(x.shape[0] * oh * ow * kh * kw * cin * f, x, kernel, bias, min_macs=native.CONV_MIN_MACS):
        y = native.conv(x, native.pack(kernel), (x.shape[0], oh, ow, f), kh, kw, strides, dilation, pads[0][0],
                        pads[1][0], bias, activation)
        return y, pads
    y = matmul(_im2col(_pad(x, pads), kh, kw, strides, dilation, oh, ow), kernel.reshape(-1, f))
    if bias is not None:
        y += bias
    fn = DENSE_ACTIVATIONS[activation][0]
    if fn is not None:
        y = fn(y)
    return y.reshape(x.shape[0], oh, ow, f), pads


def _conv_joint(g, ans, needs, x, kernel, bias, strides=(1, 1), padding="valid", dilation=(1, 1),
                activation="linear"):
    y, pads = ans
    kh, kw, cin, f = kernel.shape
    g, gb = activation_and_bias_grad(g, y, activation, needs[2])
    g2 = g.reshape(-1, f)
    gk = None
    if needs[1]:
        cols = _im2col(_pad(x, pads), kh, kw, strides, dilation, g.shape[1], g.shape[2])
        gk = matmul(cols.T, g2).reshape(kernel.shape)
    gx = None
    if needs[0]:
        if strides == (1, 1) and native.input_grad_usable(g, kernel):
            gx = native.input_grad(g, kernel, x.shape, dilation, pads)
        else:
            gx = _input_grad_col2im(g2, kernel, x.shape, g.shape, strides, dilation, pads)
    return gx, gk, gb


def _input_grad_col2im(g2, kernel, x_shape, g_shape, strides, dilation, pads):
    """The input gradient as window gradients (one GEMM) scattered back over the padded input (col2im)."""
    kh, kw, cin, f = kernel.shape
    n, oh, ow, _ = g_shape
    (t, b), (l, r) = pads
    gcols = matmul(g2, kernel.reshape(-1, f).T).reshape(n, oh, ow, kh, kw, cin)
    padded = np.zeros((n, x_shape[1] + t + b, x_shape[2] + l + r, cin), g2.dtype)
    gxp = col2im(gcols, strides, dilation, padded)
    return gxp[:, t:t + x_shape[1], l:l + x_shape[2], :]


conv2d = primitive("conv2d", _conv_fwd, joint=_conv_joint, saves=True)


def _pool_geometry(x, pool, strides, padding):
    ph, pw = pool
    oh = out_size(x.shape[1], ph, strides[0], 1, padding)
    ow = out_size(x.shape[2], pw, strides[1], 1, padding)
    pads = _pads(x.shape, ph, pw, strides, (1, 1), padding)
    return ph, pw, oh, ow, pads


def _max_pool_fwd(x, pool=(2, 2), strides=(2, 2), padding="valid"):
    ph, pw, oh, ow, pads = _pool_geometry(x, pool, strides, padding)
    if native.elementwise_usable(x):
        return native.max_pool(x, (x.shape[0], oh, ow, x.shape[3]), pool, strides, pads[0][0], pads[1][0]), \
            ("compiled", pads)
    kernel = kernels.get("max_pool")
    if kernel is not None:
        out = np.empty((x.shape[0], oh, ow, x.shape[3]), x.dtype)
        arg = np.empty(out.shape, np.int64)  # flat (row, column) of the winning input pixel
        kernel(np.ascontiguousarray(x), ph, pw, strides[0], strides[1], pads[0][0], pads[1][0], out, arg)
        return out, ("kernel", arg)
    xp = _pad(x, pads, -np.inf)
    win = _windows(xp, ph, pw, strides, (1, 1), oh, ow).reshape(x.shape[0], oh, ow, ph * pw, x.shape[3])
    arg = np.argmax(win, axis=3)  # the first maximum in row-major window order receives the gradient
    y = np.take_along_axis(win, arg[:, :, :, None, :], axis=3)[:, :, :, 0, :]
    return y, ("numpy", arg, pads, xp.shape)


def _max_pool_vjp(g, ans, x, pool=(2, 2), strides=(2, 2), padding="valid"):
    if ans[1][0] == "compiled":
        pads = ans[1][1]
        return native.max_pool_grad(x, ans[0], g.astype(np.float32, copy=False), pool, strides, pads[0][0],
                                    pads[1][0])
    if ans[1][0] == "kernel":
        gx = np.zeros(x.shape, g.dtype)
        kernels.get("max_pool_grad")(np.ascontiguousarray(g), ans[1][1], gx)
        return gx
    _, (_, arg, pads, padded_shape) = ans
    ph, pw = pool
    n, oh, ow, c = g.shape
    gxp = np.zeros(padded_shape, g.dtype)
    sh, sw = strides
    for i in range(ph):
        for j in range(pw):
            hit = arg == (i * pw + j)
            if hit.any():
                gxp[:, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw, :] += np.where(hit, g, 0)
    (t, _), (l, _) = pads
    return gxp[:, t:t + x.shape[1], l:l + x.shape[2], :]


max_pool2d = primitive("max_pool2d", _max_pool_fwd, _max_pool_vjp, saves=True)


def _avg_counts(x, ph, pw, oh, ow, strides, pads):
    ones = _pad(np.ones((1, x.shape[1], x.shape[2], 1), x.dtype), pads)
    return _windows(ones, ph, pw, strides, (1, 1), oh, ow).sum(axis=(3, 4))


def _avg_pool_fwd(x, pool=(2, 2), strides=(2, 2), padding="valid"):
    ph, pw, oh, ow, pads = _pool_geometry(x, pool, strides, padding)
    xp = _pad(x, pads)
    counts = _avg_counts(x, ph, pw, oh, ow, strides, pads)  # TensorFlow averages over the real pixels only
    y = _windows(xp, ph, pw, strides, (1, 1), oh, ow).sum(axis=(3, 4)) / counts
    return y.astype(x.dtype, copy=False), (counts, pads, xp.shape)


def _avg_pool_vjp(g, ans, x, pool=(2, 2), strides=(2, 2), padding="valid"):
    _, (counts, pads, padded_shape) = ans
    ph, pw = pool
    n, oh, ow, c = g.shape
    share = (g / counts).astype(g.dtype, copy=False)
    gxp = np.zeros(padded_shape, g.dtype)
    sh, sw = strides
    for i in range(ph):
        for j in range(pw):
            gxp[:, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw, :] += share
    (t, _), (l, _) = pads
    return gxp[:, t:t + x.shape[1], l:l + x.shape[2], :]


avg_pool2d = primitive("avg_pool2d", _avg_pool_fwd, _avg_pool_vjp, saves=True)

__all__ = ["conv2d", "max_pool2d", "avg_pool2d", "same_padding", "out_size", "col2im"]
