"""Emitters for pooling: Max/AveragePooling1D/2D and the Global* poolings (rank-generic code)."""
from __future__ import annotations

from .graph import GraphBuilder, fail


def pool(op: str):
    """MaxPool/AveragePool channels-first; TF's 'same' average excludes the padding, as ONNX's default does."""

    def emit(g: GraphBuilder, layer, inputs):
        cfg = layer.config
        x = inputs[0]
        x = g.keras(x) if cfg.get("data_format", "channels_last") == "channels_first" else g.channels_first(x)
        n = x.rank - 2
        size = list(cfg["pool_size"])
        strides = list(cfg.get("strides") or size)
        padding = cfg.get("padding", "valid")
        if padding == "valid":
            pads = {"pads": [0] * (2 * n)}
        elif padding == "same":
            pads = {"auto_pad": "SAME_UPPER"}
        else:
            raise fail(layer, f"padding {padding!r} is not supported; expected 'valid' or 'same'")
        return [g.op(op, [x.name], x, layer.name, kernel_shape=size, strides=strides, **pads)]

    return emit


def global_pool(op: str):
    """Global pooling as one Reduce node over the spatial axes, wherever they sit physically."""

    def emit(g: GraphBuilder, layer, inputs):
        if layer.mask is not None:  # only GlobalAveragePooling1D receives one (format/masking.py)
            from .masking import masked_average

            return masked_average(g, layer, inputs)
        cfg = layer.config
        x = inputs[0]
        if cfg.get("data_format", "channels_last") == "channels_first":
            spatial = range(2, x.rank)
        else:
            spatial = range(1, x.rank - 1)
        axes = [x.axis(a) for a in spatial]
        return [g.reduce(op, x, axes, layer.name, keepdims=bool(cfg.get("keepdims", False)))]

    return emit


EMITTERS = {
    "MaxPooling1D": pool("MaxPool"),
    "MaxPooling2D": pool("MaxPool"),
    "AveragePooling1D": pool("AveragePool"),
    "AveragePooling2D": pool("AveragePool"),
    "GlobalAveragePooling1D": global_pool("ReduceMean"),
    "GlobalAveragePooling2D": global_pool("ReduceMean"),
    "GlobalMaxPooling1D": global_pool("ReduceMax"),
    "GlobalMaxPooling2D": global_pool("ReduceMax"),
}
