"""Emitters for normalization and preprocessing: BatchNormalization, LayerNormalization, Rescaling, Normalization."""
from __future__ import annotations

from typing import List

import numpy as np

from .graph import GraphBuilder, Value, fail


def _axes(axis, rank: int) -> List[int]:
    """A Keras ``axis`` (int, list or None) as sorted non-negative axes."""
    if axis is None:
        return []
    axes = [axis] if isinstance(axis, int) else list(axis)
    return sorted(int(a) % rank for a in axes)


def broadcast(array, x: Value, axes: List[int]) -> np.ndarray:
    """A per-axes parameter (Keras shape: the dims of ``axes``) shaped to broadcast against ``x`` as laid out."""
    array = np.asarray(array, dtype=np.float32)
    if array.ndim == x.rank:
        full = array
    elif array.size == 1 and not axes:
        full = array.reshape(())
        return full
    else:
        shape = [1] * x.rank
        kept = array.reshape(-1) if len(axes) == 1 else array
        dims = kept.shape if len(axes) > 1 else (kept.size,)
        for a, d in zip(axes, dims):
            shape[a] = d
        full = kept.reshape(shape)
    return np.ascontiguousarray(np.transpose(full, x.perm))


def batch_normalization(g: GraphBuilder, layer, inputs):
    """BatchNormalization: one ONNX BatchNormalization when the channel axis is physically axis 1, else Mul+Add."""
    cfg = layer.config
    x = inputs[0]
    w = layer.weight_dict
    axes = _axes(cfg.get("axis", -1), x.rank)
    if len(axes) != 1:
        raise fail(layer, f"normalizing over several axes {axes} is not supported; expected one axis")
    mean = np.asarray(w["moving_mean"], dtype=np.float32)
    var = np.asarray(w["moving_variance"], dtype=np.float32)
    gamma = np.asarray(w["gamma"], dtype=np.float32) if cfg.get("scale", True) else np.ones_like(mean)
    beta = np.asarray(w["beta"], dtype=np.float32) if cfg.get("center", True) else np.zeros_like(mean)
    eps = float(cfg.get("epsilon", 1e-3))
    if x.rank >= 2 and x.axis(axes[0]) == 1:
        folded = _fold(g, layer, x, gamma / np.sqrt(var + np.float32(eps)), beta - mean * gamma / np.sqrt(
            var + np.float32(eps)))
        if folded is not None:
            return [folded]
        names = [g.const(a, f"{layer.name}/{n}", key=(layer.name, n, "bn"))
                 for n, a in (("gamma", gamma), ("beta", beta), ("moving_mean", mean), ("moving_variance", var))]
        return [g.op("BatchNormalization", [x.name, *names], x, layer.name, epsilon=eps)]
    scale = gamma / np.sqrt(var + np.float32(eps))
    shift = beta - mean * scale
    tag = "x".join(map(str, x.perm))
    scale_name = g.const(broadcast(scale, x, axes), f"{layer.name}/scale", key=(layer.name, "scale", tag))
    shift_name = g.const(broadcast(shift, x, axes), f"{layer.name}/shift", key=(layer.name, "shift", tag))
    y = g.op("Mul", [x.name, scale_name], x, layer.name + "/scale")
    return [g.op("Add", [y.name, shift_name], x, layer.name)]


def _fold(g: GraphBuilder, layer, x: Value, scale: np.ndarray, shift: np.ndarray):
    """Fold y = x * scale + shift into the Conv/Gemm producing ``x`` (channels on axis 1); None when not possible."""
    node = g.producer.get(x.name)
    if node is None or x.name not in g.single_use or node.op_type not in ("Conv", "Gemm"):
        return None
    if any(a.name in ("transA", "transB") and a.i for a in node.attribute):
        return None
    kernel = g.array(node.input[1])
    if node.op_type == "Conv":
        kernel = kernel * scale.reshape(-1, *[1] * (kernel.ndim - 1))
    else:
        kernel = kernel * scale[None, :]
    bias = g.array(node.input[2]) * scale + shift if len(node.input) > 2 else shift
    node.input[1] = g.const(kernel.astype(np.float32), f"{layer.name}/folded_kernel")
    bias_name = g.const(bias.astype(np.float32), f"{layer.name}/folded_bias")
    if len(node.input) > 2:
        node.input[2] = bias_name
    else:
        node.input.append(bias_name)
    return x


