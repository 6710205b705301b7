"""The ONNX graph under construction: nodes, initializers, unique names and per-tensor layout.

Every tensor an emitter sees is a ``Value``: its ONNX name, its rank, its dtype and ``perm``, the permutation that
takes the tensor in Keras' axis order to the order it physically has in the graph (``physical =
transpose(keras, perm)``). Convolution stacks keep their tensors channels-first (perm ``(0, 3, 1, 2)`` for a 4-D
Keras NHWC tensor) and transposes are only inserted when a consumer needs another order, once per tensor and order.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from ..errors import ConversionError

FLOAT = TensorProto.FLOAT


@dataclass(frozen=True)
class Value:
    """One tensor in the graph: ONNX ``name``, ``rank``, ONNX ``dtype`` and ``perm`` (Keras order -> physical)."""

    name: str
    rank: int
    perm: Tuple[int, ...]
    dtype: int = FLOAT

    @property
    def is_keras_order(self) -> bool:
        """True when the tensor is laid out as Keras declares it."""
        return self.perm == tuple(range(self.rank))

    def axis(self, keras_axis: int) -> int:
        """The physical axis holding Keras axis ``keras_axis`` (negative axes allowed)."""
        return self.perm.index(keras_axis % self.rank)

    def with_name(self, name: str, perm: Optional[Sequence[int]] = None) -> "Value":
        """A value like this one under another name (and optionally another perm)."""
        return Value(name, self.rank, tuple(perm) if perm is not None else self.perm, self.dtype)


def identity(rank: int) -> Tuple[int, ...]:
    """The perm of a tensor in Keras order."""
    return tuple(range(rank))


def channels_first(rank: int) -> Tuple[int, ...]:
    """The perm moving a channels-last Keras tensor's last axis to axis 1."""
    return (0, rank - 1, *range(1, rank - 1))


