"""Per-step cost of an optimizer update: keraslite (Numba kernels, and its numpy fallback) against a plain numpy
implementation and against tf_keras 2.21's ``optimizer.apply_gradients`` inside a ``tf.function`` (as its fit
loop runs it), on the variables of the issue's two MLPs.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /work/venvs/optimizers/bin/python bench/optimizers.py \\
        [--rounds 9] [--tf-python /work/venvs/tf/bin/python]

Models: the wide MLP 784-512-512-10 (669,706 float32 parameters in 6 variables) and the digits MLP 64-64-10 (4,810
in 4). "keraslite numba" and "keraslite numpy" force a form; by default an optimizer uses Numba when it is already
loaded or the model has at least ``kernels.NUMBA_MIN_PARAMETERS`` parameters (the "default" column assumes Numba is
not loaded by anything else, the worst case for small models). Each round times a block of steps for every peer in turn (tf_keras runs in a worker process fed one block at
a time, so the peers interleave); the figure is the median over rounds of the block's time per step. Ratios are
against tf_keras.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

MODELS = {"wide": [(784, 512), (512,), (512, 512), (512,), (512, 10), (10,)],
          "digits": [(64, 64), (64,), (64, 10), (10,)]}
OPTIMIZERS = {"adam": ("Adam", {}), "sgd": ("SGD", {}), "sgd_momentum": ("SGD", {"momentum": 0.9}),
              "rmsprop": ("RMSprop", {})}
STEPS = {"wide": 20, "digits": 400}


def arrays(model):
    rng = np.random.default_rng(0)
    shapes = MODELS[model]
    return ([rng.normal(0, 0.05, s).astype("float32") for s in shapes],
            [rng.normal(0, 0.01, s).astype("float32") for s in shapes])


def timed(step, n):
    step()
    start = time.perf_counter()
    for _ in range(n):
        step()
    return (time.perf_counter() - start) / n


# ------------------------------------------------------------------------------------------------ peers here
def keraslite_peer(opt_key, model, use_numba):
    from keraslite.train import optimizers
    from keraslite.train.autodiff import Variable

    cls, kwargs = OPTIMIZERS[opt_key]
    weights, grads = arrays(model)
    variables = [Variable(w, name=f"w{i}") for i, w in enumerate(weights)]
    opt = getattr(optimizers, cls)(**kwargs)
    opt._use_numba = use_numba
    opt.apply(grads, variables)
    return lambda: opt.apply(grads, variables)


def numpy_peer(opt_key, model):
    """The textbook numpy update (new arrays each step, as most hand-written optimizers do)."""
    weights, grads = arrays(model)
    m = [np.zeros_like(w) for w in weights]
    v = [np.zeros_like(w) for w in weights]
    state = {"t": 0}

    def adam():
        state["t"] += 1
        t = state["t"]
        alpha = 0.001 * np.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t)
        for i, (w, g) in enumerate(zip(weights, grads)):
            m[i] = 0.9 * m[i] + 0.1 * g
            v[i] = 0.999 * v[i] + 0.001 * g * g
            w -= alpha * m[i] / (np.sqrt(v[i]) + 1e-7)

    def sgd():
        for w, g in zip(weights, grads):
            w -= 0.01 * g

    def sgd_momentum():
        for i, (w, g) in enumerate(zip(weights, grads)):
            m[i] = 0.9 * m[i] - 0.01 * g
            w += m[i]

    def rmsprop():
        for i, (w, g) in enumerate(zip(weights, grads)):
            v[i] = 0.9 * v[i] + 0.1 * g * g
            w -= 0.001 * g / np.sqrt(v[i] + 1e-7)

    return {"adam": adam, "sgd": sgd, "sgd_momentum": sgd_momentum, "rmsprop": rmsprop}[opt_key]


# ------------------------------------------------------------------------------------------------ tf_keras worker
def tf_worker():
    """Read ``opt model steps`` lines, answer each with the seconds per step of tf_keras' apply_gradients."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf
    import tf_keras

    steps = {}
    for line in sys.stdin:
        opt_key, model, n = line.split()
        key = (opt_key, model)
        if key not in steps:
            cls, kwargs = OPTIMIZERS[opt_key]
            weights, grads = arrays(model)
            variables = [tf.Variable(w) for w in weights]
            consts = [tf.constant(g) for g in grads]
            opt = getattr(tf_keras.optimizers, cls)(**kwargs)
            steps[key] = tf.function(lambda o=opt, c=consts, v=variables: o.apply_gradients(zip(c, v)))
            steps[key]()
        print(json.dumps(timed(steps[key], int(n))), flush=True)


class TfPeer:
    def __init__(self, python):
        self.proc = subprocess.Popen([python, __file__, "--tf-worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, env=dict(os.environ, CUDA_VISIBLE_DEVICES=""))

    def run(self, opt_key, model, n):
        self.proc.stdin.write(f"{opt_key} {model} {n}\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--tf-python", default="/work/venvs/tf/bin/python")
    parser.add_argument("--tf-worker", action="store_true")
    args = parser.parse_args()
    if args.tf_worker:
        return tf_worker()
    print(f"load average at start: {os.getloadavg()}")
    tf_peer = TfPeer(args.tf_python) if os.path.exists(args.tf_python) else None
    cases = [(o, m) for m in MODELS for o in OPTIMIZERS]
    peers = {}
    for o, m in cases:
        peers[(o, m)] = {"keraslite numba": keraslite_peer(o, m, True),
                         "keraslite numpy": keraslite_peer(o, m, False), "plain numpy": numpy_peer(o, m)}
    times = {case: {} for case in cases}
    for _ in range(args.rounds):
        for o, m in cases:
            n = STEPS[m]
            for name, step in peers[(o, m)].items():
                times[(o, m)].setdefault(name, []).append(timed(step, n))
            if tf_peer is not None:
                times[(o, m)].setdefault("tf_keras", []).append(tf_peer.run(o, m, n))
    if tf_peer is not None:
        tf_peer.close()
    names = ["keraslite numba", "keraslite numpy", "plain numpy"] + (["tf_keras"] if tf_peer else [])
    print(f"load average at end: {os.getloadavg()}")
    from keraslite.train.optimizers import kernels

    print("| model | optimizer | " + " | ".join(f"{n} (us)" for n in names) + " | default form | default / tf_keras |")
    print("| --- | --- | " + " | ".join("---:" for _ in names) + " | --- | ---: |")
    for o, m in cases:
        med = {n: float(np.median(times[(o, m)][n])) * 1e6 for n in names}
        size = sum(int(np.prod(s)) for s in MODELS[m])
        default = "keraslite numba" if size >= kernels.NUMBA_MIN_PARAMETERS else "keraslite numpy"
        ratio = f"{med[default] / med['tf_keras']:.3f}" if tf_peer else "-"
        print(f"| {m} | {o} | " + " | ".join(f"{med[n]:.1f}" for n in names) + f" | {default.split()[1]} | {ratio} |")


if __name__ == "__main__":
    main()
