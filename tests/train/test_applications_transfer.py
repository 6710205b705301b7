"""Transfer learning on an application loaded from a weight file real Keras wrote: freeze it, add a head, fit,
unfreeze and fine-tune, then save and serve (keraslite.runtime gives the same predictions)."""
import numpy as np
import pytest

import keraslite as keras
from keraslite import runtime

from . import app_fixtures as A


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    return A.weights_file("vgg16_notop", tmp_path_factory.mktemp("transfer"))


def data():
    rng = np.random.default_rng(7)
    x = rng.integers(0, 256, (24, 32, 32, 3)).astype("float32")
    x[:, :16] *= rng.uniform(0.2, 1.0, (24, 1, 1, 3))  # a colour cast over the top half decides the class
    y = np.argmax(x[:, :16].mean(axis=(1, 2)), axis=1)
    return keras.applications.vgg16.preprocess_input(x), y


def test_freeze_add_a_head_fit_fine_tune_save_and_serve(weights, tmp_path):
    keras.utils.set_random_seed(0)
    base = keras.applications.VGG16(include_top=False, weights=weights, input_shape=(32, 32, 3))
    base.trainable = False
    inputs = keras.Input((32, 32, 3))
    x = base(inputs, training=False)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(3, activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    assert len(model.trainable_weights) == 2 and len(model.non_trainable_weights) == 26
    frozen = [v.numpy().copy() for v in base.weights]
    xs, ys = data()
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(xs, ys, epochs=4, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0], history.history
    assert all(np.array_equal(a, v.numpy()) for a, v in zip(frozen, base.weights))
    keras_case = A.arrays("vgg16_notop")  # the frozen base still computes what Keras computes
    x_keras = keras.applications.vgg16.preprocess_input(keras_case["x"].astype("float32"))
    A.close(base.predict(x_keras, verbose=0), keras_case["y"])

    base.trainable = True  # fine-tune everything with a small learning rate, as the Keras guide does
    model.compile(optimizer=keras.optimizers.Adam(1e-5), loss="sparse_categorical_crossentropy")
    assert len(model.trainable_weights) == 28
    model.fit(xs, ys, epochs=1, batch_size=8, verbose=0)
    assert not np.array_equal(frozen[0], base.weights[0].numpy())

    want = model.predict(xs[:4], verbose=0)
    # a nested Functional in .h5 needs one Keras version's dialect (keraslite's portable .h5 refuses it)
    for name, options in (("tuned.keras", {}), ("tuned.h5", {"dialect": "keras3"})):
        path = str(tmp_path / name)
        model.save(path, **options)
        np.testing.assert_allclose(runtime.load(path).predict(xs[:4]), want, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(keras.models.load_model(path).predict(xs[:4], verbose=0), want, rtol=1e-4,
                                   atol=1e-6)


def test_transfer_learning_example_runs_on_a_keras_weight_file(weights, tmp_path):
    import os
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    proc = subprocess.run([sys.executable, os.path.join(root, "examples", "transfer_learning.py"), str(tmp_path),
                           "--weights", weights, "--samples", "48", "--test-samples", "32", "--epochs", "3",
                           "--fine-tune-epochs", "1"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert "VGG16 base: 26 weights frozen; head: 2 trainable" in out and "fine-tuning 28 weights" in out, out
    before, after = (float(v) for v in out.split("head: train loss ")[1].split(" (")[0].split(" -> "))
    assert after < before, out  # the new head fits (the loss of the whole training set, without dropout)
    assert float(out.rsplit("largest difference", 1)[1].split()[0]) < 1e-5
    assert os.path.exists(tmp_path / "model.keras")
