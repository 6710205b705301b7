"""Keras activations as ONNX nodes: a native op where the opset has one, otherwise composed from primitives."""
from __future__ import annotations

import math

from .graph import GraphBuilder, Value

# Keras' SELU constants (ONNX's defaults differ in the last digits).
SELU_ALPHA = 1.6732632423543772
SELU_SCALE = 1.0507009873554805


def _swish(g: GraphBuilder, x: Value, hint: str) -> Value:
    sig = g.op("Sigmoid", [x.name], x, hint + "/sigmoid")
    return g.op("Mul", [x.name, sig.name], x, hint)


def _gelu(g: GraphBuilder, x: Value, hint: str, approximate: bool = False) -> Value:
    if g.opset >= 20:
        return g.op("Gelu", [x.name], x, hint, approximate="tanh" if approximate else "none")
    half = g.op("Mul", [x.name, g.scalar(0.5)], x, hint + "/half")
    if approximate:
        cube = g.op("Mul", [x.name, x.name], x, hint + "/sq")
        cube = g.op("Mul", [cube.name, x.name], x, hint + "/cube")
        inner = g.op("Mul", [cube.name, g.scalar(0.044715)], x, hint + "/c")
        inner = g.op("Add", [x.name, inner.name], x, hint + "/inner")
        inner = g.op("Mul", [inner.name, g.scalar(math.sqrt(2.0 / math.pi))], x, hint + "/scaled")
        core = g.op("Tanh", [inner.name], x, hint + "/tanh")
    else:
        scaled = g.op("Mul", [x.name, g.scalar(1.0 / math.sqrt(2.0))], x, hint + "/scaled")
        core = g.op("Erf", [scaled.name], x, hint + "/erf")
    one_plus = g.op("Add", [core.name, g.scalar(1.0)], x, hint + "/one_plus")
    return g.op("Mul", [half.name, one_plus.name], x, hint)


def _mish(g: GraphBuilder, x: Value, hint: str) -> Value:
    if g.opset >= 18:
        return g.op("Mish", [x.name], x, hint)
    soft = g.op("Softplus", [x.name], x, hint + "/softplus")
    tanh = g.op("Tanh", [soft.name], x, hint + "/tanh")
    return g.op("Mul", [x.name, tanh.name], x, hint)


def _clip(g: GraphBuilder, x: Value, hint: str, low: float, high: float) -> Value:
    return g.op("Clip", [x.name, g.scalar(low), g.scalar(high)], x, hint)


def _hard_silu(g: GraphBuilder, x: Value, hint: str) -> Value:
    """x * relu6(x + 3) / 6: ONNX HardSwish from opset 14, else x * HardSigmoid(x)."""
    if g.opset >= 14:
        return g.op("HardSwish", [x.name], x, hint)
    gate = g.op("HardSigmoid", [x.name], x, hint + "/gate", alpha=1.0 / 6.0, beta=0.5)
    return g.op("Mul", [x.name, gate.name], x, hint)


def _softmax(op: str):
    def emit(g: GraphBuilder, x: Value, hint: str) -> Value:
        return g.op(op, [x.name], x, hint, axis=x.axis(-1))
    return emit


def _simple(op: str, **attrs):
    def emit(g: GraphBuilder, x: Value, hint: str) -> Value:
        return g.op(op, [x.name], x, hint, **attrs)
    return emit


ACTIVATIONS = {
    "relu": _simple("Relu"),
    "relu6": lambda g, x, hint: _clip(g, x, hint, 0.0, 6.0),
    "sigmoid": _simple("Sigmoid"),
    "hard_sigmoid": _simple("HardSigmoid", alpha=1.0 / 6.0, beta=0.5),
    "hard_sigmoid_keras2": _simple("HardSigmoid", alpha=0.2, beta=0.5),
    "hard_silu": lambda g, x, hint: _hard_silu(g, x, hint),
    "tanh": _simple("Tanh"),
    "softmax": _softmax("Softmax"),
    "log_softmax": _softmax("LogSoftmax"),
    "softplus": _simple("Softplus"),
    "softsign": _simple("Softsign"),
    "elu": _simple("Elu", alpha=1.0),
    "selu": _simple("Selu", alpha=SELU_ALPHA, gamma=SELU_SCALE),
    "exponential": _simple("Exp"),
    "swish": _swish,
    "silu": _swish,
    "gelu": _gelu,
    "gelu_approximate": lambda g, x, hint: _gelu(g, x, hint, approximate=True),
    "leaky_relu": _simple("LeakyRelu", alpha=0.2),
    "mish": _mish,
}

# ONNX recurrent ops take their gate activations by name; these are the Keras ones they can express.
RNN_ACTIVATIONS = {
    "tanh": ("Tanh", None, None),
    "sigmoid": ("Sigmoid", None, None),
    "relu": ("Relu", None, None),
    "linear": ("Affine", 1.0, 0.0),
    "hard_sigmoid": ("HardSigmoid", 1.0 / 6.0, 0.5),
    "hard_sigmoid_keras2": ("HardSigmoid", 0.2, 0.5),
    "softsign": ("Softsign", None, None),
    "softplus": ("Softplus", None, None),
    "elu": ("Elu", 1.0, None),
}


def apply(g: GraphBuilder, x: Value, activation: str, hint: str, layer=None) -> Value:
    """``activation`` (a canonical Keras name) applied to ``x``; ``linear`` adds nothing."""
    if activation in (None, "linear"):
        return x
    emit = ACTIVATIONS.get(activation)
    if emit is None:
        from .graph import fail
        from ..errors import ConversionError

        supported = ", ".join(sorted(["linear", *ACTIVATIONS]))
        if layer is not None:
            raise fail(layer, f"activation {activation!r} is not supported; supported: {supported}")
        raise ConversionError(f"activation {activation!r} is not supported; supported: {supported}")
    return emit(g, x, hint)
