"""keraslite.runtime on real Keras 3 models that start with text preprocessing (string inputs) or resize images:
the same outputs as Keras (tests/fixtures/{text,images}/*.keras with their inputs and Keras' outputs)."""
import os

import numpy as np
import pytest

from keraslite import runtime
from keraslite.errors import InputError, ModelFormatError

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures")
MODELS = ["text/review_model", "text/tfidf_model", "text/lookup_model", "images/image_model",
          "images/resize_nearest", "images/resize_bicubic", "images/resize_bilinear"]


@pytest.mark.parametrize("name", MODELS)
def test_outputs_match_keras(name):
    model = runtime.load(os.path.join(FIXTURES, f"{name}.keras"))
    with np.load(os.path.join(FIXTURES, f"{name}.npz")) as npz:
        x, y = npz["x0"], npz["y0"]
    np.testing.assert_allclose(model.predict(x), y, atol=1e-6, rtol=1e-5)


def test_string_inputs_in_every_form():
    model = runtime.load(os.path.join(FIXTURES, "text", "tfidf_model.keras"))
    assert model.inputs[0].dtype == "string"
    texts = ["the plot was fun", "boring ending"]
    want = model.predict(np.array(texts))
    for form in (texts, [t.encode() for t in texts], np.array(texts, dtype=object), np.array(texts, dtype="S")):
        np.testing.assert_array_equal(model.predict(form), want)
    with pytest.raises(InputError, match=r"input 'text': expected strings \(dtype string\), expected strings, got "
                                         r"int"):
        model.predict(np.array([1, 2], dtype=object))
    with pytest.raises(InputError, match="input 'text': expected rank 1"):
        model.predict(np.array([texts]))


def test_a_lookup_without_vocabulary_is_refused():
    from keraslite import format as kf

    spec = kf.read(os.path.join(FIXTURES, "text", "lookup_model.keras"))
    spec.layers[1].config = {**spec.layers[1].config, "vocabulary": None}
    with pytest.raises(ModelFormatError, match="string_lookup_37.*has no vocabulary"):
        runtime.load_spec(spec)
