"""``keraslite.applications``: Keras' pretrained architectures with Keras' layer names, graph and weight order, so
Keras' published weight files (and any ``save_weights`` .h5 of these models) load into them.

    base = keras.applications.VGG19(include_top=False, weights="imagenet")   # ~/.keras/models/ holds the file
    x = keras.applications.vgg19.preprocess_input(images)

Each family is a module with its model functions, ``preprocess_input`` and ``decode_predictions``, named as in
Keras (``vgg16``, ``vgg19``, ``resnet50``, ``mobilenet_v2``, ...). keraslite downloads nothing: ``weights="imagenet"``
uses the file Keras caches and otherwise says which file to put where.
"""
import importlib

MODULES = ("imagenet_utils", "vgg16", "vgg19", "resnet", "resnet50", "mobilenet_v2", "mobilenet_v3")
MODELS = {"VGG16": "vgg16", "VGG19": "vgg19", "ResNet50": "resnet50", "MobileNetV2": "mobilenet_v2",
          "MobileNetV3Small": "mobilenet_v3"}


def __getattr__(name):
    if name in MODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in MODELS:
        return getattr(importlib.import_module(f"{__name__}.{MODELS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}; applications: {', '.join(sorted(MODELS))}")


def __dir__():
    return sorted(list(globals()) + list(MODULES) + list(MODELS))


__all__ = sorted(MODELS) + list(MODULES)
