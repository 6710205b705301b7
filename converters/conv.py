"""Emitters for convolutions: Conv1D/2D, DepthwiseConv2D, SeparableConv1D/2D, Conv2DTranspose (rank-generic code).

All of them run channels-first inside the graph; the tensor they return stays channels-first so the next
convolution, pooling or normalization needs no transpose.
"""
from __future__ import annotations

from typing import Dict, List

import numpy as np

from . import activations
from .core import weight
from .graph import GraphBuilder, Value, fail


def _spatial(layer, x: Value) -> int:
    """Number of spatial axes of the layer's input."""
    return x.rank - 2


def _to_layout(g: GraphBuilder, layer, x: Value) -> Value:
    """``x`` laid out channels-first, as ONNX convolutions want it."""
    if layer.config.get("data_format", "channels_last") == "channels_first":
        return g.keras(x)
    return g.channels_first(x)


def _onnx_kernel(kernel: np.ndarray) -> np.ndarray:
    """A Keras kernel (k..., a, b) as an ONNX weight (b, a, k...)."""
    r = kernel.ndim
    return np.ascontiguousarray(np.transpose(kernel, (r - 1, r - 2, *range(r - 2))))


def _depthwise_kernel(kernel: np.ndarray) -> np.ndarray:
    """A Keras depthwise kernel (k..., in, mult) as an ONNX grouped weight (in*mult, 1, k...)."""
    spatial = kernel.shape[:-2]
    flat = kernel.reshape(*spatial, kernel.shape[-2] * kernel.shape[-1])
    return _onnx_kernel(flat[..., None, :])


