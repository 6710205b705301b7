"""Layers for what functional models do outside layers, and the layers Keras' own applications define.

- ``TFOpLambda``: one allow-listed tensor operation (``format/tfops.py`` names them: ``math.add``, ``reshape``,
  ``__operators__.getitem``, ...) with constant arguments, read from Keras 2 ``TFOpLambda`` layers and Keras 3
  ``keras.ops`` calls. Arithmetic on KerasTensors while building a model (``x * 2.0``, ``a + b``, ``x[:, 0]``)
  records the same layer, so such models save and load like any other.
- ``LayerScale`` (ConvNeXt) and ``CustomScaleLayer`` (InceptionResNetV2).
"""
from __future__ import annotations

import numpy as np

from ...errors import KerasliteError
from .. import activations as A
from ..autodiff import Tensor, elementwise as E, reduce as R, shape as S
from .base import Layer
from .keras_tensor import KerasTensor

TENSOR = "__tensor__"


def _silu(features, beta=1.0):
    return E.multiply(features, A.sigmoid(E.multiply(features, float(beta)) if beta != 1.0 else features))


def _reduce(fn):
    def op(input_tensor, axis=None, keepdims=False):
        axis = tuple(axis) if isinstance(axis, list) else axis
        return fn(input_tensor, axis=axis, keepdims=bool(keepdims))
    return op


def _getitem(tensor, slice_spec):
    index = tuple(slice(s["start"], s["stop"], s["step"]) if isinstance(s, dict) else int(s) for s in slice_spec)
    return S.getitem(tensor, index)


# canonical op name -> function of the op's TensorFlow parameters
FUNCTIONS = {
    "math.add": lambda x, y: E.add(x, y), "math.subtract": lambda x, y: E.subtract(x, y),
    "math.multiply": lambda x, y: E.multiply(x, y), "math.truediv": lambda x, y: E.divide(x, y),
    "math.maximum": lambda x, y: E.maximum(x, y), "math.minimum": lambda x, y: E.minimum(x, y),
    "math.negative": lambda x: E.negative(x), "math.abs": lambda x: E.absolute(x),
    "math.sqrt": lambda x: E.sqrt(x), "math.square": lambda x: E.square(x), "math.exp": lambda x: E.exp(x),
    "math.log": lambda x: E.log(x), "math.tanh": lambda x: E.tanh(x), "math.sigmoid": lambda x: A.sigmoid(x),
    "nn.relu": lambda features: E.relu(features), "nn.relu6": lambda features: E.relu6(features), "nn.silu": _silu,
    "nn.softmax": lambda logits, axis=-1: A.softmax(logits, axis=axis),
    "math.reduce_mean": _reduce(R.mean), "math.reduce_sum": _reduce(R.sum_), "math.reduce_max": _reduce(R.max_),
    "reshape": lambda tensor, shape: S.reshape(tensor, tuple(shape)),
    "transpose": lambda a, perm=None: S.transpose(a, None if perm is None else tuple(perm)),
    "expand_dims": lambda input, axis: S.expand_dims(input, axis),  # noqa: A002 (TensorFlow's parameter name)
    "squeeze": lambda input, axis=None: S.squeeze(input, tuple(axis) if isinstance(axis, list) else axis),  # noqa
    "concat": lambda values, axis: S.concatenate(*values, axis=axis),
    "__operators__.getitem": _getitem,
}


def _fill(value, tensors):
    if isinstance(value, dict) and set(value) == {TENSOR}:
        return tensors[value[TENSOR]]
    if isinstance(value, list):
        return [_fill(v, tensors) for v in value]
    return value


def _constant(value):
    """A constant argument as JSON (numbers and nested lists)."""
    if isinstance(value, (np.ndarray, np.generic)):
        return value.tolist()
    if isinstance(value, Tensor):
        return value.numpy().tolist()
    return value


class TFOpLambda(Layer):
    """One allow-listed tensor operation; ``arguments`` maps each parameter to a constant or to
    ``{"__tensor__": i}``, the i-th input tensor."""

    def __init__(self, function, arguments, **kwargs):
        super().__init__(**kwargs)
        if function not in FUNCTIONS:
            raise KerasliteError(f"TFOpLambda: operation {function!r} is not supported; supported: "
                                 f"{', '.join(sorted(FUNCTIONS))}")
        self.function, self.arguments = function, dict(arguments)

    def call(self, inputs):
        tensors = inputs if isinstance(inputs, (list, tuple)) else [inputs]
        return FUNCTIONS[self.function](**{k: _fill(v, tensors) for k, v in self.arguments.items()})

    def get_config(self):
        return {**super().get_config(), "function": self.function, "arguments": self.arguments}


# KerasTensor operators -> (canonical op, its two parameter names)
OPERATORS = {"add": ("math.add", "x", "y"), "subtract": ("math.subtract", "x", "y"),
             "multiply": ("math.multiply", "x", "y"), "divide": ("math.truediv", "x", "y"),
             "negative": ("math.negative", "x", None), "getitem": ("__operators__.getitem", "tensor", "slice_spec")}


def _slice_spec(index):
    items = index if isinstance(index, tuple) else (index,)
    out = []
    for item in items:
        if isinstance(item, slice):
            out.append({"start": item.start, "stop": item.stop, "step": item.step})
        elif isinstance(item, (int, np.integer)) and not isinstance(item, bool):
            out.append(int(item))
        else:
            raise KerasliteError(f"indexing a KerasTensor with {item!r} is not supported (ints and slices are)")
    return out


def symbolic_op(name, x, other=None, reflected=False):
    """The KerasTensor of ``x <op> other`` (``other <op> x`` when ``reflected``), recorded as a TFOpLambda."""
    function, first, second = OPERATORS[name]
    if second is None:
        return TFOpLambda(function, {first: {TENSOR: 0}})(x)
    if name == "getitem":
        return TFOpLambda(function, {first: {TENSOR: 0}, second: _slice_spec(other)})(x)
    if isinstance(other, KerasTensor):
        pair = [other, x] if reflected else [x, other]
        return TFOpLambda(function, {first: {TENSOR: 0}, second: {TENSOR: 1}})(pair)
    args = {first: _constant(other), second: {TENSOR: 0}} if reflected else \
        {first: {TENSOR: 0}, second: _constant(other)}
    return TFOpLambda(function, args)(x)


class LayerScale(Layer):
    """ConvNeXt's learned per-channel scale: ``x * gamma`` on the last axis."""

    def __init__(self, init_values, projection_dim, **kwargs):
        super().__init__(**kwargs)
        self.init_values, self.projection_dim = float(init_values), int(projection_dim)

    def build(self, input_shape):
        self.gamma = self.add_weight(shape=(self.projection_dim,), name="gamma",
                                     initializer=lambda shape, dtype=None: np.full(shape, self.init_values, dtype))

    def call(self, x):
        return E.multiply(x, self.gamma)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "init_values": self.init_values, "projection_dim": self.projection_dim}


class CustomScaleLayer(Layer):
    """InceptionResNetV2's residual scaling: ``a + b * scale`` for inputs ``[a, b]``."""

    def __init__(self, scale, **kwargs):
        super().__init__(**kwargs)
        self.scale = float(scale)

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            raise KerasliteError(f"CustomScaleLayer {self.name!r} takes two inputs [a, b], got {inputs!r:.100}")
        return E.add(inputs[0], E.multiply(inputs[1], self.scale))

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}


__all__ = ["TFOpLambda", "LayerScale", "CustomScaleLayer", "symbolic_op", "FUNCTIONS"]
