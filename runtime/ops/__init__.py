"""Runtime ops: one builder per Keras ``class_name``, one module per family.

A builder is ``build(layer, in_shapes) -> (fn, out_shapes)``: it checks the layer's config and weights against the
input shapes (``None`` for the batch and variable dims) once, pre-arranges the weights, and returns ``fn``, a
closure that maps input arrays to the output array (a tuple when ``out_shapes`` has several entries). ``IDENTITY``
is returned as ``fn`` by layers that do nothing at inference (Dropout, GaussianNoise, Random* augmentation).
"""
from ...errors import UnsupportedLayerError
from . import conv, core, image, masking, merge, norm, pool, recurrent, scale, text, tfop

REGISTRY = {}
for _family in (core, conv, pool, norm, recurrent, merge, scale, tfop, masking, image, text):
    REGISTRY.update(_family.OPS)

IDENTITY = core.IDENTITY


def get(class_name, layer_name="?"):
    """The builder for ``class_name``; raises UnsupportedLayerError listing the supported classes."""
    try:
        return REGISTRY[class_name]
    except KeyError:
        raise UnsupportedLayerError(
            f"layer {layer_name!r}: class {class_name!r} is not supported by keraslite.runtime; supported: "
            f"{', '.join(sorted(REGISTRY))}") from None
