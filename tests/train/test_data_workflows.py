"""The text and image tutorials of issue "Training, part 3", run as a user runs them (examples/*.py in a fresh
process, tiny settings): folders in, a trained model out, the saved text model served on raw strings."""
import re

import numpy as np
import pytest

from .test_workflows import number, run


def test_text_classification(tmp_path):
    out = run("text_classification.py", "--reviews", "120", "--epochs", "3", "--max-features", "200",
              "--sequence-length", "60", "--out", str(tmp_path))
    assert "Found 240 files belonging to 2 classes." in out and "Using 48 files for validation." in out
    assert number(r"raw-text test accuracy ([0-9.]+)", out) == number(r"test loss [0-9.]+, test accuracy ([0-9.]+)",
                                                                       out)
    assert "keraslite serve" in out and '{"instances": ["this movie was great"]}' in out
    path = str(tmp_path / "review_model.keras")
    from keraslite import runtime
    from keraslite.server import create_app

    model = runtime.load(path)
    assert model.inputs[0].dtype == "string"
    client = create_app({"review_model": path}).test_client()
    r = client.post("/v1/models/review_model:predict", json={"instances": ["this movie was great"]})
    assert r.status_code == 200
    np.testing.assert_allclose(r.json["predictions"][0], model.predict(["this movie was great"])[0], atol=1e-6)


def test_image_classification(tmp_path):
    out = run("image_classification.py", "--epochs", "1", "--image-size", "16", "--per-class", "6",
              "--batch-size", "8", "--out", str(tmp_path))
    assert "Found 60 files belonging to 10 classes." in out and "Using 12 files for validation." in out
    assert "classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']" in out
    assert "without augmentation: val_accuracy" in out and "with augmentation and dropout: val_accuracy" in out
    assert (tmp_path / "history_plain.png").exists() and (tmp_path / "history_augmented.png").exists()
    found = re.search(r"(new_digit_\d\.jpg): this image most likely belongs to (\d) with a ([0-9.]+) percent "
                      r"confidence", out)
    assert found
    # The saved augmented model, reloaded by the runtime (augmentation inactive), gives the printed confidence.
    from keraslite import runtime, utils

    model = runtime.load(str(tmp_path / "image_model.keras"))
    img = utils.img_to_array(utils.load_img(str(tmp_path / found.group(1)), target_size=(16, 16)))
    logits = model.predict(img[None])[0].astype(np.float64)
    score = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    assert str(int(np.argmax(score))) == found.group(2)
    assert abs(100 * score.max() - float(found.group(3))) < 0.01
