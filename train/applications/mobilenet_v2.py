"""MobileNetV2 (Sandler et al., 2018) as Keras builds it: inverted residual blocks (1x1 expansion, 3x3 depthwise,
1x1 projection, each with BatchNormalization; ReLU6 between), width multiplier ``alpha``. Layer names, graph and
weight order are Keras'."""
from __future__ import annotations

import warnings

from ...errors import KerasliteError
from . import imagenet_utils, weights as W

BASE_URL = "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2/"
PRETRAINED_ALPHAS = (0.35, 0.50, 0.75, 1.0, 1.3, 1.4)
PRETRAINED_SIZES = (96, 128, 160, 192, 224)
# (filters, stride, expansion) of blocks 0..16
BLOCKS = [(16, 1, 1), (24, 2, 6), (24, 1, 6), (32, 2, 6), (32, 1, 6), (32, 1, 6), (64, 2, 6), (64, 1, 6),
          (64, 1, 6), (64, 1, 6), (96, 1, 6), (96, 1, 6), (96, 1, 6), (160, 2, 6), (160, 1, 6), (160, 1, 6),
          (320, 1, 6)]


def make_divisible(v, divisor=8, min_value=None):
    """``v`` rounded to a multiple of ``divisor``, never more than 10% below ``v``."""
    min_value = divisor if min_value is None else min_value
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < 0.9 * v else new_v


def _bn(name):
    from .. import layers

    return layers.BatchNormalization(axis=-1, epsilon=1e-3, momentum=0.999, name=name)


def inverted_res_block(inputs, expansion, stride, alpha, filters, block_id):
    from .. import layers

    in_channels = inputs.shape[-1]
    pointwise_filters = make_divisible(int(filters * alpha), 8)
    x = inputs
    prefix = f"block_{block_id}_"
    if block_id:
        x = layers.Conv2D(expansion * in_channels, kernel_size=1, padding="same", use_bias=False, activation=None,
                          name=f"{prefix}expand")(x)
        x = _bn(f"{prefix}expand_BN")(x)
        x = layers.ReLU(6.0, name=f"{prefix}expand_relu")(x)
    else:
        prefix = "expanded_conv_"
    if stride == 2:
        x = layers.ZeroPadding2D(padding=imagenet_utils.correct_pad(x, 3), name=f"{prefix}pad")(x)
    x = layers.DepthwiseConv2D(kernel_size=3, strides=stride, activation=None, use_bias=False,
                               padding="same" if stride == 1 else "valid", name=f"{prefix}depthwise")(x)
    x = _bn(f"{prefix}depthwise_BN")(x)
    x = layers.ReLU(6.0, name=f"{prefix}depthwise_relu")(x)
    x = layers.Conv2D(pointwise_filters, kernel_size=1, padding="same", use_bias=False, activation=None,
                      name=f"{prefix}project")(x)
    x = _bn(f"{prefix}project_BN")(x)
    if in_channels == pointwise_filters and stride == 1:
        return layers.Add(name=f"{prefix}add")([inputs, x])
    return x


def _default_size(input_shape, input_tensor):
    """The pretrained size this input matches (Keras picks the weight file by it), else 224."""
    if input_shape is not None:
        rows, cols = input_shape[0], input_shape[1]
    elif input_tensor is not None:
        rows, cols = input_tensor.shape[1], input_tensor.shape[2]
    else:
        return 224
    return rows if rows == cols and rows in PRETRAINED_SIZES else 224


def MobileNetV2(input_shape=None, alpha=1.0, include_top=True, weights="imagenet", input_tensor=None, pooling=None,
                classes=1000, classifier_activation="softmax", name=None):
    """MobileNetV2 with Keras' layer names and weight order.

    Args:
        input_shape: (height, width, 3), at least 32x32; the pretrained files exist for 96, 128, 160, 192, 224.
        alpha: width multiplier (pretrained: 0.35, 0.5, 0.75, 1.0, 1.3, 1.4).
        include_top: include the global average pooling and the ``predictions`` Dense layer.
        weights: None (random), "imagenet" (Keras' cached file in ~/.keras/models/) or a path to a weight file.
        input_tensor: a KerasTensor to use as the image input.
        pooling: None, "avg" or "max" when ``include_top`` is False.
        classes: number of classes of the top.
        classifier_activation: activation of the top layer (None gives logits).
        name: the model's name (default ``mobilenetv2_{alpha:.2f}_{rows}``).

    Returns:
        A functional ``Model``.

    Example::

        base = MobileNetV2(input_shape=(160, 160, 3), include_top=False, weights="imagenet")
    """
    from .. import layers
    from ..models import Model

    W.check_argument(weights, include_top, classes, pooling)
    if input_shape is not None and input_tensor is not None and input_tensor.shape[2] != input_shape[1]:
        raise KerasliteError(f"input_tensor.shape[2] must equal input_shape[1]; Received `input_tensor.shape="
                             f"{input_tensor.shape}`, `input_shape={input_shape}`")
    input_shape = imagenet_utils.obtain_input_shape(
        tuple(input_shape) if input_shape is not None else None, default_size=_default_size(input_shape, input_tensor),
        min_size=32, require_flatten=include_top, weights=weights)
    rows, cols = input_shape[0], input_shape[1]
    if weights == "imagenet":
        if alpha not in PRETRAINED_ALPHAS:
            raise KerasliteError("If imagenet weights are being loaded, alpha must be one of `0.35`, `0.50`, `0.75`, "
                                 f"`1.0`, `1.3` or `1.4` only; Received `alpha={alpha}`")
        if rows != cols or rows not in PRETRAINED_SIZES:
            rows = 224
            warnings.warn("`input_shape` is undefined or non-square, or `rows` is not in [96, 128, 160, 192, 224]. "
                          "Weights for input shape (224, 224) will be loaded as the default.", stacklevel=2)
    img_input = imagenet_utils.image_input(input_tensor, input_shape)
    x = layers.Conv2D(make_divisible(32 * alpha, 8), kernel_size=3, strides=(2, 2), padding="same", use_bias=False,
                      name="Conv1")(img_input)
    x = _bn("bn_Conv1")(x)
    x = layers.ReLU(6.0, name="Conv1_relu")(x)
    for block_id, (filters, stride, expansion) in enumerate(BLOCKS):
        x = inverted_res_block(x, filters=filters, alpha=alpha, stride=stride, expansion=expansion,
                               block_id=block_id)
    last_block_filters = make_divisible(1280 * alpha, 8) if alpha > 1.0 else 1280  # the paper: no alpha below 1
    x = layers.Conv2D(last_block_filters, kernel_size=1, use_bias=False, name="Conv_1")(x)
    x = _bn("Conv_1_bn")(x)
    x = layers.ReLU(6.0, name="out_relu")(x)
    if include_top:
        x = layers.GlobalAveragePooling2D()(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    else:
        x = imagenet_utils.pool_features(x, pooling, named=False)
    inputs = imagenet_utils.model_inputs(input_tensor, img_input)
    model = Model(inputs, x, name=name or f"mobilenetv2_{alpha:0.2f}_{rows}")
    file_name = (f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{float(alpha)}_{rows}"
                 f"{'' if include_top else '_no_top'}.h5")
    return W.load(model, weights, file_name, BASE_URL + file_name)


def preprocess_input(x, data_format=None):
    """MobileNetV2's preprocessing: pixels scaled to [-1, 1] (``tf`` mode)."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


decode_predictions = imagenet_utils.decode_predictions

__all__ = ["MobileNetV2", "preprocess_input", "decode_predictions"]
