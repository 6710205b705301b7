"""Every layer of the conv, reshaping, regularization and augmentation families against central finite
differences in float64, with respect to its input and every weight (in training mode, with fixed draws)."""
import numpy as np
import pytest

import keraslite as keras
from keraslite.train.layers import augmentation

from .gradcheck import check_gradients

L = keras.layers
F64 = {"dtype": "float64"}


def fixed(layer, params):
    """An augmentation layer applying the fixed transformation ``params`` (its training path, no draws)."""
    return lambda x: layer.transform_images(x, params, training=True)


CASES = {
    "conv2d_groups": (lambda: L.Conv2D(4, (3, 2), strides=(2, 1), groups=2, padding="same", activation="tanh", **F64),
                      (2, 5, 4, 4)),
    "conv1d_groups_causal": (lambda: L.Conv1D(4, 3, groups=2, padding="causal", dilation_rate=2, **F64), (2, 7, 2)),
    "depthwise": (lambda: L.DepthwiseConv2D(3, depth_multiplier=2, strides=2, padding="same", **F64), (2, 5, 4, 2)),
    "depthwise_dilated": (lambda: L.DepthwiseConv2D((2, 3), dilation_rate=(2, 1), activation="tanh", **F64),
                          (1, 5, 5, 3)),
    "separable2d": (lambda: L.SeparableConv2D(3, 3, depth_multiplier=2, padding="same", **F64), (2, 4, 4, 2)),
    "separable1d": (lambda: L.SeparableConv1D(3, 2, strides=2, padding="valid", **F64), (2, 7, 2)),
    "conv2d_transpose": (lambda: L.Conv2DTranspose(2, 3, strides=2, padding="same", output_padding=1, **F64),
                         (2, 3, 2, 3)),
    "conv2d_transpose_dilated": (lambda: L.Conv2DTranspose(2, (2, 3), dilation_rate=2, activation="tanh", **F64),
                                 (1, 3, 3, 2)),
    "conv2d_transpose_first": (lambda: L.Conv2DTranspose(2, 2, strides=(1, 2), data_format="channels_first", **F64),
                               (2, 2, 3, 2)),
    "zeropad1d": (lambda: L.ZeroPadding1D((2, 1), **F64), (2, 3, 2)),
    "zeropad2d": (lambda: L.ZeroPadding2D(((1, 0), (2, 1)), **F64), (1, 3, 2, 2)),
    "crop1d": (lambda: L.Cropping1D((1, 2), **F64), (2, 5, 2)),
    "crop2d": (lambda: L.Cropping2D(((1, 0), (0, 2)), data_format="channels_first", **F64), (1, 2, 3, 4)),
    "up1d": (lambda: L.UpSampling1D(2, **F64), (2, 3, 2)),
    "up2d_nearest": (lambda: L.UpSampling2D((2, 3), **F64), (1, 2, 3, 2)),
    "up2d_bilinear": (lambda: L.UpSampling2D((3, 2), interpolation="bilinear", **F64), (1, 3, 3, 2)),
    "permute": (lambda: L.Permute((3, 1, 2), **F64), (2, 3, 2, 2)),
    "repeat": (lambda: L.RepeatVector(3, **F64), (2, 4)),
}
# draws fixed by a seed given anew each call, so every finite-difference probe sees the same noise
NOISY = {
    "spatial_dropout1d": (lambda: L.SpatialDropout1D(0.5, seed=1, **F64), (3, 4, 5)),
    "spatial_dropout2d": (lambda: L.SpatialDropout2D(0.4, seed=2, **F64), (2, 3, 3, 4)),
    "gaussian_noise": (lambda: L.GaussianNoise(0.5, seed=3, **F64), (3, 4)),
    "gaussian_dropout": (lambda: L.GaussianDropout(0.4, seed=4, **F64), (3, 4)),
}
TRANSFORMS = {
    "flip": (lambda: L.RandomFlip(**F64), {"flips": np.array([True, False]).reshape(2, 1, 1, 1)}),
    "rotation": (lambda: L.RandomRotation(0.2, **F64), {"angle": np.array([17.0, -41.0])}),
    "rotation_nearest_wrap": (lambda: L.RandomRotation(0.2, fill_mode="wrap", interpolation="nearest", **F64),
                              {"angle": np.array([33.0, 100.0])}),
    "zoom": (lambda: L.RandomZoom(0.3, fill_mode="constant", fill_value=0.3, **F64),
             {"height_zoom": np.array([[0.8], [1.3]]), "width_zoom": np.array([[1.1], [0.7]])}),
    "translation": (lambda: L.RandomTranslation(0.3, 0.3, fill_mode="nearest", **F64),
                    {"translations": np.array([[1.3, -0.6], [-2.2, 0.4]])}),
    "contrast": (lambda: L.RandomContrast(0.5, value_range=(-5, 5), **F64),
                 {"contrast_factor": np.array([1.3, 0.6]).reshape(2, 1, 1, 1)}),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_layer_gradients(name):
    make, shape = CASES[name]
    layer = make()
    x = np.random.default_rng(len(name)).uniform(-1, 1, shape)
    layer(x)
    assert all(v.dtype == np.float64 for v in layer.weights)
    check_gradients(lambda t: layer(t, training=True), [x], variables=layer.weights)


@pytest.mark.parametrize("name", sorted(NOISY))
def test_noise_layer_gradients(name):
    make, shape = NOISY[name]
    x = np.random.default_rng(7).uniform(-1, 1, shape)
    check_gradients(lambda t: make()(t, training=True), [x])


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_augmentation_gradients(name):
    make, params = TRANSFORMS[name]
    x = np.random.default_rng(3).uniform(-1, 1, (2, 4, 5, 2))
    check_gradients(fixed(make(), params), [x])


def test_augmentation_in_training_is_differentiable_through_call():
    x = np.random.default_rng(4).uniform(0, 1, (2, 4, 4, 1))
    check_gradients(lambda t: augmentation.RandomRotation((0.25, 0.25), dtype="float64")(t, training=True), [x])
