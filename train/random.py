"""``keraslite.random``: seeded random tensors (Keras 3 names) and the global generator behind them.

``utils.set_random_seed(seed)`` reseeds the global generator (and Python's and numpy's), so a seeded script
gives the same weights, shuffles and dropout masks run to run. A ``seed`` argument (an int or a SeedGenerator)
draws from its own stream instead.
"""
from __future__ import annotations

import numpy as np

from .autodiff import Tensor
from .autodiff.core import FLOATX, primitive

_global = {"rng": np.random.default_rng()}


def set_seed(seed) -> None:
    """Reseed the global generator (``utils.set_random_seed`` calls this)."""
    _global["rng"] = np.random.default_rng(seed)


class SeedGenerator:
    """A stream of random draws of its own (``keras.random.SeedGenerator(seed)``)."""

    def __init__(self, seed=None, name=None, **kwargs):
        self.seed = seed
        self.rng = np.random.default_rng(seed) if seed is not None else generator()

    def next(self):
        return self.rng


def generator(seed=None) -> np.random.Generator:
    """The generator for a ``seed`` argument: the global one for None, its own for an int or SeedGenerator."""
    if seed is None:
        return _global["rng"]
    if isinstance(seed, SeedGenerator):
        return seed.rng
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(int(seed))


def _shape(shape):
    return (int(shape),) if np.isscalar(shape) else tuple(int(d) for d in shape)


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Samples from N(mean, stddev^2)."""
    return Tensor(generator(seed).normal(mean, stddev, _shape(shape)).astype(dtype or FLOATX))


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    """Samples from U[minval, maxval)."""
    dtype = np.dtype(dtype or FLOATX)
    if dtype.kind in "iu":
        return Tensor(generator(seed).integers(minval, maxval, _shape(shape)).astype(dtype))
    return Tensor(generator(seed).uniform(minval, maxval, _shape(shape)).astype(dtype))


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Normal samples redrawn until within two standard deviations of the mean (as Keras)."""
    rng = generator(seed)
    shape = _shape(shape)
    out = rng.normal(0.0, 1.0, shape)
    bad = np.abs(out) > 2.0
    while bad.any():
        out[bad] = rng.normal(0.0, 1.0, int(bad.sum()))
        bad = np.abs(out) > 2.0
    return Tensor((out * stddev + mean).astype(dtype or FLOATX))


def randint(shape, minval, maxval, dtype="int32", seed=None):
    """Integers in [minval, maxval)."""
    return Tensor(generator(seed).integers(minval, maxval, _shape(shape)).astype(dtype))


def shuffle(x, axis=0, seed=None):
    """``x`` shuffled along ``axis``."""
    x = np.asarray(x)
    perm = generator(seed).permutation(x.shape[axis])
    return Tensor(np.take(x, perm, axis=axis))


def dropout(inputs, rate, noise_shape=None, seed=None):
    """``inputs`` with a fraction ``rate`` zeroed and the rest scaled by 1 / (1 - rate) (differentiable)."""
    from .autodiff import elementwise

    shape = noise_shape if noise_shape is not None else np.shape(inputs)
    dtype = np.result_type(inputs)
    if dtype.kind != "f":
        dtype = np.dtype(FLOATX)
    return elementwise.multiply(inputs, dropout_scale(shape=tuple(shape), rate=rate, dtype=dtype, seed=seed))


def _dropout_scale(shape, rate, dtype, seed):
    draw = generator(seed).random(shape, dtype=np.float32 if dtype == np.float32 else np.float64)
    return np.greater_equal(draw, rate, out=np.empty(shape, bool)).astype(dtype) * dtype.type(1.0 / (1.0 - rate))


# a primitive (without a gradient), so a traced training step draws a fresh mask each time it is replayed
dropout_scale = primitive("dropout_scale", _dropout_scale)


__all__ = ["normal", "uniform", "truncated_normal", "randint", "shuffle", "dropout", "SeedGenerator", "set_seed"]
