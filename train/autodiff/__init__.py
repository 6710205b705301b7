"""keraslite's own reverse-mode autodiff: Tensor, Variable, GradientTape and the primitive tables.

Primitives live one family a file (elementwise, reduce, shape, linalg, nn, conv, conv_transpose, depthwise,
image, recurrent); ``PRIMITIVES`` is every one of them by name, which the gradient-check tests walk. Python
operators on tensors and variables are bound here.
"""
from __future__ import annotations

import numpy as np

from . import conv, conv_transpose, depthwise, elementwise, image, linalg, nn, recurrent, reduce, shape
from .core import FLOATX, Node, Primitive, Tensor, apply, as_array, primitive, recording_tapes, unbroadcast
from .sparse import IndexedSlices
from .tape import GradientTape
from .variable import Variable

FAMILIES = {"elementwise": elementwise, "reduce": reduce, "shape": shape, "linalg": linalg, "nn": nn, "conv": conv,
            "conv_transpose": conv_transpose, "depthwise": depthwise, "image": image, "recurrent": recurrent}
PRIMITIVES = {p.name: p for module in FAMILIES.values() for p in vars(module).values() if isinstance(p, Primitive)}


def _operand(other):
    """The other side of an operator: Tensors and Python numbers as they are, anything else as an array."""
    if isinstance(other, (Tensor, int, float, bool)):
        return other
    return as_array(other)


def _binary(prim, reflected=False):
    def method(self, other):
        other = _operand(other)
        return prim(other, self) if reflected else prim(self, other)
    return method


def _bind_operators():
    e = elementwise
    table = {"__add__": e.add, "__sub__": e.subtract, "__mul__": e.multiply, "__truediv__": e.divide,
             "__pow__": e.power, "__floordiv__": e.floor_divide, "__mod__": e.mod, "__matmul__": linalg.matmul,
             "__lt__": e.less, "__le__": e.less_equal, "__gt__": e.greater, "__ge__": e.greater_equal,
             "__and__": e.logical_and, "__or__": e.logical_or}
    for name, prim in table.items():
        setattr(Tensor, name, _binary(prim))
        if name not in ("__lt__", "__le__", "__gt__", "__ge__"):
            setattr(Tensor, name.replace("__", "__r", 1), _binary(prim, reflected=True))
    Tensor.__neg__ = lambda self: e.negative(self)
    Tensor.__pos__ = lambda self: self
    Tensor.__abs__ = lambda self: e.absolute(self)
    Tensor.__invert__ = lambda self: e.logical_not(self)
    Tensor.__getitem__ = lambda self, index: shape.getitem(self, _index(index))
    Tensor.T = property(lambda self: shape.transpose(self))


def _index(index):
    """Tensor indices (masks, gathers) as arrays, so numpy indexing sees plain values."""
    if isinstance(index, tuple):
        return tuple(i._v if isinstance(i, Tensor) else i for i in index)
    return index._v if isinstance(index, Tensor) else index


_bind_operators()

__all__ = ["Tensor", "Variable", "GradientTape", "IndexedSlices", "Primitive", "Node", "apply", "primitive", "PRIMITIVES",
           "as_array", "unbroadcast", "recording_tapes", "FLOATX", "np"]
