"""MobileNetV3 (Howard et al., 2019) as Keras builds it; ``MobileNetV3Small`` here. Inverted residual blocks with
squeeze-and-excite and hard-swish; the preprocessing (``Rescaling`` to [-1, 1]) is part of the model. The
hard sigmoid is ``ReLU(6)(x + 3) * (1 / 6)`` as in Keras, so the graph holds two arithmetic operations per use
(keraslite records them as small layers: the model predicts and trains, but cannot be saved to a model file;
its weights save and load like any model's)."""
from __future__ import annotations

import warnings

from ...errors import KerasliteError
from . import imagenet_utils, weights as W
from .mobilenet_v2 import make_divisible as _depth

BASE_URL = "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v3/"


def _relu(x):
    from .. import layers

    return layers.ReLU()(x)


def _hard_sigmoid(x):
    from .. import layers

    return layers.ReLU(6.0)(x + 3.0) * (1.0 / 6.0)


def _hard_swish(x):
    from .. import layers

    return layers.Activation("hard_swish")(x)


def _bn(name):
    from .. import layers

    return layers.BatchNormalization(axis=-1, epsilon=1e-3, momentum=0.999, name=name)


def _se_block(inputs, filters, se_ratio, prefix):
    from .. import layers

    x = layers.GlobalAveragePooling2D(keepdims=True, name=f"{prefix}squeeze_excite_avg_pool")(inputs)
    x = layers.Conv2D(_depth(filters * se_ratio), kernel_size=1, padding="same",
                      name=f"{prefix}squeeze_excite_conv")(x)
    x = layers.ReLU(name=f"{prefix}squeeze_excite_relu")(x)
    x = layers.Conv2D(filters, kernel_size=1, padding="same", name=f"{prefix}squeeze_excite_conv_1")(x)
    x = _hard_sigmoid(x)
    return layers.Multiply(name=f"{prefix}squeeze_excite_mul")([inputs, x])


def inverted_res_block(x, expansion, filters, kernel_size, stride, se_ratio, activation, block_id):
    from .. import layers

    shortcut = x
    prefix = "expanded_conv_"
    infilters = x.shape[-1]
    if block_id:
        prefix = f"expanded_conv_{block_id}_"
        x = layers.Conv2D(_depth(infilters * expansion), kernel_size=1, padding="same", use_bias=False,
                          name=f"{prefix}expand")(x)
        x = activation(_bn(f"{prefix}expand_bn")(x))
    if stride == 2:
        x = layers.ZeroPadding2D(padding=imagenet_utils.correct_pad(x, kernel_size),
                                 name=f"{prefix}depthwise_pad")(x)
    x = layers.DepthwiseConv2D(kernel_size, strides=stride, padding="same" if stride == 1 else "valid",
                               use_bias=False, name=f"{prefix}depthwise")(x)
    x = activation(_bn(f"{prefix}depthwise_bn")(x))
    if se_ratio:
        x = _se_block(x, _depth(infilters * expansion), se_ratio, prefix)
    x = layers.Conv2D(filters, kernel_size=1, padding="same", use_bias=False, name=f"{prefix}project")(x)
    x = _bn(f"{prefix}project_bn")(x)
    if stride == 1 and infilters == filters:
        x = layers.Add(name=f"{prefix}add")([shortcut, x])
    return x


def _small_stack(x, kernel, activation, se_ratio, alpha):
    def depth(d):
        return _depth(d * alpha)

    x = inverted_res_block(x, 1, depth(16), 3, 2, se_ratio, _relu, 0)
    x = inverted_res_block(x, 72.0 / 16, depth(24), 3, 2, None, _relu, 1)
    x = inverted_res_block(x, 88.0 / 24, depth(24), 3, 1, None, _relu, 2)
    for block_id, (expansion, filters, stride) in enumerate(
            [(4, 40, 2), (6, 40, 1), (6, 40, 1), (3, 48, 1), (3, 48, 1), (6, 96, 2), (6, 96, 1), (6, 96, 1)],
            start=3):
        x = inverted_res_block(x, expansion, depth(filters), kernel, stride, se_ratio, activation, block_id)
    return x


