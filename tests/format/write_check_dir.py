"""Write every fixture back with keraslite into a folder for the real-Keras check (a tool, not a test).

    /work/venvs/dev/bin/python tests/format/write_check_dir.py OUT_DIR
    /work/venvs/tf/bin/python tests/fixtures/make_keras_fixtures.py --check OUT_DIR

For each fixture model it writes what a user would ask for and says which real Keras must load it:
- ``<id>.h5``: portable, expected in tf_keras 2.x and Keras 3 (compiled when the source was);
- ``<id>.json`` + ``<id>_weights.h5``: portable architecture + legacy weights, expected in both;
- ``<id>.keras``: expected in Keras 3;
- ``<id>.k3.json`` + ``<id>.k3.weights.h5``: Keras 3 dialect architecture + Keras 3 weights layout;
- where portable is refused (the refusal is printed): ``<id>.keras2.h5`` for tf_keras, and the .keras for Keras 3.
"""
import json
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
from conftest import load_cases  # noqa: E402

from keraslite import format as kf  # noqa: E402
from keraslite.errors import ModelFormatError  # noqa: E402

BOTH = ["keras2", "keras3"]


def _entry(file, data, expect, compiled=False, weights=None):
    return {"file": file, "weights": weights, "data": data, "expect": expect, "compiled": compiled}


def main(out: str) -> None:
    os.makedirs(out, exist_ok=True)
    entries = []
    for case in load_cases():
        spec = kf.read(case.path("h5") or case.path("keras"))
        stem = case.id.replace("/", "__")
        data = stem + ".npz"
        shutil.copy(os.path.join(os.path.dirname(case.path("h5")), os.path.basename(case.data)),
                    os.path.join(out, data))
        compiled = spec.training_config is not None
        native = f"keras{case.keras}"
        try:
            kf.write(spec, os.path.join(out, stem + ".h5"))
            kf.write(spec, os.path.join(out, stem + ".json"))
            kf.write_weights(spec, os.path.join(out, stem + "_weights.h5"))
            entries += [_entry(stem + ".h5", data, BOTH, compiled),
                        _entry(stem + ".json", data, BOTH, weights=stem + "_weights.h5")]
        except ModelFormatError as exc:
            print(f"{stem}: portable refused: {exc}")
            if "hard_sigmoid" not in str(exc) or native == "keras2":
                kf.write(spec, os.path.join(out, stem + ".keras2.h5"), dialect="keras2")
                entries.append(_entry(stem + ".keras2.h5", data, ["keras2"], compiled))
        try:
            kf.write(spec, os.path.join(out, stem + ".keras"), dialect="keras3")
            kf.write(spec, os.path.join(out, stem + ".k3.json"), dialect="keras3")
            kf.write_weights(spec, os.path.join(out, stem + ".k3.weights.h5"), dialect="keras3")
            entries += [_entry(stem + ".keras", data, ["keras3"], compiled),
                        _entry(stem + ".k3.json", data, ["keras3"], weights=stem + ".k3.weights.h5")]
        except ModelFormatError as exc:
            print(f"{stem}: Keras 3 refused: {exc}")
    with open(os.path.join(out, "check.json"), "w") as fh:
        json.dump(entries, fh, indent=1)
    print(f"wrote {len(entries)} check entries to {out}")


if __name__ == "__main__":
    main(sys.argv[1])
