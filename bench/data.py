"""Input-pipeline throughput of keraslite against Keras 3 + tf.data (TensorFlow 2.21), in the same run.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/data.py [--rounds 3] [--tasks images,text]
        [--tf-python /work/venvs/tf/bin/python] [--data /tmp/keraslite_bench_data]

Tasks (issue "Training, part 3"):
  images  image_dataset_from_directory(1,000 JPEGs in 5 class folders, 240x320 to 375x500 pixels,
          image_size=(180, 180), batch_size=32, seed=1) and one epoch of iteration: decode + resize of every file.
  text    TextVectorization(max_tokens=10000, output_sequence_length=250).adapt on 25,000 generated reviews
          (~230 words each, batches of 32), then one pass vectorizing all of them (dataset.map(vectorizer)).

The data is generated once (Pillow JPEGs at quality 90; reviews from a Zipf vocabulary) and reused. Each round
runs every task once per framework, alternating, each in a fresh process (this script with --child) so both see
the same machine load; a child times the task alone (imports excluded). The table gives the median seconds over
rounds and the throughput ratios (Keras' time / keraslite's time: above 1.0 keraslite is faster), for wall-clock
time and for the process' CPU time (all threads): on a shared machine the wall time also measures how much of the
cores each process got, the CPU time only the work done. Both use every core: tf.data with AUTOTUNE, keraslite's
map with one worker thread per core.
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
TASKS = ("images", "text")
N_IMAGES, N_REVIEWS = 1000, 25000


def make_images(folder):
    """1,000 photo-like JPEGs (smooth gradients, shapes, noise) of flower-photo sizes in 5 class folders."""
    import numpy as np
    from PIL import Image

    rng = np.random.RandomState(0)
    sizes = [(320, 240), (500, 375), (500, 333), (240, 320), (400, 300)]
    for i in range(N_IMAGES):
        path = os.path.join(folder, f"class_{i % 5}", f"{i:04d}.jpg")
        if os.path.exists(path):
            continue
        os.makedirs(os.path.dirname(path), exist_ok=True)
        w, h = sizes[rng.randint(len(sizes))]
        yy, xx = np.mgrid[0:h, 0:w].astype("float32")
        base = np.stack([xx / w, yy / h, (xx + yy) / (w + h)], -1) * rng.uniform(100, 255, 3)
        for _ in range(4):
            cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(10, w / 3)
            base[(xx - cx) ** 2 + (yy - cy) ** 2 < r * r] = rng.uniform(0, 255, 3)
        base += rng.normal(0, 10, base.shape)
        Image.fromarray(np.clip(base, 0, 255).astype("uint8")).save(path, quality=90)


def make_reviews(path):
    """25,000 reviews of ~230 words drawn from a 20,000-word Zipf vocabulary, with case and punctuation."""
    if os.path.exists(path):
        return
    import numpy as np

    rng = np.random.RandomState(1)
    words = [f"w{i}" for i in range(20000)]
    ranks = np.arange(1, len(words) + 1)
    p = 1.0 / ranks
    p /= p.sum()
    marks = np.array(["", "", "", "", ",", ".", "!", "?"])
    with open(path, "w", encoding="utf-8") as fh:
        for _ in range(N_REVIEWS):
            n = rng.randint(80, 380)
            toks = np.asarray(words)[rng.choice(len(words), n, p=p)]
            toks = np.char.add(toks, marks[rng.randint(len(marks), size=n)])
            text = " ".join(toks.tolist()).capitalize() + " <br /><br />"
            fh.write(text.replace("\n", " ") + "\n")


# ------------------------------------------------------------------------------------------------ child side
def child(framework, task, data):
    if framework == "keras":
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        import tensorflow as tf
        import keras
        autotune, from_slices = tf.data.AUTOTUNE, tf.data.Dataset.from_tensor_slices
    else:
        import keraslite as keras
        import keraslite.runtime.kernels.resize_jit  # noqa: F401  (imports numba, as `import tensorflow` above)
        autotune, from_slices = keras.data.AUTOTUNE, keras.data.Dataset.from_tensor_slices
    import numpy as np

    keras.utils.image_dataset_from_directory, keras.layers.TextVectorization  # imports done before timing
    cpu = time.process_time()
    if task == "images":
        start = time.perf_counter()
        ds = keras.utils.image_dataset_from_directory(os.path.join(data, "images"), image_size=(180, 180),
                                                      batch_size=32, seed=1, verbose=False)
        count = 0
        checksum = 0.0
        for images, labels in ds:
            count += int(images.shape[0])
            checksum += float(np.asarray(images, np.float64).sum())
        seconds = time.perf_counter() - start
        return {"seconds": seconds, "cpu": time.process_time() - cpu, "items": count, "checksum": checksum}
    with open(os.path.join(data, "reviews.txt"), encoding="utf-8") as fh:
        texts = np.array(fh.read().splitlines())
    start = time.perf_counter()
    layer = keras.layers.TextVectorization(max_tokens=10000, output_sequence_length=250)
    ds = from_slices(texts).batch(32)
    layer.adapt(ds)
    adapted = time.perf_counter()
    total = 0
    for batch in ds.map(layer, num_parallel_calls=autotune).prefetch(autotune):
        total += int(np.count_nonzero(np.asarray(batch)))
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "cpu": time.process_time() - cpu, "adapt": adapted - start, "items": len(texts),
            "nonzero": total,
            "vocabulary": layer.get_vocabulary()[:5]}


# ------------------------------------------------------------------------------------------------ parent side
def run_child(python, framework, task, data):
    out = subprocess.run([python, __file__, "--child", framework, task, "--data", data], capture_output=True,
                         text=True, timeout=1800, env=dict(os.environ, KERAS_BACKEND="tensorflow"))
    if out.returncode != 0:
        raise RuntimeError(f"{framework} {task} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument("--tf-python", default="/work/venvs/tf/bin/python")
    parser.add_argument("--data", default="/tmp/keraslite_bench_data")
    parser.add_argument("--child", nargs=2, metavar=("FRAMEWORK", "TASK"))
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], args.child[1], args.data)))
        return
    make_images(os.path.join(args.data, "images"))
    make_reviews(os.path.join(args.data, "reviews.txt"))
    tasks = args.tasks.split(",")
    results = {(t, f): [] for t in tasks for f in ("keraslite", "keras")}
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    for r in range(args.rounds):
        for task in tasks:
            for framework, python in (("keraslite", sys.executable), ("keras", args.tf_python)):
                res = run_child(python, framework, task, args.data)
                results[(task, framework)].append(res)
                print(f"round {r + 1} {task:6s} {framework:9s} {res['seconds']:.2f}s wall, {res['cpu']:.2f}s CPU"
                      + (f" (adapt {res['adapt']:.2f}s)" if "adapt" in res else "")
                      + f", load {os.getloadavg()[0]:.1f}", flush=True)
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    print("\n| task | keraslite wall (s) | Keras wall (s) | wall throughput ratio | keraslite CPU (s) | "
          "Keras CPU (s) | CPU throughput ratio |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for task in tasks:
        row = []
        for key in ("seconds", "cpu"):
            ours = statistics.median(r[key] for r in results[(task, "keraslite")])
            theirs = statistics.median(r[key] for r in results[(task, "keras")])
            row += [f"{ours:.2f}", f"{theirs:.2f}", f"{theirs / ours:.2f}"]
        print(f"| {task} | " + " | ".join(row) + " |")
    for task in tasks:
        a, b = results[(task, "keraslite")][0], results[(task, "keras")][0]
        same = {k: a[k] for k in a if k not in ("seconds", "cpu", "adapt") and (
            a[k] == b.get(k) or isinstance(a[k], float) and abs(a[k] - b[k]) <= 1e-9 * abs(b[k]))}
        print(f"{task}: keraslite and Keras agree on {same}")


if __name__ == "__main__":
    main()
