"""``keraslite.applications.vgg16``: VGG16 as Keras builds it (see ``vgg.py``)."""
from __future__ import annotations

from .vgg import build_vgg, decode_predictions, preprocess_input


def VGG16(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None, classes=1000,
          classifier_activation="softmax", name="vgg16"):
    """The VGG16 model (Simonyan and Zisserman, 2015) with Keras' layer names and weight order.

    Args:
        include_top: include the three dense layers (then the input is 224x224x3 unless ``input_shape`` says).
        weights: None (random), "imagenet" (Keras' cached file in ~/.keras/models/) or a path to a weight file.
        input_tensor: a KerasTensor to use as the image input.
        input_shape: (height, width, 3) without the top, at least 32x32.
        pooling: None, "avg" or "max" over the last block when ``include_top`` is False.
        classes: number of classes of the top.
        classifier_activation: activation of the top layer (None gives logits).
        name: the model's name.

    Returns:
        A functional ``Model``.

    Example::

        base = VGG16(include_top=False, weights="vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5")
    """
    return build_vgg("vgg16", (2, 2, 3, 3, 3), include_top, weights, input_tensor, input_shape, pooling,
                     classes, classifier_activation, name)


__all__ = ["VGG16", "preprocess_input", "decode_predictions"]
