"""Keras 2's four-layer hard-swish and hard-sigmoid (x + 3, ReLU(6), * 1/6, Multiply) run as one activation
(fold.hard_activations): the plan loses the steps, keeps every layer in its summary, and computes the same floats as
the four layers run one by one. The real-Keras oracle is the app_layers fixture (tf_keras writes the chain; see
tests/runtime/test_fixtures.py), checked here too."""
import os

import numpy as np
import pytest

from keraslite import runtime
from keraslite.format.spec import LayerSpec, ModelSpec, TensorRef
from keraslite.runtime import fold

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures", "keras2")


def _op(name, function, y, source):
    return LayerSpec(name, "TFOpLambda", {"function": function, "arguments": {"x": {"__tensor__": 0}, "y": y}}, [],
                     [[TensorRef(source)]])


def _model(rng, h, add=3.0, relu6_threshold=0.0, extra_reader=False):
    """input -> conv -> x * (relu6(x + add) * 1/6) (hard-swish), then a squeeze-excite gate hard_sigmoid(conv2)."""
    x = h.input_layer("image", [5, 5, 4])
    conv = LayerSpec("conv", "Conv2D", {"filters": 6, "kernel_size": [3, 3], "padding": "same"},
                     [("kernel", h.rand(rng, 3, 3, 4, 6)), ("bias", h.rand(rng, 6))], [[TensorRef("image")]])
    plus = _op("plus", "math.add", add, "conv")
    relu = LayerSpec("relu", "ReLU", {"max_value": 6.0, "threshold": relu6_threshold}, [], [[TensorRef("plus")]])
    sixth = _op("sixth", "math.multiply", 1.0 / 6.0, "relu")
    swish = LayerSpec("swish", "Multiply", {}, [], [[TensorRef("conv"), TensorRef("sixth")]])
    squeeze = LayerSpec("squeeze", "GlobalAveragePooling2D", {"keepdims": True}, [], [[TensorRef("swish")]])
    conv2 = LayerSpec("conv2", "Conv2D", {"filters": 6, "kernel_size": [1, 1]},
                      [("kernel", h.rand(rng, 1, 1, 6, 6)), ("bias", h.rand(rng, 6))], [[TensorRef("squeeze")]])
    plus2 = _op("plus2", "math.add", 3.0, "conv2")
    relu2 = LayerSpec("relu2", "ReLU", {"max_value": 6.0}, [], [[TensorRef("plus2")]])
    sixth2 = _op("sixth2", "math.multiply", 0.16666666666666666, "relu2")
    gated = LayerSpec("gated", "Multiply", {}, [], [[TensorRef("swish"), TensorRef("sixth2")]])
    layers = [x, conv, plus, relu, sixth, swish, squeeze, conv2, plus2, relu2, sixth2, gated]
    outputs = [TensorRef("gated")]
    if extra_reader:  # x + 3 read by a second layer: the chain must stay as it is
        layers.append(LayerSpec("also", "Flatten", {}, [], [[TensorRef("plus")]]))
        outputs.append(TensorRef("also"))
    return ModelSpec("hard", layers, [TensorRef("image")], outputs)


def _unfused(spec, monkeypatch):
    with monkeypatch.context() as m:
        m.setattr(fold, "hard_activations", lambda s: s)
        return runtime.load_spec(spec)


def test_both_chains_become_one_activation_with_the_same_floats(h, rng, monkeypatch):
    spec = _model(rng, h)
    fused, plain = runtime.load_spec(spec), _unfused(spec, monkeypatch)
    # conv (hard-swish in its epilogue), pooling, conv2 (hard-sigmoid in its epilogue), the gating Multiply
    assert len(fused.plan.steps) == 4 and len(plain.plan.steps) == 11
    x = rng.standard_normal((3, 5, 5, 4)).astype(np.float32) * 3
    np.testing.assert_array_equal(fused.predict(x), plain.predict(x))
    shown = {line.split()[0]: line.split()[1] for line in fused.summary().splitlines() if line[:1].isalpha()}
    assert shown["plus"] == "TFOpLambda" and shown["relu"] == "ReLU" and shown["swish"] == "Multiply"


@pytest.mark.parametrize("change", [dict(add=3.5), dict(relu6_threshold=0.5), dict(extra_reader=True)])
def test_other_graphs_keep_their_layers(h, rng, monkeypatch, change):
    spec = _model(rng, h, **change)
    fused, plain = runtime.load_spec(spec), _unfused(spec, monkeypatch)
    swish_steps = {"plus", "relu", "sixth", "swish"}
    assert swish_steps <= set(fused.plan.step_layers)  # the first chain is not a hard-swish: it runs as written
    x = rng.standard_normal((2, 5, 5, 4)).astype(np.float32)
    got, want = fused.predict(x), plain.predict(x)
    for a, b in zip(got if isinstance(got, list) else [got], want if isinstance(want, list) else [want]):
        np.testing.assert_array_equal(a, b)


def test_tf_keras_file_with_the_chain_matches_keras():
    model = runtime.load(os.path.join(FIXTURES, "app_layers.h5"))
    assert "gated" not in model.plan.step_layers  # the Multiply of x * hard_sigmoid(x) runs no step of its own
    with np.load(os.path.join(FIXTURES, "app_layers.npz")) as data:
        np.testing.assert_allclose(model.predict(data["x0"]), data["y0"], rtol=1e-5, atol=1e-6)
