"""Noise layers active in training only: SpatialDropout1D/2D (whole feature maps dropped), GaussianNoise
(additive), GaussianDropout (multiplicative, mean 1). In inference each returns its input unchanged."""
from __future__ import annotations

import math

import numpy as np

from ...errors import KerasliteError
from .. import random
from ..autodiff import elementwise as E
from .base import Layer
from .core import Dropout


def _fraction(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not 0 <= value <= 1:
        raise KerasliteError(f"Invalid value received for argument `{name}`. Expected a float value between 0 and 1. "
                             f"Received: {name}={value}")
    return float(value)


def _normal(layer, shape, dtype):
    """Standard normal draws from the layer's seeded stream (the global one without a seed)."""
    dtype = np.dtype(dtype) if np.dtype(dtype).kind == "f" else np.dtype("float32")
    draw = random.generator(layer._seed).standard_normal(tuple(shape), dtype=np.float32)
    return draw.astype(dtype, copy=False)


class SpatialDropout(Dropout):
    """Dropout of whole channels: the mask is shared along the spatial axes."""

    def __init__(self, rate, data_format=None, seed=None, name=None, dtype=None, **kwargs):
        super().__init__(rate, seed=seed, name=name, dtype=dtype, **kwargs)
        self.data_format = data_format or "channels_last"
        if self.data_format not in ("channels_last", "channels_first"):
            raise KerasliteError(f"The `data_format` argument must be one of 'channels_first', 'channels_last'. "
                                 f"Received: data_format={data_format}")

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        shape = list(inputs.shape)
        spatial = range(2, inputs.ndim) if self.data_format == "channels_first" else range(1, inputs.ndim - 1)
        for axis in spatial:
            shape[axis] = 1
        return random.dropout(inputs, self.rate, noise_shape=tuple(shape), seed=self._seed)

    def get_config(self):
        # Keras' SpatialDropout constructors take no `trainable` (nor `noise_shape`), so the config has neither
        return {"rate": self.rate, "seed": self.seed, "name": self.name, "dtype": self.dtype}


class SpatialDropout1D(SpatialDropout):
    """Drops whole feature channels of (batch, steps, channels) inputs."""

    def __init__(self, rate, seed=None, name=None, dtype=None, **kwargs):
        super().__init__(rate, seed=seed, name=name, dtype=dtype, **kwargs)

    def call(self, inputs, training=False):
        if training and inputs.ndim != 3:
            raise KerasliteError(f"Input 0 of layer {self.name!r} is incompatible with the layer: expected ndim=3, "
                                 f"found ndim={inputs.ndim}. Full shape received: {tuple(inputs.shape)}")
        return super().call(inputs, training=training)


class SpatialDropout2D(SpatialDropout):
    """Drops whole feature maps of (batch, height, width, channels) inputs."""

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


class _Noise(Layer):
    """Shared by the Gaussian layers: one argument in [0, 1], an optional seed, masks passed through."""

    def __init__(self, amount, name_of_amount, seed=None, **kwargs):
        super().__init__(**kwargs)
        setattr(self, name_of_amount, _fraction(amount, name_of_amount))
        self.seed = seed
        self._seed = random.SeedGenerator(seed) if seed is not None else None
        self.supports_masking = True

    def compute_output_shape(self, input_shape):
        return input_shape


class GaussianNoise(_Noise):
    """Adds N(0, stddev^2) noise in training."""

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(stddev, "stddev", seed=seed, **kwargs)

    def call(self, inputs, training=False):
        if not training or self.stddev == 0:
            return inputs
        noise = _normal(self, inputs.shape, inputs.dtype) * inputs.dtype.type(self.stddev)
        return E.add(inputs, noise)

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


class GaussianDropout(_Noise):
    """Multiplies by N(1, rate / (1 - rate)) noise in training."""

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(rate, "rate", seed=seed, **kwargs)

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        stddev = inputs.dtype.type(math.sqrt(self.rate / (1.0 - self.rate)) if self.rate < 1 else np.inf)
        return E.multiply(inputs, _normal(self, inputs.shape, inputs.dtype) * stddev + inputs.dtype.type(1))

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


__all__ = ["SpatialDropout1D", "SpatialDropout2D", "GaussianNoise", "GaussianDropout"]
