"""Layers that ship inside Keras' applications: ConvNeXt's LayerScale and InceptionResNetV2's CustomScaleLayer."""
import numpy as np

from ...errors import ModelFormatError
from .common import weights
from .merge import _same_shape


def layer_scale(layer, shapes):
    """``x * gamma`` over the last axis (``gamma`` has ``projection_dim`` entries)."""
    shape = shapes[0]
    dim = int(layer.config["projection_dim"])
    if shape[-1] is not None and shape[-1] != dim:
        raise ModelFormatError(f"layer {layer.name!r} (LayerScale): projection_dim={dim} but the input has "
                               f"{shape[-1]} channels (shape {shape})")
    (gamma,) = weights(layer, ["gamma"], [(dim,)])
    return (lambda x: x * gamma), [shape]


def custom_scale(layer, shapes):
    """``inputs[0] + inputs[1] * scale`` (InceptionResNetV2's residual branch)."""
    if len(shapes) != 2:
        raise ModelFormatError(f"layer {layer.name!r} (CustomScaleLayer): needs 2 inputs, got {len(shapes)}")
    scale = np.float32(layer.config["scale"])
    return (lambda a, b: a + b * scale), [_same_shape(layer, shapes)]


OPS = {"LayerScale": layer_scale, "CustomScaleLayer": custom_scale}