class GraphBuilder:
    """Collects nodes and initializers for one export and hands out unique tensor names."""

    def __init__(self, opset: int):
        self.opset = opset
        self.nodes: List = []
        self.initializers: List = []
        self.names: set = set()
        self.producer: Dict[str, object] = {}
        self.consumers: Dict[str, int] = {}
        self.single_use: set = set()  # tensors the model reads exactly once (safe to fold into their producer)
        self._transposes: Dict[Tuple[str, Tuple[int, ...]], Value] = {}
        self._consts: Dict[object, str] = {}

    def unique(self, base: str) -> str:
        """``base`` made unique among the graph's names (Keras' ``/`` kept, other odd characters kept too)."""
        name, k = base, 1
        while name in self.names:
            name = f"{base}_{k}"
            k += 1
        self.names.add(name)
        return name

    def const(self, array, hint: str, key=None) -> str:
        """An initializer holding ``array``; the same ``key`` (or identical small int array) returns the same name."""
        array = np.asarray(array)
        if key is None and array.dtype == np.int64 and array.size <= 8:
            key = ("int64", array.shape, tuple(array.ravel().tolist()))
        if key is not None and key in self._consts:
            return self._consts[key]
        name = self.unique(hint)
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        if key is not None:
            self._consts[key] = name
        return name

    def array(self, name: str) -> np.ndarray:
        """The value of initializer ``name``."""
        for tensor in self.initializers:
            if tensor.name == name:
                return numpy_helper.to_array(tensor)
        raise KeyError(name)

    def prune(self) -> None:
        """Drop initializers no node reads (left behind by folding)."""
        used = {name for node in self.nodes for name in node.input}
        self.initializers = [t for t in self.initializers if t.name in used]

    def ints(self, values: Sequence[int], hint: str = "const") -> str:
        """An int64 1-D initializer (shapes, axes, pads)."""
        return self.const(np.asarray(list(values), dtype=np.int64), hint)

    def scalar(self, value: float, hint: str = "const") -> str:
        """A float32 scalar initializer, shared between users of the same value."""
        value = np.float32(value)
        return self.const(np.asarray(value, dtype=np.float32), hint, key=("f32", float(value)))

    def node(self, op: str, inputs: Sequence[str], hint: str, outputs: int = 1, **attrs) -> List[str]:
        """Append one node; returns its output names (made unique from ``hint``)."""
        names = [self.unique(hint if outputs == 1 else f"{hint}:{i}") for i in range(outputs)]
        node = helper.make_node(op, list(inputs), names, name=self.unique(f"{hint}/{op}"), **attrs)
        self.nodes.append(node)
        for name in names:
            self.producer[name] = node
        for name in inputs:
            if name:
                self.consumers[name] = self.consumers.get(name, 0) + 1
        return names

    def op(self, op: str, inputs: Sequence[str], like: Value, hint: str, out_perm=None, out_rank=None,
           **attrs) -> Value:
        """One single-output node whose result is laid out like ``like`` unless ``out_perm``/``out_rank`` say otherwise."""
        (name,) = self.node(op, inputs, hint, **attrs)
        rank = like.rank if out_rank is None else out_rank
        perm = like.perm if out_perm is None else tuple(out_perm)
        return Value(name, rank, perm, like.dtype)

    def to_perm(self, value: Value, perm: Sequence[int]) -> Value:
        """``value`` laid out with ``perm``; a Transpose is added once per tensor and target order."""
        perm = tuple(perm)
        if value.perm == perm:
            return value
        cached = self._transposes.get((value.name, perm))
        if cached is not None:
            return cached
        inverse = np.argsort(value.perm)
        step = [int(inverse[axis]) for axis in perm]
        result = self.op("Transpose", [value.name], value, f"{value.name}/transpose", out_perm=perm, perm=step)
        self._transposes[(value.name, perm)] = result
        return result

    def keras(self, value: Value) -> Value:
        """``value`` in Keras' axis order."""
        return self.to_perm(value, identity(value.rank))

    def channels_first(self, value: Value) -> Value:
        """``value`` with Keras' last axis moved to axis 1 (how ONNX Conv/Pool/BatchNormalization want it)."""
        return self.to_perm(value, channels_first(value.rank))

    def reduce(self, op: str, value: Value, axes: Sequence[int], hint: str, keepdims: bool) -> Value:
        """A Reduce* node over physical ``axes``; axes are an input from opset 18 (ReduceSum from 13)."""
        axes = sorted(a % value.rank for a in axes)
        if self.opset >= 18 or op == "ReduceSum":
            (name,) = self.node(op, [value.name, self.ints(axes, "axes")], hint, keepdims=int(keepdims))
        else:
            (name,) = self.node(op, [value.name], hint, axes=axes, keepdims=int(keepdims))
        if keepdims:
            return Value(name, value.rank, value.perm, value.dtype)
        return Value(name, value.rank - len(axes), drop_axes(value.perm, axes), value.dtype)

    def squeeze(self, value: Value, axes: Sequence[int], hint: str) -> Value:
        """Squeeze physical ``axes`` (an input since opset 13)."""
        (name,) = self.node("Squeeze", [value.name, self.ints(axes, "axes")], hint)
        return Value(name, value.rank - len(axes), drop_axes(value.perm, axes), value.dtype)

    def rename(self, old: str, new: str) -> None:
        """Rename tensor ``old`` to ``new`` everywhere (used to give graph outputs Keras' names)."""
        for node in self.nodes:
            for i, name in enumerate(node.input):
                if name == old:
                    node.input[i] = new
            for i, name in enumerate(node.output):
                if name == old:
                    node.output[i] = new
        self.producer[new] = self.producer.pop(old)
        self.names.add(new)


def drop_axes(perm: Sequence[int], physical_axes: Sequence[int]) -> Tuple[int, ...]:
    """The perm left after removing ``physical_axes`` from a tensor laid out with ``perm``."""
    dropped = {perm[a] for a in physical_axes}
    kept = [k for k in perm if k not in dropped]
    order = sorted(kept)
    return tuple(order.index(k) for k in kept)


def fail(layer, why: str) -> ConversionError:
    """A ConversionError naming the layer (its name and class) and why it cannot be exported."""
    return ConversionError(f"layer {layer.name!r} ({layer.class_name}) cannot be exported to ONNX: {why}")
