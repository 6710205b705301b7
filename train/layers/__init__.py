"""``keraslite.layers``: the trainable layers, one file per family, and ``LAYERS``, the registry by Keras
``class_name`` (the same names as ``keraslite.format``'s table; ``tests/test_registries.py`` compares them)."""
from ...format.layers import LAYERS as _FORMAT_LAYERS
from .activation import ELU, LeakyReLU, PReLU, ReLU, Softmax
from .base import Layer
from .conv import Conv1D, Conv2D
from .core import Activation, Dense, Dropout, Embedding, Flatten, Reshape
from .input_layer import Input, InputLayer
from .keras_tensor import KerasTensor
from .masking import Masking
from .merge import (Add, Average, Concatenate, Maximum, Minimum, Multiply, Subtract, add, average, concatenate,
                    maximum, minimum, multiply, subtract)
from .normalization import BatchNormalization, LayerNormalization
from .pooling import (AveragePooling1D, AveragePooling2D, GlobalAveragePooling1D, GlobalAveragePooling2D,
                      GlobalMaxPooling1D, GlobalMaxPooling2D, MaxPooling1D, MaxPooling2D)
from .preprocessing import Normalization, Rescaling
from .recurrent import GRU, LSTM, Bidirectional, SimpleRNN

LAYERS = {cls.__name__: cls for cls in (
    InputLayer, Dense, Activation, Dropout, Flatten, Reshape, Embedding, ReLU, LeakyReLU, PReLU, ELU, Softmax,
    Conv1D, Conv2D, MaxPooling1D, MaxPooling2D, AveragePooling1D, AveragePooling2D, GlobalAveragePooling1D,
    GlobalAveragePooling2D, GlobalMaxPooling1D, GlobalMaxPooling2D, BatchNormalization, LayerNormalization,
    Rescaling, Normalization, Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, SimpleRNN, LSTM,
    GRU, Bidirectional)}

# Masking trains here; it joins the registry (and so saving and loading) once format/ reads it, which another branch
# adds. Then this can become a plain entry above.
if "Masking" in _FORMAT_LAYERS:
    LAYERS["Masking"] = Masking

# Other spellings Keras accepts for the same classes.
Convolution1D, Convolution2D = Conv1D, Conv2D
MaxPool1D, MaxPool2D, AvgPool1D, AvgPool2D = MaxPooling1D, MaxPooling2D, AveragePooling1D, AveragePooling2D
GlobalAvgPool1D, GlobalAvgPool2D = GlobalAveragePooling1D, GlobalAveragePooling2D
GlobalMaxPool1D, GlobalMaxPool2D = GlobalMaxPooling1D, GlobalMaxPooling2D


def get(class_name):
    """The layer class for a Keras ``class_name``."""
    from ...errors import UnsupportedLayerError

    if class_name not in LAYERS:
        raise UnsupportedLayerError(f"layer class {class_name!r} has no trainable keraslite layer; trainable: "
                                    f"{', '.join(sorted(LAYERS))}")
    return LAYERS[class_name]


__all__ = sorted(set(LAYERS) | {"Masking"}) + ["Layer", "Input", "KerasTensor", "LAYERS", "get", "add", "subtract",
                                               "multiply", "average", "maximum", "minimum", "concatenate"]
