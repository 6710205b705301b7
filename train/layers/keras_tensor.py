"""Symbolic tensors for the functional API: ``KerasTensor`` (shape, dtype, history) and the graph ``SymbolicNode``.

Calling a layer on KerasTensors records a ``SymbolicNode`` (the layer, its arguments, its outputs) on the layer;
each output remembers ``(layer, node index, tensor index)`` in ``_keras_history``, which is how a Functional model
walks back from its outputs to its inputs.
"""
from __future__ import annotations

from typing import Any, List, NamedTuple, Optional, Tuple

import numpy as np

from ...errors import KerasliteError


class History(NamedTuple):
    layer: Any
    node_index: int
    tensor_index: int


class KerasTensor:
    """A symbolic tensor: what ``Input(...)`` and layers called on it return."""

    __array_priority__ = 200

    def __init__(self, shape, dtype="float32", name: Optional[str] = None, sparse: bool = False):
        self.shape: Tuple[Optional[int], ...] = tuple(None if d is None else int(d) for d in shape)
        self.dtype = "string" if dtype in ("string", "str", "object", object, str) else str(np.dtype(dtype))
        self.name = name
        self.sparse = sparse
        self._keras_history: Optional[History] = None
        self._keras_mask = None

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __repr__(self):
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"

    def __hash__(self):
        return id(self)

    def __array__(self, *args, **kwargs):
        raise KerasliteError("A KerasTensor is symbolic: it has no value. It describes the inputs/outputs of a "
                             "functional model; call the model on real data (model(x) or model.predict(x)) to get "
                             "values. Keras ops on KerasTensors are applied by layers, e.g. layers.Add()([a, b])")

    def _op(self, name, other=None, reflected=False):
        from .tensor_ops import symbolic_op

        return symbolic_op(name, self, other, reflected)

    def __add__(self, other):
        return self._op("add", other)

    def __radd__(self, other):
        return self._op("add", other, True)

    def __sub__(self, other):
        return self._op("subtract", other)

    def __rsub__(self, other):
        return self._op("subtract", other, True)

    def __mul__(self, other):
        return self._op("multiply", other)

    def __rmul__(self, other):
        return self._op("multiply", other, True)

    def __truediv__(self, other):
        return self._op("divide", other)

    def __rtruediv__(self, other):
        return self._op("divide", other, True)

    def __neg__(self):
        return self._op("negative")

    def __getitem__(self, index):
        return self._op("getitem", index)


class SymbolicNode:
    """One symbolic call of a layer: its arguments (KerasTensors inside), and its output KerasTensors."""

    def __init__(self, layer, args, kwargs, outputs):
        self.layer = layer
        self.args = args
        self.kwargs = dict(kwargs)
        self.outputs = outputs
        self.input_tensors: List[KerasTensor] = [t for t in flatten((args, kwargs)) if isinstance(t, KerasTensor)]
        self.output_tensors: List[KerasTensor] = [t for t in flatten(outputs) if isinstance(t, KerasTensor)]
        index = len(layer._inbound_nodes)
        layer._inbound_nodes.append(self)
        for i, t in enumerate(self.output_tensors):
            t._keras_history = History(layer, index, i)

    @property
    def is_input(self) -> bool:
        return not self.input_tensors

    @property
    def parent_nodes(self) -> List["SymbolicNode"]:
        out = []
        for t in self.input_tensors:
            if t._keras_history is not None:
                layer, index, _ = t._keras_history
                out.append(layer._inbound_nodes[index])
        return out


def flatten(structure) -> list:
    """Leaves of nested lists, tuples and dicts (dicts in insertion order)."""
    if isinstance(structure, dict):
        return [leaf for v in structure.values() for leaf in flatten(v)]
    if isinstance(structure, (list, tuple)):
        return [leaf for v in structure for leaf in flatten(v)]
    return [structure]


def map_structure(fn, structure):
    """``fn`` applied to every leaf, keeping the nesting."""
    if isinstance(structure, dict):
        return {k: map_structure(fn, v) for k, v in structure.items()}
    if isinstance(structure, (list, tuple)):
        return type(structure)(map_structure(fn, v) for v in structure)
    return fn(structure)


def any_symbolic(args, kwargs=None) -> bool:
    """Whether any leaf of the arguments is a KerasTensor."""
    return any(isinstance(t, KerasTensor) for t in flatten((args, kwargs or {})))


__all__ = ["KerasTensor", "SymbolicNode", "History", "flatten", "map_structure", "any_symbolic"]
