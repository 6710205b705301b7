"""Image resampling primitives, channels-last, linear in the image and differentiable with respect to it.

``resample`` applies a fixed (out, in) matrix along one axis: bilinear resizing is one such matrix per spatial
axis (``bilinear_matrix``, TensorFlow's half-pixel rule). ``affine_transform`` is TensorFlow's
ImageProjectiveTransformV3, which Keras' RandomRotation/Zoom/Translation call: every output pixel (x, y) reads
the input at ``((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k)``, ``k = c0 x + c1 y + 1``, after the fill mode
folds the point back into the image, by nearest or bilinear interpolation; reads outside the image give
``fill_value``. Coordinates are computed in float32 as TensorFlow does. The VJP scatters the output gradient back
to the pixels that were read, with the same weights (recomputed, so the forward keeps nothing). With Numba both run
as one pixel loop (kernels.py), else as whole-array numpy passes; the two agree to float32 rounding.
"""
from __future__ import annotations

import numpy as np

from . import kernels
from .core import primitive

F32 = np.float32


def bilinear_matrix(in_size: int, out_size: int) -> np.ndarray:
    """The (out, in) matrix of TensorFlow's bilinear resize (half-pixel centres, no antialiasing) for one axis."""
    scale = F32(in_size) / F32(out_size)
    src = (np.arange(out_size, dtype=F32) + F32(0.5)) * scale - F32(0.5)
    low = np.floor(src)
    frac = src - low
    lo = np.maximum(low.astype(np.int64), 0)
    hi = np.minimum(np.ceil(src).astype(np.int64), in_size - 1)
    matrix = np.zeros((out_size, in_size), np.float64)
    rows = np.arange(out_size)
    np.add.at(matrix, (rows, lo), 1.0 - frac.astype(np.float64))
    np.add.at(matrix, (rows, hi), frac.astype(np.float64))
    return matrix


def _resample_fwd(x, matrix, axis):
    y = np.tensordot(matrix.astype(x.dtype, copy=False), x, axes=([1], [axis]))
    return np.ascontiguousarray(np.moveaxis(y, 0, axis))


def _resample_vjp(g, ans, x, matrix, axis):
    return _resample_fwd(g, matrix.T, axis)


resample = primitive("resample", _resample_fwd, _resample_vjp)


# ------------------------------------------------------------------------------------- projective transform
def _reflect(c, n):
    if n <= 1:
        return np.zeros_like(c)
    sz2 = F32(2 * n)
    neg = sz2 * np.trunc(-c / sz2) + c
    neg = np.where(neg < -n, neg + sz2, -neg - F32(1))
    pos = c - sz2 * np.trunc(c / sz2)
    pos = np.where(pos >= n, sz2 - pos - F32(1), pos)
    return np.where(c < 0, neg, np.where(c > n - 1, pos, c))


def _wrap(c, n):
    if n <= 1:
        return np.zeros_like(c)
    size = F32(n - 1)
    neg = c + F32(n) * (np.trunc(-c / size) + F32(1))
    pos = c - F32(n) * np.trunc(c / size)
    return np.where(c < 0, neg, np.where(c > n - 1, pos, c))


FOLD = {"reflect": _reflect, "wrap": _wrap, "nearest": lambda c, n: c, "constant": None}


def _fold(c, n, fill_mode):
    if fill_mode == "constant":
        return c
    return np.clip(FOLD[fill_mode](c, n), F32(0), F32(n - 1))


def _source_points(transform, h, w, fill_mode):
    """Input coordinates (N, H, W) read by every output pixel, folded by ``fill_mode``, and where k == 0."""
    t = np.asarray(transform, F32).reshape(-1, 8)[:, :, None, None]
    ys, xs = np.meshgrid(np.arange(h, dtype=F32), np.arange(w, dtype=F32), indexing="ij")
    k = t[:, 6] * xs + t[:, 7] * ys + F32(1)
    infinite = k == 0
    k = np.where(infinite, F32(1), k)
    src_x = (t[:, 0] * xs + t[:, 1] * ys + t[:, 2]) / k
    src_y = (t[:, 3] * xs + t[:, 4] * ys + t[:, 5]) / k
    return _fold(src_y, h, fill_mode), _fold(src_x, w, fill_mode), infinite