def _padding_attrs(layer, n: int) -> Dict:
    """Conv/Pool padding attributes for Keras' valid/same/causal padding."""
    cfg = layer.config
    padding = cfg.get("padding", "valid")
    if padding == "valid":
        return {"pads": [0] * (2 * n)}
    if padding == "same":
        strides = list(cfg.get("strides") or [1] * n)
        if any(s != 1 for s in strides):
            return {"auto_pad": "SAME_UPPER"}  # Keras refuses strides > 1 together with dilation
        # Stride 1: explicit pads, since ONNX Runtime refuses SAME auto_pad with dilation.
        ks = list(cfg.get("kernel_size") or [1] * n)
        ds = list(cfg.get("dilation_rate") or [1] * n)
        total = [(k - 1) * d for k, d in zip(ks, ds)]
        return {"pads": [t // 2 for t in total] + [t - t // 2 for t in total]}
    if padding == "causal" and n == 1:
        k = list(cfg.get("kernel_size", [1]))[0]
        d = list(cfg.get("dilation_rate") or [1])[0]
        return {"pads": [(k - 1) * d, 0]}
    raise fail(layer, f"padding {padding!r} is not supported; expected 'valid' or 'same' (or 'causal' for 1-D)")


def _conv_attrs(layer, n: int, kernel_shape: List[int]) -> Dict:
    cfg = layer.config
    return {"kernel_shape": list(kernel_shape), "strides": list(cfg.get("strides") or [1] * n),
            "dilations": list(cfg.get("dilation_rate") or [1] * n), **_padding_attrs(layer, n)}


def _finish(g: GraphBuilder, layer, y: Value) -> List[Value]:
    return [activations.apply(g, y, layer.config.get("activation", "linear"), layer.name + "/act", layer)]


def conv(g: GraphBuilder, layer, inputs):
    """ConvND: one Conv node (grouped when Keras' ``groups`` > 1), bias inside."""
    cfg = layer.config
    x = _to_layout(g, layer, inputs[0])
    n = _spatial(layer, x)
    kernel = layer.weight_dict["kernel"]
    groups = int(cfg.get("groups", 1) or 1)
    ins = [x.name, weight(g, layer, "kernel", _onnx_kernel(kernel), "onnx")]
    if cfg.get("use_bias", True):
        ins.append(weight(g, layer, "bias"))
    y = g.op("Conv", ins, x, layer.name, group=groups, **_conv_attrs(layer, n, kernel.shape[:n]))
    return _finish(g, layer, y)


def depthwise_conv(g: GraphBuilder, layer, inputs):
    """DepthwiseConv1D/2D: a Conv with one group per input channel."""
    cfg = layer.config
    x = _to_layout(g, layer, inputs[0])
    n = _spatial(layer, x)
    kernel = layer.weight_dict["depthwise_kernel"]
    ins = [x.name, weight(g, layer, "depthwise_kernel", _depthwise_kernel(kernel), "onnx")]
    if cfg.get("use_bias", True):
        ins.append(weight(g, layer, "bias"))
    y = g.op("Conv", ins, x, layer.name, group=int(kernel.shape[-2]), **_conv_attrs(layer, n, kernel.shape[:n]))
    return _finish(g, layer, y)


def separable_conv(g: GraphBuilder, layer, inputs):
    """SeparableConv1D/2D: the depthwise Conv, then a 1x1 Conv carrying the bias."""
    cfg = layer.config
    x = _to_layout(g, layer, inputs[0])
    n = _spatial(layer, x)
    depthwise = layer.weight_dict["depthwise_kernel"]
    pointwise = layer.weight_dict["pointwise_kernel"]
    dw = [x.name, weight(g, layer, "depthwise_kernel", _depthwise_kernel(depthwise), "onnx")]
    mid = g.op("Conv", dw, x, layer.name + "/depthwise", group=int(depthwise.shape[-2]),
               **_conv_attrs(layer, n, depthwise.shape[:n]))
    pw = [mid.name, weight(g, layer, "pointwise_kernel", _onnx_kernel(pointwise), "onnx")]
    if cfg.get("use_bias", True):
        pw.append(weight(g, layer, "bias"))
    y = g.op("Conv", pw, x, layer.name, kernel_shape=[1] * n)
    return _finish(g, layer, y)


def conv_transpose(g: GraphBuilder, layer, inputs):
    """ConvNDTranspose: ConvTranspose with explicit pads/output_padding reproducing Keras' output length."""
    cfg = layer.config
    x = _to_layout(g, layer, inputs[0])
    n = _spatial(layer, x)
    kernel = layer.weight_dict["kernel"]
    ksize = list(kernel.shape[:n])
    strides = list(cfg.get("strides") or [1] * n)
    dilations = list(cfg.get("dilation_rate") or [1] * n)
    output_padding = cfg.get("output_padding")
    padding = cfg.get("padding", "valid")
    if padding not in ("valid", "same"):
        raise fail(layer, f"padding {padding!r} is not supported; expected 'valid' or 'same'")
    begins, ends, extra = [], [], []
    for i in range(n):
        keff = (ksize[i] - 1) * dilations[i] + 1
        s = strides[i]
        if output_padding is None:
            diff = max(s - keff, 0) if padding == "valid" else s - keff
        else:
            diff = int(output_padding[i]) - (2 * (keff // 2) if padding == "same" else 0)
        crop = max(-diff, 0)
        begins.append(crop // 2)
        ends.append(crop - crop // 2)
        extra.append(max(diff, 0))
    ins = [x.name, weight(g, layer, "kernel", _onnx_kernel(kernel), "onnx")]
    if cfg.get("use_bias", True):
        ins.append(weight(g, layer, "bias"))
    y = g.op("ConvTranspose", ins, x, layer.name, kernel_shape=ksize, strides=strides, dilations=dilations,
             pads=begins + ends, output_padding=extra)
    return _finish(g, layer, y)


EMITTERS = {
    "Conv1D": conv,
    "Conv2D": conv,
    "DepthwiseConv2D": depthwise_conv,
    "SeparableConv1D": separable_conv,
    "SeparableConv2D": separable_conv,
    "Conv2DTranspose": conv_transpose,
}
