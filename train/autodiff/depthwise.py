"""Convolutions that split the channels: depthwise (DepthwiseConv2D, the first half of SeparableConv) and grouped
(Conv2D with ``groups > 1``), channels-last, with their VJPs.

A depthwise convolution has no sum over input channels, so it is ``kh * kw`` broadcast multiply-adds of shifted
input views (one per kernel tap) rather than a matrix product; output channel ``c * multiplier + m`` comes from
input channel ``c``, as in TensorFlow. A grouped convolution is one ordinary convolution per group.
"""
from __future__ import annotations

import numpy as np

from .conv import _conv_fwd, _conv_joint, _pad, _pads, out_size
from .core import primitive


def _taps(xp, kh, kw, strides, dilation, oh, ow):
    """``((i, j), view)`` of the padded input under each kernel tap: (N, OH, OW, C) strided views."""
    sh, sw = strides
    for i in range(kh):
        for j in range(kw):
            r, c = i * dilation[0], j * dilation[1]
            yield (i, j), xp[:, r:r + sh * (oh - 1) + 1:sh, c:c + sw * (ow - 1) + 1:sw, :]


def _depthwise_geometry(x, kernel, strides, padding, dilation):
    kh, kw = kernel.shape[:2]
    pads = _pads(x.shape, kh, kw, strides, dilation, padding)
    oh = out_size(x.shape[1], kh, strides[0], dilation[0], padding)
    ow = out_size(x.shape[2], kw, strides[1], dilation[1], padding)
    return kh, kw, pads, oh, ow


def _depthwise_fwd(x, kernel, bias, strides=(1, 1), padding="valid", dilation=(1, 1)):
    kh, kw, pads, oh, ow = _depthwise_geometry(x, kernel, strides, padding, dilation)
    n, _, _, c = x.shape
    m = kernel.shape[3]
    planes = np.zeros((m, n, oh, ow, c), np.result_type(x, kernel))  # one contiguous plane per multiplier
    for (i, j), tap in _taps(_pad(x, pads), kh, kw, strides, dilation, oh, ow):
        for k in range(m):
            planes[k] += tap * kernel[i, j, :, k]
    y = planes[0] if m == 1 else np.ascontiguousarray(np.moveaxis(planes, 0, -1)).reshape(n, oh, ow, c * m)
    if bias is not None:
        y += bias
    return y


def _depthwise_joint(g, ans, needs, x, kernel, bias, strides=(1, 1), padding="valid", dilation=(1, 1)):
    kh, kw, pads, oh, ow = _depthwise_geometry(x, kernel, strides, padding, dilation)
    n, _, _, c = x.shape
    m = kernel.shape[3]
    planes = np.ascontiguousarray(np.moveaxis(g.reshape(n, oh, ow, c, m), -1, 0))
    xp = _pad(x, pads)
    gk = np.zeros(kernel.shape, g.dtype) if needs[1] else None
    gxp = np.zeros(xp.shape, g.dtype) if needs[0] else None
    gx_taps = dict(_taps(gxp, kh, kw, strides, dilation, oh, ow)) if needs[0] else {}
    for (i, j), tap in _taps(xp, kh, kw, strides, dilation, oh, ow):
        for k in range(m):
            if needs[1]:  # a plain einsum loop: optimize=True goes through copies and BLAS, ~10x slower here
                gk[i, j, :, k] = np.einsum("nhwc,nhwc->c", tap, planes[k])
            if needs[0]:
                gx_taps[i, j] += planes[k] * kernel[i, j, :, k]
    gx = None
    if needs[0]:
        (t, _), (l, _) = pads
        gx = gxp[:, t:t + x.shape[1], l:l + x.shape[2], :]
    gb = g.sum(axis=(0, 1, 2)) if needs[2] else None
    return gx, gk, gb


depthwise_conv2d = primitive("depthwise_conv2d", _depthwise_fwd, joint=_depthwise_joint)


def _group_slices(kernel, groups):
    cin, f = kernel.shape[2], kernel.shape[3] // groups
    return [(slice(k * cin, (k + 1) * cin), slice(k * f, (k + 1) * f)) for k in range(groups)]


def _grouped_fwd(x, kernel, bias, strides=(1, 1), padding="valid", dilation=(1, 1), groups=1):
    outs, saved = [], []
    for cin, f in _group_slices(kernel, groups):
        y, res = _conv_fwd(x[..., cin], kernel[..., f], None if bias is None else bias[f], strides, padding,
                           dilation)
        outs.append(y)
        saved.append(res)
    return np.concatenate(outs, axis=-1), saved


def _grouped_joint(g, ans, needs, x, kernel, bias, strides=(1, 1), padding="valid", dilation=(1, 1), groups=1):
    parts = []
    for (cin, f), res in zip(_group_slices(kernel, groups), ans[1]):
        parts.append(_conv_joint(np.ascontiguousarray(g[..., f]), (None, res), needs, x[..., cin], kernel[..., f],
                                 None if bias is None else bias[f], strides, padding, dilation))
    gx = np.concatenate([p[0] for p in parts], axis=-1) if needs[0] else None
    gk = np.concatenate([p[1] for p in parts], axis=-1) if needs[1] else None
    gb = np.concatenate([p[2] for p in parts], axis=-1) if needs[2] else None
    return gx, gk, gb


grouped_conv2d = primitive("grouped_conv2d", _grouped_fwd, joint=_grouped_joint, saves=True)

__all__ = ["depthwise_conv2d", "grouped_conv2d"]
