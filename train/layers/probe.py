"""Output KerasTensors of a layer called symbolically.

A layer that implements ``compute_output_shape`` (every built-in one) answers directly. Any other layer (a user's
subclass that only wrote ``build`` and ``call``) is run on small batches of zeros instead: twice, with every
unknown dimension set to 2 and then to 3, so the output dimensions that follow an unknown input dimension come
out unknown as well.
"""
from __future__ import annotations

import numpy as np

from ...errors import KerasliteError
from ..autodiff import Tensor
from ..autodiff.core import recording_tapes
from .keras_tensor import KerasTensor, flatten, map_structure


def _shapes(structure):
    return map_structure(lambda t: t.shape if isinstance(t, KerasTensor) else t, structure)


def _as_keras(shape_or_shapes, dtype):
    if isinstance(shape_or_shapes, list) and shape_or_shapes and isinstance(shape_or_shapes[0], (tuple, list)):
        return [KerasTensor(s, dtype) for s in shape_or_shapes]
    if isinstance(shape_or_shapes, dict):
        return {k: KerasTensor(s, dtype) for k, s in shape_or_shapes.items()}
    return KerasTensor(tuple(shape_or_shapes), dtype)


def symbolic_outputs(layer, args, kwargs):
    """The KerasTensors ``layer(*args, **kwargs)`` would produce; builds the layer if needed."""
    first = args[0] if args else kwargs.get("inputs")
    shapes = _shapes(first)
    layer._maybe_build(shapes)
    if hasattr(layer, "compute_output_spec"):
        return layer.compute_output_spec(*args, **{k: v for k, v in kwargs.items() if k != "training"})
    shape = layer.compute_output_shape(shapes)
    if shape is not None:
        return _as_keras(shape, getattr(layer, "output_dtype", layer.dtype))
    return _probe(layer, args, kwargs)


def _concrete(structure, unknown):
    def make(t):
        if not isinstance(t, KerasTensor):
            return t
        shape = tuple(unknown if d is None else d for d in t.shape)
        return Tensor(np.zeros(shape, t.dtype))
    return map_structure(make, structure)


def _probe(layer, args, kwargs):
    tapes = recording_tapes()
    saved_tapes, tapes[:] = list(tapes), []
    saved_losses = list(layer._call_losses)
    runs = []
    try:
        for unknown in (2, 3):
            call_kwargs = dict(_concrete(kwargs, unknown))
            if layer._call_takes_training:
                call_kwargs.setdefault("training", False)
            with np.errstate(all="ignore"):  # zeros in, so 0/0 and log(0) are expected
                out = layer.call(*_concrete(args, unknown), **call_kwargs)
            runs.append(out)
    except Exception as exc:  # a user's call() failing on zeros: say where
        raise KerasliteError(f"layer {layer.name!r} ({type(layer).__name__}) failed when called on symbolic inputs "
                             f"of shape {_shapes(args)}: {exc}. Implement compute_output_shape(input_shape) on the "
                             "layer if its call() cannot run on a batch of zeros") from exc
    finally:
        tapes[:] = saved_tapes
        layer._call_losses = saved_losses

    def merge(a, b):
        shape = tuple(None if x != y else x for x, y in zip(np.shape(a), np.shape(b)))
        dtype = a.dtype if isinstance(a, Tensor) else np.asarray(a).dtype
        return KerasTensor(shape, dtype)

    first, second = runs
    if isinstance(first, (list, tuple)):
        return type(first)(merge(a, b) for a, b in zip(flatten(first), flatten(second)))
    if isinstance(first, dict):
        return {k: merge(first[k], second[k]) for k in first}
    return merge(first, second)


__all__ = ["symbolic_outputs"]
