"""Model behaviour on hand-built specs: folds, input errors, threads, unsupported layers, registry, CLI."""
import threading

import numpy as np
import pytest

from keraslite import runtime
from keraslite.errors import InputError, ModelFormatError, UnsupportedLayerError
from keraslite.format.spec import LayerSpec, ModelSpec, TensorRef


def _bn(h, rng, c):
    return ("BatchNormalization", {"axis": -1, "epsilon": 1e-3, "center": True, "scale": True},
            [("gamma", h.rand(rng, c)), ("beta", h.rand(rng, c)), ("moving_mean", h.rand(rng, c)),
             ("moving_variance", np.abs(h.rand(rng, c)) + 0.5)])


def _conv_spec(h, rng):
    return h.chain((8, 8, 3), [
        ("Conv2D", {"filters": 4, "kernel_size": [3, 3], "strides": [1, 1], "padding": "same",
                    "dilation_rate": [1, 1], "activation": "linear", "use_bias": False}, [("kernel", h.rand(rng, 3, 3, 3, 4))]),
        _bn(h, rng, 4),
        ("ReLU", {"max_value": 6.0, "negative_slope": 0.0, "threshold": 0.0}, []),
        ("DepthwiseConv2D", {"kernel_size": [3, 3], "strides": [2, 2], "padding": "same", "depth_multiplier": 1,
                             "activation": "linear", "use_bias": True},
         [("depthwise_kernel", h.rand(rng, 3, 3, 4, 1)), ("bias", h.rand(rng, 4))]),
        _bn(h, rng, 4),
        ("GlobalAveragePooling2D", {"keepdims": False}, []),
        ("Dense", {"units": 3, "activation": "softmax", "use_bias": True}, [("kernel", h.rand(rng, 4, 3)), ("bias", h.rand(rng, 3))]),
    ])


def test_folding_drops_steps_and_keeps_numbers(h, rng):
    spec = _conv_spec(h, rng)
    model = runtime.load_spec(spec)
    assert len(model.plan.steps) == 4  # conv(+bn+relu6), depthwise(+bn), gap, dense
    # The same graph with the folds defeated: every BN and ReLU also feeds a second output.
    extra = ModelSpec("unfolded", spec.layers, spec.inputs,
                      spec.outputs + [TensorRef(l.name) for l in spec.layers if l.class_name == "Conv2D"]
                      + [TensorRef(l.name) for l in spec.layers if l.class_name == "DepthwiseConv2D"])
    unfolded = runtime.load_spec(extra)
    assert len(unfolded.plan.steps) > 4
    x = h.rand(rng, 5, 8, 8, 3)
    np.testing.assert_allclose(model.predict(x), unfolded.predict(x)[0], rtol=1e-5, atol=1e-6)


def test_specs_and_input_errors(h, rng):
    model = runtime.load_spec(_conv_spec(h, rng))
    assert model.inputs == [runtime.TensorSpec("input", (None, 8, 8, 3), "float32")]
    assert model.outputs[0].shape == (None, 3)
    with pytest.raises(InputError, match=r"input 'input': expected rank 4 .* got rank 3"):
        model.predict(np.zeros((8, 8, 3), np.float32))
    with pytest.raises(InputError, match=r"input 'input': axis 2 expected size 8, got 7"):
        model.predict(np.zeros((1, 8, 7, 3), np.float32))
    with pytest.raises(InputError, match=r"expected a numeric array .* got dtype <U1"):
        model.predict(np.full((1, 8, 8, 3), "a"))
    with pytest.raises(InputError, match=r"missing \['input'\], unexpected \['img'\]"):
        model.predict({"img": np.zeros((1, 8, 8, 3))})
    # float64 is cast, any batch size works
    assert model.predict(np.zeros((7, 8, 8, 3))).shape == (7, 3)


