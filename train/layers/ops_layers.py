"""Arithmetic on KerasTensors while building a functional model (``x * 2.0``, ``a + b``, ``x[:, 0]``).

Each operation becomes a small layer in the graph, as Keras 3 records an operation node. Such models train and
predict; saving them needs the operation as a built-in layer (``layers.Add()``, ``Rescaling``), since a file
records layers, not Python expressions.
"""
from __future__ import annotations

from ..autodiff import elementwise as E, shape as S
from .base import Layer
from .keras_tensor import KerasTensor

OPS = {"add": E.add, "subtract": E.subtract, "multiply": E.multiply, "divide": E.divide, "negative": E.negative,
       "getitem": S.getitem}


class TensorOperation(Layer):
    """One arithmetic operation on tensors; a constant operand is kept on the layer."""

    def __init__(self, op, constant=None, reflected=False, **kwargs):
        super().__init__(name=kwargs.pop("name", None), **kwargs)
        self.op, self.constant, self.reflected = op, constant, reflected

    def call(self, inputs):
        fn = OPS[self.op]
        if self.op == "negative":
            return fn(inputs)
        if self.op == "getitem":
            return fn(inputs, self.constant)
        if isinstance(inputs, (list, tuple)):
            return fn(*inputs)
        return fn(self.constant, inputs) if self.reflected else fn(inputs, self.constant)


def symbolic_op(name, x, other=None, reflected=False):
    """The KerasTensor of ``x <op> other`` (or ``other <op> x`` when ``reflected``)."""
    if isinstance(other, KerasTensor):
        pair = [other, x] if reflected else [x, other]
        return TensorOperation(name)(pair)
    return TensorOperation(name, constant=other, reflected=reflected)(x)
