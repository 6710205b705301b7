"""``IndexedSlices``: the gradient of a row lookup (an Embedding), as TensorFlow hands it to Keras' optimizers.

A lookup's gradient is the rows that were read (``indices``, repeats included) and their gradients (``values``).
As a dense array it is their sum per row. Keras' optimizers on TensorFlow square such a gradient row by row
before summing (``ops.square`` keeps the slices), so for a token read twice in a batch Adam's second moment gets
``g1**2 + g2**2``, not ``(g1 + g2)**2``; ``squared_sum`` gives that, and the optimizers use it.
"""
from __future__ import annotations

import numpy as np

from . import native


def _rows_sum(values, indices, dense_shape, square=False):
    """The (dense_shape) array holding, per row, the sum of the ``values`` rows (or their squares) read from it."""
    out = np.zeros(dense_shape, values.dtype)
    idx = np.asarray(indices).reshape(-1)
    rows = dense_shape[0]
    lib = native.lib()
    if lib is not None and values.dtype == np.float32 and idx.dtype.kind in "iu" and rows > 0:
        lib.rows_add(np.ascontiguousarray(idx, np.int64), np.ascontiguousarray(values), out, int(square))
        return out
    values = np.square(values) if square else values
    width = out.size // rows if rows else 0
    if width == 1 or idx.size == 0:
        np.add.at(out.reshape(-1), idx, values.reshape(-1))
        return out
    # one flat index per element: numpy's add.at is several times faster on a 1-D target than on rows
    idx = np.where(idx < 0, idx + rows, idx)
    if idx.size and (idx.min() < 0 or idx.max() >= rows):
        raise IndexError(f"an index of the lookup is out of range for {rows} rows")
    flat = idx[:, None] * width + np.arange(width)
    np.add.at(out.reshape(-1), flat.reshape(-1), values.reshape(-1))
    return out


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
        return _rows_sum(self.values, self.indices, self.dense_shape)

    def squared_sum(self) -> np.ndarray:
        """Per row, the sum of the squares of its read gradients."""
        return _rows_sum(self.values, self.indices, self.dense_shape, square=True)

    def has_repeats(self) -> bool:
        idx = np.asarray(self.indices).reshape(-1)
        if idx.size < 2:
            return False
        rows = self.dense_shape[0]
        return bool(np.bincount(np.where(idx < 0, idx + rows, idx), minlength=rows).max() > 1)

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
