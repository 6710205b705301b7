"""Traced, replayed fit/evaluate steps (train/models/traced.py) against the eager steps (``run_eagerly=True``).

The oracle is the eager path, which the trajectory tests compare with real Keras: a replay must give the eager
run's weights, logs and evaluation, and whatever it cannot reproduce must stay eager.
"""
import numpy as np
import pytest

import keraslite as keras
from keraslite.train.autodiff.trace import Program
from keraslite.train.models.traced import EAGER, StepRunner, eligible

L = keras.layers


def _mlp():
    model = keras.Sequential([keras.Input(shape=(6,)), L.Dense(8, activation="relu"), L.Dropout(0.3),
                              L.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _batchnorm():
    model = keras.Sequential([keras.Input(shape=(6,)), L.Dense(8), L.BatchNormalization(), L.Activation("relu"),
                              L.Dense(1, activation="sigmoid")])
    model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy"])
    return model


def _rnn():
    model = keras.Sequential([keras.Input(shape=(5, 3)), L.LSTM(4), L.Dropout(0.2), L.Dense(1)])
    model.compile(optimizer="rmsprop", loss="mse", metrics=["mae"])
    return model


def _birnn():
    model = keras.Sequential([keras.Input(shape=(5, 3)), L.Bidirectional(L.LSTM(4)), L.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    return model


def _cnn():
    model = keras.Sequential([keras.Input(shape=(6, 6, 1)), L.Conv2D(4, 3, padding="same", activation="relu"),
                              L.MaxPooling2D(), L.Flatten(), L.Dense(3)])
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def _two_inputs():
    a, b = keras.Input(shape=(4,), name="a"), keras.Input(shape=(3,), name="b")
    h = L.Concatenate()([L.Dense(5, activation="tanh")(a), b])
    h = L.Dropout(0.25)(h)
    model = keras.Model({"a": a, "b": b}, [L.Dense(2, name="p")(h), L.Dense(1, name="q")(h)])
    model.compile(optimizer="adam", loss=["mse", "mae"], loss_weights=[1.0, 0.5])
    return model


def _data(kind, n=70):
    rng = np.random.default_rng(1)
    if kind == "rnn":
        return rng.normal(size=(n, 5, 3)).astype("float32"), rng.normal(size=(n, 1)).astype("float32")
    if kind == "cnn":
        return rng.normal(size=(n, 6, 6, 1)).astype("float32"), rng.integers(0, 3, n)
    if kind == "two":
        x = {"a": rng.normal(size=(n, 4)).astype("float32"), "b": rng.normal(size=(n, 3)).astype("float32")}
        return x, [rng.normal(size=(n, 2)).astype("float32"), rng.normal(size=(n, 1)).astype("float32")]
    x = rng.normal(size=(n, 6)).astype("float32")
    return x, (rng.integers(0, 3, n) if kind == "mlp" else rng.integers(0, 2, n).astype("float32"))


CASES = {
    "mlp_dropout": (_mlp, "mlp", {}),
    "mlp_class_weight": (_mlp, "mlp", {"class_weight": {0: 1.0, 1: 2.0, 2: 0.5}}),
    "mlp_sample_weight": (_mlp, "mlp", {"sample_weight": np.linspace(0.1, 2.0, 70).astype("float32")}),
    "batchnorm": (_batchnorm, "bn", {}),
    "lstm": (_rnn, "rnn", {}),
    "bidirectional_lstm": (_birnn, "rnn", {}),
    "cnn": (_cnn, "cnn", {}),
    "two_inputs_two_outputs": (_two_inputs, "two", {}),
}


def _run(case, eager):
    build, kind, extra = CASES[case]
    keras.utils.set_random_seed(3)
    model = build()
    model.run_eagerly = eager
    x, y = _data(kind)
    history = model.fit(x, y, batch_size=16, epochs=3, validation_split=0.2, verbose=0, **extra)
    return model, history.history, model.evaluate(x, y, batch_size=16, verbose=0, return_dict=True), x, y


@pytest.mark.parametrize("case", sorted(CASES))
def test_replayed_fit_matches_eager(case):
    eager_model, eager_logs, eager_eval, _, _ = _run(case, eager=True)
    model, logs, evaluation, _, _ = _run(case, eager=False)
    for a, b in zip(eager_model.get_weights(), model.get_weights()):
        np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-7)
    assert logs.keys() == eager_logs.keys()
    for name in logs:
        np.testing.assert_allclose(logs[name], eager_logs[name], rtol=1e-6, atol=1e-7)
    for name in evaluation:
        np.testing.assert_allclose(evaluation[name], eager_eval[name], rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("case", ["mlp_dropout", "batchnorm", "lstm", "two_inputs_two_outputs"])
def test_replayed_predict_matches_eager(case):
    model, _, _, x, _ = _run(case, eager=False)
    traced = model.predict(x, batch_size=8, verbose=0)
    model.run_eagerly = True
    eager = model.predict(x, batch_size=8, verbose=0)
    for a, b in zip(_leaves(eager), _leaves(traced)):
        np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-7)
    model.run_eagerly = False
    assert [type(e) for e in _entries(model, "predict", x, None)] == [Program]


def _leaves(value):
    return list(value.values()) if isinstance(value, dict) else list(value) if isinstance(value, list) else [value]


def _entries(model, kind, x, y, steps=4, sample_weight=None):
    runner = StepRunner(model, kind)
    for i in range(steps):
        sl = slice(16 * i, 16 * (i + 1))
        xb = {k: v[sl] for k, v in x.items()} if isinstance(x, dict) else x[sl]
        yb = None if y is None else [v[sl] for v in y] if isinstance(y, list) else y[sl]
        runner((xb, yb, None if sample_weight is None else sample_weight[sl]))
    return list(runner.entries.values())


@pytest.mark.parametrize("case", ["mlp_dropout", "mlp_sample_weight", "lstm", "bidirectional_lstm", "cnn",
                                  "two_inputs_two_outputs"])
def test_built_in_models_are_replayed(case):
    model, _, _, x, y = _run(case, eager=False)
    weights = CASES[case][2].get("sample_weight")
    assert [type(e) for e in _entries(model, "train", x, y, sample_weight=weights)] == [Program]
    assert [type(e) for e in _entries(model, "test", x, y, sample_weight=weights)] == [Program]


def test_batchnorm_training_stays_eager_and_inference_is_replayed():
    # the moving statistics are assigned during the forward pass, which a replay would skip
    model, _, _, x, y = _run("batchnorm", eager=False)
    assert _entries(model, "train", x, y) == [EAGER]
    assert [type(e) for e in _entries(model, "test", x, y)] == [Program]


class Scale(L.Layer):
    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones")

    def call(self, inputs):
        return inputs * self.w


class CustomStep(keras.Sequential):
    def train_step(self, data):
        return super().train_step(data)


def test_user_code_keeps_the_eager_step():
    keras.utils.set_random_seed(0)
    custom_layer = keras.Sequential([keras.Input(shape=(6,)), Scale(), L.Dense(3, activation="softmax")])
    custom_step = CustomStep([keras.Input(shape=(6,)), L.Dense(3, activation="softmax")])
    custom_loss = keras.Sequential([keras.Input(shape=(6,)), L.Dense(1)])
    for model, loss in ((custom_layer, "sparse_categorical_crossentropy"),
                        (custom_step, "sparse_categorical_crossentropy"),
                        (custom_loss, lambda t, p: keras.ops.mean(keras.ops.square(t - p)))):
        model.compile(optimizer="sgd", loss=loss)
        assert not eligible(model, "train") and not eligible(model, "test")
    plain = _mlp()
    assert eligible(plain, "train")
    plain.compile(optimizer="adam", loss="sparse_categorical_crossentropy", run_eagerly=True)
    assert not eligible(plain, "train")


def test_an_array_made_outside_the_primitives_keeps_the_eager_step():
    # float64 inputs are cast by the first layer with numpy: the trace cannot follow the copy
    model, _, _, x, y = _run("mlp_dropout", eager=False)
    assert _entries(model, "train", x.astype("float64"), y) == [EAGER]


def test_a_bad_label_in_a_replayed_step_raises_the_eager_error():
    model, _, _, x, y = _run("mlp_dropout", eager=False)
    runner = StepRunner(model, "train")
    for i in range(3):
        runner((x[16 * i:16 * (i + 1)], y[16 * i:16 * (i + 1)], None))
    assert [type(e) for e in runner.entries.values()] == [Program]
    bad = y[:16].copy()
    bad[4] = 7
    with pytest.raises(ValueError, match="label 7 is out of range for 3 classes"):
        runner((x[:16], bad, None))


def test_a_branch_on_the_data_keeps_the_eager_step():
    # hinge losses turn 0/1 labels into -1/1 only when every label is 0 or 1: a replay would repeat one branch
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(shape=(6,)), L.Dense(1)])
    model.compile(optimizer="sgd", loss="hinge")
    x, y = _data("bn")
    assert _entries(model, "train", x, y) == [EAGER]
    weighted = keras.Sequential([keras.Input(shape=(6,)), L.Dense(1)])
    weighted.compile(optimizer="sgd", loss=keras.losses.MeanSquaredError(reduction="mean_with_sample_weight"))
    assert _entries(weighted, "train", x, y, sample_weight=np.ones(70, "float32")) == [EAGER]
