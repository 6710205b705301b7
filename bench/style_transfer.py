"""Neural style transfer on VGG19: keraslite (examples/style_transfer.py) against tf_keras running the tutorial's
loop (``@tf.function`` train_step, ``tf.linalg.einsum`` Gram matrices, ``tf.image.total_variation``), same weights,
same pictures, same run.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/style_transfer.py [--size 256] [--steps 100]
        [--round 10] [--weights vgg19_notop.h5] [--tf-python /work/venvs/tf/bin/python] [--json out.json]

Two worker processes (one per framework) build the extractor once; the driver then alternates rounds of
``--round`` steps between them until each has run ``--steps``, so both see the same machine load. Without
``--weights``, keraslite's random VGG19 weights (seed 0) are saved with save_weights and loaded by both. Reported:
median seconds per step (the first step of each, with tracing/compilation, separately), the ratio keraslite /
tf_keras, the total loss at steps 1, 10, 50, 100 (and the last) for both, and each worker's peak RSS.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IMAGES = os.path.join(ROOT, "examples", "images")


# ------------------------------------------------------------------------------------------------ workers
def keraslite_worker(args):
    sys.path.insert(0, os.path.join(ROOT, "examples"))
    import style_transfer as st

    import keraslite as keras
    from keraslite import ops

    content, style = st.load_img(args.content, args.size), st.load_img(args.style, args.size)
    extractor = st.StyleContentModel(st.style_layers, st.content_layers, args.weights)
    style_targets = extractor(ops.convert_to_tensor(style))["style"]
    content_targets = extractor(ops.convert_to_tensor(content))["content"]
    image = keras.Variable(content)
    step = st.style_transfer_step(extractor, style_targets, content_targets)
    return lambda: step(image)


def tf_keras_worker(args):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import numpy as np
    import tensorflow as tf
    import tf_keras

    from PIL import Image

    style_layers = ["block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1"]
    content_layers = ["block5_conv2"]

    def load_img(path, max_dim):  # the example's load_img (which imports keraslite, absent from this venv)
        img = Image.open(path).convert("RGB")
        scale = max_dim / max(img.size)
        img = img.resize((max(1, int(img.width * scale)), max(1, int(img.height * scale))), Image.BILINEAR)
        return np.asarray(img, dtype="float32")[np.newaxis] / 255.0

    vgg = tf_keras.applications.VGG19(include_top=False, weights=args.weights)
    vgg.trainable = False
    model = tf_keras.Model([vgg.input], [vgg.get_layer(n).output for n in style_layers + content_layers])

    def gram_matrix(t):
        result = tf.linalg.einsum("bijc,bijd->bcd", t, t)
        shape = tf.shape(t)
        return result / tf.cast(shape[1] * shape[2], tf.float32)

    def extract(inputs):
        outputs = model(tf_keras.applications.vgg19.preprocess_input(inputs * 255.0))
        return [gram_matrix(o) for o in outputs[:len(style_layers)]], outputs[len(style_layers):]

    style_targets = extract(tf.constant(load_img(args.style, args.size)))[0]
    content_targets = extract(tf.constant(load_img(args.content, args.size)))[1]
    image = tf.Variable(load_img(args.content, args.size))
    opt = tf_keras.optimizers.Adam(learning_rate=0.02, beta_1=0.99, epsilon=1e-1)

    @tf.function()
    def train_step(image):
        with tf.GradientTape() as tape:
            style_out, content_out = extract(image)
            style_loss = tf.add_n([tf.reduce_mean((o - t) ** 2) for o, t in zip(style_out, style_targets)])
            style_loss *= 1e-2 / len(style_layers)
            content_loss = tf.add_n([tf.reduce_mean((o - t) ** 2) for o, t in zip(content_out, content_targets)])
            content_loss *= 1e4 / len(content_layers)
            loss = style_loss + content_loss + 30 * tf.image.total_variation(image)
        grad = tape.gradient(loss, image)
        opt.apply_gradients([(grad, image)])
        image.assign(tf.clip_by_value(image, 0.0, 1.0))
        return tf.reduce_sum(loss)

    return lambda: float(np.asarray(train_step(image)))


def worker(args):
    step = (keraslite_worker if args.worker == "keraslite" else tf_keras_worker)(args)
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        command = json.loads(line)
        if command.get("stop"):
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(json.dumps({"peak_rss_mb": rss}), flush=True)
            return
        times, losses = [], []
        for _ in range(command["steps"]):
            start = time.perf_counter()
            losses.append(step())
            times.append(time.perf_counter() - start)
        print(json.dumps({"times": times, "losses": losses}), flush=True)


# ------------------------------------------------------------------------------------------------ driver
def start(python, name, args, weights):
    cmd = [python, os.path.abspath(__file__), "--worker", name, "--size", str(args.size), "--content", args.content,
           "--style", args.style] + (["--weights", weights] if weights else [])
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    return proc


def ask(proc, command):
    proc.stdin.write(json.dumps(command) + "\n")
    proc.stdin.flush()
    return json.loads(proc.stdout.readline())


def random_weights(folder):
    """keraslite's random VGG19 (seed 0) in the legacy .h5 layout, for both workers."""
    import keraslite as keras

    keras.utils.set_random_seed(0)
    path = os.path.join(folder, "vgg19_random_notop.h5")
    keras.applications.VGG19(include_top=False, weights=None).save_weights(path)
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--round", type=int, default=10)
    parser.add_argument("--weights")
    parser.add_argument("--content", default=os.path.join(IMAGES, "content.png"))
    parser.add_argument("--style", default=os.path.join(IMAGES, "style.png"))
    parser.add_argument("--tf-python", default="/work/venvs/tf/bin/python")
    parser.add_argument("--json")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    print(f"load average at start: {os.getloadavg()}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        weights = args.weights or random_weights(tmp)
        procs = {"keraslite": start(sys.executable, "keraslite", args, weights),
                 "tf_keras": start(args.tf_python, "tf_keras", args, weights)}
        for name, proc in procs.items():
            if not json.loads(proc.stdout.readline()).get("ready"):
                sys.exit(f"{name} worker failed to start")
        runs = {name: {"times": [], "losses": []} for name in procs}
        done = 0
        while done < args.steps:
            n = min(args.round, args.steps - done)
            for name, proc in procs.items():
                out = ask(proc, {"steps": n})
                runs[name]["times"] += out["times"]
                runs[name]["losses"] += out["losses"]
            done += n
            print(f"{done} steps: " + ", ".join(f"{k} {statistics.median(v['times'][1:] or v['times']):.3f} s/step "
                                               f"loss {v['losses'][-1]:.4g}" for k, v in runs.items()), flush=True)
        for name, proc in procs.items():
            runs[name].update(ask(proc, {"stop": True}))
            proc.wait()
    report(args, runs, weights is not None and args.weights is not None)


def report(args, runs, pretrained):
    lines = [f"VGG19 style transfer at {args.size}x{args.size} (long side), {args.steps} steps, "
             f"{'Keras weights' if pretrained else 'random weights (seed 0)'}; load average {os.getloadavg()}"]
    med = {k: statistics.median(v["times"][1:]) for k, v in runs.items()}
    for name, run in runs.items():
        marks = [s for s in (1, 10, 50, 100, len(run["losses"])) if s <= len(run["losses"])]
        losses = ", ".join(f"step {s}: {run['losses'][s - 1]:.4g}" for s in sorted(set(marks)))
        lines.append(f"{name:9s}: {med[name]:.3f} s/step (median of steps 2..{len(run['times'])}; first step "
                     f"{run['times'][0]:.2f} s), peak RSS {run['peak_rss_mb']:.0f} MB; loss {losses}")
    lines.append(f"ratio keraslite / tf_keras: {med['keraslite'] / med['tf_keras']:.2f}x s/step")
    print("\n".join(lines))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"args": vars(args), "runs": runs}, fh)


if __name__ == "__main__":
    main()
