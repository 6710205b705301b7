"""Pooling layers: Max/AveragePooling1D/2D and the global poolings.

GlobalAveragePooling1D averages over the unmasked steps only. GlobalMaxPooling1D takes the mask in and drops it,
taking the max over every step, masked ones too, as Keras 3 does (tf_keras refuses a mask there)."""
from __future__ import annotations

import numpy as np

from ...errors import KerasliteError
from ..autodiff import conv as C, elementwise as E, reduce as R, shape as S
from ..autodiff.conv import out_size
from .base import Layer
from .conv import as_tuple


class Pooling(Layer):
    """Shared 1-D/2-D pooling over channels-last inputs."""

    rank = 2
    op = None

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.pool_size = as_tuple(pool_size, self.rank, "pool_size")
        self.strides = as_tuple(strides, self.rank, "strides") if strides is not None else self.pool_size
        self.padding = str(padding).lower()
        if self.padding not in ("valid", "same"):
            raise KerasliteError(f"The `padding` argument must be 'valid' or 'same'. Received: padding={padding}")
        self.data_format = data_format or "channels_last"
        self.supports_masking = False

    def call(self, inputs):
        x = inputs
        first = self.data_format == "channels_first"
        if first:
            x = S.transpose(x, (0, *range(2, x.ndim), 1))
        fn = C.max_pool2d if self.op == "max" else C.avg_pool2d
        if self.rank == 1:
            y = S.squeeze(fn(S.expand_dims(x, 1), pool=(1,) + self.pool_size, strides=(1,) + self.strides,
                             padding=self.padding), 1)
        else:
            y = fn(x, pool=self.pool_size, strides=self.strides, padding=self.padding)
        if first:
            y = S.transpose(y, (0, y.ndim - 1, *range(1, y.ndim - 1)))
        return y

    def compute_output_shape(self, input_shape):
        first = self.data_format == "channels_first"
        spatial = input_shape[2:] if first else input_shape[1:-1]
        out = [None if n is None else out_size(n, k, s, 1, self.padding)
               for n, k, s in zip(spatial, self.pool_size, self.strides)]
        return (input_shape[0], input_shape[1], *out) if first else (input_shape[0], *out, input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "pool_size": list(self.pool_size), "padding": self.padding,
                "strides": list(self.strides), "data_format": self.data_format}


def _pool(name, rank, op):
    return type(name, (Pooling,), {"rank": rank, "op": op, "__doc__": f"{op} pooling over {rank}-D windows."})


MaxPooling1D = _pool("MaxPooling1D", 1, "max")
MaxPooling2D = _pool("MaxPooling2D", 2, "max")
AveragePooling1D = _pool("AveragePooling1D", 1, "average")
AveragePooling2D = _pool("AveragePooling2D", 2, "average")


class GlobalPooling(Layer):
    """Shared global pooling: reduce every spatial axis."""

    rank = 2
    op = None

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = data_format or "channels_last"
        self.keepdims = bool(keepdims)
        self.supports_masking = self.rank == 1

    def _axes(self, ndim):
        return tuple(range(2, ndim)) if self.data_format == "channels_first" else tuple(range(1, ndim - 1))

    def call(self, inputs, mask=None):
        axes = self._axes(inputs.ndim)
        if mask is not None and self.rank == 1 and self.op != "max":
            return self._masked(inputs, mask, axes)
        if self.op == "max":
            return R.max_(inputs, axis=axes, keepdims=self.keepdims)
        return R.mean(inputs, axis=axes, keepdims=self.keepdims)

    def _masked(self, inputs, mask, axes):
        m = np.asarray(mask._v if hasattr(mask, "_v") else mask, dtype=inputs.dtype)
        m = m[:, :, None] if self.data_format == "channels_last" else m[:, None, :]
        total = R.sum_(E.multiply(inputs, m), axis=axes, keepdims=self.keepdims)
        count = np.sum(m, axis=axes, keepdims=self.keepdims)
        return E.divide(total, count)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        axes = self._axes(len(input_shape))
        if self.keepdims:
            return tuple(1 if i in axes else d for i, d in enumerate(input_shape))
        return tuple(d for i, d in enumerate(input_shape) if i not in axes)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}


def _global(name, rank, op):
    return type(name, (GlobalPooling,), {"rank": rank, "op": op, "__doc__": f"global {op} pooling ({rank}-D)."})


GlobalAveragePooling1D = _global("GlobalAveragePooling1D", 1, "average")
GlobalAveragePooling2D = _global("GlobalAveragePooling2D", 2, "average")
GlobalMaxPooling1D = _global("GlobalMaxPooling1D", 1, "max")
GlobalMaxPooling2D = _global("GlobalMaxPooling2D", 2, "max")

__all__ = ["MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D", "GlobalAveragePooling1D",
           "GlobalAveragePooling2D", "GlobalMaxPooling1D", "GlobalMaxPooling2D"]
