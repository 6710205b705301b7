"""The transposed 2-D convolution (Conv2DTranspose) on channels-last arrays, with its VJP.

Forward: one matrix product gives every input pixel's contribution to a ``kh x kw`` output patch, then col2im
adds the patches at stride and dilation into the full output, which is cropped (``same``) or extended with
zeros (``output_padding``) to the size Keras computes. Its VJP is an ordinary convolution: the output gradient
read back through the same windows (im2col) and multiplied by the kernel.
"""
from __future__ import annotations

import numpy as np

from .conv import _windows, col2im
from .core import primitive


def transpose_geometry(size: int, k: int, s: int, d: int, padding: str, output_padding=None):
    """``(output length, cropped before)`` of one axis, as Keras 3 and TensorFlow size a transposed conv."""
    span = (k - 1) * d + 1
    if padding == "valid":
        extra = max(span, s) - span if output_padding is None else output_padding
        return (size - 1) * s + span + extra, 0
    out = size * s if output_padding is None else (size - 1) * s + span % 2 + output_padding
    return out, max((size - 1) * s + span - out, 0) // 2  # TensorFlow's ``same`` puts the odd pixel last


def _geometry(x_shape, kernel_shape, strides, padding, output_padding, dilation):
    kh, kw = kernel_shape[:2]
    ops = output_padding or (None, None)
    return [transpose_geometry(x_shape[1 + a], (kh, kw)[a], strides[a], dilation[a], padding, ops[a])
            for a in range(2)]


def _full_shape(x_shape, kernel_shape, strides, dilation, geometry, filters):
    """Shape of the uncropped output buffer: every patch fits, and so does the requested output window."""
    dims = []
    for a in range(2):
        span = (kernel_shape[a] - 1) * dilation[a] + 1
        out, crop = geometry[a]
        dims.append(max((x_shape[1 + a] - 1) * strides[a] + span, crop + out))
    return (x_shape[0], dims[0], dims[1], filters)


def _fwd(x, kernel, bias, strides=(1, 1), padding="valid", output_padding=None, dilation=(1, 1)):
    kh, kw, f, cin = kernel.shape
    n, h, w, _ = x.shape
    geometry = _geometry(x.shape, kernel.shape, strides, padding, output_padding, dilation)
    (oh, t), (ow, l) = geometry
    patches = (x.reshape(-1, cin) @ kernel.reshape(-1, cin).T).reshape(n, h, w, kh, kw, f)
    full = col2im(patches, strides, dilation,
                  np.zeros(_full_shape(x.shape, kernel.shape, strides, dilation, geometry, f), x.dtype))
    y = full[:, t:t + oh, l:l + ow, :]
    if bias is not None:
        y = y + bias
    return np.ascontiguousarray(y)


def _joint(g, ans, needs, x, kernel, bias, strides=(1, 1), padding="valid", output_padding=None, dilation=(1, 1)):
    kh, kw, f, cin = kernel.shape
    n, h, w, _ = x.shape
    geometry = _geometry(x.shape, kernel.shape, strides, padding, output_padding, dilation)
    (oh, t), (ow, l) = geometry
    gfull = np.zeros(_full_shape(x.shape, kernel.shape, strides, dilation, geometry, f), g.dtype)
    gfull[:, t:t + oh, l:l + ow, :] = g
    cols = _windows(gfull, kh, kw, strides, dilation, h, w).reshape(-1, kh * kw * f)
    gx = (cols @ kernel.reshape(-1, cin)).reshape(x.shape) if needs[0] else None
    gk = (cols.T @ x.reshape(-1, cin)).reshape(kernel.shape) if needs[1] else None
    gb = g.sum(axis=(0, 1, 2)) if needs[2] else None
    return gx, gk, gb


conv2d_transpose = primitive("conv2d_transpose", _fwd, joint=_joint)

__all__ = ["conv2d_transpose", "transpose_geometry"]
