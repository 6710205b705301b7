"""Plan fusions of the compiled kernels (runtime/fuse.py): fewer steps, the numbers of the unfused plan (the same
graph with every intermediate also an output, so nothing can fuse, run on the Numba kernels)."""
import numpy as np
import pytest

from keraslite import runtime
from keraslite.format.spec import LayerSpec, ModelSpec, TensorRef
from keraslite.runtime import native


def _bn(h, rng, c):
    return ("BatchNormalization", {"axis": -1, "epsilon": 1e-3, "center": True, "scale": True},
            [("gamma", h.rand(rng, c) + 1), ("beta", h.rand(rng, c)), ("moving_mean", h.rand(rng, c)),
             ("moving_variance", np.abs(h.rand(rng, c)) + 0.5)])


def _conv(h, rng, cin, f, k=3, stride=1, padding="same", act="linear", bias=True):
    weights = [("kernel", h.rand(rng, k, k, cin, f))] + ([("bias", h.rand(rng, f))] if bias else [])
    return ("Conv2D", {"filters": f, "kernel_size": [k, k], "strides": [stride, stride], "padding": padding,
                       "dilation_rate": [1, 1], "activation": act, "use_bias": bias}, weights)


def _graph(h, shape, layers, name="g"):
    """A ModelSpec from ``layers``: (class, config, weights, input names or None for the previous layer)."""
    specs = [h.input_layer("input", shape)]
    prev = "input"
    for i, (cls, cfg, weights, inputs) in enumerate(layers):
        lname = f"{cls.lower()}_{i}"
        refs = [TensorRef(n) for n in (inputs or [prev])]
        specs.append(LayerSpec(lname, cls, dict(cfg), list(weights), [refs]))
        prev = lname
    return ModelSpec(name, specs, [TensorRef("input")], [TensorRef(prev)])


def _check(spec, x, fused_steps, monkeypatch):
    """The fused plan has ``fused_steps`` steps and predicts what the unfused plan on the Numba kernels does."""
    model = runtime.load_spec(spec)
    assert len(model.plan.steps) == fused_steps, [getattr(s[0], "__qualname__", "?") for s in model.plan.steps]
    every = [TensorRef(layer.name) for layer in spec.layers[1:]]
    unfused_spec = ModelSpec("unfused", spec.layers, spec.inputs, spec.outputs + every)
    with monkeypatch.context() as m:
        m.setitem(native._state, "lib", None)
        want = runtime.load_spec(unfused_spec).predict(x)[0]
    got = model.predict(x)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * max(1.0, float(np.abs(want).max())))
    # the unfused plan on the compiled kernels too: fusions never change what an exposed intermediate holds
    np.testing.assert_allclose(runtime.load_spec(unfused_spec).predict(x)[0], want, rtol=1e-5, atol=1e-5)


def test_residual_add_and_relu_fold_into_the_conv(h, rng, monkeypatch):
    spec = _graph(h, (8, 8, 6), [
        _conv(h, rng, 6, 6, bias=False) + (None,), _bn(h, rng, 6) + (None,),
        ("Dropout", {"rate": 0.5}, [], None),
        ("Add", {}, [], ["dropout_2", "input"]), ("ReLU", {}, [], None)])
    _check(spec, h.rand(rng, 3, 8, 8, 6), 1, monkeypatch)


def test_residual_add_into_dense_either_side(h, rng, monkeypatch):
    dense = ("Dense", {"units": 5, "activation": "linear", "use_bias": True},
             [("kernel", h.rand(rng, 5, 5)), ("bias", h.rand(rng, 5))], None)
    spec = _graph(h, (7, 5), [dense, ("Add", {}, [], ["input", "dense_0"]), ("Activation", {"activation": "tanh"}, [], None)])
    _check(spec, h.rand(rng, 4, 7, 5), 1, monkeypatch)


@pytest.mark.parametrize("rank", [1, 2])
def test_residual_add_into_a_separable_conv(h, rng, monkeypatch, rank):
    """NASNet's and Xception's adds: the pointwise GEMM of a SeparableConv adds the other branch in its store."""
    k = [3] * rank
    sep = (f"SeparableConv{rank}D", {"filters": 4, "kernel_size": k, "padding": "same", "depth_multiplier": 1,
                                     "activation": "linear", "use_bias": True},
           [("depthwise_kernel", h.rand(rng, *k, 4, 1)), ("pointwise_kernel", h.rand(rng, *[1] * rank, 4, 4)),
            ("bias", h.rand(rng, 4))], None)
    shape = (7, 7, 4) if rank == 2 else (9, 4)
    spec = _graph(h, shape, [sep, ("Add", {}, [], ["input", f"separableconv{rank}d_0"]), ("ReLU", {}, [], None)])
    _check(spec, h.rand(rng, 3, *shape), 1, monkeypatch)  # one step: the separable conv, Add and ReLU in it


