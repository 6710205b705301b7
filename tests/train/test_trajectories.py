"""Trajectory parity with real Keras: each recorded ``model.fit`` (tests/fixtures/training, made by real Keras 3
from fixed initial weights, no shuffling) replayed in keraslite gives the same weights after every step, the
same per-batch logs (running means) and the same epoch logs, within 1e-5 relative."""
import importlib.util
import os

import numpy as np
import pytest

import keraslite as keras

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures")
_spec = importlib.util.spec_from_file_location("training_cases", os.path.join(FIXTURES, "training_cases.py"))
training_cases = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(training_cases)

GROUPS = ("optimizers", "losses_fit", "batchnorm", "recurrent")
CASES = {c.id: c for g in GROUPS for c in training_cases.load_cases(group=g, kind="fit_trajectory")}
RTOL, ATOL = 1e-5, 1e-6
# Keras 3.15's Huber.get_config() leaves out `delta`, so the recorded config cannot say it; the generator used 0.3
# (tests/fixtures/training_gen/losses_fit.py).
LOSS_ARGS = {"losses_fit/huber_delta": {"delta": 0.3}}


def compile_args(case):
    c = dict(case.compile)
    args = {"optimizer": keras.optimizers.get({"class_name": c["optimizer"]["class_name"],
                                               "config": c["optimizer"]["config"]})}
    for key in ("loss", "metrics", "loss_weights", "weighted_metrics"):
        value = c.get(key)
        if isinstance(value, dict) and "class_name" in value:
            config = {**value["config"], **(LOSS_ARGS.get(case.id, {}) if key == "loss" else {})}
            value = (keras.losses if key == "loss" else keras.metrics).get(
                {"class_name": value["class_name"], "config": config})
        if value is not None:
            args[key] = value
    return args


def fit_args(case):
    a = case.arrays
    out = {k: v for k, v in case.fit.items() if not (isinstance(v, str) and v.startswith("<"))}
    if "sample_weight" in case.fit:
        out["sample_weight"] = a["sample_weight"]
    if "validation_data" in case.fit:
        out["validation_data"] = (_one(case.inputs("val_")), _one(case.targets("val_")))
    if "class_weight" in out:
        out["class_weight"] = {int(k): v for k, v in out["class_weight"].items()}
    return out


def _one(items):
    return items[0] if len(items) == 1 else items


def targets(case):
    ys = case.targets()
    keys = case.info.get("y_keys")
    return dict(zip(keys, ys)) if keys else _one(ys)


class Recorder(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.weights, self.logs = [], []

    def on_train_batch_end(self, batch, logs=None):
        self.weights.append(self.model.get_weights())
        self.logs.append(dict(logs))


@pytest.mark.parametrize("case_id", sorted(CASES))
def test_fit_matches_keras(case_id):
    case = CASES[case_id]
    model = keras.models.model_from_json(case.model_json())
    model.set_weights(case.weights(0))
    model.compile(**compile_args(case))
    recorder = Recorder()
    history = model.fit(_one(case.inputs()), targets(case), verbose=0, callbacks=[recorder], **fit_args(case))
    assert len(recorder.weights) == case.steps
    for step, weights in enumerate(recorder.weights, start=1):
        for name, got, want in zip(case.weight_names, weights, case.weights(step)):
            np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL, err_msg=f"{name} after step {step}")
    arrays = case.arrays
    for key in case.info["batch_log_keys"]:
        got = [logs[key] for logs in recorder.logs]
        np.testing.assert_allclose(got, arrays[f"batch_log/{key}"], rtol=RTOL, atol=ATOL, err_msg=f"batch {key}")
    assert sorted(recorder.logs[0]) == sorted(case.info["batch_log_keys"])
    assert list(history.history) == case.info["epoch_log_keys"]
    for key in case.info["epoch_log_keys"]:
        np.testing.assert_allclose(history.history[key], arrays[f"epoch_log/{key}"], rtol=RTOL, atol=ATOL,
                                   err_msg=f"epoch {key}")
