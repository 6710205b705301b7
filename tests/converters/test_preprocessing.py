"""ONNX export of Resizing/CenterCrop (onnxruntime against real Keras' outputs) and the refusals of string,
lookup and hashing layers."""
import os

import numpy as np
import pytest

from keraslite.converters import export_onnx
from keraslite.errors import ConversionError

from .conftest import exported, feed

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures")
IMAGE_MODELS = ["image_model", "resize_nearest", "resize_bicubic", "resize_bilinear"]


@pytest.mark.parametrize("opset", [13, 18])
@pytest.mark.parametrize("name", IMAGE_MODELS)
def test_image_layers_export_as_keras_computes(name, opset):
    path = os.path.join(FIXTURES, "images", f"{name}.keras")
    _, session = exported(path, opset)
    with np.load(os.path.join(FIXTURES, "images", f"{name}.npz")) as npz:
        x, y = npz["x0"], npz["y0"]
    np.testing.assert_allclose(session.run(None, feed(session, [x]))[0], y, atol=1e-5)


def test_string_models_are_refused_with_the_fix():
    with pytest.raises(ConversionError) as info:
        export_onnx(os.path.join(FIXTURES, "text", "review_model.keras"))
    message = str(info.value)
    assert "text_vectorization_22" in message and "TextVectorization" in message
    assert "reads strings" in message and "Export the numeric part instead" in message
