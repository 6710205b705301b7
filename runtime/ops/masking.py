"""Masking, and the Keras masks consumers receive (see ``format/masking.py``): the extra last input of a masked
call is the tensor the mask comes from, ``layer.mask`` says how."""
import numpy as np

from ...errors import ModelFormatError


def mask_fn(layer):
    """``fn(source) -> bool (N, T)`` for a masked layer: ``ids != 0`` or ``any(x != mask_value, axis=-1)``."""
    kind, value = layer.mask["kind"], np.float32(layer.mask["value"])
    if kind == "ids":
        return lambda ids: ids != 0
    return lambda x: np.any(x != value, axis=-1)


def check_mask_shape(layer, shape, source):
    """The mask (from ``source``'s shape) must cover the input's batch and time axes."""
    rows = source if layer.mask["kind"] == "ids" else source[:-1]
    if len(rows) != 2 or (rows[1] is not None and shape[1] is not None and rows[1] != shape[1]):
        raise ModelFormatError(f"layer {layer.name!r} ({layer.class_name}): a mask of shape {tuple(rows)} does "
                               f"not match its input of shape {shape} (expected (batch, {shape[1]}))")


def masking(layer, shapes):
    """``x * any(x != mask_value, axis=-1)``: masked steps become zeros (the mask itself travels separately)."""
    value = np.float32(layer.config.get("mask_value", 0.0))

    def run(x):
        return x * np.any(x != value, axis=-1, keepdims=True).astype(x.dtype)
    return run, [shapes[0]]


OPS = {"Masking": masking}
