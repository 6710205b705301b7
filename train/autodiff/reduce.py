"""Reductions and their VJPs: sum, mean, max/min, prod, logsumexp, variance, cumulative sums, argmax/argmin."""
from __future__ import annotations

import numpy as np

from .core import primitive


def _axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    axis = (axis,) if isinstance(axis, int) else tuple(axis)
    return tuple(a % ndim for a in axis) if ndim else ()


def _expand(g, x, axis, keepdims):
    """``g`` reshaped so it broadcasts against ``x`` (the reduced axes as size 1)."""
    if keepdims or np.ndim(x) == 0:
        return g
    shape = list(np.shape(x))
    for a in _axes(axis, np.ndim(x)):
        shape[a] = 1
    return np.reshape(g, shape)


def _count(x, axis):
    return int(np.prod([np.shape(x)[a] for a in _axes(axis, np.ndim(x))])) if np.ndim(x) else 1


def _sum_vjp(g, a, x, axis=None, keepdims=False):
    if axis is None:
        return np.full(np.shape(x), g, dtype=g.dtype)
    return np.broadcast_to(_expand(g, x, axis, keepdims), np.shape(x))


def _mean_vjp(g, a, x, axis=None, keepdims=False):
    n = _count(x, axis)
    if axis is None:
        return np.full(np.shape(x), g / n, dtype=g.dtype)
    return np.broadcast_to(_expand(g, x, axis, keepdims) / np.asarray(n, g.dtype), np.shape(x))


def _extreme_vjp(g, a, x, axis=None, keepdims=False):
    """Gradient to the extreme elements, split evenly among ties (as TensorFlow does)."""
    a = _expand(a, x, axis, keepdims)
    mask = (x == a).astype(g.dtype)
    mask /= np.sum(mask, axis=_axes(axis, np.ndim(x)), keepdims=True)
    return _expand(g, x, axis, keepdims) * mask


def _prod_vjp(g, a, x, axis=None, keepdims=False):
    """d prod / d x_i = product of the other elements: exclusive products from both sides (exact with zeros)."""
    x = np.asarray(x)
    axes = _axes(axis, x.ndim)
    kept = [i for i in range(x.ndim) if i not in axes]
    moved = np.transpose(x, kept + list(axes))
    rows = moved.reshape(-1, _count(x, axis))
    ones = np.ones((rows.shape[0], 1), x.dtype)
    left = np.cumprod(np.concatenate([ones, rows[:, :-1]], axis=1), axis=1)
    right = np.cumprod(np.concatenate([ones, rows[:, :0:-1]], axis=1), axis=1)[:, ::-1]
    others = np.transpose((left * right).reshape(moved.shape), np.argsort(kept + list(axes)))
    return _expand(g, x, axis, keepdims) * others


def _logsumexp_fwd(x, axis=None, keepdims=False):
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=_axes(axis, np.ndim(x)))


def _logsumexp_vjp(g, a, x, axis=None, keepdims=False):
    return _expand(g, x, axis, keepdims) * np.exp(x - _expand(a, x, axis, keepdims))


def _var_fwd(x, axis=None, keepdims=False):
    return np.var(x, axis=axis, keepdims=keepdims)


def _var_vjp(g, a, x, axis=None, keepdims=False):
    n = _count(x, axis)
    centered = x - np.mean(x, axis=axis, keepdims=True)
    return _expand(g, x, axis, keepdims) * centered * np.asarray(2.0 / n, dtype=np.result_type(x))


def _cumsum_vjp(g, a, x, axis=None):
    if axis is None:
        return np.flip(np.cumsum(np.flip(g.reshape(-1)))).reshape(np.shape(x))
    return np.flip(np.cumsum(np.flip(g, axis), axis=axis), axis)


sum_ = primitive("sum", lambda x, axis=None, keepdims=False: np.add.reduce(x, axis=axis, keepdims=keepdims), _sum_vjp)
mean = primitive("mean", lambda x, axis=None, keepdims=False: np.mean(x, axis=axis, keepdims=keepdims), _mean_vjp)
max_ = primitive("max", lambda x, axis=None, keepdims=False: np.max(x, axis=axis, keepdims=keepdims), _extreme_vjp)
min_ = primitive("min", lambda x, axis=None, keepdims=False: np.min(x, axis=axis, keepdims=keepdims), _extreme_vjp)
prod = primitive("prod", lambda x, axis=None, keepdims=False: np.prod(x, axis=axis, keepdims=keepdims), _prod_vjp)
logsumexp = primitive("logsumexp", _logsumexp_fwd, _logsumexp_vjp)
var = primitive("var", _var_fwd, _var_vjp)
cumsum = primitive("cumsum", lambda x, axis=None: np.cumsum(x, axis=axis), _cumsum_vjp)
argmax = primitive("argmax", lambda x, axis=None, keepdims=False: np.argmax(x, axis=axis, keepdims=keepdims))
argmin = primitive("argmin", lambda x, axis=None, keepdims=False: np.argmin(x, axis=axis, keepdims=keepdims))

__all__ = ["sum_", "mean", "max_", "min_", "prod", "logsumexp", "var", "cumsum", "argmax", "argmin"]
