"""Recurrent layers against real Keras 3 (tests/fixtures/rnn, made by tests/fixtures/make_rnn_fixtures.py):
outputs and gradients of single layers on fixed inputs, and 5-step SGD trajectories of small text models."""
import json
import os

import numpy as np
import pytest

import keraslite as keras
from keraslite.train.autodiff import GradientTape, Tensor, elementwise as E, reduce as R

HERE = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures", "rnn")
with open(os.path.join(HERE, "manifest.json")) as fh:
    MANIFEST = json.load(fh)
FORWARD = np.load(os.path.join(HERE, "forward.npz"))
FIT = np.load(os.path.join(HERE, "fit.npz"))
L = keras.layers


def make_layer(spec):
    if spec["class"] == "Bidirectional":
        backward = make_layer(spec["backward_layer"]) if spec.get("backward_layer") else None
        return L.Bidirectional(make_layer(spec["layer"]), backward_layer=backward, **spec["kwargs"])
    return getattr(L, spec["class"])(**spec["kwargs"])


def _close(got, want, what, rtol=1e-5, atol=1e-6):
    np.testing.assert_allclose(np.asarray(got), want, rtol=rtol, atol=atol, err_msg=what)


@pytest.mark.parametrize("name", sorted(MANIFEST["forward"]))
def test_forward_and_gradients_match_keras(name):
    case = MANIFEST["forward"][name]
    a = {k[len(name) + 1:]: FORWARD[k] for k in FORWARD.files if k.startswith(name + "/")}
    x = Tensor(FORWARD["x"])
    layer = make_layer(case["layer"])
    layer.build(tuple(x.shape))
    n_weights = len(layer.weights)
    layer.set_weights([a[f"w{i}"] for i in range(n_weights)])
    kwargs = {}
    states = []
    if case["call"].get("initial_state"):
        states = [Tensor(s) for s in FORWARD["states"][:case["n_states"]]]
        kwargs["initial_state"] = states
    if case["call"].get("mask"):
        kwargs["mask"] = FORWARD["mask"]
    with GradientTape() as tape:
        tape.watch([x] + states)
        outs = layer(x, **kwargs)
        outs = outs if isinstance(outs, list) else [outs]
        assert len(outs) == case["outputs"]
        total = None
        for i, o in enumerate(outs):
            _close(o.numpy(), a[f"out{i}"], f"{name}: output {i}")
            term = R.sum_(E.multiply(o, a[f"cot{i}"]))
            total = term if total is None else E.add(total, term)
    grads = tape.gradient(total, [x] + states + layer.trainable_weights)
    labels = ["x"] + [f"state{i}" for i in range(len(states))] + [f"w{i}" for i in range(n_weights)]
    for label, g in zip(labels, grads):
        _close(g.numpy(), a[f"grad/{label}"], f"{name}: gradient of {label}", rtol=1e-5, atol=2e-6)


def _sequential(case):
    def build(entry):
        cls, kwargs = entry
        if cls == "Bidirectional":
            kwargs = dict(kwargs)
            return L.Bidirectional(build(kwargs.pop("layer")), **kwargs)
        return getattr(L, cls)(**kwargs)

    inputs = keras.Input((7, 3)) if case.get("float_inputs") else keras.Input((7,), dtype="int64")
    return keras.Sequential([inputs] + [build(e) for e in case["layers"]])


@pytest.mark.parametrize("name", sorted(MANIFEST["fit"]))
def test_sgd_trajectory_matches_keras(name):
    case = MANIFEST["fit"][name]
    a = {k[len(name) + 1:]: FIT[k] for k in FIT.files if k.startswith(name + "/")}
    model = _sequential(case)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.5), loss=case["loss"])
    n_weights = len(model.weights)
    assert n_weights == len(case["weight_paths"])
    model.set_weights([a[f"w{i}"][0] for i in range(n_weights)])
    x, y, batch = a["x"], a["y"], len(a["x"]) // len(a["loss"])
    for step, want_loss in enumerate(a["loss"]):
        xb, yb = x[step * batch:(step + 1) * batch], y[step * batch:(step + 1) * batch]
        loss = model.evaluate(xb, yb, batch_size=batch, verbose=0)
        _close(loss, want_loss, f"{name}: loss before step {step + 1}")
        model.train_on_batch(xb, yb)
        for i, w in enumerate(model.get_weights()):
            _close(w, a[f"w{i}"][step + 1], f"{name}: {case['weight_paths'][i]} after step {step + 1}",
                   atol=2e-6)


@pytest.mark.parametrize("cls", ["SimpleRNN", "LSTM", "GRU", "Bidirectional"])
def test_config_keys_and_defaults_match_keras(cls):
    want = MANIFEST["configs"][cls]
    layer = L.Bidirectional(L.LSTM(2, name="lstm")) if cls == "Bidirectional" else getattr(L, cls)(2)
    config = layer.get_config()
    assert sorted(config) == want["keys"]
    if want["inner_keys"]:
        assert sorted(config["layer"]["config"]) == want["inner_keys"]
    for key, value in want["plain"].items():
        if key != "name":
            assert config[key] == value, key