def test_no_residual_fold_when_the_conv_output_is_read_twice(h, rng, monkeypatch):
    spec = _graph(h, (6, 6, 4), [
        _conv(h, rng, 4, 4) + (None,), ("Add", {}, [], ["conv2d_0", "input"]),
        ("Multiply", {}, [], ["add_1", "conv2d_0"])])
    _check(spec, h.rand(rng, 2, 6, 6, 4), 3, monkeypatch)


@pytest.mark.parametrize("host", ["Conv2D", "DepthwiseConv2D", "SeparableConv2D"])
def test_batchnorm_relu_become_the_prologue_of_the_next_conv(h, rng, monkeypatch, host):
    if host == "Conv2D":
        layer = _conv(h, rng, 5, 3, stride=2, padding="valid")
    elif host == "DepthwiseConv2D":
        layer = ("DepthwiseConv2D", {"kernel_size": [3, 3], "strides": [2, 2], "padding": "valid",
                                     "depth_multiplier": 1, "activation": "linear", "use_bias": True},
                 [("depthwise_kernel", h.rand(rng, 3, 3, 5, 1)), ("bias", h.rand(rng, 5))])
    else:
        layer = ("SeparableConv2D", {"filters": 4, "kernel_size": [3, 3], "strides": [2, 2], "padding": "valid",
                                     "depth_multiplier": 1, "dilation_rate": [1, 1], "activation": "relu",
                                     "use_bias": True},
                 [("depthwise_kernel", h.rand(rng, 3, 3, 5, 1)), ("pointwise_kernel", h.rand(rng, 1, 1, 5, 4)),
                  ("bias", h.rand(rng, 4))])
    # BN -> ReLU -> ZeroPadding2D -> valid conv (the ResNetV2 / DenseNet transition shape): one step
    spec = _graph(h, (9, 9, 5), [_bn(h, rng, 5) + (None,), ("ReLU", {}, [], None),
                                 ("ZeroPadding2D", {"padding": [[1, 1], [1, 1]]}, [], None), layer + (None,)])
    _check(spec, h.rand(rng, 2, 9, 9, 5) * 4, 1, monkeypatch)


def test_activation_alone_as_prologue_and_bn_with_activation_in_one_pass(h, rng, monkeypatch):
    spec = _graph(h, (6, 6, 4), [
        ("Activation", {"activation": "relu"}, [], None), _conv(h, rng, 4, 4) + (None,),
        ("Add", {}, [], ["conv2d_1", "input"]), _bn(h, rng, 4) + (None,), ("Activation", {"activation": "relu6"}, [], None)])
    # relu -> conv (prologue); the Add hosted by the conv; BN after an Add cannot fold into it: BN + relu6 in one
    _check(spec, h.rand(rng, 2, 6, 6, 4) * 3, 2, monkeypatch)


def test_no_prologue_when_the_batchnorm_output_is_read_twice(h, rng, monkeypatch):
    spec = _graph(h, (6, 6, 4), [_bn(h, rng, 4) + (None,), _conv(h, rng, 4, 4) + (None,),
                                 ("Add", {}, [], ["conv2d_1", "batchnormalization_0"])])
    _check(spec, h.rand(rng, 2, 6, 6, 4), 2, monkeypatch)


@pytest.mark.parametrize("pool", ["MaxPooling2D", "AveragePooling2D"])
def test_zero_padding_absorbed_by_pooling_keeps_its_zeros(h, rng, monkeypatch, pool):
    """The padded zeros take part in the window (a max over negative inputs is 0 at the border)."""
    spec = _graph(h, (7, 6, 3), [("ZeroPadding2D", {"padding": [[1, 1], [0, 2]]}, [], None),
                                 (pool, {"pool_size": [3, 3], "strides": [2, 2], "padding": "valid"}, [], None)])
    _check(spec, -np.abs(h.rand(rng, 2, 7, 6, 3)) - 1, 1, monkeypatch)
