"""Keras masks in ONNX (see ``format/masking.py``): Masking, the mask of a masked call (its last input is the
tensor the mask comes from), GlobalAveragePooling1D over unmasked steps, and recurrent layers that skip masked
steps.

ONNX recurrent ops only know ``sequence_lens`` (a valid prefix per row), while a Keras mask may hide any steps. Since
Keras leaves the state untouched at a masked step, running the unmasked steps alone, in order, gives the same
states: each row's unmasked steps are moved to the front (a stable sort of the time indices by "masked"), the
recurrent node runs with ``sequence_lens`` = their count, and returned sequences are gathered back to the original
steps (a masked step repeats the previous output, or is zero for a Bidirectional returning sequences, as in Keras).
"""
from __future__ import annotations

import numpy as np
from onnx import TensorProto

from .graph import GraphBuilder, Value, identity


def _i64(g: GraphBuilder, value: int) -> str:
    return g.const(np.asarray(value, np.int64), f"i64_{value}", key=("i64", value))


def _any_differs(g: GraphBuilder, x: Value, value: float, hint: str, keepdims: bool) -> Value:
    """``any(x != value, axis=-1)`` as float 0/1, for ``x`` in Keras order."""
    equal = g.node("Equal", [x.name, g.scalar(value)], hint + "/equal")[0]
    differs = g.node("Cast", [g.node("Not", [equal], hint + "/not")[0]], hint + "/float", to=TensorProto.FLOAT)[0]
    return g.reduce("ReduceMax", Value(differs, x.rank, identity(x.rank)), [x.rank - 1], hint + "/any", keepdims)


def mask_of(g: GraphBuilder, layer, source: Value) -> str:
    """The bool mask ``(batch, time)`` of a masked call, from its mask source."""
    src = g.keras(source)
    kind, value = layer.mask["kind"], float(layer.mask["value"])
    hint = f"{layer.name}/mask"
    if kind == "ids":
        zero = g.scalar(0.0) if src.dtype == TensorProto.FLOAT else _i64(g, 0)
        return g.node("Not", [g.node("Equal", [src.name, zero], hint + "/zero")[0]], hint)[0]
    return g.node("Cast", [_any_differs(g, src, value, hint, False).name], hint, to=TensorProto.BOOL)[0]


def masking(g: GraphBuilder, layer, inputs):
    """Masking: ``x * any(x != mask_value, axis=-1)``."""
    x = g.keras(inputs[0])
    keep = _any_differs(g, x, float(layer.config.get("mask_value", 0.0)), layer.name, True)
    return [g.op("Mul", [x.name, keep.name], x, layer.name)]


def masked_average(g: GraphBuilder, layer, inputs):
    """GlobalAveragePooling1D of the unmasked steps: ``sum(x * m) / sum(m)`` over time."""
    x = g.keras(inputs[0])
    m = g.node("Cast", [mask_of(g, layer, inputs[-1])], layer.name + "/m", to=TensorProto.FLOAT)[0]
    m3 = g.node("Unsqueeze", [m, g.ints([2], "axes_2")], layer.name + "/m3")[0]
    kept = g.op("Mul", [x.name, m3], x, layer.name + "/kept")
    keep = bool(layer.config.get("keepdims", False))
    total = g.reduce("ReduceSum", kept, [1], layer.name + "/sum", keepdims=keep)
    count = g.reduce("ReduceSum", Value(m3, 3, identity(3)), [1], layer.name + "/count", keepdims=keep)
    return [g.op("Div", [total.name, count.name], total, layer.name)]


def _gather_time(g: GraphBuilder, x: str, index: str, hint: str) -> str:
    """``x[b, index[b, t], :]`` for a batch-major ``x`` (batch, time, features)."""
    idx3 = g.node("Unsqueeze", [index, g.ints([2], "axes_2")], hint + "/index3")[0]
    full = g.node("Expand", [idx3, g.node("Shape", [x], hint + "/shape")[0]], hint + "/index")[0]
    return g.node("GatherElements", [x, full], hint, axis=1)[0]


