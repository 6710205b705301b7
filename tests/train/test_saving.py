"""Trained keraslite models saved every way a user saves them load back (keraslite and its runtime) with the same
predictions; the same files pass real Keras through write_train_check_dir.py (see its docstring)."""
import os

import numpy as np
import pytest

import keraslite as keras
from keraslite import runtime
from keraslite.errors import KerasliteError

from .write_train_check_dir import models

CASES = {name: (model, x, y) for name, model, x, y in models()}


def _predict(model, x):
    out = model.predict(x, verbose=0)
    return out if isinstance(out, list) else [out]


@pytest.mark.parametrize("name", sorted(CASES))
def test_saved_files_predict_the_same_everywhere(name, tmp_path):
    model, x, y = CASES[name]
    keras.utils.set_random_seed(0)
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    want = _predict(model, x)
    xs = x if isinstance(x, list) else [x]
    for ext in ("h5", "keras"):
        path = str(tmp_path / f"m.{ext}")
        model.save(path)
        loaded = keras.models.load_model(path)
        assert loaded.compiled
        for a, b in zip(_predict(loaded, x), want):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
        served = runtime.load(path).predict(xs)
        for a, b in zip(served if isinstance(served, list) else [served], want):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    rebuilt = keras.models.model_from_json(model.to_json())
    model.save_weights(str(tmp_path / "w_weights.h5"))
    rebuilt.load_weights(str(tmp_path / "w_weights.h5"))
    for a, b in zip(_predict(rebuilt, x), want):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


OPTIMIZERS = {"adam": lambda: keras.optimizers.Adam(learning_rate=0.01),
              "nadam": lambda: keras.optimizers.Nadam(learning_rate=0.01),
              "rmsprop_momentum": lambda: keras.optimizers.RMSprop(learning_rate=0.01, momentum=0.5, centered=True),
              "sgd_momentum": lambda: keras.optimizers.SGD(learning_rate=0.01, momentum=0.9)}


@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
def test_load_model_resumes_with_the_optimizer_state(tmp_path, optimizer):
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(64, 4)).astype("float32"), rng.normal(size=(64, 1)).astype("float32")

    def make():
        keras.utils.set_random_seed(3)
        m = keras.Sequential([keras.layers.Dense(8, activation="relu", input_shape=(4,)), keras.layers.Dense(1)])
        m.compile(optimizer=OPTIMIZERS[optimizer](), loss="mse")
        return m

    straight = make()
    straight.fit(x, y, epochs=4, batch_size=16, shuffle=False, verbose=0)
    for ext in ("h5", "keras"):
        first = make()
        first.fit(x, y, epochs=2, batch_size=16, shuffle=False, verbose=0)
        first.save(str(tmp_path / f"half.{ext}"))
        resumed = keras.models.load_model(str(tmp_path / f"half.{ext}"))
        assert int(resumed.optimizer.iterations.numpy()) == 8
        resumed.fit(x, y, epochs=2, batch_size=16, shuffle=False, verbose=0)
        for a, b in zip(resumed.get_weights(), straight.get_weights()):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_subclassed_models_refuse_full_saving_with_the_fix(tmp_path):
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.d = keras.layers.Dense(2)

        def call(self, x):
            return self.d(x)

    net = Net()
    net(np.ones((1, 3), "float32"))
    with pytest.raises(KerasliteError, match="save_weights"):
        net.save(str(tmp_path / "net.keras"))


def test_bad_extension_is_refused_before_writing(tmp_path):
    model, x, _ = CASES["mlp"]
    with pytest.raises(KerasliteError, match=r"`\.keras`"):
        model.save(str(tmp_path / "model.pb"))
    assert not os.listdir(tmp_path)


def test_tensor_arithmetic_in_a_functional_model_saves_and_serves(tmp_path):
    x = keras.Input(shape=(4,), name="x")
    h = keras.layers.Dense(3, name="d")(x)
    y = -((h * 2.0 + 1.0) - h[:, 0:1] / (x[:, 1:2] + 3.0))
    model = keras.Model(x, y)
    model.compile(optimizer="adam", loss="mse")
    data = np.random.default_rng(2).random((16, 4)).astype("float32")
    model.fit(data, np.ones((16, 3), "float32"), epochs=2, verbose=0)
    want = model.predict(data, verbose=0)
    np.testing.assert_allclose(want, -((data @ model.get_weights()[0] + model.get_weights()[1]) * 2 + 1
                                       - (data @ model.get_weights()[0] + model.get_weights()[1])[:, :1]
                                       / (data[:, 1:2] + 3)), rtol=1e-5, atol=1e-6)
    with pytest.warns(UserWarning, match="tf_keras .and keraslite. only"):
        model.save(str(tmp_path / "m.h5"))  # slicing has no layer both Keras versions read from .h5
    model.save(str(tmp_path / "m.keras"))
    for name in ("m.h5", "m.keras"):
        np.testing.assert_allclose(keras.models.load_model(str(tmp_path / name)).predict(data, verbose=0), want,
                                   rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(runtime.load(str(tmp_path / name)).predict(data), want, rtol=1e-5, atol=1e-5)
