"""Reshaping layers: ZeroPadding1D/2D, Cropping1D/2D, UpSampling1D/2D (nearest and bilinear), Permute,
RepeatVector (Reshape and Flatten live in core.py)."""
from __future__ import annotations

import numpy as np

from ...errors import KerasliteError
from ..autodiff import image as I, shape as S
from .base import Layer
from .conv import as_tuple


def _pair(value, name):
    """An int or two ints as ``(before, after)``, zero allowed."""
    pair = as_tuple(value, 2, name)
    if any(v < 0 for v in pair):
        raise KerasliteError(f"The `{name}` argument cannot contain negative values. Received {name}={pair}")
    return pair


def _pairs(value, name):
    """ZeroPadding2D/Cropping2D amounts: an int, two ints, or two pairs, as ``((top, bottom), (left, right))``."""
    if isinstance(value, (int, np.integer)):
        if value < 0:
            raise KerasliteError(f"`{name}` cannot be negative. Received: {name}={value}.")
        return ((int(value),) * 2,) * 2
    if not hasattr(value, "__len__") or len(value) != 2:
        raise KerasliteError(f"`{name}` should be either an int, a tuple of 2 ints (symmetric_height, "
                             f"symmetric_width), or a tuple of 2 tuples of 2 ints ((top, bottom), (left, right)). "
                             f"Received: {name}={value}.")
    return _pair(value[0], f"1st entry of {name}"), _pair(value[1], f"2nd entry of {name}")


def _spatial_axes(data_format, rank):
    return tuple(range(2, 2 + rank)) if data_format == "channels_first" else tuple(range(1, 1 + rank))


def _data_format(value):
    value = value or "channels_last"
    if value not in ("channels_last", "channels_first"):
        raise KerasliteError(f"The `data_format` argument must be one of 'channels_first', 'channels_last'. "
                             f"Received: data_format={value}")
    return value


class ZeroPadding(Layer):
    """Zeros added before and after the spatial axes."""

    rank = 2

    def __init__(self, padding=1, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = _data_format(data_format)
        self.padding = (_pair(padding, "padding"),) if self.rank == 1 else _pairs(padding, "padding")

    def _widths(self, ndim):
        widths = [(0, 0)] * ndim
        for axis, pair in zip(_spatial_axes(self.data_format, self.rank), self.padding):
            widths[axis] = pair
        return tuple(widths)

    def call(self, inputs):
        return S.pad(inputs, self._widths(inputs.ndim))

    def compute_output_shape(self, input_shape):
        return tuple(None if d is None else d + a + b for d, (a, b) in zip(input_shape, self._widths(len(input_shape))))

    def get_config(self):
        padding = list(self.padding[0]) if self.rank == 1 else [list(p) for p in self.padding]
        return {**super().get_config(), "padding": padding, "data_format": self.data_format}


class ZeroPadding1D(ZeroPadding):
    """Zeros at the start and end of the steps axis: ``padding=(before, after)``."""

    rank = 1


class ZeroPadding2D(ZeroPadding):
    """Zeros around the image: ``padding=((top, bottom), (left, right))``."""

    rank = 2


class Cropping1D(Layer):
    """Drops ``cropping=(start, end)`` steps."""

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(**kwargs)
        self.cropping = _pair(cropping, "cropping")

    def call(self, inputs):
        if inputs.shape[1] <= sum(self.cropping):
            raise KerasliteError(f"`cropping` parameter of `Cropping1D` layer must be smaller than the input length. "
                                 f"Received: inputs.shape={tuple(inputs.shape)}, cropping={self.cropping}")
        a, b = self.cropping
        return S.getitem(inputs, (slice(None), slice(a, inputs.shape[1] - b)))

    def compute_output_shape(self, input_shape):
        length = None if input_shape[1] is None else input_shape[1] - sum(self.cropping)
        if length is not None and length <= 0:
            raise KerasliteError(f"`cropping` parameter of `Cropping1D` layer must be smaller than the input length. "
                                 f"Received: input_shape={tuple(input_shape)}, cropping={self.cropping}")
        return (input_shape[0], length, input_shape[2])

    def get_config(self):
        return {**super().get_config(), "cropping": list(self.cropping)}


class Cropping2D(Layer):
    """Drops rows and columns: ``cropping=((top, bottom), (left, right))``."""

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = _data_format(data_format)
        self.cropping = _pairs(cropping, "cropping")

    def _check(self, shape, what):
        axes = _spatial_axes(self.data_format, 2)
        if any(shape[a] is not None and sum(c) >= shape[a] for a, c in zip(axes, self.cropping)):
            raise KerasliteError(f"Values in `cropping` argument should be smaller than the corresponding spatial "
                                 f"dimension of the input. Received: {what}={tuple(shape)}, "
                                 f"cropping={self.cropping}")
        return axes

    def call(self, inputs):
        axes = self._check(inputs.shape, "inputs.shape")
        index = [slice(None)] * inputs.ndim
        for axis, (a, b) in zip(axes, self.cropping):
            index[axis] = slice(a, inputs.shape[axis] - b)
        return S.getitem(inputs, tuple(index))

    def compute_output_shape(self, input_shape):
        axes = self._check(input_shape, "input_shape")
        out = list(input_shape)
        for axis, c in zip(axes, self.cropping):
            out[axis] = None if out[axis] is None else out[axis] - sum(c)
        return tuple(out)

    def get_config(self):
        return {**super().get_config(), "cropping": [list(c) for c in self.cropping], "data_format": self.data_format}


class UpSampling1D(Layer):
    """Repeats every step ``size`` times."""

    def __init__(self, size=2, **kwargs):
        super().__init__(**kwargs)
        if isinstance(size, (list, tuple)) and len(size) == 1:
            size = size[0]  # keraslite.format's canonical form is a one-element list
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)):
            raise KerasliteError(f"Expected an integer value for `size`, got {type(size)}.")
        if size <= 0:
            raise KerasliteError(f"Argument `size` should be a positive integer. Received: size={size}")
        self.size = int(size)

    def call(self, inputs):
        return S.repeat(inputs, self.size, axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], None if input_shape[1] is None else input_shape[1] * self.size, input_shape[2])

    def get_config(self):
        return {**super().get_config(), "size": self.size}