def _two_input_spec(h, rng):
    layers = [h.input_layer("a", (4,)), h.input_layer("b", (4,)),
              LayerSpec("sum", "Add", {}, [], [[TensorRef("a"), TensorRef("b")]]),
              LayerSpec("head", "Dense", {"units": 2, "activation": "tanh", "use_bias": True},
                        [("kernel", h.rand(rng, 4, 2)), ("bias", h.rand(rng, 2))], [[TensorRef("sum")]])]
    return ModelSpec("two", layers, [TensorRef("a"), TensorRef("b")], [TensorRef("head"), TensorRef("sum")])


def test_multiple_inputs_and_outputs(h, rng):
    model = runtime.load_spec(_two_input_spec(h, rng))
    a, b = h.rand(rng, 3, 4), h.rand(rng, 3, 4)
    head, total = model.predict([a, b])
    np.testing.assert_allclose(total, a + b, rtol=1e-6)
    by_name = model.predict({"b": b, "a": a})
    np.testing.assert_allclose(by_name[0], head)
    with pytest.raises(InputError, match=r"has 2 inputs \['a', 'b'\]: pass a list or a dict"):
        model.predict(a)
    with pytest.raises(InputError, match=r"different batch sizes \[3, 2\]"):
        model.predict([a, b[:2]])


def test_predict_from_many_threads(h, rng):
    model = runtime.load_spec(_conv_spec(h, rng))
    xs = [h.rand(rng, n, 8, 8, 3) for n in (1, 2, 3, 5)] * 4
    want = [model.predict(x) for x in xs]
    got, errors = [None] * len(xs), []

    def work(i):
        try:
            for _ in range(20):
                got[i] = model.predict(xs[i])
                np.testing.assert_allclose(got[i], want[i], rtol=1e-6, atol=1e-6)
        except Exception as exc:  # collected and reported below
            errors.append(exc)
    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(xs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]


def test_unsupported_and_bad_weights(h, rng):
    spec = h.chain((4,), [("Lambda", {}, [])])
    with pytest.raises(UnsupportedLayerError, match=r"class 'Lambda' is not supported .* supported: .*Dense"):
        runtime.load_spec(spec)
    spec = h.chain((4,), [("Dense", {"units": 2, "activation": "linear", "use_bias": True},
                         [("kernel", h.rand(rng, 3, 2)), ("bias", h.rand(rng, 2))])])
    with pytest.raises(ModelFormatError, match=r"weight 'kernel' has shape \(3, 2\), expected \(4, 2\)"):
        runtime.load_spec(spec)
    spec = h.chain((4,), [("LSTM", {"units": 2, "stateful": True}, [])])
    with pytest.raises(UnsupportedLayerError, match="stateful=True"):
        runtime.load_spec(spec)


def test_embedding_index_error(h, rng):
    spec = h.chain((5,), [("Embedding", {"input_dim": 3, "output_dim": 2, "mask_zero": False},
                         [("embeddings", h.rand(rng, 3, 2))])], dtype="int32")
    model = runtime.load_spec(spec)
    assert model.predict(np.array([[0, 1, 2, 1, 0]])).shape == (1, 5, 2)
    with pytest.raises(InputError, match=r"index out of range: got values in \[0, 3\]"):
        model.predict(np.array([[0, 1, 2, 3, 0]]))


def test_cli_summary_and_predict(h, tmp_path, capsys, rng):
    from keraslite import format as kformat
    from keraslite.cli import main

    spec = _two_input_spec(h, rng)
    path = str(tmp_path / "two.h5")
    kformat.write(spec, path)
    assert main(["summary", path]) == 0
    out = capsys.readouterr().out
    assert "head" in out and "Dense" in out and "(None, 2)" in out and "Total params: 10" in out
    a, b = h.rand(rng, 2, 4), h.rand(rng, 2, 4)
    np.savez(tmp_path / "in.npz", a=a, b=b)
    assert main(["predict", path, str(tmp_path / "in.npz"), "--output", str(tmp_path / "out.npz")]) == 0
    with np.load(tmp_path / "out.npz") as got:
        np.testing.assert_allclose(got["sum_1"], a + b, rtol=1e-6)
    assert main(["predict", path, str(tmp_path / "in.txt")]) == 1
    assert "expected a .npy, .npz or .json file" in capsys.readouterr().err


