"""Image decoding, Keras' PIL helpers, and the Resizing/CenterCrop layers against real Keras/TensorFlow
(tests/fixtures/images, made by make_image_fixtures.py); gradients through Resizing by finite differences."""
import builtins
import io
import json
import os

import numpy as np
import pytest

import keraslite as keras
from keraslite.errors import KerasliteError
from keraslite.train.data.images import decode_image, read_image

from .gradcheck import check_gradients

IMAGES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures", "images")
TREE = os.path.join(IMAGES, "tree")
with open(os.path.join(IMAGES, "cases.json")) as fh:
    CASES = json.load(fh)
DECODED = dict(np.load(os.path.join(IMAGES, "decoded.npz")))
LAYERS = dict(np.load(os.path.join(IMAGES, "layers.npz")))


@pytest.mark.parametrize("key", sorted(DECODED), ids=sorted(DECODED))
def test_decoding_gives_tensorflows_pixels(key):
    rel, channels = key.rsplit("__", 1)
    got = read_image(os.path.join(TREE, rel.replace("__", "/")), int(channels))
    want = DECODED[key]
    if key == "cls_b__palette.png__4":  # TF's alpha of 15 for a 4-bit palette (see test_folders)
        got, want = got[..., :3], want[..., :3]
    np.testing.assert_array_equal(got, want)


def test_formats_tensorflow_refuses_are_converted():
    assert set(CASES["refused"]) == {k for k in ("cls_a__photo1.jpg__4", "cls_a__photo2.jpeg__4",
                                                 "cls_a__progressive.JPG__4", "cls_a__gray.jpg__4",
                                                 "cls_a__full444.jpg__4", "cls_b__pic.bmp__1", "cls_b__anim.gif__1",
                                                 "cls_b__anim.gif__4")}
    rgba = read_image(os.path.join(TREE, "cls_a", "photo1.jpg"), 4)
    np.testing.assert_array_equal(rgba[..., :3], DECODED["cls_a__photo1.jpg__3"])
    assert (rgba[..., 3] == 255).all()


@pytest.mark.parametrize("i", range(len(CASES["layers"]["load_img"])))
def test_load_img_and_img_to_array_are_keras(i):
    case = CASES["layers"]["load_img"][i]
    img = keras.utils.load_img(os.path.join(TREE, case["file"]), **case["kwargs"])
    assert img.mode == case["mode"] and list(img.size) == case["size"]
    np.testing.assert_array_equal(keras.preprocessing.image.img_to_array(img), LAYERS[f"load_img_{i}"])


def test_array_to_img_and_save_img_round_trip(tmp_path):
    x = LAYERS["load_img_0"]
    path = str(tmp_path / "copy.png")
    keras.utils.save_img(path, x, scale=False)
    np.testing.assert_array_equal(keras.utils.img_to_array(keras.utils.load_img(path)), x)
    with pytest.raises(KerasliteError, match="Expected image array to have rank 3"):
        keras.utils.array_to_img(x[None])


def test_missing_pillow_names_the_extra(monkeypatch):
    real_import = builtins.__import__

    def no_pil(name, *args, **kwargs):
        if name == "PIL" or name.startswith("PIL."):
            raise ImportError("No module named 'PIL'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pil)
    with pytest.raises(ImportError, match=r"pip install 'keraslite\[data\]'"):
        keras.utils.load_img(io.BytesIO(b""))
    with pytest.raises(KerasliteError, match="Failed to decode image file '<bytes>'"):
        decode_image(b"\xff\xd8\xff\x00 not a jpeg")


@pytest.mark.parametrize("i", range(len(CASES["layers"]["resizing"])))
def test_resizing_layer_is_keras(i):
    kwargs = CASES["layers"]["resizing"][i]
    got = keras.layers.Resizing(**kwargs)(LAYERS["x"]).numpy()
    np.testing.assert_allclose(got, LAYERS[f"resizing_{i}"], atol=1e-5, rtol=1e-6)


@pytest.mark.parametrize("i", range(len(CASES["layers"]["center_crop"])))
def test_center_crop_layer_is_keras(i):
    kwargs = CASES["layers"]["center_crop"][i]
    got = keras.layers.CenterCrop(**kwargs)(LAYERS["x"]).numpy()
    np.testing.assert_allclose(got, LAYERS[f"center_crop_{i}"], atol=1e-5, rtol=1e-6)


@pytest.mark.parametrize("kwargs", [{"interpolation": "bilinear"}, {"interpolation": "bicubic"},
                                    {"interpolation": "area"}, {"crop_to_aspect_ratio": True},
                                    {"pad_to_aspect_ratio": True}])
def test_gradients_flow_through_resizing(kwargs):
    layer = keras.layers.Resizing(5, 3, dtype="float64", **kwargs)
    x = np.random.RandomState(1).rand(2, 4, 6, 2)
    check_gradients(lambda t: layer(t), [x])


def test_image_model_saves_and_loads_in_keraslite(tmp_path):
    model = keras.models.load_model(os.path.join(IMAGES, "image_model.keras"))
    with np.load(os.path.join(IMAGES, "image_model.npz")) as npz:
        x, y = npz["x0"], npz["y0"]
    np.testing.assert_allclose(model.predict(x, verbose=0), y, atol=1e-6)
    model.save(str(tmp_path / "again.keras"))
    np.testing.assert_allclose(keras.models.load_model(str(tmp_path / "again.keras")).predict(x, verbose=0), y,
                               atol=1e-6)
