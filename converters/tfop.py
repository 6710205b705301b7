"""Emitters for the allow-listed tensor operations (TFOpLambda, see ``format/tfops.py``) and the layers Keras'
applications define themselves (LayerScale, CustomScaleLayer)."""
from __future__ import annotations

from typing import Dict, List

import numpy as np

from ..format.tfops import TENSOR
from .graph import GraphBuilder, Value, fail
from .merge import _common_layout
from .reshaping import INT64_MAX

BINARY = {"math.add": "Add", "math.subtract": "Sub", "math.multiply": "Mul", "math.truediv": "Div",
          "math.maximum": "Max", "math.minimum": "Min"}
UNARY = {"math.negative": "Neg", "math.abs": "Abs", "math.sqrt": "Sqrt", "math.exp": "Exp", "math.log": "Log",
         "math.tanh": "Tanh", "math.sigmoid": "Sigmoid", "nn.relu": "Relu"}
REDUCE = {"math.reduce_mean": "ReduceMean", "math.reduce_sum": "ReduceSum", "math.reduce_max": "ReduceMax"}


def physical_constant(g: GraphBuilder, value, like: Value, hint: str) -> str:
    """A constant in Keras' axis order, broadcast against ``like`` and laid out as ``like`` physically is."""
    array = np.asarray(value, dtype=np.float32)
    if array.ndim == 0:
        return g.scalar(float(array), hint)
    array = array.reshape((1,) * (like.rank - array.ndim) + array.shape)
    return g.const(np.ascontiguousarray(np.transpose(array, like.perm)), hint)


def _binary(g: GraphBuilder, layer, args: Dict, inputs: List[Value]) -> Value:
    op = BINARY[layer.config["function"]]
    tensors = [inputs[v[TENSOR]] for v in (args["x"], args["y"]) if isinstance(v, dict)]
    tensors = _common_layout(g, tensors)
    like = max(tensors, key=lambda v: v.rank)
    names, k = [], 0
    for value in (args["x"], args["y"]):
        if isinstance(value, dict):
            names.append(tensors[k].name)
            k += 1
        else:
            names.append(physical_constant(g, value, like, f"{layer.name}/const"))
    return g.op(op, names, like, layer.name)


def _axes(layer, axis, rank: int) -> List[int]:
    axes = [axis] if isinstance(axis, int) else list(axis)
    return sorted({a % rank for a in axes})


def _slice(g: GraphBuilder, layer, x: Value, spec) -> Value:
    """``x[spec]`` in Keras order: one Slice for every axis, then Squeeze for the integer indices."""
    x = g.keras(x)
    starts, ends, axes, steps, dropped = [], [], [], [], []
    for axis, item in enumerate(spec):
        if isinstance(item, int):
            starts.append(item)
            ends.append(item + 1 if item != -1 else INT64_MAX)
            steps.append(1)
            dropped.append(axis)
        else:
            step = item["step"] if item["step"] is not None else 1
            start = item["start"] if item["start"] is not None else (0 if step > 0 else INT64_MAX)
            stop = item["stop"] if item["stop"] is not None else (INT64_MAX if step > 0 else -INT64_MAX)
            starts.append(start)
            ends.append(stop)
            steps.append(step)
        axes.append(axis)
    ins = [x.name, g.ints(starts, "starts"), g.ints(ends, "ends"), g.ints(axes, "axes"), g.ints(steps, "steps")]
    y = g.op("Slice", ins, x, layer.name + ("/slice" if dropped else ""))
    return g.squeeze(y, dropped, layer.name) if dropped else y


def tf_op(g: GraphBuilder, layer, inputs: List[Value]):
    """One allow-listed op as ONNX nodes."""
    name = layer.config["function"]
    args = layer.config["arguments"]
    if name in BINARY:
        return [_binary(g, layer, args, inputs)]
    x = inputs[0]
    if name in UNARY:
        return [g.op(UNARY[name], [x.name], x, layer.name)]
    if name == "math.square":
        return [g.op("Mul", [x.name, x.name], x, layer.name)]
    if name == "nn.relu6":
        return [g.op("Clip", [x.name, g.scalar(0.0), g.scalar(6.0)], x, layer.name)]
    if name == "nn.silu":
        scaled = g.op("Mul", [x.name, g.scalar(float(args["beta"]))], x, layer.name + "/beta")
        gate = g.op("Sigmoid", [scaled.name], x, layer.name + "/sigmoid")
        return [g.op("Mul", [x.name, gate.name], x, layer.name)]
    if name == "nn.softmax":
        return [g.op("Softmax", [x.name], x, layer.name, axis=x.axis(int(args["axis"])))]
    if name in REDUCE:
        axes = [x.axis(a) for a in _axes(layer, args["axis"], x.rank)]
        return [g.reduce(REDUCE[name], x, axes, layer.name, keepdims=bool(args["keepdims"]))]
    if name == "concat":
        xs = _common_layout(g, [inputs[v[TENSOR]] for v in args["values"]])
        return [g.op("Concat", [v.name for v in xs], xs[0], layer.name, axis=xs[0].axis(int(args["axis"])))]
    if name == "__operators__.getitem":
        return [_slice(g, layer, x, args["slice_spec"])]
    x = g.keras(x)
    if name == "reshape":
        shape = g.ints([-1] + [int(v) for v in args["shape"][1:]], layer.name + "/shape")
        rank = len(args["shape"])
        return [g.op("Reshape", [x.name, shape], x, layer.name, out_perm=tuple(range(rank)), out_rank=rank)]
    if name == "transpose":
        return [g.op("Transpose", [x.name], x, layer.name, perm=[int(p) for p in args["perm"]])]
    if name == "expand_dims":
        axis = int(args["axis"]) % (x.rank + 1)
        return [g.op("Unsqueeze", [x.name, g.ints([axis], "axes")], x, layer.name, out_perm=tuple(range(x.rank + 1)),
                     out_rank=x.rank + 1)]
    if name == "squeeze":
        return [g.squeeze(x, _axes(layer, args["axis"], x.rank), layer.name)]
    raise fail(layer, f"op {name!r} has no ONNX emitter")


def layer_scale(g: GraphBuilder, layer, inputs: List[Value]):
    """LayerScale: ``x * gamma`` along Keras' last axis, wherever it sits physically."""
    x = inputs[0]
    gamma = np.asarray(layer.weight_dict["gamma"], np.float32)
    return [g.op("Mul", [x.name, physical_constant(g, gamma, x, f"{layer.name}/gamma")], x, layer.name)]


def custom_scale(g: GraphBuilder, layer, inputs: List[Value]):
    """CustomScaleLayer: ``inputs[0] + inputs[1] * scale``."""
    if len(inputs) != 2:
        raise fail(layer, f"expects 2 inputs, got {len(inputs)}")
    a, b = _common_layout(g, inputs)
    scaled = g.op("Mul", [b.name, g.scalar(float(layer.config["scale"]))], b, layer.name + "/scaled")
    return [g.op("Add", [a.name, scaled.name], a, layer.name)]


EMITTERS = {"TFOpLambda": tf_op, "LayerScale": layer_scale, "CustomScaleLayer": custom_scale}
