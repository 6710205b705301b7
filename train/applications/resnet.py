"""ResNet (He et al., 2015), version 1 as Keras builds it: ``conv1`` (7x7, stride 2), then stacks of bottleneck
blocks ``conv{2..5}_block{i}`` (1x1, 3x3, 1x1 convolutions with BatchNormalization, an identity or 1x1-convolution
shortcut, ``Add``, ReLU). Layer names, graph and weight order are Keras'."""
from __future__ import annotations

from . import imagenet_utils, weights as W

BASE_URL = "https://storage.googleapis.com/tensorflow/keras-applications/resnet/"


def residual_block(x, filters, kernel_size=3, stride=1, conv_shortcut=True, name=None):
    """One bottleneck block: ``4 * filters`` output channels."""
    from .. import layers

    if conv_shortcut:
        shortcut = layers.Conv2D(4 * filters, 1, strides=stride, name=f"{name}_0_conv")(x)
        shortcut = layers.BatchNormalization(axis=3, epsilon=1.001e-5, name=f"{name}_0_bn")(shortcut)
    else:
        shortcut = x
    x = layers.Conv2D(filters, 1, strides=stride, name=f"{name}_1_conv")(x)
    x = layers.BatchNormalization(axis=3, epsilon=1.001e-5, name=f"{name}_1_bn")(x)
    x = layers.Activation("relu", name=f"{name}_1_relu")(x)
    x = layers.Conv2D(filters, kernel_size, padding="same", name=f"{name}_2_conv")(x)
    x = layers.BatchNormalization(axis=3, epsilon=1.001e-5, name=f"{name}_2_bn")(x)
    x = layers.Activation("relu", name=f"{name}_2_relu")(x)
    x = layers.Conv2D(4 * filters, 1, name=f"{name}_3_conv")(x)
    x = layers.BatchNormalization(axis=3, epsilon=1.001e-5, name=f"{name}_3_bn")(x)
    x = layers.Add(name=f"{name}_add")([shortcut, x])
    return layers.Activation("relu", name=f"{name}_out")(x)


def stack(x, filters, blocks, stride1=2, name=None):
    """``blocks`` residual blocks; the first has a convolution shortcut and stride ``stride1``."""
    x = residual_block(x, filters, stride=stride1, name=f"{name}_block1")
    for i in range(2, blocks + 1):
        x = residual_block(x, filters, conv_shortcut=False, name=f"{name}_block{i}")
    return x


def build_resnet(stack_fn, weights_name, include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
                 pooling=None, classes=1000, classifier_activation="softmax", name="resnet"):
    """A ResNet v1 whose body is ``stack_fn(x)``; ``weights_name`` names Keras' weight files."""
    from .. import layers
    from ..models import Model

    W.check_argument(weights, include_top, classes, pooling)
    input_shape = imagenet_utils.obtain_input_shape(input_shape, default_size=224, min_size=32,
                                                    require_flatten=include_top, weights=weights)
    img_input = imagenet_utils.image_input(input_tensor, input_shape)
    x = layers.ZeroPadding2D(padding=((3, 3), (3, 3)), name="conv1_pad")(img_input)
    x = layers.Conv2D(64, 7, strides=2, use_bias=True, name="conv1_conv")(x)
    x = layers.BatchNormalization(axis=3, epsilon=1.001e-5, name="conv1_bn")(x)
    x = layers.Activation("relu", name="conv1_relu")(x)
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name="pool1_pad")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)
    x = stack_fn(x)
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    else:
        x = imagenet_utils.pool_features(x, pooling, named=True)
    inputs = imagenet_utils.model_inputs(input_tensor, img_input)
    model = Model(inputs, x, name=name)
    file_name = f"{weights_name}_weights_tf_dim_ordering_tf_kernels{'' if include_top else '_notop'}.h5"
    return W.load(model, weights, file_name, BASE_URL + file_name)


def ResNet50(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None, classes=1000,
             classifier_activation="softmax", name="resnet50"):
    """ResNet50 with Keras' layer names and weight order.

    Args:
        include_top: include the global average pooling and the ``predictions`` Dense layer.
        weights: None (random), "imagenet" (Keras' cached file in ~/.keras/models/) or a path to a weight file.
        input_tensor: a KerasTensor to use as the image input.
        input_shape: (height, width, 3) without the top, at least 32x32.
        pooling: None, "avg" or "max" when ``include_top`` is False.
        classes: number of classes of the top.
        classifier_activation: activation of the top layer (None gives logits).
        name: the model's name.

    Returns:
        A functional ``Model``.

    Example::

        model = ResNet50(weights="resnet50_weights_tf_dim_ordering_tf_kernels.h5")
        preds = decode_predictions(model.predict(preprocess_input(images)), top=3)
    """
    def stack_fn(x):
        x = stack(x, 64, 3, stride1=1, name="conv2")
        x = stack(x, 128, 4, name="conv3")
        x = stack(x, 256, 6, name="conv4")
        return stack(x, 512, 3, name="conv5")

    return build_resnet(stack_fn, "resnet50", include_top, weights, input_tensor, input_shape, pooling, classes,
                        classifier_activation, name)


def preprocess_input(x, data_format=None):
    """ResNet's preprocessing: RGB to BGR, minus ImageNet's mean pixel, no scaling (``caffe`` mode)."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="caffe")


decode_predictions = imagenet_utils.decode_predictions

__all__ = ["ResNet50", "preprocess_input", "decode_predictions"]
