"""keraslite.applications against real Keras: the same graph, layer names and weight order, Keras' weight files
load (by name) and give Keras' predictions, preprocess_input and decode_predictions agree with Keras'."""
import contextlib
import json
import os
import shutil

import numpy as np
import pytest

import keraslite as keras
from keraslite.errors import KerasliteError
from keraslite.format.reader import parse_architecture

from . import app_fixtures as A

CASES = ["vgg16_top", "vgg16_notop", "vgg19_notop", "vgg19_notop_tfkeras", "vgg19_notop_published", "resnet50_top",
         "resnet50_notop", "mobilenet_v2_top", "mobilenet_v2_notop_035", "mobilenet_v3_small_top",
         "mobilenet_v3_small_notop"]
GRAPH_CASES = ["vgg16_top", "vgg19_notop", "resnet50_top", "mobilenet_v2_top", "mobilenet_v2_notop_035"]
OPERATIONS = ("TFOpLambda",)  # x + 3.0 in MobileNetV3: an operation in Keras 3, not one of model.layers


@pytest.mark.parametrize("name", CASES)
def test_layer_names_and_weight_order_are_keras(name):
    model, _ = A.build(name, weights=None)
    entry = A.case(name)
    assert [l.name for l in model.layers if type(l).__name__ not in OPERATIONS] == entry["layers"]
    depthwise = {l.name for l in model.layers if type(l).__name__ == "DepthwiseConv2D"}
    # the one name that differs: Keras 3 calls a DepthwiseConv2D's kernel "kernel", tf_keras and keraslite
    # "depthwise_kernel" (keraslite.format reads either into the same array)
    keras_paths = [f"{p.split('/')[0]}/depthwise_kernel" if p.split("/")[0] in depthwise and p.endswith("/kernel")
                   else p for p in entry["weights"]]
    assert [v.path for v in model.weights] == keras_paths


@pytest.fixture(scope="module")
def unpacked(tmp_path_factory):
    return tmp_path_factory.mktemp("keras_weights")


@pytest.mark.parametrize("name", GRAPH_CASES)
def test_graph_and_configs_are_keras(name):
    model, _ = A.build(name, weights=None)
    theirs = parse_architecture(A.keras_json(name), label=f"{name}.json")
    ours = model.to_spec()
    assert ours.name == theirs.name
    assert [(l.name, l.class_name) for l in ours.layers] == [(l.name, l.class_name) for l in theirs.layers]
    for mine, keras_layer in zip(ours.layers, theirs.layers):
        assert mine.inbound == keras_layer.inbound, mine.name
        assert mine.config == keras_layer.config, mine.name
    assert ours.inputs == theirs.inputs and ours.outputs == theirs.outputs


@pytest.mark.parametrize("name", CASES)
def test_keras_weight_file_gives_keras_predictions(name, unpacked):
    path = A.weights_file(name, unpacked)
    data = A.arrays(name)
    model, module = A.build(name, weights=path)
    x = module.preprocess_input(data["x"].astype("float32"))
    A.close(x[:1], data["x_pre"], 1e-6)
    A.close(model.predict(x, verbose=0), data["y"])
    for variant in A.case(name)["variants"]:
        extra = {"classifier_activation": None} if variant == "logits" else {"pooling": variant}
        other, _ = A.build(name, weights=path, **extra)
        A.close(other.predict(x, verbose=0), data[f"y_{variant}"])


