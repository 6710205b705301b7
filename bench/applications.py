"""Check every keras.applications file of the cache: load, predict, export to ONNX, convert, and load the
conversions in real Keras. Prints one table row per architecture and Keras version.

    /work/venvs/realworld/bin/python bench/applications.py [--cache /work/cache/keras_apps] [--only ResNet50 ...]
        [--out DIR] [--no-keras]

The cache comes from ``tests/fixtures/make_applications.py``. For each case and each file form Keras wrote (.h5,
.keras, .json + weights) the file is loaded with keraslite.runtime and run on the stored inputs: "rel f32" is
max|ours - Keras float32| / max|Keras float32| over the forms, "rel f64" the same against Keras' float64 run of the
same network. The .h5 is exported to ONNX and run in onnxruntime ("ONNX", the same relative error, or the refusal).
The Keras file is converted with ``keraslite convert`` to a portable .h5 (both Keras versions must load it and give
Keras' numbers) and to its own Keras version's form (keras2 .h5 / .keras); the conversions are then checked in real
tf_keras and Keras 3 with ``tests/fixtures/make_keras_fixtures.py --check`` run by the TensorFlow venv ("portable"
and "native": PASS, FAIL, or the reason keraslite refused to write it). Not a test: it needs the cache and
TensorFlow.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if os.path.dirname(ROOT) not in sys.path:
    sys.path.insert(0, os.path.dirname(ROOT))  # so `import keraslite` works from a checkout

from keraslite import converters, format as kformat, runtime  # noqa: E402
from keraslite.errors import ModelFormatError  # noqa: E402

TF_PYTHON = "/work/venvs/tf/bin/python"
CHECKER = os.path.join(ROOT, "tests", "fixtures", "make_keras_fixtures.py")


def rel(got, want):
    """max|got - want| / max|want|."""
    return float(np.max(np.abs(np.asarray(got, np.float64) - want)) / max(np.max(np.abs(want)), 1e-30))


def forms(cache, case):
    """``(label, model file, weights file or None)`` for each form Keras wrote."""
    files = case["files"]
    out = [(kind, os.path.join(cache, files[kind]), None) for kind in ("h5", "keras") if kind in files]
    if "json" in files and "weights" in files:
        out.append(("json", os.path.join(cache, files["json"]), os.path.join(cache, files["weights"])))
    return out


def onnx_error(path, x, want):
    import onnxruntime as ort

    try:
        proto = converters.export_onnx(path)
    except ValueError as exc:
        return f"refused: {exc}"
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(proto.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return rel(session.run(None, {session.get_inputs()[0].name: x})[0], want)


def convert(source, target, dialect):
    """Write ``source`` as ``target`` in ``dialect``; the refusal's message when keraslite will not."""
    try:
        kformat.write(kformat.read(source), target, dialect=dialect)
    except ModelFormatError as exc:
        return str(exc).split(": ", 1)[-1]
    return None


def check_case(cache, case, out_dir, rows, entries):
    data = np.load(os.path.join(cache, case["data"]))
    x, y = data["x0"], data["y0"]
    y64 = data["y64"] if "y64" in data.files else None
    row = {"id": case["id"], "forms": 0, "loaded": 0, "rel32": 0.0, "rel64": None, "errors": []}
    for label, path, weights in forms(cache, case):
        row["forms"] += 1
        try:
            got = runtime.load(path, weights=weights).predict(x)
        except ValueError as exc:
            row["errors"].append(f"{label}: {exc}")
            continue
        row["loaded"] += 1
        row["rel32"] = max(row["rel32"], rel(got, y))
        if y64 is not None:
            row["rel64"] = max(row["rel64"] or 0.0, rel(got, y64))
    h5 = os.path.join(cache, case["files"]["h5"]) if "h5" in case["files"] else None
    row["onnx"] = onnx_error(h5, x, y) if h5 else "no .h5"
    source = os.path.join(cache, case["files"].get("keras") or case["files"]["h5"])
    stem = case["id"].replace("/", "_")
    np.savez(os.path.join(out_dir, stem + ".npz"), x0=x, y0=y)  # the checker reads every y<i> as an output
    native_ext, native_dialect = (".keras", "keras3") if case["keras"] == 3 else (".h5", "keras2")
    for key, name, dialect, expect in (("portable", stem + "_portable.h5", "portable", ["keras2", "keras3"]),
                                       ("native", stem + "_native" + native_ext, native_dialect,
                                        [f"keras{case['keras']}"])):
        refused = convert(source, os.path.join(out_dir, name), dialect)
        row[key] = f"refused ({refused})" if refused else "written"
        if not refused:
            entries.append({"file": name, "weights": None, "data": stem + ".npz", "expect": expect,
                            "compiled": False, "row": case["id"], "key": key})
    rows.append(row)


def keras_check(out_dir, entries):
    """Run the real-Keras check on the written files; ``{(file, version): "PASS ..."/"FAIL ..."}``."""
    with open(os.path.join(out_dir, "check.json"), "w") as fh:
        json.dump(entries, fh)
    proc = subprocess.run([TF_PYTHON, CHECKER, "--check", out_dir], capture_output=True, text=True)
    results = {}
    for line in proc.stdout.splitlines():
        parts = line.split(" ", 3)
        if len(parts) == 4 and parts[0] in ("PASS", "FAIL"):
            results[(parts[2].rstrip(":"), parts[1])] = f"{parts[0]} {parts[3]}"
    return results


def cell(value):
    if value is None:
        return "-"
    return f"{value:.1e}" if isinstance(value, float) else str(value)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", default="/work/cache/keras_apps")
    parser.add_argument("--only", nargs="+", help="only these applications")
    parser.add_argument("--out", help="where conversions go (default: a temporary folder)")
    parser.add_argument("--no-keras", action="store_true", help="skip the real-Keras check of conversions")
    args = parser.parse_args(argv)
    with open(os.path.join(args.cache, "manifest.json")) as fh:
        cases = [c for c in json.load(fh)["cases"] if not args.only or c["model"] in args.only]
    out_dir = args.out or tempfile.mkdtemp(prefix="keraslite-apps-")
    os.makedirs(out_dir, exist_ok=True)
    rows, entries = [], []
    for case in cases:
        check_case(args.cache, case, out_dir, rows, entries)
        print(f"{case['id']}: done", file=sys.stderr, flush=True)
    results = {} if args.no_keras else keras_check(out_dir, entries)
    for entry in entries:
        row = next(r for r in rows if r["id"] == entry["row"])
        verdicts = [results.get((entry["file"], v), f"not checked in {v}") for v in entry["expect"]]
        ok = all(v.startswith("PASS") for v in verdicts)
        row[entry["key"]] = "PASS" if ok else "; ".join(v for v in verdicts if not v.startswith("PASS"))
    print("| application | loads | max rel err f32 | vs f64 | ONNX (onnxruntime) | portable .h5 in both Keras | "
          "native round trip |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['id']} | {r['loaded']}/{r['forms']} | {cell(r['rel32'])} | {cell(r['rel64'])} | "
              f"{cell(r['onnx'])} | {r['portable']} | {r['native']} |")
        for error in r["errors"]:
            print(f"|  | {error} | | | | | |")
    if not args.out:
        shutil.rmtree(out_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
