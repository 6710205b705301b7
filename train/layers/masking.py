"""``Masking``: marks the time steps whose features all equal ``mask_value`` as padding for the layers after it."""
from __future__ import annotations

import numpy as np

from ...errors import KerasliteError
from ..autodiff import Tensor, elementwise as E
from .base import Layer


class Masking(Layer):
    """Masks a step (and zeroes it) when every feature equals ``mask_value``, as Keras' ``Masking``.

    Example::

        model = keraslite.Sequential([keraslite.Input((10, 8)), keraslite.layers.Masking(0.0),
                                      keraslite.layers.LSTM(32)])
    """

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        if isinstance(mask_value, bool) or not isinstance(mask_value, (int, float, np.number)):
            raise KerasliteError(f"Masking: mask_value must be a number, got {mask_value!r}")
        self.mask_value = mask_value
        self.supports_masking = True
        self.built = True

    def _valid(self, inputs):
        values = inputs._v if isinstance(inputs, Tensor) else np.asarray(inputs)
        return np.any(values != self.mask_value, axis=-1)

    def call(self, inputs):
        valid = self._valid(inputs)
        return E.where(valid[..., None], inputs, np.zeros((), inputs.dtype))

    def compute_mask(self, inputs, mask=None):
        return Tensor(self._valid(inputs))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "mask_value": self.mask_value}


__all__ = ["Masking"]
