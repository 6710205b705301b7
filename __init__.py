"""keraslite: train, keep, convert and serve Keras models without TensorFlow.

    from keraslite import runtime
    model = runtime.load("model.h5")          # Keras 2 or 3 .h5, .keras, or arch .json/.yaml + weights
    model.predict(x)

Subpackages load lazily so ``import keraslite`` stays cheap: ``keraslite.format`` (files <-> ModelSpec),
``keraslite.runtime`` (Numba inference), ``keraslite.converters`` (ONNX export), ``keraslite.server``
(TF Serving REST / Open Inference V2 over HTTP). The Keras-like training API (``keraslite.train``) is not built yet.
"""
import importlib

__version__ = "0.1.0"

_SUBPACKAGES = ("errors", "format", "runtime", "converters", "server", "train")


def __getattr__(name):
    if name in _SUBPACKAGES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'keraslite' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_SUBPACKAGES))
