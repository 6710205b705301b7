"""Emitters for the data preprocessing layers: Resizing and CenterCrop as Slice/Pad and TF's resampling (the exact
interpolation matrices, or ONNX Resize with half-pixel centres when the input size is not fixed), and clear
refusals for the layers ONNX cannot express: string inputs (TextVectorization, StringLookup), vocabulary lookups
and hashing.

A model that starts with text preprocessing is exported by exporting the model after it (the Embedding onwards,
fed integer token ids); ``check_preprocessing`` says so before anything is built.
"""
from __future__ import annotations

from typing import Dict, Optional, Tuple

from ..errors import ConversionError
from ..format.layers import STRING_LAYERS
from ..runtime.kernels import resize as R
from .graph import GraphBuilder, fail

# Layers that keep the height and width of an image (for the static sizes crop/pad need).
SAME_SIZE = ("Rescaling", "Normalization", "Activation", "Dropout", "GaussianNoise", "GaussianDropout",
             "SpatialDropout2D", "BatchNormalization", "LayerNormalization", "ReLU", "LeakyReLU", "ELU", "PReLU",
             "Softmax", "RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation", "RandomContrast")
ATTRS = {"bilinear": {"mode": "linear", "coordinate_transformation_mode": "half_pixel"},
         # floor((x + 0.5) * in / out), TF's half-pixel nearest: half_pixel's x' = v - 0.5, rounded half up
         "nearest": {"mode": "nearest", "coordinate_transformation_mode": "half_pixel",
                     "nearest_mode": "round_prefer_ceil"}}


def check_preprocessing(g: GraphBuilder, flat) -> None:
    """Refuse string models up front; note the static (height, width) reaching each image layer in ``g``."""
    for layer in flat.layers:
        if layer.class_name in STRING_LAYERS:
            raise ConversionError(f"layer {layer.name!r} ({layer.class_name}) cannot be exported to ONNX: it reads "
                                  "strings (standardize, split, vocabulary lookup), which ONNX does not express. "
                                  "Export the numeric part instead: the model after this layer, fed its integer "
                                  "token ids, and keep the text preprocessing in keraslite.runtime or the server")
    sizes: Dict[Tuple, Optional[Tuple[int, int]]] = {}
    g.static_hw = {}
    for layer in flat.layers:
        if layer.class_name == "InputLayer":
            shape = layer.config.get("batch_shape") or []
            sizes[(layer.name, 0)] = tuple(shape[1:3]) if len(shape) == 4 and None not in shape[1:3] else None
            continue
        for k, call in enumerate(layer.inbound):
            hw = sizes.get((call[0].layer, call[0].node)) if call else None
            g.static_hw[(layer.name, k)] = hw
            if layer.class_name in ("Resizing", "CenterCrop"):
                hw = (int(layer.config["height"]), int(layer.config["width"]))
            elif layer.class_name not in SAME_SIZE:
                hw = None
            sizes[(layer.name, k)] = hw


def _input_hw(g, layer, why):
    hws = {hw for (name, _), hw in getattr(g, "static_hw", {}).items() if name == layer.name}
    if len(hws) != 1 or None in hws:
        raise fail(layer, f"{why} needs the input's height and width, which are not fixed in this model; give the "
                          "model input a full shape (e.g. Input(shape=(180, 180, 3)))")
    return hws.pop()


