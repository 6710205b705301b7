"""Preprocessing layers that live inside models: Rescaling and Normalization (with ``adapt``)."""
from __future__ import annotations

import numpy as np

from ...errors import KerasliteError
from ..autodiff import Tensor, elementwise as E
from .base import Layer

EPSILON = 1e-7


class Rescaling(Layer):
    """``inputs * scale + offset`` (``Rescaling(1. / 255)``)."""

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale, self.offset = scale, offset
        self.supports_masking = True

    def call(self, inputs):
        scale = np.asarray(self.scale, inputs.dtype) if np.ndim(self.scale) else float(self.scale)
        offset = np.asarray(self.offset, inputs.dtype) if np.ndim(self.offset) else float(self.offset)
        return E.add(E.multiply(inputs, scale), offset)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "offset": self.offset}


class Normalization(Layer):
    """``(x - mean) / sqrt(variance)`` per feature along ``axis``; ``adapt(data)`` learns mean and variance."""

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        self.axis = (axis,) if isinstance(axis, int) else (tuple(axis) if axis is not None else ())
        if (mean is None) != (variance is None):
            raise KerasliteError("When setting values directly, both `mean` and `variance` must be set. "
                                 f"Received: mean={mean} and variance={variance}")
        self.input_mean, self.input_variance = mean, variance
        self.invert = bool(invert)
        self.supports_masking = True

    def _shape(self, input_shape):
        ndim = len(input_shape)
        axes = sorted(a % ndim for a in self.axis)
        return axes, tuple(input_shape[a] for a in axes)

    def build(self, input_shape):
        axes, shape = self._shape(input_shape)
        if self.input_mean is None:
            self.mean = self.add_weight(shape=shape, name="mean", initializer="zeros", trainable=False)
            self.variance = self.add_weight(shape=shape, name="variance", initializer="ones", trainable=False)
            self.count = self.add_weight(shape=(), name="count", initializer="zeros", trainable=False,
                                         dtype="int64")
        else:
            self._fixed = (np.broadcast_to(np.asarray(self.input_mean, "float32"), shape),
                           np.broadcast_to(np.asarray(self.input_variance, "float32"), shape))

    def adapt(self, data, batch_size=None, steps=None):
        """Compute the mean and variance of ``data`` (an array, or an iterable of batches) along ``axis``."""
        batches = [data] if isinstance(data, (np.ndarray, Tensor, list)) else data
        arrays = [np.asarray(b[0] if isinstance(b, tuple) else b, np.float64) for b in batches]
        x = np.concatenate([a.reshape((-1,) + a.shape[1:]) for a in arrays], axis=0)
        if not self.built:
            self._maybe_build((None,) + x.shape[1:])
        axes, _ = self._shape(x.shape)
        reduce_axes = tuple(i for i in range(x.ndim) if i not in axes)
        self.mean.assign(np.mean(x, axis=reduce_axes).astype("float32"))
        self.variance.assign(np.var(x, axis=reduce_axes).astype("float32"))
        self.count.assign(np.int64(int(np.prod([x.shape[i] for i in reduce_axes]))))

    def _stats(self, ndim):
        axes = sorted(a % ndim for a in self.axis)
        mean, var = self._fixed if self.input_mean is not None else (self.mean.numpy(), self.variance.numpy())
        shape = [1] * ndim
        for a, d in zip(axes, mean.shape):
            shape[a] = d
        return mean.reshape(shape), var.reshape(shape)

    def call(self, inputs):
        mean, var = self._stats(inputs.ndim)
        std = np.maximum(np.sqrt(var), EPSILON).astype(inputs.dtype)
        mean = mean.astype(inputs.dtype)
        if self.invert:
            return E.add(E.multiply(inputs, std), mean)
        return E.divide(E.subtract(inputs, mean), std)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        def plain(v):
            return np.asarray(v).tolist() if v is not None else None

        return {**super().get_config(), "axis": list(self.axis) if len(self.axis) != 1 else self.axis[0],
                "mean": plain(self.input_mean), "variance": plain(self.input_variance), "invert": self.invert}


__all__ = ["Rescaling", "Normalization"]
