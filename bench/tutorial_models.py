"""The tutorial models of bench/runtime.py, built in code with random weights (a small ModelSpec builder)."""
import math

import numpy as np

from keraslite.format.spec import LayerSpec, ModelSpec, TensorRef

RNG = np.random.default_rng(0)


class Graph:
    """A tiny ModelSpec builder: ``g.add(cls, config, weights, *inputs) -> name``."""

    def __init__(self, name, shape, dtype="float32"):
        self.name, self.layers, self.count = name, [], 0
        self.layers.append(LayerSpec("input", "InputLayer", {"batch_shape": [None, *shape], "dtype": dtype}))

    def add(self, cls, config, weights=(), *inputs):
        self.count += 1
        name = f"{cls.lower()}_{self.count}"
        refs = [TensorRef(i) for i in (inputs or [self.layers[-1].name])]
        self.layers.append(LayerSpec(name, cls, dict(config), list(weights), [refs]))
        return name

    def spec(self):
        return ModelSpec(self.name, self.layers, [TensorRef("input")], [TensorRef(self.layers[-1].name)])


def w(*shape, fan_in=None):
    fan_in = fan_in or (int(np.prod(shape[:-1])) or 1)
    return (RNG.standard_normal(shape) * math.sqrt(2.0 / fan_in)).astype(np.float32)


def dense(g, units, act, fan_in, *inputs):
    return g.add("Dense", {"units": units, "activation": act, "use_bias": True},
                 [("kernel", w(fan_in, units)), ("bias", np.zeros(units, np.float32))], *inputs)


def conv(g, cin, filters, k, stride=1, padding="same", act="linear", bias=True):
    weights = [("kernel", w(k, k, cin, filters))] + ([("bias", np.zeros(filters, np.float32))] if bias else [])
    return g.add("Conv2D", {"filters": filters, "kernel_size": [k, k], "strides": [stride, stride], "padding": padding,
                            "dilation_rate": [1, 1], "groups": 1, "activation": act, "use_bias": bias,
                            "data_format": "channels_last"}, weights)


def bn(g, c, *inputs):
    return g.add("BatchNormalization", {"axis": -1, "epsilon": 1e-3, "center": True, "scale": True, "momentum": 0.99},
                 [("gamma", (1 + 0.1 * RNG.standard_normal(c)).astype(np.float32)),
                  ("beta", (0.1 * RNG.standard_normal(c)).astype(np.float32)),
                  ("moving_mean", (0.1 * RNG.standard_normal(c)).astype(np.float32)),
                  ("moving_variance", (1 + 0.1 * RNG.random(c)).astype(np.float32))], *inputs)


def relu6(g):
    return g.add("ReLU", {"max_value": 6.0, "negative_slope": 0.0, "threshold": 0.0})


def mlp():
    g = Graph("mlp", (784,))
    dense(g, 512, "relu", 784)
    dense(g, 10, "softmax", 512)
    return g.spec(), lambda n: RNG.standard_normal((n, 784)).astype(np.float32)


def cnn():
    g = Graph("cnn", (32, 32, 3))
    for cin, cout in ((3, 32), (32, 64), (64, 64)):
        conv(g, cin, cout, 3, act="relu")
        g.add("MaxPooling2D", {"pool_size": [2, 2], "strides": [2, 2], "padding": "valid",
                               "data_format": "channels_last"})
    g.add("Flatten", {"data_format": "channels_last"})
    dense(g, 10, "softmax", 4 * 4 * 64)
    return g.spec(), lambda n: RNG.random((n, 32, 32, 3)).astype(np.float32)


def _embedding(g, vocab, dim):
    g.add("Embedding", {"input_dim": vocab, "output_dim": dim, "mask_zero": False},
          [("embeddings", (RNG.standard_normal((vocab, dim)) * 0.05).astype(np.float32))])


def text_gap():
    g = Graph("text_gap", (100,), dtype="int32")
    _embedding(g, 10000, 64)
    g.add("GlobalAveragePooling1D", {"data_format": "channels_last", "keepdims": False})
    dense(g, 1, "sigmoid", 64)
    return g.spec(), lambda n: RNG.integers(0, 10000, (n, 100)).astype(np.int32)


def text_lstm():
    g = Graph("text_lstm", (50,), dtype="int32")
    _embedding(g, 10000, 64)
    u = 64
    g.add("LSTM", {"units": u, "activation": "tanh", "recurrent_activation": "sigmoid", "use_bias": True,
                   "return_sequences": False, "return_state": False, "go_backwards": False, "stateful": False,
                   "unroll": False, "unit_forget_bias": True, "dropout": 0.0, "recurrent_dropout": 0.0},
          [("kernel", w(64, 4 * u)), ("recurrent_kernel", w(u, 4 * u)), ("bias", np.zeros(4 * u, np.float32))])
    dense(g, 1, "sigmoid", u)
    return g.spec(), lambda n: RNG.integers(0, 10000, (n, 50)).astype(np.int32)


def mobilenet():
    g = Graph("mobilenet", (64, 64, 3))
    g.add("ZeroPadding2D", {"padding": [[0, 1], [0, 1]], "data_format": "channels_last"})
    conv(g, 3, 16, 3, stride=2, padding="valid", bias=False)
    bn(g, 16)
    x, c = relu6(g), 16
    for cout, stride in ((16, 1), (24, 2), (24, 1), (32, 2), (32, 1)):
        conv(g, c, c * 6, 1, bias=False)
        bn(g, c * 6)
        relu6(g)
        if stride == 2:
            g.add("ZeroPadding2D", {"padding": [[0, 1], [0, 1]], "data_format": "channels_last"})
        g.add("DepthwiseConv2D", {"kernel_size": [3, 3], "strides": [stride, stride],
                                  "padding": "same" if stride == 1 else "valid", "depth_multiplier": 1,
                                  "dilation_rate": [1, 1], "activation": "linear", "use_bias": False,
                                  "data_format": "channels_last"}, [("depthwise_kernel", w(3, 3, c * 6, 1, fan_in=9))])
        bn(g, c * 6)
        relu6(g)
        conv(g, c * 6, cout, 1, bias=False)
        y = bn(g, cout)
        if stride == 1 and cout == c:
            y = g.add("Add", {}, [], x, y)
        x, c = y, cout
    g.add("GlobalAveragePooling2D", {"data_format": "channels_last", "keepdims": False})
    dense(g, 10, "softmax", c)
    return g.spec(), lambda n: RNG.random((n, 64, 64, 3)).astype(np.float32)


MODELS = {"MLP 784-512-10": mlp, "CNN (3 Conv2D + pool + Dense)": cnn, "Embedding + GAP1D + Dense": text_gap,
          "Embedding + LSTM(64)": text_lstm, "MobileNetV2-style": mobilenet}
