"""Keras model files <-> ModelSpec, without TensorFlow. The only package that touches model files.

Reading (``read``) accepts every form Keras saves a model in:

- legacy ``.h5`` from ``model.save("m.h5")`` by Keras 2 (tf.keras / tf_keras) or Keras 3;
- the Keras 3 ``.keras`` zip (``config.json``, ``metadata.json``, ``model.weights.h5``);
- an architecture ``.json`` (``model.to_json()``) or ``.yaml`` plus a weights-only file (``save_weights``:
  Keras 2 ``.h5`` or Keras 3 ``.weights.h5``) given as ``weights=``.

Writing (``write``) produces a legacy ``.h5`` that both tf_keras 2.x and Keras 3 load (``dialect="portable"``), or
a file for one Keras version (``"keras2"``, ``"keras3"``); ``.json``/``.yaml`` architecture files; weights-only
``.h5``; and ``.keras``. Every write is atomic.

    spec = keraslite.format.read("model.h5")
    keraslite.format.write(spec, "copy.h5")
"""
from ..errors import ModelFormatError, UnsupportedLayerError
from .spec import LayerSpec, ModelSpec, TensorRef
from .reader import load_weights, read
from .writer import to_json, to_yaml, write, write_weights

__all__ = ["read", "load_weights", "write", "write_weights", "to_json", "to_yaml", "ModelSpec", "LayerSpec", "TensorRef",
           "ModelFormatError", "UnsupportedLayerError"]
