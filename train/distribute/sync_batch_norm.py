"""Synchronized BatchNormalization (``BatchNormalization(synchronized=True)``): batch statistics of the global batch.

Under a multi-replica fit the mean and variance are those of every replica's samples together (two small
all-reduces forward: the sums, then the squared deviations from the global mean, so no precision is lost), and
the backward pass all-reduces the two sums its input gradient needs. The result is the one process's
normalization of the whole batch. Replica r's gradients are scaled by ``n_r`` and divided by the global count
(engine.py), so its local input gradient carries the factor ``1 / n_r``; a stand-in replica (``n_r = 0``) adds
nothing. Without a running multi-replica fit this is the ordinary layer.
"""
from __future__ import annotations

import numpy as np

from ..autodiff import nn as N
from ..autodiff.core import primitive
from . import context


def _local_count(x, axes, engine):
    rows = int(np.prod([x.shape[a] for a in axes], dtype=np.int64))
    return float(rows) if engine.step_count != 0 else 0.0


def _fwd(x, gamma, beta, axes, epsilon, engine):
    n = _local_count(x, axes, engine)
    weight = 1.0 if n else 0.0
    sums = np.concatenate([np.sum(x, axis=axes, dtype=np.float64).ravel() * weight, [n]])
    engine.collective.allreduce_(sums, "the batch-statistics all-reduce of a synchronized BatchNormalization")
    total = sums[-1]
    keep = np.mean(x, axis=axes, keepdims=True).shape
    mean = (sums[:-1] / total).reshape(keep)
    squares = np.sum(np.square(x - mean), axis=axes, dtype=np.float64).ravel() * weight
    engine.collective.allreduce_(squares, "the batch-statistics all-reduce of a synchronized BatchNormalization")
    var = (squares / total).reshape(keep)
    inv = (1.0 / np.sqrt(var + epsilon)).astype(x.dtype)
    xhat = (x - mean.astype(x.dtype)) * inv
    y = xhat
    if gamma is not None:
        y = y * gamma
    if beta is not None:
        y = y + beta
    stats = np.squeeze(mean, axes).astype(x.dtype), np.squeeze(var, axes).astype(x.dtype)
    return (y, *stats), (xhat, inv, keep, n, total)


def _joint(g, ans, needs, x, gamma, beta, axes, epsilon, engine):
    gy = g[0]
    _, (xhat, inv, keep, n, total) = ans
    ggamma = np.sum(gy * xhat, axis=axes).reshape(np.shape(gamma)) if needs[1] else None
    gbeta = np.sum(gy, axis=axes).reshape(np.shape(beta)) if needs[2] else None
    gxhat = gy * gamma if gamma is not None else gy
    sums = np.concatenate([np.sum(gxhat, axis=axes, dtype=np.float64).ravel(),
                           np.sum(gxhat * xhat, axis=axes, dtype=np.float64).ravel()]) * n
    engine.collective.allreduce_(sums, "the gradient all-reduce of a synchronized BatchNormalization")
    if not needs[0]:
        return None, ggamma, gbeta
    if not n:
        return np.zeros_like(x), ggamma, gbeta
    half = sums.size // 2
    s1 = (sums[:half] / (n * total)).reshape(keep).astype(x.dtype)
    s2 = (sums[half:] / (n * total)).reshape(keep).astype(x.dtype)
    return (gxhat - s1 - xhat * s2) * inv, ggamma, gbeta


_synchronized = primitive("sync_batch_norm_train", _fwd, joint=_joint, n_out=3, saves=True)


def batch_norm_train(x, gamma, beta, axes, epsilon):
    """``nn.batch_norm_train`` over the global batch while a multi-replica fit runs, else the plain one."""
    engine = context.current_engine()
    if engine is None:
        return N.batch_norm_train(x, gamma, beta, axes=axes, epsilon=epsilon)
    return _synchronized(x, gamma, beta, axes=axes, epsilon=epsilon, engine=engine)


__all__ = ["batch_norm_train"]
