"""Emitters for merge layers: Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate."""
from __future__ import annotations

from typing import List

from .graph import GraphBuilder, Value


def _common_layout(g: GraphBuilder, inputs: List[Value]) -> List[Value]:
    """The inputs in one layout: the first input's when ranks agree (no transpose for a conv stack), else Keras'."""
    if all(v.rank == inputs[0].rank for v in inputs):
        perm = inputs[0].perm
    else:
        perm = None
    return [g.to_perm(v, perm) if perm is not None else g.keras(v) for v in inputs]


def _variadic(op: str, binary: str):
    """A merge as one n-ary ONNX node (two inputs use the plain binary op)."""

    def emit(g: GraphBuilder, layer, inputs):
        xs = _common_layout(g, inputs)
        like = max(xs, key=lambda v: v.rank)
        return [g.op(binary if len(xs) == 2 else op, [v.name for v in xs], like, layer.name)]

    return emit


def subtract(g: GraphBuilder, layer, inputs):
    """Subtract: exactly two inputs."""
    a, b = _common_layout(g, inputs)
    return [g.op("Sub", [a.name, b.name], a if a.rank >= b.rank else b, layer.name)]


def multiply(g: GraphBuilder, layer, inputs):
    """Multiply: ONNX Mul is binary, so a chain of them."""
    xs = _common_layout(g, inputs)
    y = xs[0]
    for i, v in enumerate(xs[1:], start=2):
        like = y if y.rank >= v.rank else v
        y = g.op("Mul", [y.name, v.name], like, layer.name if i == len(xs) else f"{layer.name}/mul{i}")
    return [y]


def average(g: GraphBuilder, layer, inputs):
    """Average: ONNX Mean (variadic)."""
    xs = _common_layout(g, inputs)
    like = max(xs, key=lambda v: v.rank)
    return [g.op("Mean", [v.name for v in xs], like, layer.name)]


def concatenate(g: GraphBuilder, layer, inputs):
    """Concatenate on the physical position of Keras' axis (axis=1 inside a channels-first conv stack)."""
    xs = _common_layout(g, inputs)
    axis = int(layer.config.get("axis", -1))
    x = xs[0]
    return [g.op("Concat", [v.name for v in xs], x, layer.name, axis=x.axis(axis))]


EMITTERS = {
    "Add": _variadic("Sum", "Add"),
    "Subtract": subtract,
    "Multiply": multiply,
    "Average": average,
    "Maximum": _variadic("Max", "Max"),
    "Minimum": _variadic("Min", "Min"),
    "Concatenate": concatenate,
}
