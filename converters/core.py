"""Emitters for core layers: Dense, Activation, Embedding, reshaping layers and training-only identities."""
from __future__ import annotations

import numpy as np
from onnx import TensorProto

from . import activations
from .graph import GraphBuilder, Value, fail, identity


def weight(g: GraphBuilder, layer, name: str, array=None, tag: str = "") -> str:
    """The initializer for weight ``name`` of ``layer`` (or ``array``, a rearranged form of it named by ``tag``).

    Shared by every call of the layer.
    """
    weights = layer.weight_dict
    if name not in weights:
        raise fail(layer, f"weight {name!r} is missing; the layer has {sorted(weights)}")
    arr = weights[name] if array is None else array
    return g.const(np.asarray(arr, dtype=np.float32), f"{layer.name}/{name}", key=(layer.name, name, tag))


def passthrough(g: GraphBuilder, layer, inputs):
    """Training-only layers (Dropout, noise, random augmentation) are the identity at inference."""
    return [inputs[0]]


def dense(g: GraphBuilder, layer, inputs):
    """Dense: Gemm on 2-D inputs, MatMul (+ Add) on the last axis otherwise; then the activation."""
    cfg = layer.config
    x = inputs[0]
    kernel = weight(g, layer, "kernel")
    bias = weight(g, layer, "bias") if cfg.get("use_bias", True) else None
    if x.rank == 2:
        ins = [x.name, kernel] + ([bias] if bias else [])
        y = g.op("Gemm", ins, x, layer.name)
    else:
        x = g.keras(x)
        y = g.op("MatMul", [x.name, kernel], x, layer.name + ("/matmul" if bias else ""))
        if bias:
            y = g.op("Add", [y.name, bias], y, layer.name)
    return [activations.apply(g, y, cfg.get("activation", "linear"), layer.name + "/act", layer)]


def activation(g: GraphBuilder, layer, inputs):
    """Activation layer."""
    return [activations.apply(g, inputs[0], layer.config["activation"], layer.name, layer)]


def flatten(g: GraphBuilder, layer, inputs):
    """Flatten in Keras' order (so the Dense after it keeps Keras' kernel rows)."""
    x = inputs[0]
    if layer.config.get("data_format", "channels_last") == "channels_first" and x.rank > 2:
        # Keras moves the channels of a channels-first tensor last before flattening.
        x = g.to_perm(x, (0, *range(2, x.rank), 1))
    else:
        x = g.keras(x)
    return [g.op("Flatten", [x.name], x, layer.name, out_perm=(0, 1), out_rank=2, axis=1)]


def reshape(g: GraphBuilder, layer, inputs):
    """Reshape: batch kept with 0, the rest as Keras' target_shape."""
    x = g.keras(inputs[0])
    target = [int(d) if d is not None else -1 for d in layer.config["target_shape"]]
    shape = g.ints([0, *target], layer.name + "/shape")
    return [g.op("Reshape", [x.name, shape], x, layer.name, out_perm=identity(len(target) + 1),
                 out_rank=len(target) + 1)]


def permute(g: GraphBuilder, layer, inputs):
    """Permute costs no node: only the tensor's perm changes."""
    x = inputs[0]
    order = (0, *[int(d) for d in layer.config["dims"]])
    inverse = np.argsort(order)
    return [x.with_name(x.name, perm=[int(inverse[k]) for k in x.perm])]


def repeat_vector(g: GraphBuilder, layer, inputs):
    """RepeatVector: (batch, features) -> (batch, n, features) by Unsqueeze and a broadcasting Expand."""
    x = inputs[0]
    n = int(layer.config["n"])
    expanded = g.node("Unsqueeze", [x.name, g.ints([1], "axes")], layer.name + "/unsqueeze")[0]
    y = g.node("Expand", [expanded, g.ints([1, n, 1], layer.name + "/repeats")], layer.name)[0]
    return [Value(y, 3, identity(3), x.dtype)]


def embedding(g: GraphBuilder, layer, inputs):
    """Embedding as Gather on the table; float or int32 indices are cast to int64 first."""
    x = g.keras(inputs[0])
    table = weight(g, layer, "embeddings")
    indices = x.name
    if x.dtype != TensorProto.INT64:
        indices = g.node("Cast", [x.name], layer.name + "/indices", to=TensorProto.INT64)[0]
    y = g.node("Gather", [table, indices], layer.name, axis=0)[0]
    return [Value(y, x.rank + 1, identity(x.rank + 1), TensorProto.FLOAT)]


EMITTERS = {
    "Dense": dense,
    "Activation": activation,
    "Dropout": passthrough,
    "SpatialDropout1D": passthrough,
    "SpatialDropout2D": passthrough,
    "GaussianNoise": passthrough,
    "GaussianDropout": passthrough,
    "RandomFlip": passthrough,
    "RandomRotation": passthrough,
    "RandomZoom": passthrough,
    "RandomTranslation": passthrough,
    "RandomContrast": passthrough,
    "Flatten": flatten,
    "Reshape": reshape,
    "Permute": permute,
    "RepeatVector": repeat_vector,
    "Embedding": embedding,
}