def MobileNetV3Small(input_shape=None, alpha=1.0, minimalistic=False, include_top=True, weights="imagenet",
                     input_tensor=None, classes=1000, pooling=None, dropout_rate=0.2,
                     classifier_activation="softmax", include_preprocessing=True, name="MobileNetV3Small"):
    """MobileNetV3Small with Keras' layer names and weight order.

    Args:
        input_shape: (height, width, 3), at least 32x32 (default: any size).
        alpha: width multiplier (pretrained: 0.75 and 1.0; 1.0 when ``minimalistic``).
        minimalistic: 3x3 kernels, ReLU and no squeeze-and-excite.
        include_top: include the classifier (1x1 convolutions ``conv_2``, ``logits``).
        weights: None (random), "imagenet" (Keras' cached file in ~/.keras/models/) or a path to a weight file.
        input_tensor: a KerasTensor to use as the image input.
        classes: number of classes of the top.
        pooling: None, "avg" or "max" when ``include_top`` is False.
        dropout_rate: dropout before the ``logits`` layer.
        classifier_activation: activation of the top (None gives logits).
        include_preprocessing: start with ``Rescaling(1 / 127.5, offset=-1)`` (inputs in [0, 255]).
        name: the model's name.

    Returns:
        A functional ``Model``.

    Example::

        model = MobileNetV3Small(input_shape=(224, 224, 3), weights="weights_mobilenet_v3_small_224_1.0_float.h5")
    """
    from .. import layers
    from ..models import Model

    W.check_argument(weights, include_top, classes, pooling)
    if input_shape is None and input_tensor is not None:
        input_shape = (input_tensor.shape[2], input_tensor.shape[1], 3)
    input_shape = tuple(input_shape) if input_shape is not None else (None, None, 3)
    rows, cols = input_shape[0], input_shape[1]
    if rows and cols and (rows < 32 or cols < 32):
        raise KerasliteError(f"Input size must be at least 32x32; Received `input_shape={input_shape}`")
    if weights == "imagenet":
        if (not minimalistic and alpha not in (0.75, 1.0)) or (minimalistic and alpha != 1.0):
            raise KerasliteError("If imagenet weights are being loaded, alpha can be one of `0.75`, `1.0` for non "
                                 "minimalistic or `1.0` for minimalistic only.")
        if rows != cols or rows != 224:
            warnings.warn("`input_shape` is undefined or non-square, or `rows` is not 224. Weights for input shape "
                          "(224, 224) will be loaded as the default.", stacklevel=2)
    img_input = imagenet_utils.image_input(input_tensor, input_shape)
    kernel, activation, se_ratio = (3, _relu, None) if minimalistic else (5, _hard_swish, 0.25)
    x = img_input
    if include_preprocessing:
        x = layers.Rescaling(scale=1.0 / 127.5, offset=-1.0)(x)
    x = layers.Conv2D(16, kernel_size=3, strides=(2, 2), padding="same", use_bias=False, name="conv")(x)
    x = activation(_bn("conv_bn")(x))
    x = _small_stack(x, kernel, activation, se_ratio, alpha)
    last_conv_ch = _depth(x.shape[-1] * 6)
    last_point_ch = _depth(1024 * alpha) if alpha > 1.0 else 1024
    x = layers.Conv2D(last_conv_ch, kernel_size=1, padding="same", use_bias=False, name="conv_1")(x)
    x = activation(_bn("conv_1_bn")(x))
    if include_top:
        x = layers.GlobalAveragePooling2D(keepdims=True)(x)
        x = activation(layers.Conv2D(last_point_ch, kernel_size=1, padding="same", use_bias=True, name="conv_2")(x))
        if dropout_rate > 0:
            x = layers.Dropout(dropout_rate)(x)
        x = layers.Conv2D(classes, kernel_size=1, padding="same", name="logits")(x)
        x = layers.Flatten()(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Activation(activation=classifier_activation, name="predictions")(x)
    else:
        x = imagenet_utils.pool_features(x, pooling, named=True)
    inputs = imagenet_utils.model_inputs(input_tensor, img_input)
    model = Model(inputs, x, name=name)
    key = f"small{'_minimalistic' if minimalistic else ''}_224_{alpha}_float"
    file_name = f"weights_mobilenet_v3_{key}.h5" if include_top else f"weights_mobilenet_v3_{key}_no_top_v2.h5"
    return W.load(model, weights, file_name, BASE_URL + file_name)


def preprocess_input(x, data_format=None):
    """Returns ``x`` unchanged: MobileNetV3 models rescale their inputs themselves (as in Keras)."""
    return x


decode_predictions = imagenet_utils.decode_predictions

__all__ = ["MobileNetV3Small", "preprocess_input", "decode_predictions"]
