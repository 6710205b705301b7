"""Runtime benchmark: keraslite.runtime against onnxruntime on the same models, plus cold start.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /work/venvs/dev/bin/python bench/runtime.py
        [--set all|tutorial|apps] [--threads both|one|default] [--rounds 9] [--apps /work/cache/keras_apps/keras2]
        [--only NAME ...] [--no-cold | --cold-only] [--out DIR]

Two model sets: the tutorial models of ``tutorial_models.py`` (built in code, random weights) at batch 1, 8 and 32,
and the keras.applications files made by real Keras (tests/fixtures/make_applications.py, 96x96 inputs, random
weights, the images stored beside them as inputs) at batch 1 and 8; applications keraslite cannot load are listed.
onnxruntime runs keraslite's own ONNX export of each file. Each thread setting runs in its own process (the BLAS
pools read their size at import): "one" gives keraslite, OpenBLAS and onnxruntime one thread each, "default"
leaves every pool at its default. The two peers alternate round by round in one process, with a 50 ms pause
between rounds so neither's idle-spinning pool runs into the other's timing; the figure is the median of every
call's own time (a call preempted on the shared machine is an outlier, not part of an average). Then cold start: a
fresh process imports the library, loads a model and predicts one sample (wall time and peak RSS by
/usr/bin/time) for a plain CNN, MobileNetV2 and an LSTM text model, with every package's ``.pyc`` files written
first as a pip install writes them. Prints Markdown for bench/RESULTS.md. Not a test: numbers depend on the
machine and its load (printed at start and end).
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
APPS_DIR = "/work/cache/keras_apps/keras2"
APPS = ["MobileNet", "MobileNetV2", "MobileNetV3Small", "MobileNetV3Large", "EfficientNetB0", "DenseNet121",
        "NASNetMobile", "VGG16", "ResNet50", "ResNet50V2", "InceptionV3", "Xception"]
THREAD_VARS = ("KERASLITE_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")
# seconds between the two peers' rounds (not timed): onnxruntime's threads spin for ~30 ms after a run (19 ms
# of CPU time still to come 10 ms after one, none 50 ms after), ours for 1 ms (runtime/csrc/threads.c)
GAP = 0.05


def _import_path():
    if os.path.dirname(ROOT) not in sys.path:
        sys.path.insert(0, os.path.dirname(ROOT))  # so `import keraslite` works from a checkout
    if HERE not in sys.path:
        sys.path.insert(0, HERE)


def load_average():
    return " / ".join(f"{v:.1f}" for v in os.getloadavg())


# ---- preparing the model files (parent process) ----------------------------------------------------------------


def prepare(args):
    """Cases ``{label, set, h5, onnx, batches, x}`` and the applications that do not load: ``(name, reason)``."""
    _import_path()
    from keraslite import runtime
    from keraslite.converters import export_onnx
    from keraslite.format import write
    from tutorial_models import MODELS

    cases, failed = [], []
    if args.set in ("all", "tutorial"):
        for label, make in MODELS.items():
            spec, _ = make()
            h5, onnx_path = (os.path.join(args.out, spec.name + ext) for ext in (".h5", ".onnx"))
            write(spec, h5)
            export_onnx(h5, onnx_path)
            cases.append({"label": label, "set": "tutorial", "h5": h5, "onnx": onnx_path, "batches": [1, 8, 32],
                          "x": None, "builder": label})
    if args.set in ("all", "apps"):
        for name in args.only or APPS:
            h5 = os.path.join(args.apps, name + ".h5")
            if not os.path.exists(h5):
                failed.append((name, f"{h5} does not exist"))
                continue
            try:
                runtime.load(h5)
                onnx_path = os.path.join(args.out, name + ".onnx")
                if not os.path.exists(onnx_path):
                    export_onnx(h5, onnx_path)
            except Exception as exc:  # noqa: BLE001 (listed in the results)
                failed.append((name, f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}"))
                continue
            cases.append({"label": name, "set": "apps", "h5": h5, "onnx": onnx_path, "batches": [1, 8],
                          "x": os.path.join(args.apps, name + ".npz"), "builder": None})
    return cases, failed


# ---- latency (worker process, one thread setting) --------------------------------------------------------------


def _inputs(case, batch):
    import numpy as np

    if case["builder"]:
        from tutorial_models import MODELS

        return MODELS[case["builder"]]()[1](batch)
    with np.load(case["x"]) as data:
        x0 = data["x0"]
    return np.ascontiguousarray(np.concatenate([x0] * -(-batch // len(x0)))[:batch], np.float32)


def _calls(fn, x, n):
    """Seconds of each of ``n`` calls."""
    times, clock = [], time.perf_counter
    for _ in range(n):
        start = clock()
        fn(x)
        times.append(clock() - start)
    return times


def measure(case, batch, rounds, one_thread, max_seconds):
    """One case: the two peers alternate, each round a few calls of each (about 20 ms); each peer's figure is the
    median of all its calls, so a call the shared machine preempted does not move the figure as it would a round's
    mean."""
    import numpy as np
    import onnxruntime as ort

    from keraslite import runtime

    model = runtime.load(case["h5"])
    opts = ort.SessionOptions()
    if one_thread:
        opts.intra_op_num_threads = opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(case["onnx"], opts, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    x = _inputs(case, batch)
    ours = lambda a: model.predict(a)  # noqa: E731
    peer = lambda a: sess.run(None, {name: a})  # noqa: E731
    err = float(np.abs(ours(x) - peer(x)[0]).max())
    reps = [max(1, int(0.02 / max(_calls(f, x, 1)[0], 1e-6))) for f in (ours, peer)]
    t_ours, t_peer, start = [], [], time.time()
    for r in range(rounds):
        # The pause lets the other peer's pool threads stop spinning first: both spin after a call, and in one
        # process each would otherwise run on the cores the other is timing on (5x at batch 1, default threads).
        time.sleep(GAP)
        t_ours.extend(_calls(ours, x, reps[0]))
        time.sleep(GAP)
        t_peer.extend(_calls(peer, x, reps[1]))
        rounds_done = r + 1
        if r >= 2 and time.time() - start > max_seconds:
            break
    a, b = statistics.median(t_ours) * 1e6, statistics.median(t_peer) * 1e6
    return {"label": case["label"], "set": case["set"], "batch": batch, "ours": a, "ort": b, "ratio": a / b,
            "diff": err, "rounds": rounds_done}


def worker(args):
    _import_path()
    with open(args.cases) as fh:
        cases = json.load(fh)
    one = args.worker == "one"
    rows = []
    for case in cases:
        for batch in case["batches"]:
            row = measure(case, batch, args.rounds, one, args.max_seconds)
            rows.append(row)
            print(f"  [{args.worker}] {row['label']:30s} b{batch:<2d} keraslite {row['ours']:10.1f} us  "
                  f"onnxruntime {row['ort']:10.1f} us  ratio {row['ratio']:5.2f}  max|diff| {row['diff']:.1e}",
                  flush=True)
    with open(args.result, "w") as fh:
        json.dump(rows, fh)
    return 0


def run_setting(setting, args, cases_path):
    env = dict(os.environ)
    for var in THREAD_VARS:
        env.pop(var, None)
    if setting == "one":
        env.update({var: "1" for var in THREAD_VARS})
    result = os.path.join(args.out, f"latency-{setting}.json")
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", setting, "--cases", cases_path, "--result", result,
           "--rounds", str(args.rounds), "--max-seconds", str(args.max_seconds)]
    subprocess.run(cmd, env=env, check=True)
    with open(result) as fh:
        return json.load(fh)


# ---- cold start (fresh processes) ------------------------------------------------------------------------------

COLD = {
    "keraslite": ("import numpy as np\nfrom keraslite import runtime\nm = runtime.load({h5!r})\n"
                  "m.predict(np.zeros({shape!r}, np.{dtype}))\n"),
    "onnxruntime": ("import numpy as np, onnxruntime as ort\ns = ort.InferenceSession({onnx!r}, "
                    "providers=['CPUExecutionProvider'])\n"
                    "s.run(None, {{s.get_inputs()[0].name: np.zeros({shape!r}, np.{dtype})}})\n"),
}


def _run_cold(code):
    """(wall seconds, peak RSS MiB) of a fresh ``python -c code``."""
    # /usr/bin/time reports the child's own peak RSS; a child forked from this (large) process would inherit ours.
    start = time.perf_counter()
    done = subprocess.run(["/usr/bin/time", "-f", "RSSKB=%M", sys.executable, "-c", code],
                          cwd=os.path.dirname(ROOT), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    if done.returncode:
        raise RuntimeError(done.stderr[-2000:])
    return wall, int(done.stderr.rsplit("RSSKB=", 1)[1].split()[0]) / 1024


def cold_start(cases, repeats):
    """Per model: median wall time and peak RSS of each peer over ``repeats`` interleaved fresh processes."""
    from bytecode import compile_packages

    compile_packages("keraslite", "numpy", "h5py", "onnxruntime")
    by_label = {c["label"]: c for c in cases}
    picks = [("plain CNN", "CNN (3 Conv2D + pool + Dense)", (1, 32, 32, 3), "float32"),
             ("MobileNetV2 (keras.applications, 96x96)", "MobileNetV2", (1, 96, 96, 3), "float32"),
             ("LSTM text model", "Embedding + LSTM(64)", (1, 50), "int32")]
    rows = []
    for title, label, shape, dtype in picks:
        if label not in by_label:
            continue
        case = by_label[label]
        codes = {peer: code.format(h5=case["h5"], onnx=case["onnx"], shape=shape, dtype=dtype)
                 for peer, code in COLD.items()}
        for code in codes.values():
            _run_cold(code)  # warm the OS file cache
        runs = {peer: [] for peer in codes}
        for _ in range(repeats):
            for peer, code in codes.items():
                runs[peer].append(_run_cold(code))
        row = {"model": title}
        for peer, values in runs.items():
            row[peer] = (statistics.median(v[0] for v in values), max(v[1] for v in values))
        rows.append(row)
        print(f"cold start {title:42s}: keraslite {row['keraslite'][0]:.2f} s {row['keraslite'][1]:.0f} MiB, "
              f"onnxruntime {row['onnxruntime'][0]:.2f} s {row['onnxruntime'][1]:.0f} MiB", flush=True)
    return rows


# ---- report ----------------------------------------------------------------------------------------------------


def geomean(values):
    return math.exp(statistics.mean(math.log(v) for v in values)) if values else float("nan")


def report(results, failed, cold, loads):
    out = ["", "--- Markdown for bench/RESULTS.md ---", "", f"Load average (1/5/15 min): {loads[0]} at the start, "
           f"{loads[1]} at the end.", ""]
    settings = list(results)
    if settings:
        out += _latency_table(results, settings)
    if failed:
        out += ["", "Not loaded by keraslite (not benchmarked): " + "; ".join(f"{n} ({why})" for n, why in failed)]
    if cold:
        out += ["", "| cold start (import, load, predict 1) | keraslite (s) | onnxruntime (s) | ratio | keraslite "
                    "peak RSS (MiB) | onnxruntime peak RSS (MiB) | ratio |", "| --- | ---: | ---: | ---: | ---: | ---: "
                    "| ---: |"]
        for row in cold:
            (a, ra), (b, rb) = row["keraslite"], row["onnxruntime"]
            out.append(f"| {row['model']} | {a:.2f} | {b:.2f} | {a / b:.2f} | {ra:.0f} | {rb:.0f} | {ra / rb:.2f} |")
    print("\n".join(out))


def _latency_table(results, settings):
    """Markdown lines: one row per model and batch, then the geometric means per set."""
    out = []
    out.append("| model | batch | " + " | ".join(f"{s} thread{'s' if s == 'default' else ''}: keraslite (us) | "
                                                 f"onnxruntime (us) | ratio" for s in settings) + " | max abs diff |")
    out.append("| --- | ---: | " + " | ".join("---: | ---: | ---:" for _ in settings) + " | ---: |")
    keys = [(r["label"], r["batch"]) for r in results[settings[0]]]
    index = {s: {(r["label"], r["batch"]): r for r in rows} for s, rows in results.items()}
    for key in keys:
        cells = []
        for s in settings:
            r = index[s].get(key)
            cells.append(f"{r['ours']:.0f} | {r['ort']:.0f} | {r['ratio']:.2f}" if r else "- | - | -")
        diff = max(index[s][key]["diff"] for s in settings if key in index[s])
        out.append(f"| {key[0]} | {key[1]} | " + " | ".join(cells) + f" | {diff:.1e} |")
    out.append("")
    for s in settings:
        rows = results[s]
        for subset, title in (("tutorial", "tutorial models"), ("apps", "keras.applications"), (None, "whole set")):
            chosen = [r for r in rows if subset is None or r["set"] == subset]
            if chosen:
                worst = max(chosen, key=lambda r: r["ratio"])
                out.append(f"- {s} thread(s), {title}: geometric mean **{geomean([r['ratio'] for r in chosen]):.2f}** "
                           f"over {len(chosen)} cases; highest {worst['ratio']:.2f} ({worst['label']}, batch "
                           f"{worst['batch']})")
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", choices=["all", "tutorial", "apps"], default="all")
    parser.add_argument("--threads", choices=["both", "one", "default"], default="both")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--max-seconds", type=float, default=20.0, help="per case and batch, after 3 rounds")
    parser.add_argument("--apps", default=APPS_DIR, help=f"folder of the keras.applications files ({APPS_DIR})")
    parser.add_argument("--only", nargs="+", help="only these applications")
    parser.add_argument("--cold-repeats", type=int, default=5)
    parser.add_argument("--no-cold", action="store_true", help="skip the cold-start measurements")
    parser.add_argument("--cold-only", action="store_true", help="only the cold-start measurements")
    parser.add_argument("--out", default=None, help="folder for model files and results (default: a temporary one)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--cases", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args)
    args.out = args.out or tempfile.mkdtemp(prefix="keraslite-bench-")
    os.makedirs(args.out, exist_ok=True)
    start_load = load_average()
    print(f"load average {start_load}", flush=True)
    cases, failed = prepare(args)
    for name, why in failed:
        print(f"not loaded: {name}: {why}", flush=True)
    cases_path = os.path.join(args.out, "cases.json")
    with open(cases_path, "w") as fh:
        json.dump(cases, fh)
    settings = ["one", "default"] if args.threads == "both" else [args.threads]
    settings = [] if args.cold_only else settings
    results = {s: run_setting(s, args, cases_path) for s in settings}
    cold = [] if args.no_cold else cold_start(cases, args.cold_repeats)
    report(results, failed, cold, (start_load, load_average()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
