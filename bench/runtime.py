"""Runtime benchmark: keraslite.runtime against onnxruntime on the same models, plus cold start.

    /work/venvs/dev/bin/python bench/runtime.py [--rounds 15] [--out DIR] [--default-threads] [--no-cold]

Builds five models in code (random weights, keraslite.format.write), exports each with
keraslite.converters.export_onnx, and measures, interleaved in one run, the median predict latency at batch 1 and
32 of keraslite and onnxruntime. Then cold start: a fresh process imports the library, loads the CNN and predicts
one sample; wall time and peak RSS for keraslite, onnxruntime and tf.keras (run with /work/venvs/tf/bin/python when
it exists). Prints a Markdown section for bench/RESULTS.md. Not a test: numbers depend on the machine and its load.
"""
import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time

# One core each, for both peers: on a shared 2-core machine multi-threaded BLAS/ORT pools mostly measure contention.
# ``--default-threads`` leaves both at their defaults (OpenBLAS and onnxruntime use every core).
DEFAULT_THREADS = "--default-threads" in sys.argv
if not DEFAULT_THREADS:
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if os.path.dirname(ROOT) not in sys.path:
    sys.path.insert(0, os.path.dirname(ROOT))  # so `import keraslite` works from a checkout

from keraslite.format.spec import LayerSpec, ModelSpec, TensorRef  # noqa: E402

RNG = np.random.default_rng(0)
TF_PYTHON = "/work/venvs/tf/bin/python"


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


def _median_us(fn, x, rounds, target_s=0.02):
    """Per-call time in microseconds of ``fn(x)``: several calls per round, the median over rounds."""
    fn(x)
    start = time.perf_counter()
    fn(x)
    one = max(time.perf_counter() - start, 1e-6)
    reps = max(1, int(target_s / one))
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(reps):
            fn(x)
        times.append((time.perf_counter() - start) / reps)
    return times


def latency(models, rounds):
    import onnxruntime as ort

    from keraslite import runtime

    rows = []
    for label, (h5, onnx_path, make_x) in models.items():
        m = runtime.load(h5)
        opts = ort.SessionOptions()
        if not DEFAULT_THREADS:
            opts.intra_op_num_threads = opts.inter_op_num_threads = 1
        sess = ort.InferenceSession(onnx_path, opts, providers=["CPUExecutionProvider"])
        in_name = sess.get_inputs()[0].name
        for batch in (1, 32):
            x = make_x(batch)
            ours, peer = m.predict(x), sess.run(None, {in_name: x})[0]
            err = float(np.abs(ours - peer).max())
            t_ours, t_ort = [], []
            for _ in range(rounds):  # interleaved: one short round of each, in turn
                t_ours += _median_us(m.predict, x, 1)
                t_ort += _median_us(lambda a: sess.run(None, {in_name: a}), x, 1)
            a, b = statistics.median(t_ours) * 1e6, statistics.median(t_ort) * 1e6
            rows.append((label, batch, a, b, a / b, err))
            print(f"{label:32s} batch {batch:2d}: keraslite {a:9.1f} us  onnxruntime {b:9.1f} us  "
                  f"ratio {a / b:5.2f}  max|diff| {err:.1e}", flush=True)
    return rows


COLD = {
    "keraslite": ("import numpy as np\nfrom keraslite import runtime\nm = runtime.load({h5!r})\n"
                  "m.predict(np.zeros((1, 32, 32, 3), np.float32))\n"),
    "onnxruntime": ("import numpy as np, onnxruntime as ort\ns = ort.InferenceSession({onnx!r}, "
                    "providers=['CPUExecutionProvider'])\n"
                    "s.run(None, {{s.get_inputs()[0].name: np.zeros((1, 32, 32, 3), np.float32)}})\n"),
    "tf.keras": ("import os\nos.environ['TF_CPP_MIN_LOG_LEVEL'] = '3'\nimport numpy as np, tensorflow as tf\n"
                 "m = tf.keras.models.load_model({h5!r}, compile=False)\n"
                 "m.predict(np.zeros((1, 32, 32, 3), np.float32), verbose=0)\n"),
}


def _run_cold(python, code, cwd):
    """(wall seconds, peak RSS MiB) of a fresh ``python -c code``."""
    # /usr/bin/time reports the child's own peak RSS; a child forked from this (large) process would inherit ours.
    start = time.perf_counter()
    done = subprocess.run(["/usr/bin/time", "-f", "RSSKB=%M", python, "-c", code], cwd=cwd,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    if done.returncode:
        raise RuntimeError(done.stderr[-2000:])
    rss_kb = int(done.stderr.rsplit("RSSKB=", 1)[1].split()[0])
    return wall, rss_kb / 1024


def cold_start(h5, onnx_path, repeats):
    rows = []
    for peer, code in COLD.items():
        python = sys.executable
        if peer == "tf.keras":
            if not os.path.exists(TF_PYTHON):
                print("tf.keras: not installed")
                continue
            python = TF_PYTHON
        code = code.format(h5=h5, onnx=onnx_path)
        _run_cold(python, code, os.path.dirname(ROOT))  # warm the OS file cache (and Numba's cache)
        runs = [_run_cold(python, code, os.path.dirname(ROOT)) for _ in range(repeats if peer != "tf.keras" else 1)]
        wall = statistics.median(r[0] for r in runs)
        rss = max(r[1] for r in runs)
        rows.append((peer, wall, rss))
        print(f"cold start {peer:12s}: {wall:6.2f} s  peak RSS {rss:6.0f} MiB", flush=True)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--cold-repeats", type=int, default=5)
    parser.add_argument("--out", default=None, help="folder for the model files (default: a temporary one)")
    parser.add_argument("--default-threads", action="store_true",
                        help="leave OpenBLAS and onnxruntime thread pools at their defaults (read before numpy loads)")
    parser.add_argument("--no-cold", action="store_true", help="skip the cold-start measurements")
    args = parser.parse_args(argv)
    from keraslite.converters import export_onnx
    from keraslite.format import write

    out = args.out or tempfile.mkdtemp(prefix="keraslite-bench-")
    os.makedirs(out, exist_ok=True)
    models = {}
    for label, make in MODELS.items():
        spec, make_x = make()
        h5 = os.path.join(out, spec.name + ".h5")
        onnx_path = os.path.join(out, spec.name + ".onnx")
        write(spec, h5)
        export_onnx(h5, onnx_path)
        models[label] = (h5, onnx_path, make_x)
    rows = latency(models, args.rounds)
    geo = math.exp(statistics.mean(math.log(r[4]) for r in rows))
    print(f"geometric-mean ratio keraslite/onnxruntime: {geo:.2f} (target <= 2.0)")
    cnn_h5, cnn_onnx, _ = models["CNN (3 Conv2D + pool + Dense)"]
    cold = [] if args.no_cold else cold_start(cnn_h5, cnn_onnx, args.cold_repeats)
    print("\n--- Markdown for bench/RESULTS.md ---\n")
    print("| model | batch | keraslite (us) | onnxruntime (us) | ratio | max abs diff |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for label, batch, a, b, ratio, err in rows:
        print(f"| {label} | {batch} | {a:.1f} | {b:.1f} | {ratio:.2f} | {err:.1e} |")
    print(f"\nGeometric-mean latency ratio keraslite/onnxruntime over {len(rows)} cases: **{geo:.2f}** "
          f"(target <= 2.0).\n")
    print("| cold start (import, load CNN, predict 1) | wall (s) | peak RSS (MiB) |")
    print("| --- | ---: | ---: |")
    for peer, wall, rss in cold:
        print(f"| {peer} | {wall:.2f} | {rss:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
