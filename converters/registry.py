"""The one table from Keras ``class_name`` to ONNX emitter, assembled from the per-family modules."""
from __future__ import annotations

from . import advanced, conv, core, masking, merge, norm, pooling, preprocessing, recurrent, reshaping, tfop

EMITTERS = {}
for _family in (core, advanced, conv, pooling, reshaping, norm, merge, recurrent, tfop, masking, preprocessing):
    EMITTERS.update(_family.EMITTERS)

# Layers with no computation of their own: graph inputs become ONNX graph inputs.
STRUCTURAL = ("InputLayer",)
