"""The VGG family (VGG16, VGG19): blocks of 3x3 ReLU convolutions and 2x2 max pooling, then three dense layers.

Layer names, graph and weight order are Keras' (``block1_conv1`` ... ``block5_pool``, ``flatten``, ``fc1``, ``fc2``,
``predictions``), so Keras' published weight files load by name.
"""
from __future__ import annotations

from . import imagenet_utils, weights as W

BASE_URL = "https://storage.googleapis.com/tensorflow/keras-applications/"


def build_vgg(family, convs_per_block, include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
              pooling=None, classes=1000, classifier_activation="softmax", name="vgg16"):
    """A VGG with ``convs_per_block[i]`` convolutions in block ``i + 1``; ``family`` names its weight files."""
    from .. import layers
    from ..models import Model

    W.check_argument(weights, include_top, classes, pooling)
    input_shape = imagenet_utils.obtain_input_shape(input_shape, default_size=224, min_size=32,
                                                    require_flatten=include_top, weights=weights)
    img_input = imagenet_utils.image_input(input_tensor, input_shape)
    x = img_input
    for block, (filters, convs) in enumerate(zip((64, 128, 256, 512, 512), convs_per_block), start=1):
        for i in range(1, convs + 1):
            x = layers.Conv2D(filters, (3, 3), activation="relu", padding="same", name=f"block{block}_conv{i}")(x)
        x = layers.MaxPooling2D((2, 2), strides=(2, 2), name=f"block{block}_pool")(x)
    if include_top:
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(4096, activation="relu", name="fc1")(x)
        x = layers.Dense(4096, activation="relu", name="fc2")(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    else:
        x = imagenet_utils.pool_features(x, pooling, named=False)
    inputs = imagenet_utils.model_inputs(input_tensor, img_input)
    model = Model(inputs, x, name=name)
    file_name = f"{family}_weights_tf_dim_ordering_tf_kernels{'' if include_top else '_notop'}.h5"
    return W.load(model, weights, file_name, f"{BASE_URL}{family}/{file_name}")


def preprocess_input(x, data_format=None):
    """VGG's preprocessing: RGB to BGR, minus ImageNet's mean pixel, no scaling (``caffe`` mode)."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="caffe")


decode_predictions = imagenet_utils.decode_predictions
