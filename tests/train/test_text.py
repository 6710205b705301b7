"""What keraslite prints is what Keras 3 prints: model.summary() tables and the progress lines of fit/evaluate/
predict, compared with real Keras' captured output (tests/fixtures/training/text, timings masked)."""
import contextlib
import importlib.util
import io
import os
import re

import numpy as np
import pytest

import keraslite as keras

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures")
_spec = importlib.util.spec_from_file_location("training_cases", os.path.join(FIXTURES, "training_cases.py"))
training_cases = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(training_cases)
L = keras.layers


def sequential():
    keras.backend.clear_session()
    return keras.Sequential([keras.Input(shape=(8,), name="features"), L.Dense(16, activation="relu", name="hidden"),
                             L.Dropout(0.0, name="dropout"), L.Dense(4, activation="softmax", name="probs")],
                            name="classifier")


def functional():
    keras.backend.clear_session()
    a, b = keras.Input(shape=(6,), name="left"), keras.Input(shape=(6,), name="right")
    shared = L.Dense(5, activation="relu", name="shared")
    merged = L.Concatenate(name="merge")([shared(a), shared(b)])
    frozen = L.Dense(3, name="frozen")
    frozen.trainable = False
    out = L.Dense(1, activation="sigmoid", name="score")(frozen(merged))
    return keras.Model([a, b], out, name="siamese")


def nested():
    keras.backend.clear_session()
    block = keras.Sequential([keras.Input(shape=(4, 4, 1)), L.Conv2D(2, 3, padding="same", name="conv"),
                              L.Flatten(name="flat")], name="block")
    inp = keras.Input(shape=(4, 4, 1), name="image")
    return keras.Model(inp, L.Dense(2, name="head")(block(inp)), name="outer")


# (builder, summary kwargs, train first) as the fixture generator (tests/fixtures/training_gen/text.py) made them
SUMMARIES = {"summary_sequential": (sequential, {}, False), "summary_sequential_trained": (sequential, {}, True),
             "summary_sequential_line_length_60": (sequential, {"line_length": 60}, False),
             "summary_functional": (functional, {}, False),
             "summary_functional_show_trainable": (functional, {"show_trainable": True}, False),
             "summary_nested": (nested, {}, False), "summary_nested_expand": (nested, {"expand_nested": True}, False)}


@contextlib.contextmanager
def columns(n):
    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(n)
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("COLUMNS")
        else:
            os.environ["COLUMNS"] = saved


@pytest.mark.parametrize("case_name", sorted(SUMMARIES))
@pytest.mark.parametrize("width", [80, 200])
def test_summary_matches_keras(case_name, width):
    builder, kwargs, train = SUMMARIES[case_name]
    model = builder()
    if train:
        model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
        model.fit(np.zeros((8, 8), "float32"), np.eye(4, dtype="float32")[np.arange(8) % 4], batch_size=4,
                  verbose=0)
    out = io.StringIO()
    with columns(width), contextlib.redirect_stdout(out):
        model.summary(**kwargs)
    want = training_cases.get_case(f"text/{case_name}").text(f"stdout_{width}")
    assert out.getvalue() == want


def _shape_of_output(text):
    """The output with every number replaced by N and each run of backspaces by <bs>: its form, not its values
    or timings (e.g. ``4/4 - 0s - 18ms/step - accuracy: 0.3125`` -> ``N/N - Ns - Nms/step - accuracy: N``)."""
    text = re.sub(r"\x08+", "<bs>", text)
    text = re.sub(r" +(?=\n|$|<bs>)", "", text)  # padding after a shorter redraw depends on the timings' widths
    text = re.sub(r"\x1b\[(\d+)m", r"<esc\1>", text)
    return re.sub(r"\d+(\.\d+)?(e[+-]\d+)?", "N", text)


class Slow(keras.callbacks.Callback):
    """Sleeps after each batch so the progress bar's 50 ms throttle lets every update through (as recorded)."""

    def on_train_batch_end(self, batch, logs=None):
        import time
        time.sleep(0.06)

    on_test_batch_end = on_predict_batch_end = on_train_batch_end


PROGRESS = {
    "fit_verbose_1": lambda m, x, y, xv, yv: m.fit(x, y, batch_size=8, epochs=2, validation_data=(xv, yv),
                                                   shuffle=False, verbose=1, callbacks=[Slow()]),
    "fit_verbose_2": lambda m, x, y, xv, yv: m.fit(x, y, batch_size=8, epochs=2, validation_data=(xv, yv),
                                                   shuffle=False, verbose=2, callbacks=[Slow()]),
    "fit_verbose_auto_one_epoch": lambda m, x, y, xv, yv: m.fit(x, y, batch_size=8, epochs=1, shuffle=False,
                                                                callbacks=[Slow()]),
    "fit_verbose_0": lambda m, x, y, xv, yv: m.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[Slow()]),
    "evaluate_verbose_1": lambda m, x, y, xv, yv: m.evaluate(xv, yv, batch_size=8, verbose=1, callbacks=[Slow()]),
    "evaluate_verbose_2": lambda m, x, y, xv, yv: m.evaluate(xv, yv, batch_size=8, verbose=2, callbacks=[Slow()]),
    "predict_verbose_1": lambda m, x, y, xv, yv: m.predict(x, batch_size=8, verbose=1, callbacks=[Slow()]),
    "predict_verbose_2": lambda m, x, y, xv, yv: m.predict(x, batch_size=8, verbose=2, callbacks=[Slow()]),
}


@pytest.mark.parametrize("case_name", sorted(PROGRESS))
def test_progress_output_has_keras_form(case_name):
    rng = np.random.default_rng(0)
    x, xv = rng.normal(size=(32, 8)).astype("float32"), rng.normal(size=(12, 8)).astype("float32")
    y, yv = np.eye(4, dtype="float32")[rng.integers(0, 4, 32)], np.eye(4, dtype="float32")[rng.integers(0, 4, 12)]
    model = sequential()
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        PROGRESS[case_name](model, x, y, xv, yv)
    want = training_cases.get_case(f"text/{case_name}").text("every_update")
    assert _shape_of_output(out.getvalue()) == _shape_of_output(want)