def test_imagenet_uses_the_file_keras_caches(tmp_path, unpacked, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(KerasliteError) as err:
        keras.applications.VGG19(include_top=False, input_shape=(32, 32, 3))
    wanted = tmp_path / "models" / "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"
    message = str(err.value)
    assert "keraslite downloads nothing" in message and str(wanted) in message
    assert "https://storage.googleapis.com/tensorflow/keras-applications/vgg19/" in message
    wanted.parent.mkdir()
    shutil.copy(A.weights_file("vgg19_notop", unpacked), wanted)
    model = keras.applications.VGG19(include_top=False, weights="imagenet", input_shape=(32, 32, 3))
    data = A.arrays("vgg19_notop")
    x = keras.applications.vgg19.preprocess_input(data["x"].astype("float32"))
    A.close(model.predict(x, verbose=0), data["y"])


def test_weight_file_of_another_architecture_is_refused(unpacked):
    with pytest.raises(KerasliteError, match="layers with weights"):
        keras.applications.VGG16(include_top=False, weights=A.weights_file("vgg19_notop", unpacked),
                                 input_shape=(32, 32, 3))


def test_bad_arguments_say_what_was_wrong(tmp_path):
    with pytest.raises(KerasliteError, match="not a file"):
        keras.applications.VGG16(weights=str(tmp_path / "nope.h5"))
    with pytest.raises(KerasliteError, match="`classes` should be 1000"):
        keras.applications.VGG16(weights="imagenet", classes=10)
    with pytest.raises(KerasliteError, match="at least 32x32"):
        keras.applications.VGG16(include_top=False, weights=None, input_shape=(16, 16, 3))
    with pytest.raises(KerasliteError, match="should be \\(224, 224, 3\\)"):
        keras.applications.VGG16(weights="imagenet", input_shape=(64, 64, 3))
    with pytest.raises(KerasliteError, match="static `input_shape`"):
        keras.applications.VGG16(weights=None, input_shape=(None, None, 3))
    with pytest.raises(KerasliteError, match="`pooling` should be None .*Received: pooling='mean'"):
        keras.applications.ResNet50(include_top=False, weights=None, input_shape=(32, 32, 3), pooling="mean")
    with pytest.raises(KerasliteError, match="alpha must be one of"):
        keras.applications.MobileNetV2(weights="imagenet", alpha=0.6, input_shape=(96, 96, 3))
    with pytest.raises(KerasliteError, match="`input_tensor` must be a KerasTensor"):
        keras.applications.VGG19(include_top=False, weights=None, input_tensor=np.zeros((1, 32, 32, 3)))
    with pytest.raises(KerasliteError, match="Only `None` and `softmax`"):
        keras.applications.VGG16(weights=str(__file__), classifier_activation="sigmoid", input_shape=(32, 32, 3))


def test_input_tensor_keeps_its_predecessors():
    inp = keras.Input((32, 32, 3), name="raw")
    scaled = keras.layers.Rescaling(2.0, name="double")(inp)
    model = keras.applications.VGG16(include_top=False, weights=None, input_tensor=scaled, pooling="max")
    assert model.inputs[0] is inp and model.layers[1].name == "double"
    assert model.output_shape == (None, 512)


def test_decode_predictions_is_keras(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(KerasliteError) as err:
        keras.applications.vgg16.decode_predictions(np.zeros((1, 1000)))
    assert "imagenet_class_index.json" in str(err.value) and str(tmp_path / "models") in str(err.value)
    (tmp_path / "models").mkdir()
    shutil.copy(os.path.join(A.HERE, "imagenet_class_index_test.json"),
                tmp_path / "models" / "imagenet_class_index.json")
    with open(os.path.join(A.HERE, "decode_predictions.json")) as fh:
        want = json.load(fh)
    preds = np.array(want["preds"], "float32")
    for top in (1, 5, 12):
        got = keras.applications.vgg19.decode_predictions(preds, top=top)
        assert [[(a, b) for a, b, _ in row] for row in got] == [[(a, b) for a, b, _ in row] for row in
                                                                want[f"top{top}"]]
        np.testing.assert_allclose([[s for _, _, s in row] for row in got],
                                   [[s for _, _, s in row] for row in want[f"top{top}"]], rtol=1e-6)
    with pytest.raises(KerasliteError, match="shape \\(samples, 1000\\)"):
        keras.applications.vgg19.decode_predictions(preds[:, :10])


def test_preprocess_input_on_tensors_matches_numpy():
    x = np.random.default_rng(0).uniform(0, 255, (2, 4, 4, 3)).astype("float32")
    from keraslite.applications import imagenet_utils

    for mode in ("caffe", "tf", "torch"):
        want = imagenet_utils.preprocess_input(x.copy(), mode=mode)
        got = imagenet_utils.preprocess_input(keras.ops.convert_to_tensor(x), mode=mode)
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-6, atol=1e-4)
        first = imagenet_utils.preprocess_input(np.moveaxis(x, -1, 1).copy(), data_format="channels_first",
                                                mode=mode)
        np.testing.assert_allclose(np.moveaxis(first, 1, -1), want, rtol=1e-6, atol=1e-4)
    inp = keras.Input((4, 4, 3))
    model = keras.Model(inp, keras.applications.vgg16.preprocess_input(inp))
    np.testing.assert_allclose(model.predict(x, verbose=0), imagenet_utils.preprocess_input(x.copy()), atol=1e-4)
    with pytest.raises(KerasliteError, match="mode"):
        imagenet_utils.preprocess_input(x, mode="bgr")
    with pytest.raises(KerasliteError, match="3 channels on axis -1 .*Received: shape \\(2, 4, 4, 2\\)"):
        keras.applications.resnet50.preprocess_input(x[..., :2].copy())
    with pytest.raises(KerasliteError, match="3 channels on axis 1"):
        imagenet_utils.preprocess_input(x, data_format="channels_first", mode="torch")
    with pytest.raises(KerasliteError, match="expects images.*Received: str"):
        keras.applications.vgg19.preprocess_input("image.png")
    with pytest.raises(KerasliteError, match="numeric pixel values"):
        keras.applications.vgg19.preprocess_input(np.full((1, 2, 2, 3), "a"))


@pytest.mark.parametrize("build, file_name", [
    (lambda: keras.applications.ResNet50(include_top=False, input_shape=(32, 32, 3)),
     "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"),
    (lambda: keras.applications.MobileNetV2(input_shape=(128, 128, 3), alpha=0.35),
     "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_128.h5"),
    (lambda: keras.applications.MobileNetV2(include_top=False, input_shape=(64, 64, 3)),
     "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"),
    (lambda: keras.applications.MobileNetV3Small(include_top=False, input_shape=(64, 64, 3)),
     "weights_mobilenet_v3_small_224_1.0_float_no_top_v2.h5"),
])
def test_imagenet_names_keras_published_file(build, file_name, tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.warns(UserWarning) if "1.0_224_no_top" in file_name or "v3" in file_name else contextlib.nullcontext():
        with pytest.raises(KerasliteError, match="keraslite downloads nothing") as err:
            build()
    assert str(tmp_path / "models" / file_name) in str(err.value)