class UpSampling2D(Layer):
    """Enlarges the image by ``size``: pixels repeated (``nearest``) or TensorFlow's bilinear resize."""

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        self.data_format = _data_format(data_format)
        self.size = as_tuple(size, 2, "size")
        self.interpolation = str(interpolation).lower()
        if self.interpolation not in ("nearest", "bilinear"):
            raise KerasliteError(f"UpSampling2D: interpolation {interpolation!r} is not supported by keraslite; "
                                 "expected 'nearest' or 'bilinear'")

    def call(self, inputs):
        y = inputs
        for axis, factor in zip(_spatial_axes(self.data_format, 2), self.size):
            if self.interpolation == "nearest":
                y = S.repeat(y, factor, axis=axis)
            else:
                y = I.resample(y, matrix=I.bilinear_matrix(y.shape[axis], y.shape[axis] * factor), axis=axis)
        return y

    def compute_output_shape(self, input_shape):
        out = list(input_shape)
        for axis, factor in zip(_spatial_axes(self.data_format, 2), self.size):
            out[axis] = None if out[axis] is None else out[axis] * factor
        return tuple(out)

    def get_config(self):
        return {**super().get_config(), "size": list(self.size), "data_format": self.data_format,
                "interpolation": self.interpolation}


class Permute(Layer):
    """Permutes the non-batch axes: ``dims`` numbers them from 1."""

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        self.dims = tuple(int(d) for d in dims)
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise KerasliteError(f"Invalid permutation argument `dims` for Permute Layer. The set of indices in "
                                 f"`dims` must be consecutive and start from 1. Received dims={tuple(dims)}")

    def call(self, inputs):
        if inputs.ndim != len(self.dims) + 1:
            raise KerasliteError(f"Input 0 of layer {self.name!r} is incompatible with the layer: expected "
                                 f"ndim={len(self.dims) + 1}, found ndim={inputs.ndim}. Full shape received: "
                                 f"{tuple(inputs.shape)}")
        return S.transpose(inputs, (0,) + self.dims)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + tuple(input_shape[d] for d in self.dims)

    def get_config(self):
        return {**super().get_config(), "dims": list(self.dims)}


class RepeatVector(Layer):
    """(batch, features) -> (batch, n, features)."""

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
            raise KerasliteError(f"Expected an integer value for `n`, got {type(n)}.")
        if n <= 0:
            raise KerasliteError(f"Argument `n` should be a positive integer. Received: n={n}")
        self.n = int(n)

    def call(self, inputs):
        if inputs.ndim != 2:
            raise KerasliteError(f"Input 0 of layer {self.name!r} is incompatible with the layer: expected ndim=2, "
                                 f"found ndim={inputs.ndim}. Full shape received: {tuple(inputs.shape)}")
        return S.repeat(S.expand_dims(inputs, 1), self.n, axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.n, input_shape[1])

    def get_config(self):
        return {**super().get_config(), "n": self.n}


__all__ = ["ZeroPadding1D", "ZeroPadding2D", "Cropping1D", "Cropping2D", "UpSampling1D", "UpSampling2D", "Permute",
           "RepeatVector"]