def _round_half_away(c):
    return np.sign(c) * np.floor(np.abs(c) + F32(0.5))


def _reads(transform, h, w, interpolation, fill_mode):
    """``[(flat index (N, H*W), in-image mask, weight)]``: the pixels each output pixel reads and their weights."""
    y, x, infinite = _source_points(transform, h, w, fill_mode)
    if interpolation == "nearest":
        corners = [(_round_half_away(y), _round_half_away(x), np.ones_like(y))]
    else:
        y0, x0 = np.floor(y), np.floor(x)
        y1, x1 = y0 + F32(1), x0 + F32(1)
        corners = [(y0, x0, (y1 - y) * (x1 - x)), (y0, x1, (y1 - y) * (x - x0)),
                   (y1, x0, (y - y0) * (x1 - x)), (y1, x1, (y - y0) * (x - x0))]
    out = []
    n = y.shape[0]
    for cy, cx, weight in corners:
        cy = np.clip(cy, -1, h).astype(np.int64)  # anything outside reads fill_value; clipping keeps ints small
        cx = np.clip(cx, -1, w).astype(np.int64)
        inside = (cy >= 0) & (cy < h) & (cx >= 0) & (cx < w) & ~infinite
        flat = np.where(inside, cy * w + cx, 0).reshape(n, -1)
        out.append((flat, inside.reshape(n, -1), np.where(infinite, F32(0), weight).reshape(n, -1)))
    return out, infinite.reshape(n, -1)


MODES = {"reflect": 0, "wrap": 1, "constant": 2, "nearest": 3}


def _kernel_args(transform, interpolation, fill_mode, fill_value):
    return (np.ascontiguousarray(np.asarray(transform, F32).reshape(-1, 8)), interpolation == "nearest",
            MODES[fill_mode], F32(fill_value))


def _affine_fwd(x, transform, interpolation="bilinear", fill_mode="constant", fill_value=0.0):
    warp = kernels.get("warp")
    if warp is not None:  # coordinates in float32 whatever the image dtype, as TensorFlow
        out = np.empty(x.shape, x.dtype)
        warp(np.ascontiguousarray(x), *_kernel_args(transform, interpolation, fill_mode, fill_value), out, False)
        return out
    n, h, w, c = x.shape
    reads, infinite = _reads(transform, h, w, interpolation, fill_mode)
    # one extra row holding fill_value: every read outside the image points at it
    rows = np.concatenate([x.reshape(-1, c), np.full((1, c), fill_value, x.dtype)])
    base = (np.arange(n) * (h * w))[:, None]
    y = None
    for flat, inside, weight in reads:
        index = np.where(inside, flat + base, len(rows) - 1).reshape(-1)
        term = np.take(rows, index, axis=0) * np.broadcast_to(weight, (n, h * w)).reshape(-1, 1).astype(x.dtype)
        y = term if y is None else y + term
    y = np.where(np.broadcast_to(infinite, (n, h * w)).reshape(-1, 1), x.dtype.type(fill_value), y)
    return y.reshape(n, h, w, c)


def _affine_vjp(g, ans, x, transform, interpolation="bilinear", fill_mode="constant", fill_value=0.0):
    warp = kernels.get("warp")
    if warp is not None:
        gx = np.zeros(x.shape, g.dtype)
        warp(np.ascontiguousarray(g), *_kernel_args(transform, interpolation, fill_mode, fill_value), gx, True)
        return gx
    n, h, w, c = x.shape
    reads, _ = _reads(transform, h, w, interpolation, fill_mode)
    gflat = g.reshape(n, h * w, c)
    gx = np.zeros(n * h * w * c, g.dtype)
    base = (np.arange(n) * (h * w))[:, None]
    for flat, inside, weight in reads:
        flat = np.broadcast_to(flat, (n, h * w)) + base
        share = gflat * np.where(inside, weight, 0).astype(g.dtype)[..., None]
        index = (flat[..., None] * c + np.arange(c)).reshape(-1)
        gx += np.bincount(index, weights=share.reshape(-1), minlength=gx.size).astype(g.dtype, copy=False)
    return gx.reshape(x.shape)


affine_transform = primitive("affine_transform", _affine_fwd, _affine_vjp)

__all__ = ["resample", "bilinear_matrix", "affine_transform"]
