"""Emitters for spatial reshaping: ZeroPadding, Cropping, UpSampling (1D/2D), in whatever layout the input has."""
from __future__ import annotations

from typing import List

import numpy as np

from .graph import GraphBuilder, Value, fail

INT64_MAX = np.iinfo(np.int64).max


def _spatial_axes(layer, x: Value) -> List[int]:
    """Keras' spatial axes of the input (1..n channels-last, 2..n+1 channels-first)."""
    if layer.config.get("data_format", "channels_last") == "channels_first":
        return list(range(2, x.rank))
    return list(range(1, x.rank - 1))


def _pairs(value, n: int) -> List[List[int]]:
    """Canonical padding/cropping ([l, r] for 1-D, [[t, b], [l, r]] for 2-D) as n (before, after) pairs."""
    if n == 1 and len(value) == 2 and not isinstance(value[0], (list, tuple)):
        return [[int(value[0]), int(value[1])]]
    return [[int(a), int(b)] for a, b in value]


def zero_padding(g: GraphBuilder, layer, inputs):
    """ZeroPaddingND as one Pad node on the physical axes."""
    x = inputs[0]
    axes = _spatial_axes(layer, x)
    pairs = _pairs(layer.config["padding"], len(axes))
    begins, ends = [0] * x.rank, [0] * x.rank
    for axis, (before, after) in zip(axes, pairs):
        begins[x.axis(axis)] = before
        ends[x.axis(axis)] = after
    pads = g.ints(begins + ends, layer.name + "/pads")
    return [g.op("Pad", [x.name, pads], x, layer.name, mode="constant")]


def cropping(g: GraphBuilder, layer, inputs):
    """CroppingND as one Slice node on the physical axes."""
    x = inputs[0]
    axes = _spatial_axes(layer, x)
    pairs = _pairs(layer.config["cropping"], len(axes))
    starts = [before for before, _ in pairs]
    ends = [-after if after else INT64_MAX for _, after in pairs]
    physical = [x.axis(a) for a in axes]
    ins = [x.name, g.ints(starts, layer.name + "/starts"), g.ints(ends, layer.name + "/ends"),
           g.ints(physical, layer.name + "/axes")]
    return [g.op("Slice", ins, x, layer.name)]


def up_sampling(g: GraphBuilder, layer, inputs):
    """UpSamplingND as Resize: nearest repeats rows/columns; bilinear uses TF's half-pixel centres."""
    cfg = layer.config
    x = inputs[0]
    axes = _spatial_axes(layer, x)
    size = cfg["size"]
    size = [int(size)] * len(axes) if isinstance(size, (int, float)) else [int(s) for s in size]
    scales = [1.0] * x.rank
    for axis, s in zip(axes, size):
        scales[x.axis(axis)] = float(s)
    interpolation = cfg.get("interpolation", "nearest")
    if interpolation == "nearest":
        attrs = {"mode": "nearest", "coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"}
    elif interpolation == "bilinear" and len(axes) == 2:
        # ONNX Runtime's linear Resize wants the two resized axes last: run it channels-first.
        x = g.keras(x) if cfg.get("data_format", "channels_last") == "channels_first" else g.channels_first(x)
        scales = [1.0, 1.0, float(size[0]), float(size[1])]
        attrs = {"mode": "linear", "coordinate_transformation_mode": "half_pixel"}
    else:
        raise fail(layer, f"interpolation {interpolation!r} is not supported; expected 'nearest' or 'bilinear'")
    scale = g.const(np.asarray(scales, dtype=np.float32), layer.name + "/scales")
    return [g.op("Resize", [x.name, "", scale], x, layer.name, **attrs)]


EMITTERS = {
    "ZeroPadding1D": zero_padding,
    "ZeroPadding2D": zero_padding,
    "Cropping1D": cropping,
    "Cropping2D": cropping,
    "UpSampling1D": up_sampling,
    "UpSampling2D": up_sampling,
}