def _resize(g: GraphBuilder, layer, x, height, width, method, hint, in_hw=None):
    """Resize of the two spatial axes to (height, width). With the input size known (the usual case) it is TF's
    exact linear map: two Einsum contractions with the interpolation matrices of kernels/resize.py (every method,
    area included). Otherwise an ONNX Resize with the output size taken from the input's shape (bilinear and
    nearest only: ONNX Runtime wants cubic scales known)."""
    if in_hw is None:
        hws = {hw for (name, _), hw in getattr(g, "static_hw", {}).items() if name == layer.name}
        in_hw = hws.pop() if len(hws) == 1 else None
    if in_hw is not None:
        h, w = in_hw
        x = g.keras(x)
        wx = g.const(R.interpolation_matrix(w, width, method), f"{hint}/columns")
        wy = g.const(R.interpolation_matrix(h, height, method), f"{hint}/rows")
        cols = g.op("Einsum", [x.name, wx], x, f"{hint}/x", equation="nhwc,pw->nhpc")
        return g.op("Einsum", [cols.name, wy], cols, hint, equation="nhpc,oh->nopc")
    if method not in ("bilinear", "nearest"):
        raise fail(layer, f"interpolation {method!r} needs the input's height and width, which are not fixed in "
                          "this model; give the model input a full shape (e.g. Input(shape=(180, 180, 3)))")
    x = g.channels_first(x)  # ONNX Runtime resizes the two last axes
    (shape,) = g.node("Shape", [x.name], f"{hint}/shape")
    (batch_channels,) = g.node("Slice", [shape, g.ints([0], "zero"), g.ints([2], "two")], f"{hint}/nc")
    (sizes,) = g.node("Concat", [batch_channels, g.ints([height, width], f"{hint}/hw")], f"{hint}/sizes", axis=0)
    return g.op("Resize", [x.name, "", "", sizes], x, hint, **ATTRS[method])


def _crop(g: GraphBuilder, layer, x, top, left, height, width, hint):
    starts, ends = [top, left], [top + height, left + width]
    axes = [x.axis(1), x.axis(2)]
    ins = [x.name, g.ints(starts, f"{hint}/starts"), g.ints(ends, f"{hint}/ends"), g.ints(axes, f"{hint}/axes")]
    return g.op("Slice", ins, x, hint)


def resizing(g: GraphBuilder, layer, inputs):
    c = layer.config
    x = inputs[0]
    height, width, method = int(c["height"]), int(c["width"]), c.get("interpolation", "bilinear")
    if x.rank != 4:
        raise fail(layer, f"expected a 4-D image batch, got rank {x.rank}")
    in_hw = None
    if c.get("crop_to_aspect_ratio"):
        h, w = _input_hw(g, layer, "crop_to_aspect_ratio")
        top, left, ch, cw = R.crop_box(h, w, height, width)
        x = _crop(g, layer, x, top, left, ch, cw, f"{layer.name}/crop")
        in_hw = (ch, cw)
    elif c.get("pad_to_aspect_ratio"):
        h, w = _input_hw(g, layer, "pad_to_aspect_ratio")
        rows, cols = R.pad_amounts(h, w, height, width)
        if rows or cols:
            begins, ends = [0] * 4, [0] * 4
            begins[x.axis(1)], ends[x.axis(1)] = rows, rows
            begins[x.axis(2)], ends[x.axis(2)] = cols, cols
            pads = g.ints(begins + ends, f"{layer.name}/pads")
            fill = g.scalar(float(c.get("fill_value", 0.0)), f"{layer.name}/fill")
            x = g.op("Pad", [x.name, pads, fill], x, f"{layer.name}/pad", mode="constant")
        in_hw = (h + 2 * rows, w + 2 * cols)
    return [_resize(g, layer, x, height, width, method, layer.name, in_hw)]


def center_crop(g: GraphBuilder, layer, inputs):
    x = inputs[0]
    height, width = int(layer.config["height"]), int(layer.config["width"])
    h, w = _input_hw(g, layer, "CenterCrop")
    if h >= height and w >= width:
        return [_crop(g, layer, x, (h - height) // 2, (w - width) // 2, height, width, layer.name)]
    top, left, ch, cw = R.crop_box(h, w, height, width)
    x = _crop(g, layer, x, top, left, ch, cw, f"{layer.name}/crop")
    return [_resize(g, layer, x, height, width, "bilinear", layer.name, (ch, cw))]


def refuse(why):
    def emit(g, layer, inputs):
        raise fail(layer, why)
    return emit


EMITTERS = {
    "Resizing": resizing,
    "CenterCrop": center_crop,
    "TextVectorization": refuse("it reads strings"),
    "StringLookup": refuse("it reads strings"),
    "IntegerLookup": refuse("vocabulary lookups have no ONNX equivalent here; feed the model the looked-up indices"),
    "CategoryEncoding": refuse("category encodings are not exported; feed the model the encoded vectors"),
    "Hashing": refuse("TensorFlow's string/integer hashes have no ONNX operator; feed the model the hashed bins"),
}
