"""The rank (batch axis included) of every tensor of a model graph, from configs alone; None where it depends on
something configs do not say (a nested model's outputs, an unknown class). Used to decide rewrites that are only
exact for some ranks (``lowering.py``)."""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple

from .spec import LayerSpec, ModelSpec

Key = Tuple[str, int, int]
SAME = {"Dense", "Activation", "Dropout", "SpatialDropout1D", "SpatialDropout2D", "GaussianNoise", "GaussianDropout",
        "BatchNormalization", "LayerNormalization", "ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax", "Conv1D",
        "Conv2D", "Conv2DTranspose", "DepthwiseConv2D", "SeparableConv1D", "SeparableConv2D", "MaxPooling1D",
        "MaxPooling2D", "AveragePooling1D", "AveragePooling2D", "ZeroPadding1D", "ZeroPadding2D", "Cropping1D",
        "Cropping2D", "UpSampling1D", "UpSampling2D", "Rescaling", "Normalization", "RandomFlip", "RandomRotation",
        "RandomZoom", "RandomTranslation", "RandomContrast", "Masking", "LayerScale", "Permute", "Concatenate"}
MERGES = {"Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "CustomScaleLayer"}


def _tfop_rank(layer: LayerSpec, ins: List[Optional[int]]) -> Optional[int]:
    name, args = layer.config["function"], layer.config["arguments"]
    r = ins[0] if ins else None
    if name in ("math.add", "math.subtract", "math.multiply", "math.truediv", "math.maximum", "math.minimum"):
        return None if None in ins else max(ins)
    if r is None:
        return None
    if name.startswith("math.reduce_"):
        axis = args["axis"]
        return r if args["keepdims"] else r - (1 if isinstance(axis, int) else len(set(axis)))
    if name == "reshape":
        return len(args["shape"])
    if name == "expand_dims":
        return r + 1
    if name == "squeeze":
        return r - (1 if isinstance(args["axis"], int) else len(set(args["axis"])))
    if name == "__operators__.getitem":
        return r - sum(isinstance(i, int) for i in args["slice_spec"])
    return r  # elementwise, softmax, transpose, concat


def _ranks(layer: LayerSpec, ins: List[Optional[int]]) -> List[Optional[int]]:
    """Output ranks of one call of ``layer`` given its input ranks."""
    cls, cfg = layer.class_name, layer.config
    r = ins[0] if ins else None
    if layer.model is not None:  # from the nested model's own input shapes
        inner = tensor_ranks(layer.model)
        return [inner.get((r.layer, r.node, r.tensor)) for r in layer.model.outputs]
    if cls == "TFOpLambda":
        return [_tfop_rank(layer, ins)]
    if cls in MERGES:
        return [None if None in ins else max(ins)]
    if cls in ("SimpleRNN", "LSTM", "GRU", "Bidirectional"):
        inner = cfg["layer"]["config"] if cls == "Bidirectional" else cfg
        out = 3 if inner.get("return_sequences") else 2
        if cls == "Bidirectional":
            return [out] if cfg.get("merge_mode") is not None else [out, out]
        states = (2 if cls == "LSTM" else 1) if cfg.get("return_state") else 0
        return [out] + [2] * states
    if cls in SAME:
        return [r]
    if cls == "Flatten":
        return [2]
    if cls == "Reshape":
        return [1 + len(cfg["target_shape"])]
    if cls == "RepeatVector":
        return [3]
    if cls == "Embedding":
        return [None if r is None else r + 1]
    if cls.startswith("Global"):
        return [r if cfg.get("keepdims") else 2]
    return [None]


def tensor_ranks(spec: ModelSpec) -> Dict[Key, Optional[int]]:
    """``{(layer, call, output): rank}`` for every tensor of ``spec``'s top-level graph."""
    out: Dict[Key, Optional[int]] = {}
    for layer in spec.layers:
        if layer.class_name == "InputLayer":
            shape = layer.config.get("batch_shape")
            out[(layer.name, 0, 0)] = len(shape) if shape is not None else None
    pending = [(layer, k) for layer in spec.layers if layer.class_name != "InputLayer"
               for k in range(len(layer.inbound))]
    while pending:
        rest = []
        for layer, k in pending:
            keys = [(r.layer, r.node, r.tensor) for r in layer.inbound[k]]
            if not all(key in out for key in keys):
                rest.append((layer, k))
                continue
            for t, rank in enumerate(_ranks(layer, [out.get(key) for key in keys])):
                out[(layer.name, k, t)] = rank
        if len(rest) == len(pending):
            break
        pending = rest
    return out

