"""The Keras-like training API on keraslite's own autodiff (numpy + Numba): what ``import keraslite as keras``
hands out. Submodules import lazily, so ``import keraslite.runtime`` never pulls any of this in.

    import keraslite as keras
    model = keras.Sequential([keras.layers.Dense(64, activation="relu", input_shape=(8,)),
                              keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, epochs=10)
"""
import importlib

SUBMODULES = ("layers", "models", "losses", "optimizers", "metrics", "callbacks", "initializers", "regularizers",
              "constraints", "activations", "ops", "random", "utils", "autodiff", "data", "backend",
              "preprocessing", "distribute", "applications")
NAMES = {"Sequential": "models", "Model": "models", "Input": "layers", "Layer": "layers", "Variable": "autodiff",
         "GradientTape": "autodiff", "Tensor": "autodiff", "KerasTensor": "layers", "load_model": "models"}


def __getattr__(name):
    if name in SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in NAMES:
        return getattr(importlib.import_module(f"{__name__}.{NAMES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(SUBMODULES) + list(NAMES))
