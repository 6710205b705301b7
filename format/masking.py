"""Keras masks made explicit: which layers of a flat graph receive a mask, and from which tensor it comes.

Keras attaches a mask to the output of ``Embedding(mask_zero=True)`` (``ids != 0``) and of ``Masking``
(``any(x != mask_value, axis=-1)``); layers that support masking pass it on, recurrent layers skip masked steps
(returning it again only with ``return_sequences``), ``GlobalAveragePooling1D`` averages unmasked steps only, and
every other layer drops it, as Keras 3 does (tf_keras refuses to build such a model, so no file has one). A layer
that would combine masks (merges, TF ops) is refused: its Keras semantics are not implemented.

``explicit_masks(flat)`` returns a copy in which every consumer carries ``mask`` (the kind) and one extra input per
call, the tensor the mask is computed from, so the runtime and the ONNX exporter need no mask bookkeeping.
"""
from __future__ import annotations

from typing import Dict, Optional, Tuple

from ..errors import UnsupportedLayerError
from .spec import LayerSpec, ModelSpec, TensorRef

# Keras 3 layers with supports_masking and the default compute_mask (the mask passes through unchanged).
PASS = {"Activation", "Dense", "Dropout", "SpatialDropout1D", "GaussianNoise", "GaussianDropout",
        "BatchNormalization", "LayerNormalization", "ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax", "Rescaling",
        "Normalization"}
RECURRENT = {"SimpleRNN", "LSTM", "GRU", "Bidirectional"}
CONSUMERS = RECURRENT | {"GlobalAveragePooling1D"}
COMBINING = {"Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "TFOpLambda",
             "CustomScaleLayer"}

Mask = Tuple[str, float, TensorRef]  # kind, value, source tensor


def _producer_mask(layer: LayerSpec, call) -> Optional[Mask]:
    if layer.class_name == "Embedding" and layer.config.get("mask_zero"):
        return ("ids", 0.0, call[0])
    if layer.class_name == "Masking":
        return ("values", float(layer.config.get("mask_value", 0.0)), call[0])
    return None


def has_masks(flat: ModelSpec) -> bool:
    """Whether any layer of ``flat`` makes a mask."""
    return any(_producer_mask(layer, [None]) for layer in flat.layers)


def _returns_sequences(layer: LayerSpec) -> bool:
    cfg = layer.config["layer"]["config"] if layer.class_name == "Bidirectional" else layer.config
    return bool(cfg.get("return_sequences"))


def explicit_masks(flat: ModelSpec) -> ModelSpec:
    """``flat`` (no nested models) with masks made explicit; itself when no layer makes a mask."""
    if not has_masks(flat):
        return flat
    by_name = {layer.name: layer for layer in flat.layers}
    masks: Dict[Tuple[str, int, int], Mask] = {}
    done: set = set()
    kinds: Dict[str, Tuple[str, float]] = {}
    extra: Dict[Tuple[str, int], TensorRef] = {}
    pending = [(layer, k) for layer in flat.layers for k in range(len(layer.inbound))]
    while pending:
        rest = []
        for layer, k in pending:
            call = layer.inbound[k]
            if not all((r.layer, r.node) in done or by_name[r.layer].class_name == "InputLayer" for r in call):
                rest.append((layer, k))
                continue
            _visit(layer, k, call, masks, kinds, extra)
            done.add((layer.name, k))
        if len(rest) == len(pending):
            break  # a cycle or dangling reference: the plan builder reports it
        pending = rest
    layers = []
    for layer in flat.layers:
        if layer.name not in kinds:
            layers.append(layer)
            continue
        kind, value = kinds[layer.name]
        inbound = [list(call) + [extra[(layer.name, k)]] for k, call in enumerate(layer.inbound)]
        layers.append(LayerSpec(layer.name, layer.class_name, layer.config, layer.weights, inbound,
                                mask={"kind": kind, "value": value}))
    return flat.replace(layers=layers)


def _visit(layer: LayerSpec, k: int, call, masks, kinds, extra) -> None:
    """Record the mask of call ``k``'s outputs, and the mask it consumes."""
    made = _producer_mask(layer, call)
    incoming = [masks.get((r.layer, r.node, r.tensor)) for r in call]
    where = f"layer {layer.name!r} ({layer.class_name})"
    if made is not None:
        masks[(layer.name, k, 0)] = made
        return
    mask = incoming[0] if incoming else None
    if not any(incoming):
        if layer.name in kinds:
            raise UnsupportedLayerError(f"{where}: called both with and without a mask; not supported")
        return
    if layer.class_name in COMBINING or any(m is not None for m in incoming[1:]):
        raise UnsupportedLayerError(f"{where}: combining masked tensors (Keras merges their masks) is not "
                                    "supported by keraslite; apply the mask before merging")
    if layer.class_name in PASS:
        masks[(layer.name, k, 0)] = mask
    elif layer.class_name in CONSUMERS:
        kind = (mask[0], mask[1])
        if kinds.setdefault(layer.name, kind) != kind or (k and (layer.name, k - 1) not in extra):
            raise UnsupportedLayerError(f"{where}: called with different masks; not supported")
        extra[(layer.name, k)] = mask[2]
        if layer.class_name in RECURRENT and _returns_sequences(layer):
            masks[(layer.name, k, 0)] = mask
    # any other layer drops the mask, as Keras 3 does