def layer_normalization(g: GraphBuilder, layer, inputs):
    """LayerNormalization: the native op from opset 17 over trailing axes, composed otherwise."""
    cfg = layer.config
    if cfg.get("rms_scaling"):
        raise fail(layer, "rms_scaling=True is not supported")
    x = g.keras(inputs[0])
    axes = _axes(cfg.get("axis", -1), x.rank)
    w = layer.weight_dict
    gamma = w.get("gamma") if cfg.get("scale", True) else None
    beta = w.get("beta") if cfg.get("center", True) else None
    eps = float(cfg.get("epsilon", 1e-3))
    trailing = axes == list(range(axes[0], x.rank))
    if g.opset >= 17 and trailing and gamma is not None:
        ins = [x.name, g.const(np.asarray(gamma, np.float32), f"{layer.name}/gamma", key=(layer.name, "gamma", ""))]
        if beta is not None:
            ins.append(g.const(np.asarray(beta, np.float32), f"{layer.name}/beta", key=(layer.name, "beta", "")))
        return [g.op("LayerNormalization", ins, x, layer.name, axis=axes[0], epsilon=eps)]
    mean = g.reduce("ReduceMean", x, axes, layer.name + "/mean", keepdims=True)
    centered = g.op("Sub", [x.name, mean.name], x, layer.name + "/centered")
    square = g.op("Mul", [centered.name, centered.name], x, layer.name + "/square")
    var = g.reduce("ReduceMean", square, axes, layer.name + "/variance", keepdims=True)
    var_eps = g.op("Add", [var.name, g.scalar(eps)], x, layer.name + "/variance_eps")
    std = g.op("Sqrt", [var_eps.name], x, layer.name + "/std")
    y = g.op("Div", [centered.name, std.name], x, layer.name + ("/normalized" if gamma is not None or
                                                                   beta is not None else ""))
    if gamma is not None:
        last = beta is None
        y = g.op("Mul", [y.name, g.const(broadcast(gamma, x, axes), f"{layer.name}/gamma")], x,
                 layer.name + ("" if last else "/scaled"))
    if beta is not None:
        y = g.op("Add", [y.name, g.const(broadcast(beta, x, axes), f"{layer.name}/beta")], x, layer.name)
    return [y]


def rescaling(g: GraphBuilder, layer, inputs):
    """Rescaling: x * scale + offset (the Add only when offset is not 0)."""
    x = inputs[0]
    scale = np.asarray(layer.config.get("scale", 1.0), dtype=np.float32)
    offset = np.asarray(layer.config.get("offset", 0.0), dtype=np.float32)
    if scale.ndim or offset.ndim:
        x = g.keras(x)
    has_offset = bool(np.any(offset != 0))
    y = g.op("Mul", [x.name, g.const(scale, layer.name + "/scale")], x,
             layer.name + ("/scale" if has_offset else ""))
    if has_offset:
        y = g.op("Add", [y.name, g.const(offset, layer.name + "/offset")], x, layer.name)
    return [y]


def normalization(g: GraphBuilder, layer, inputs):
    """Normalization: (x - mean) / max(sqrt(variance), 1e-7) as Keras computes it (x * std + mean when invert)."""
    cfg = layer.config
    x = inputs[0]
    w = layer.weight_dict
    mean = w.get("mean", cfg.get("mean"))
    variance = w.get("variance", cfg.get("variance"))
    if mean is None or variance is None:
        raise fail(layer, "the layer has no mean/variance (neither weights nor config); adapt() it before saving")
    axes = _axes(cfg.get("axis", -1), x.rank)
    std = np.maximum(np.sqrt(np.asarray(variance, dtype=np.float32)), np.float32(1e-7))
    tag = "x".join(map(str, x.perm))
    mean_c = g.const(broadcast(mean, x, axes), f"{layer.name}/mean", key=(layer.name, "mean", tag))
    std_c = g.const(broadcast(std, x, axes), f"{layer.name}/std", key=(layer.name, "std", tag))
    if cfg.get("invert"):
        y = g.op("Mul", [x.name, std_c], x, layer.name + "/scaled")
        return [g.op("Add", [y.name, mean_c], x, layer.name)]
    y = g.op("Sub", [x.name, mean_c], x, layer.name + "/centered")
    return [g.op("Div", [y.name, std_c], x, layer.name)]


EMITTERS = {
    "BatchNormalization": batch_normalization,
    "LayerNormalization": layer_normalization,
    "Rescaling": rescaling,
    "Normalization": normalization,
}
