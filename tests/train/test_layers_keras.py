"""Layer forward passes against real Keras 3 (tests/fixtures/layers, made by make_layer_fixtures.py): the same
layer arguments, input and weights give Keras' output in inference and, where Keras' training call is
deterministic, in training; augmentation layers replay Keras' drawn parameters through ``transform_images``.
The configs have Keras' keys and values."""
import json
import os

import numpy as np
import pytest

import keraslite as keras
from keraslite.errors import KerasliteError

HERE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures", "layers")
with open(os.path.join(HERE, "cases.json")) as fh:
    META = json.load(fh)
ARRAYS = dict(np.load(os.path.join(HERE, "outputs.npz")))
CASES = META["cases"]
OBJECT_KEYS = ("_initializer", "_regularizer", "_constraint")


def build(name):
    case = CASES[name]
    layer = keras.layers.LAYERS[case["class"]](**case["kwargs"])
    x = ARRAYS[f"{name}/x"]
    layer(x, training=False)
    weights = [ARRAYS[f"{name}/w{i}"] for i in range(case["weights"])]
    if weights:
        layer.set_weights(weights)
    return layer, x


def close(got, want):
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5, atol=2e-6)


@pytest.mark.parametrize("name", sorted(CASES))
def test_forward_matches_keras(name):
    case = CASES[name]
    layer, x = build(name)
    close(layer(x, training=False), ARRAYS[f"{name}/infer"])
    if f"{name}/train" not in ARRAYS:
        return
    if case["mode"] == "call":
        close(layer(x, training=True), ARRAYS[f"{name}/train"])
    else:
        params = {key: ARRAYS[f"{name}/p/{key}"] for key in case["params"]}
        close(layer.transform_images(x, params, training=True), ARRAYS[f"{name}/train"])


@pytest.mark.parametrize("name", sorted(CASES))
def test_config_has_keras_keys_and_values(name):
    layer, _ = build(name)
    ours, theirs = layer.get_config(), CASES[name]["config"]
    assert sorted(ours) == sorted(theirs)
    for key, want in theirs.items():
        if key == "name":
            continue
        got = ours[key]
        if key.endswith(OBJECT_KEYS) and want is not None:
            assert got["class_name"] == want["class_name"], key
        else:
            assert json.loads(json.dumps(got)) == want, key
    rebuilt = type(layer).from_config(ours)
    assert rebuilt.get_config() == ours


def test_augmentation_is_identity_in_inference_and_reproducible_with_a_seed():
    x = np.random.default_rng(0).uniform(0, 1, (4, 6, 6, 3)).astype("float32")
    for cls, kwargs in [("RandomFlip", {}), ("RandomRotation", {"factor": 0.2}), ("RandomZoom", {"height_factor": 0.2}),
                        ("RandomTranslation", {"height_factor": 0.2, "width_factor": 0.1}),
                        ("RandomContrast", {"factor": 0.5})]:
        make = keras.layers.LAYERS[cls]
        np.testing.assert_array_equal(make(**kwargs)(x, training=False).numpy(), x)
        a, b = make(seed=3, **kwargs), make(seed=3, **kwargs)
        first = a(x, training=True).numpy()
        np.testing.assert_array_equal(first, b(x, training=True).numpy())
        assert not np.array_equal(first, x), cls
        assert not np.array_equal(first, a(x, training=True).numpy()), f"{cls}: a second draw repeats the first"


@pytest.mark.parametrize("cls, kwargs, message", [
    ("RandomRotation", {"factor": 1.5}, r"range \[-1, 1\]. Received: factor=1.5"),
    ("RandomZoom", {"height_factor": -1.0}, r"range \(-1.0, 1.0\]"),
    ("RandomTranslation", {"height_factor": 0.1, "width_factor": [0.1]}, "width_factor"),
    ("RandomContrast", {"factor": -0.2}, r"range \[0, 1\]"),
    ("RandomFlip", {"mode": "diagonal"}, "Unknown `mode` 'diagonal'"),
    ("RandomRotation", {"factor": 0.1, "fill_mode": "mirror"}, "Unknown `fill_mode` 'mirror'"),
    ("Conv2D", {"filters": 5, "kernel_size": 3, "groups": 2}, "filters must be evenly divisible"),
    ("Conv2D", {"filters": 4, "kernel_size": 3, "strides": 2, "dilation_rate": 2}, "dilation_rate > 1"),
    ("Conv2DTranspose", {"filters": 4, "kernel_size": 3, "strides": 2, "output_padding": 2}, "strictly less"),
    ("DepthwiseConv2D", {"kernel_size": 3, "depth_multiplier": 0}, "depth_multiplier"),
    ("UpSampling2D", {"interpolation": "bicubic"}, "bicubic"),
    ("Permute", {"dims": [1, 3]}, "consecutive and start from 1"),
    ("RepeatVector", {"n": 0}, "positive integer"),
    ("GaussianNoise", {"stddev": 2.0}, "between 0 and 1"),
    ("Cropping2D", {"cropping": [1, 2, 3]}, "two elements|should be either"),
])
def test_bad_arguments_say_what_was_wrong(cls, kwargs, message):
    with pytest.raises(KerasliteError, match=message):
        keras.layers.LAYERS[cls](**kwargs)


def test_bad_inputs_say_what_was_wrong():
    with pytest.raises(KerasliteError, match="evenly divisible by the number of groups"):
        keras.layers.Conv2D(4, 3, groups=2)(np.zeros((1, 5, 5, 3), "float32"))
    with pytest.raises(KerasliteError, match="must be smaller than the input length"):
        keras.layers.Cropping1D((2, 2))(np.zeros((1, 4, 3), "float32"))
    with pytest.raises(KerasliteError, match="expected ndim=2"):
        keras.layers.RepeatVector(2)(np.zeros((1, 4, 3), "float32"))
    with pytest.raises(KerasliteError, match="rank 3 .* or 4"):
        keras.layers.RandomFlip()(np.zeros((1, 4), "float32"), training=True)
