"""Emitters for activation layers: ReLU, LeakyReLU, PReLU, ELU, Softmax."""
from __future__ import annotations

import numpy as np

from .core import weight
from .graph import GraphBuilder


def relu(g: GraphBuilder, layer, inputs):
    """ReLU with Keras' max_value, negative_slope and threshold; the common cases are one node."""
    cfg = layer.config
    x = inputs[0]
    max_value = cfg.get("max_value")
    slope = float(cfg.get("negative_slope") or 0.0)
    threshold = float(cfg.get("threshold") or 0.0)
    if slope == 0.0 and threshold == 0.0:
        if max_value is None:
            return [g.op("Relu", [x.name], x, layer.name)]
        return [g.op("Clip", [x.name, g.scalar(0.0), g.scalar(float(max_value))], x, layer.name)]
    # General form: x >= threshold ? min(x, max_value) : negative_slope * (x - threshold).
    above = x
    if max_value is not None:
        above = g.op("Min", [x.name, g.scalar(float(max_value))], x, layer.name + "/max_value")
    shifted = g.op("Sub", [x.name, g.scalar(threshold)], x, layer.name + "/shifted")
    below = g.op("Mul", [shifted.name, g.scalar(slope)], x, layer.name + "/below")
    mask = g.node("GreaterOrEqual", [x.name, g.scalar(threshold)], layer.name + "/mask")[0]
    return [g.op("Where", [mask, above.name, below.name], x, layer.name)]


def leaky_relu(g: GraphBuilder, layer, inputs):
    """LeakyReLU (slope in ``alpha``)."""
    x = inputs[0]
    return [g.op("LeakyRelu", [x.name], x, layer.name, alpha=float(layer.config.get("alpha", 0.3)))]


def prelu(g: GraphBuilder, layer, inputs):
    """PReLU: the learned slope (shape input_shape[1:]) laid out like the input."""
    x = inputs[0]
    alpha = np.asarray(layer.weight_dict["alpha"], dtype=np.float32)
    if alpha.ndim == x.rank - 1 and not x.is_keras_order:
        alpha = np.transpose(alpha, [p - 1 for p in x.perm[1:]])
    tag = "x".join(map(str, x.perm))
    return [g.op("PRelu", [x.name, weight(g, layer, "alpha", alpha, tag)], x, layer.name)]


def elu(g: GraphBuilder, layer, inputs):
    """ELU layer."""
    x = inputs[0]
    return [g.op("Elu", [x.name], x, layer.name, alpha=float(layer.config.get("alpha", 1.0)))]


def softmax(g: GraphBuilder, layer, inputs):
    """Softmax over one axis natively; over several axes as exp / sum(exp) (max-shifted)."""
    x = inputs[0]
    axis = layer.config.get("axis", -1)
    axes = [axis] if isinstance(axis, int) else list(axis)
    if len(axes) == 1:
        return [g.op("Softmax", [x.name], x, layer.name, axis=x.axis(axes[0]))]
    physical = [x.axis(a) for a in axes]
    peak = g.reduce("ReduceMax", x, physical, layer.name + "/max", keepdims=True)
    shifted = g.op("Sub", [x.name, peak.name], x, layer.name + "/shifted")
    exp = g.op("Exp", [shifted.name], x, layer.name + "/exp")
    total = g.reduce("ReduceSum", exp, physical, layer.name + "/sum", keepdims=True)
    return [g.op("Div", [exp.name, total.name], x, layer.name)]


EMITTERS = {
    "ReLU": relu,
    "LeakyReLU": leaky_relu,
    "PReLU": prelu,
    "ELU": elu,
    "Softmax": softmax,
}
