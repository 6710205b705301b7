"""``InputLayer`` and ``Input``: where a functional model's graph starts."""
from __future__ import annotations

from ...errors import KerasliteError
from .base import Layer
from .keras_tensor import KerasTensor, SymbolicNode


class InputLayer(Layer):
    """The layer behind ``Input``; holds the batch shape and dtype of one model input."""

    def __init__(self, shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None, input_tensor=None,
                 name=None, **kwargs):
        # Keras 2 spellings, still in files and tutorials
        shape = kwargs.pop("input_shape", shape)
        batch_shape = kwargs.pop("batch_input_shape", batch_shape)
        kwargs.pop("ragged", None)
        kwargs.pop("optional", None)
        super().__init__(name=name, dtype=dtype, **kwargs)
        if sparse:
            raise KerasliteError("sparse inputs are not supported; pass dense arrays")
        if batch_shape is None:
            if shape is None:
                raise KerasliteError("You must pass a `shape` argument to Input, e.g. Input(shape=(784,)). "
                                     f"Received: shape={shape}, batch_shape={batch_shape}")
            shape = (shape,) if isinstance(shape, int) else tuple(shape)
            batch_shape = (batch_size, *shape)
        self.batch_shape = tuple(batch_shape)
        self.built = True
        if input_tensor is None:
            input_tensor = KerasTensor(self.batch_shape, self.dtype, name=self.name)
        SymbolicNode(self, (), {}, input_tensor)
        self.output_tensor = input_tensor

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return self.batch_shape

    def get_config(self):
        return {"batch_shape": list(self.batch_shape), "dtype": self.dtype, "sparse": False, "name": self.name}


def Input(shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None, name=None, tensor=None,
          optional=False):
    """A symbolic model input (``keras.Input``): ``x = Input(shape=(784,)); y = Dense(10)(x)``."""
    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, sparse=sparse, batch_shape=batch_shape,
                       name=name, input_tensor=tensor)
    return layer.output_tensor


__all__ = ["InputLayer", "Input"]
