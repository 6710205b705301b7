"""keraslite: train, keep, convert and serve Keras models without TensorFlow.

    import keraslite as keras                  # the Keras training API: Sequential, layers, fit, save, ...
    model = keras.Sequential([keras.layers.Dense(10, activation="softmax", input_shape=(64,))])

    from keraslite import runtime              # the small inference runtime
    runtime.load("model.h5").predict(x)

Everything loads lazily so ``import keraslite`` stays cheap and ``import keraslite.runtime`` never pulls in the
training side: ``keraslite.format`` (files <-> ModelSpec), ``keraslite.runtime`` (Numba inference),
``keraslite.converters`` (ONNX export), ``keraslite.server`` (TF Serving REST / Open Inference V2), and the Keras
names (``layers``, ``models``, ``losses``, ``optimizers``, ``metrics``, ``callbacks``, ``ops``, ...) from
``keraslite.train``. ``from keraslite.layers import Dense`` works too: those names are aliases of
``keraslite.train.<name>`` modules.
"""
import importlib
import importlib.abc
import importlib.util
import sys

__version__ = "0.1.0"

_SUBPACKAGES = ("errors", "format", "runtime", "converters", "server", "train", "datasets")
# keraslite.<name> is keraslite.train.<name>: the Keras namespaces tutorials import from.
_TRAIN_MODULES = ("layers", "models", "losses", "optimizers", "metrics", "callbacks", "initializers",
                  "regularizers", "constraints", "activations", "ops", "random", "utils", "backend", "data",
                  "preprocessing", "distribute", "applications")
_TRAIN_NAMES = ("Sequential", "Model", "Input", "Layer", "Variable", "GradientTape", "KerasTensor", "load_model")


class _TrainAlias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds ``keraslite.layers`` (and its submodules) as the ``keraslite.train.layers`` module objects."""

    def find_spec(self, fullname, path, target=None):
        parts = fullname.split(".")
        if len(parts) >= 2 and parts[0] == __name__ and parts[1] in _TRAIN_MODULES:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        real = spec.name.replace(f"{__name__}.", f"{__name__}.train.", 1)
        return importlib.import_module(real)

    def exec_module(self, module):
        pass  # the real module is already executed


if not any(isinstance(f, _TrainAlias) for f in sys.meta_path):
    sys.meta_path.insert(0, _TrainAlias())  # before the path finder, which would load a second copy


def __getattr__(name):
    if name in _SUBPACKAGES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in _TRAIN_MODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in _TRAIN_NAMES:
        train = importlib.import_module(f"{__name__}.train")
        return getattr(train, name)
    raise AttributeError(f"module 'keraslite' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_SUBPACKAGES) + list(_TRAIN_MODULES) + list(_TRAIN_NAMES))
