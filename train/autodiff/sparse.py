"""``IndexedSlices``: the gradient of a row lookup (an Embedding), as TensorFlow hands it to Keras' optimizers.

A lookup's gradient is the rows that were read (``indices``, repeats included) and their gradients (``values``).
As a dense array it is their sum per row. Keras' optimizers on TensorFlow square such a gradient row by row
before summing (``ops.square`` keeps the slices), so for a token read twice in a batch Adam's second moment gets
``g1**2 + g2**2``, not ``(g1 + g2)**2``; ``squared_sum`` gives that, and the optimizers use it.
"""
from __future__ import annotations

import numpy as np


class IndexedSlices:
    """Rows ``indices`` of a ``dense_shape`` array with gradients ``values`` (one row per read)."""

    __array_ufunc__ = None  # ndarray + IndexedSlices defers to __radd__

    def __init__(self, values, indices, dense_shape):
        self.values = values
        self.indices = indices
        self.dense_shape = tuple(dense_shape)

    @property
    def shape(self):
        return self.dense_shape

    @property
    def dtype(self):
        return self.values.dtype

    def to_dense(self) -> np.ndarray:
        out = np.zeros(self.dense_shape, self.values.dtype)
        np.add.at(out, self.indices, self.values)
        return out

    def squared_sum(self) -> np.ndarray:
        """Per row, the sum of the squares of its read gradients."""
        out = np.zeros(self.dense_shape, self.values.dtype)
        np.add.at(out, self.indices, np.square(self.values))
        return out

    def has_repeats(self) -> bool:
        return np.unique(self.indices).size != self.indices.size

    def numpy(self) -> np.ndarray:
        return self.to_dense()

    def __array__(self, dtype=None, copy=None):
        dense = self.to_dense()
        return dense if dtype is None else dense.astype(dtype)

    def __add__(self, other):
        if isinstance(other, IndexedSlices):
            return IndexedSlices(np.concatenate([self.values, other.values]),
                                 np.concatenate([self.indices, other.indices]), self.dense_shape)
        return self.to_dense() + other

    __radd__ = __add__

    def __mul__(self, scalar):
        return IndexedSlices(self.values * scalar, self.indices, self.dense_shape)

    __rmul__ = __mul__

    def __repr__(self):
        return (f"IndexedSlices(indices={self.indices!r}, values shape={self.values.shape}, "
                f"dense_shape={self.dense_shape})")


__all__ = ["IndexedSlices"]
