"""Training speed, start-up and memory of keraslite against tf_keras 2.21, each task in fresh processes.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/train.py [--rounds 3]
        [--tf-python /work/venvs/tf/bin/python] [--tasks digits_mlp,digits_cnn,wide_mlp,lstm,gru,bilstm,mnist_cnn]

Each round runs every task once per framework, alternating, in a new process (the same script with --child), so
both see the same machine load. A child reports: seconds from its launch to the end of the first epoch
(imports, model building, first-epoch compilation included), the steady epoch time (median of epochs 2..N), its
peak RSS, and the test accuracy. The table gives medians over rounds and the ratio keraslite / tf_keras.

Tasks (issue "Training, part 1" and "part 2"):
  digits_mlp  Dense 64 relu, Dropout 0.1, Dense 10 softmax; adam; batch 32; 30 epochs; validation_split 0.2
  digits_cnn  Conv2D 16 same relu, MaxPooling2D, Conv2D 32 same relu, Flatten, Dense 64 relu, Dense 10 logits;
              batch 32; 15 epochs
  wide_mlp    784-512-512-10 on 20,000 random samples, batch 128, 5 epochs
  lstm/gru/bilstm  Embedding(1000, 32) -> LSTM(32) | GRU(32) | Bidirectional(LSTM(32)) -> Dense(1, sigmoid) on
              2,000 sequences of length 50, batch 64, 5 epochs
  mnist_cnn   Keras' "Simple MNIST convnet" example's model (Conv2D 32 relu, MaxPooling2D, Conv2D 64 relu,
              MaxPooling2D, Flatten, Dropout 0.5, Dense 10 softmax; adam) on 6,400 random 28x28 images whose label
              is the brightest quadrant's, batch 128, 4 epochs (not in any issue's figures; the tutorial users meet)
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DIGITS = os.path.join(ROOT, "datasets", "digits.npz")
TASKS = ("digits_mlp", "digits_cnn", "wide_mlp", "lstm", "gru", "bilstm", "mnist_cnn")


# ------------------------------------------------------------------------------------------------ child side
def _data(task, np):
    rng = np.random.default_rng(0)
    if task.startswith("digits"):
        with np.load(DIGITS) as d:
            images, labels = d["images"].astype("float32") / 16.0, d["labels"].astype("int64")
        x = images[..., None] if task == "digits_cnn" else images.reshape(-1, 64)
        return (x[:1437], labels[:1437]), (x[1437:], labels[1437:])
    if task == "wide_mlp":
        x = rng.standard_normal(size=(22000, 784), dtype=np.float32)  # no float64 copy in the peak RSS
        w = rng.standard_normal(size=(784, 10), dtype=np.float32)
        y = np.argmax(x @ w, axis=1)
        return (x[:20000], y[:20000]), (x[20000:], y[20000:])
    if task == "mnist_cnn":
        x = rng.random((7400, 28, 28, 1), dtype=np.float32)
        y = np.argmax(x.reshape(-1, 2, 14, 2, 14).sum(axis=(2, 4)).reshape(-1, 4), axis=1)
        return (x[:6400], y[:6400]), (x[6400:], y[6400:])
    x = rng.integers(1, 1000, size=(2400, 50))
    y = (np.mean(x[:, :10] > 500, axis=1) > 0.5).astype("float32")
    return (x[:2000], y[:2000]), (x[2000:], y[2000:])


def _model(task, keras):
    L = keras.layers
    if task == "digits_mlp":
        model = keras.Sequential([keras.Input(shape=(64,)), L.Dense(64, activation="relu"), L.Dropout(0.1),
                                  L.Dense(10, activation="softmax")])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return model, dict(batch_size=32, epochs=30, validation_split=0.2)
    if task == "digits_cnn":
        model = keras.Sequential([keras.Input(shape=(8, 8, 1)), L.Conv2D(16, 3, padding="same", activation="relu"),
                                  L.MaxPooling2D(), L.Conv2D(32, 3, padding="same", activation="relu"), L.Flatten(),
                                  L.Dense(64, activation="relu"), L.Dense(10)])
        model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=["accuracy"])
        return model, dict(batch_size=32, epochs=15)
    if task == "wide_mlp":
        model = keras.Sequential([keras.Input(shape=(784,)), L.Dense(512, activation="relu"),
                                  L.Dense(512, activation="relu"), L.Dense(10, activation="softmax")])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return model, dict(batch_size=128, epochs=5)
    if task == "mnist_cnn":
        model = keras.Sequential([keras.Input(shape=(28, 28, 1)), L.Conv2D(32, 3, activation="relu"),
                                  L.MaxPooling2D(), L.Conv2D(64, 3, activation="relu"), L.MaxPooling2D(),
                                  L.Flatten(), L.Dropout(0.5), L.Dense(10, activation="softmax")])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return model, dict(batch_size=128, epochs=4)
    rnn = {"lstm": lambda: L.LSTM(32), "gru": lambda: L.GRU(32),
           "bilstm": lambda: L.Bidirectional(L.LSTM(32))}[task]()
    model = keras.Sequential([keras.Input(shape=(50,)), L.Embedding(1000, 32), rnn, L.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    return model, dict(batch_size=64, epochs=5)


def child(task, framework, launched):
    import resource

    import numpy as np

    if framework == "tf_keras":
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        import tensorflow as tf  # noqa: F401
        import tf_keras as keras
    else:
        import keraslite as keras
    keras.utils.set_random_seed(0)
    (x, y), (xt, yt) = _data(task, np)
    model, fit_args = _model(task, keras)
    marks = []

    class Clock(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            marks.append(time.time())

    start = time.time()
    model.fit(x, y, verbose=0, callbacks=[Clock()], **fit_args)
    epochs = [b - a for a, b in zip([start] + marks[:-1], marks)]
    result = model.evaluate(xt, yt, verbose=0)
    accuracy = float(result[-1]) if isinstance(result, (list, tuple)) else float(result)
    print(json.dumps({"first_epoch_end": marks[0] - launched, "epoch": statistics.median(epochs[1:]),
                      "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "accuracy": accuracy}))


# ------------------------------------------------------------------------------------------------ parent side
def run(task, framework, python):
    cmd = [python, os.path.abspath(__file__), "--child", task, "--framework", framework,
           "--launched", repr(time.time())]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=3600)
    if proc.returncode != 0:
        raise RuntimeError(f"{framework} {task} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def core_scaling():
    """How much faster a compute-bound kernel (the compiled GEMM, hot in cache) runs on two threads than on one.

    This machine's two vCPUs sometimes sit on two physical cores (~1.9x) and sometimes share one core's FMA units
    (~1.0x: two concurrent FMA loops each get half the single-thread rate). The matrix products of the wide MLP slow
    down with them, so each round prints the figure beside its times. None when the compiled kernels are missing."""
    import numpy as np

    from keraslite.runtime import native

    lib = native.lib()
    if lib is None:
        return None
    a = np.ones((512, 512), np.float32)
    packed, y = native.pack(a), np.empty((512, 512), np.float32)
    best = {}
    try:
        for threads in (1, 2, 1, 2):
            native.set_num_threads(threads)
            lib.gemm(a, packed, y, None, None, 0)
            start = time.perf_counter()
            for _ in range(20):
                lib.gemm(a, packed, y, None, None, 0)
            best[threads] = min(best.get(threads, 1e9), time.perf_counter() - start)
    finally:
        native.set_num_threads(native._env_threads())
    return best[1] / best[2]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tasks", default="digits_mlp,digits_cnn,wide_mlp")
    parser.add_argument("--tf-python", default="/work/venvs/tf/bin/python")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--framework", default="keraslite", help=argparse.SUPPRESS)
    parser.add_argument("--launched", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.framework, args.launched)
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if os.environ.get(var):
            print(f"warning: {var} is set; it forces slower OpenBLAS kernels than users get. Run with "
                  f"`env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE`", file=sys.stderr)
    tasks = [t for t in args.tasks.split(",") if t]
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from bytecode import compile_packages

    compile_packages("keraslite")  # tf_keras' files were compiled by pip; see bench/bytecode.py
    pythons = {"keraslite": sys.executable, "tf_keras": args.tf_python}
    results = {(t, f): [] for t in tasks for f in pythons}
    print(f"load average at start: {os.getloadavg()[0]:.2f}", flush=True)
    for r in range(args.rounds):
        scaling = core_scaling()
        if scaling is not None:
            print(f"round {r + 1}: two-thread GEMM scaling {scaling:.2f}x (see core_scaling)", flush=True)
        for task in tasks:
            for framework in (("keraslite", "tf_keras") if r % 2 == 0 else ("tf_keras", "keraslite")):
                results[(task, framework)].append(run(task, framework, pythons[framework]))
                print(f"round {r + 1} {task} {framework}: {results[(task, framework)][-1]}", flush=True)
    print(f"load average at end: {os.getloadavg()[0]:.2f}\n")
    header = ("| task | metric | keraslite | tf_keras | ratio |\n| --- | --- | ---: | ---: | ---: |")
    print(header)
    for task in tasks:
        for key, label, fmt in (("epoch", "steady s/epoch", "{:.4f}"), ("first_epoch_end", "start to 1st epoch end (s)",
                                                                       "{:.2f}"),
                                ("rss_mib", "peak RSS (MiB)", "{:.0f}"), ("accuracy", "test accuracy", "{:.4f}")):
            ours = statistics.median(v[key] for v in results[(task, "keraslite")])
            theirs = statistics.median(v[key] for v in results[(task, "tf_keras")])
            ratio = f"{ours / theirs:.2f}" if key != "accuracy" else f"{100 * (ours - theirs):+.1f} pt"
            print(f"| {task} | {label} | {fmt.format(ours)} | {fmt.format(theirs)} | {ratio} |")


if __name__ == "__main__":
    main()