def test_cache_sized_internal_batches_match_one_pass(h, rng):
    """A batch larger than the automatic pass size gives the same numbers as one pass over the whole batch."""
    model = runtime.load_spec(_conv_spec(h, rng))
    model._chunk = 3  # force several internal passes (the automatic size for this small model exceeds the batch)
    x = rng.random((10, 8, 8, 3)).astype(np.float32)
    # float32 tolerance: a GEMM over 3 rows may block (and so round) differently from one over 10
    np.testing.assert_allclose(model.predict(x), model.predict(x, batch_size=10), rtol=1e-6, atol=1e-7)


def test_malloc_tuning_is_applied_once_and_can_be_disabled():
    import subprocess
    import sys

    from keraslite.runtime import _alloc

    assert _alloc.tune() is _alloc.tune()
    code = "from keraslite.runtime import _alloc; print(_alloc.tune())"
    env = dict(__import__("os").environ, KERASLITE_MALLOC_TUNE="0")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("cls", ["Conv2D", "DepthwiseConv2D"])
def test_zero_padding_absorbed_by_valid_conv(h, rng, cls):
    """ZeroPadding2D before a valid conv disappears from the plan; numbers equal the explicit padded copy."""
    conv_cfg = {"kernel_size": [3, 3], "strides": [2, 2], "padding": "valid", "dilation_rate": [1, 1],
                "activation": "relu6", "use_bias": True}
    if cls == "Conv2D":
        conv_cfg["filters"] = 5
        weights = [("kernel", h.rand(rng, 3, 3, 4, 5)), ("bias", h.rand(rng, 5))]
    else:
        conv_cfg["depth_multiplier"] = 1
        weights = [("depthwise_kernel", h.rand(rng, 3, 3, 4, 1)), ("bias", h.rand(rng, 4))]
    spec = h.chain((9, 8, 4), [("ZeroPadding2D", {"padding": [[0, 1], [1, 2]]}, []), (cls, conv_cfg, weights)])
    model = runtime.load_spec(spec)
    assert len(model.plan.steps) == 1
    pad_ref = TensorRef(spec.layers[1].name)
    unfolded = runtime.load_spec(ModelSpec("unfolded", spec.layers, spec.inputs, spec.outputs + [pad_ref]))
    assert len(unfolded.plan.steps) == 2
    x = rng.standard_normal((3, 9, 8, 4)).astype(np.float32)
    np.testing.assert_allclose(model.predict(x), unfolded.predict(x)[0], rtol=1e-5, atol=1e-6)
    assert model.outputs[0].shape == unfolded.outputs[0].shape


@pytest.mark.parametrize("act, padding", [("relu", "same"), ("relu6", "valid"), ("linear", "same")])
def test_conv_epilogue_moved_after_max_pooling_is_exact(h, rng, act, padding, monkeypatch):
    """bias + relu/relu6 run after MaxPooling2D instead of before it: bit-identical results (a fold of the Numba /
    numpy kernels; the compiled convolution applies them in its store instead)."""
    from keraslite.runtime import native

    monkeypatch.setitem(native._state, "lib", None)
    spec = h.chain((9, 9, 3), [
        ("Conv2D", {"filters": 4, "kernel_size": [3, 3], "strides": [1, 1], "padding": "same",
                    "dilation_rate": [1, 1], "activation": act, "use_bias": True},
         [("kernel", h.rand(rng, 3, 3, 3, 4)), ("bias", h.rand(rng, 4))]),
        ("MaxPooling2D", {"pool_size": [2, 2], "strides": [2, 2], "padding": padding}, []),
    ])
    model = runtime.load_spec(spec)
    conv_ref = TensorRef(spec.layers[1].name)
    plain = runtime.load_spec(ModelSpec("plain", spec.layers, spec.inputs, spec.outputs + [conv_ref]))
    x = rng.standard_normal((2, 9, 9, 3)).astype(np.float32)
    got, (want, conv_out) = model.predict(x), plain.predict(x)
    np.testing.assert_array_equal(got, want)
    if act != "linear":
        assert conv_out.min() >= 0  # the unfolded conv still applies its activation
