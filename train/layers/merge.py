"""Merge layers (Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate) and their function forms."""
from __future__ import annotations

import functools

import numpy as np

from ...errors import KerasliteError
from ..autodiff import Tensor, elementwise as E, shape as S
from .base import Layer


class Merge(Layer):
    """Combines a list of same-shape tensors elementwise; the output mask is the inputs' masks and-ed."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def _check(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) < self.min_inputs:
            raise KerasliteError(f"A merge layer {type(self).__name__} should be called on a list of at least "
                                 f"{self.min_inputs} inputs. Received: inputs={inputs!r:.200}")

    min_inputs = 1

    def call(self, inputs):
        self._check(inputs)
        return functools.reduce(self.combine, inputs[1:], inputs[0])

    def compute_output_shape(self, input_shape):
        shapes = [tuple(s) for s in input_shape]
        out = list(shapes[0])
        for shape in shapes[1:]:
            if len(shape) != len(out):
                raise KerasliteError(f"{type(self).__name__}: inputs must have the same rank, got shapes {shapes}")
            for i, (a, b) in enumerate(zip(out, shape)):
                if a is not None and b is not None and a != b and 1 not in (a, b):
                    raise KerasliteError(f"Inputs have incompatible shapes. Received shapes {shapes}")
                out[i] = a if b in (None, 1) else b
        return tuple(out)

    def compute_mask(self, inputs, mask=None):
        if mask is None or all(m is None for m in mask):
            return None
        masks = [np.asarray(m._v if isinstance(m, Tensor) else m) for m in mask if m is not None]
        return Tensor(np.logical_and.reduce(masks))


class Add(Merge):
    combine = staticmethod(E.add)


class Multiply(Merge):
    combine = staticmethod(E.multiply)


class Maximum(Merge):
    combine = staticmethod(E.maximum)


class Minimum(Merge):
    combine = staticmethod(E.minimum)


class Subtract(Merge):
    min_inputs = 2

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            raise KerasliteError(f"A `Subtract` layer should be called on exactly 2 inputs. Received: "
                                 f"inputs={inputs!r:.200}")
        return E.subtract(inputs[0], inputs[1])


class Average(Merge):
    def call(self, inputs):
        self._check(inputs)
        return E.divide(functools.reduce(E.add, inputs[1:], inputs[0]), float(len(inputs)))


class Concatenate(Merge):
    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = int(axis)

    def call(self, inputs):
        self._check(inputs)
        return S.concatenate(*inputs, axis=self.axis)

    def compute_output_shape(self, input_shape):
        shapes = [list(s) for s in input_shape]
        axis = self.axis % len(shapes[0])
        out = list(shapes[0])
        out[axis] = None if any(s[axis] is None for s in shapes) else sum(s[axis] for s in shapes)
        for s in shapes[1:]:
            if len(s) != len(out) or any(a is not None and b is not None and a != b
                                         for i, (a, b) in enumerate(zip(out, s)) if i != axis):
                raise KerasliteError("A `Concatenate` layer requires inputs with matching shapes except for the "
                                     f"concatenation axis. Received: input_shape={[tuple(x) for x in shapes]}")
        return tuple(out)

    def compute_mask(self, inputs, mask=None):
        if mask is None or all(m is None for m in mask):
            return None
        full = [np.ones(np.shape(x)[:-1] if self.axis in (-1, len(np.shape(x)) - 1) else np.shape(x), bool)
                if m is None else np.asarray(m._v if isinstance(m, Tensor) else m) for x, m in zip(inputs, mask)]
        if self.axis in (-1, len(np.shape(inputs[0])) - 1):
            return Tensor(np.logical_and.reduce(full))
        return Tensor(np.concatenate(full, axis=self.axis))

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


def _function(cls):
    def merge(inputs, **kwargs):
        return cls(**kwargs)(inputs)
    merge.__name__ = cls.__name__.lower()
    merge.__doc__ = f"Functional form of the {cls.__name__} layer: ``{merge.__name__}([a, b])``."
    return merge


add, subtract, multiply, average, maximum, minimum, concatenate = (
    _function(c) for c in (Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate))

__all__ = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "add", "subtract",
           "multiply", "average", "maximum", "minimum", "concatenate"]
