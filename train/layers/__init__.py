"""``keraslite.layers``: the trainable layers, one file per family, and ``LAYERS``, the registry by Keras
``class_name`` (the same names as ``keraslite.format``'s table; ``tests/test_registries.py`` compares them)."""
from .activation import ELU, LeakyReLU, PReLU, ReLU, Softmax
from .augmentation import RandomContrast, RandomFlip, RandomRotation, RandomTranslation, RandomZoom
from .base import Layer
from .conv import Conv1D, Conv2D
from .conv_depthwise import DepthwiseConv2D, SeparableConv1D, SeparableConv2D
from .conv_transpose import Conv2DTranspose
from .core import Activation, Dense, Dropout, Embedding, Flatten, Reshape
from .input_layer import Input, InputLayer
from .keras_tensor import KerasTensor
from .masking import Masking
from .merge import (Add, Average, Concatenate, Maximum, Minimum, Multiply, Subtract, add, average, concatenate,
                    maximum, minimum, multiply, subtract)
from .normalization import BatchNormalization, LayerNormalization
from .pooling import (AveragePooling1D, AveragePooling2D, GlobalAveragePooling1D, GlobalAveragePooling2D,
                      GlobalMaxPooling1D, GlobalMaxPooling2D, MaxPooling1D, MaxPooling2D)
from .encoding import CategoryEncoding, Hashing
from .image_preprocessing import CenterCrop, Resizing
from .lookup import IntegerLookup, StringLookup
from .preprocessing import Normalization, Rescaling
from .recurrent import GRU, LSTM, Bidirectional, SimpleRNN
from .regularization import GaussianDropout, GaussianNoise, SpatialDropout1D, SpatialDropout2D
from .reshaping import (Cropping1D, Cropping2D, Permute, RepeatVector, UpSampling1D, UpSampling2D, ZeroPadding1D,
                        ZeroPadding2D)
from .tensor_ops import CustomScaleLayer, LayerScale, TFOpLambda
from .text_vectorization import TextVectorization

LAYERS = {cls.__name__: cls for cls in (
    # core, activations
    InputLayer, Dense, Activation, Dropout, Flatten, Reshape, Embedding, ReLU, LeakyReLU, PReLU, ELU, Softmax,
    # convolutions
    Conv1D, Conv2D, DepthwiseConv2D, SeparableConv1D, SeparableConv2D, Conv2DTranspose,
    # pooling
    MaxPooling1D, MaxPooling2D, AveragePooling1D, AveragePooling2D, GlobalAveragePooling1D,
    GlobalAveragePooling2D, GlobalMaxPooling1D, GlobalMaxPooling2D,
    # reshaping
    ZeroPadding1D, ZeroPadding2D, Cropping1D, Cropping2D, UpSampling1D, UpSampling2D, Permute, RepeatVector,
    # normalization, regularization
    BatchNormalization, LayerNormalization, SpatialDropout1D, SpatialDropout2D, GaussianNoise, GaussianDropout,
    # preprocessing and augmentation
    Rescaling, Normalization, RandomFlip, RandomRotation, RandomZoom, RandomTranslation, RandomContrast,
    Resizing, CenterCrop,
    # text and categorical preprocessing
    TextVectorization, StringLookup, IntegerLookup, CategoryEncoding, Hashing,
    # recurrent and masking
    SimpleRNN, LSTM, GRU, Bidirectional, Masking,
    # merging
    Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate,
    # tensor operations outside layers, and the layers of Keras' applications
    TFOpLambda, LayerScale, CustomScaleLayer)}

# Other spellings Keras accepts for the same classes.
Convolution1D, Convolution2D, Convolution2DTranspose = Conv1D, Conv2D, Conv2DTranspose
SeparableConvolution1D, SeparableConvolution2D = SeparableConv1D, SeparableConv2D
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


__all__ = sorted(LAYERS) + ["Layer", "Input", "KerasTensor", "LAYERS", "get", "add", "subtract", "multiply",
                            "average", "maximum", "minimum", "concatenate", "Convolution1D", "Convolution2D",
                            "Convolution2DTranspose", "SeparableConvolution1D", "SeparableConvolution2D", "MaxPool1D",
                            "MaxPool2D", "AvgPool1D", "AvgPool2D", "GlobalAvgPool1D", "GlobalAvgPool2D",
                            "GlobalMaxPool1D", "GlobalMaxPool2D"]