class Compacted:
    """A masked sequence with each row's unmasked steps moved to the front, and what undoes it."""

    def __init__(self, g: GraphBuilder, layer, x: Value, mask: str, reverse: bool):
        hint = layer.name + "/compact"
        x = g.keras(x)
        if reverse:  # go_backwards: Keras reverses the steps and the mask, then runs forward
            x = g.op("Slice", [x.name, g.ints([-1], "minus_one"), g.ints([-(1 << 62)], "very_negative"),
                               g.ints([1], "one"), g.ints([-1], "minus_one")], x, hint + "/reversed_x")
            mask = g.node("Slice", [mask, g.ints([-1], "minus_one"), g.ints([-(1 << 62)], "very_negative"),
                                    g.ints([1], "one"), g.ints([-1], "minus_one")], hint + "/reversed_mask")[0]
        shape = g.node("Shape", [mask], hint + "/mask_shape")[0]
        steps = g.node("Gather", [shape, g.ints([1], "one")], hint + "/steps")[0]
        steps_f = g.node("Cast", [g.node("Squeeze", [steps], hint + "/t")[0]], hint + "/steps_f",
                         to=TensorProto.FLOAT)[0]
        t = g.node("Range", [g.scalar(0.0), steps_f, g.scalar(1.0)], hint + "/time")[0]
        late = g.node("Add", [t, steps_f], hint + "/late")[0]
        key = g.node("Where", [mask, t, late], hint + "/key")[0]
        _, order = g.node("TopK", [key, steps], hint + "/order", outputs=2, axis=1, largest=0, sorted=1)
        self.x = Value(_gather_time(g, x.name, order, hint + "/x"), 3, identity(3), x.dtype)
        m64 = g.node("Cast", [mask], hint + "/m64", to=TensorProto.INT64)[0]
        count = g.node("ReduceSum", [m64, g.ints([1], "one")], hint + "/count", keepdims=0)[0]
        self.any = g.node("Greater", [count, _i64(g, 0)],
                          hint + "/any")[0]
        lens = g.node("Max", [count, _i64(g, 1)], hint + "/lens64")[0]
        self.lens = g.node("Cast", [lens], hint + "/lens", to=TensorProto.INT32)[0]  # ONNX needs lens >= 1
        cum = g.node("CumSum", [m64, _i64(g, 1)], hint + "/cum")[0]
        minus = g.node("Sub", [cum, _i64(g, 1)], hint + "/cum1")[0]
        self.position = g.node("Max", [minus, _i64(g, 0)],
                               hint + "/position")[0]
        self.seen = g.node("Greater", [cum, _i64(g, 0)],
                           hint + "/seen")[0]
        self.mask = mask
        self.hint = hint

    def sequence(self, g: GraphBuilder, y: Value, zero_output: bool) -> Value:
        """A returned sequence (batch-major, compact order) back at the original steps."""
        y = g.keras(y)
        back = _gather_time(g, y.name, self.position, self.hint + "/back")
        keep = self.mask if zero_output else self.seen
        keep3 = g.node("Unsqueeze", [keep, g.ints([2], "axes_2")], self.hint + "/keep3")[0]
        return Value(g.node("Where", [keep3, back, g.scalar(0.0)], self.hint + "/seq")[0], 3, identity(3), y.dtype)

    def last(self, g: GraphBuilder, y: Value) -> Value:
        """A final output: zero for a row whose steps are all masked (Keras never updated it)."""
        y = g.keras(y)
        keep = g.node("Unsqueeze", [self.any, g.ints([1], "one")], self.hint + "/any2")[0]
        return Value(g.node("Where", [keep, y.name, g.scalar(0.0)], self.hint + "/last")[0], 2, identity(2), y.dtype)


EMITTERS = {"Masking": masking}
