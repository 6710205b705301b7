"""Write every fixture back with keraslite into a folder for the real-Keras check (not a test).

    python tests/format/write_check_dir.py OUT_DIR
    /work/venvs/tf/bin/python tests/fixtures/make_keras_fixtures.py --check OUT_DIR

For each fixture model: a portable .h5 (expected to load in Keras 2 and 3, compiled when the source was), the
keras2/keras3 dialect .h5 where portable is refused, and a portable architecture .json + legacy weights .h5.
"""
import json
import os
import shutil
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
from conftest import load_cases  # noqa: E402

from keraslite import format as kf  # noqa: E402
from keraslite.errors import ModelFormatError  # noqa: E402


def main(out: str) -> None:
    os.makedirs(out, exist_ok=True)
    entries = []
    for case in load_cases():
        src = case.path("h5") or case.path("keras")
        spec = kf.read(src)
        stem = case.id.replace("/", "__")
        shutil.copy(os.path.join(os.path.dirname(src), os.path.basename(case.data)), os.path.join(out, stem + ".npz"))
        try:
            kf.write(spec, os.path.join(out, stem + ".h5"), dialect="portable")
            entries.append({"file": stem + ".h5", "weights": None, "data": stem + ".npz",
                            "expect": ["keras2", "keras3"], "compiled": spec.training_config is not None})
            kf.write(spec, os.path.join(out, stem + ".json"))
            kf.write_weights(spec, os.path.join(out, stem + "_weights.h5"))
            entries.append({"file": stem + ".json", "weights": stem + "_weights.h5", "data": stem + ".npz",
                            "expect": ["keras2", "keras3"], "compiled": False})
        except ModelFormatError as exc:
            dialect = f"keras{case.keras}"
            print(f"{stem}: portable refused ({exc}); writing {dialect} only")
            kf.write(spec, os.path.join(out, f"{stem}.{dialect}.h5"), dialect=dialect)
            entries.append({"file": f"{stem}.{dialect}.h5", "weights": None, "data": stem + ".npz",
                            "expect": [dialect], "compiled": spec.training_config is not None})
    with open(os.path.join(out, "check.json"), "w") as fh:
        json.dump(entries, fh, indent=1)
    print(f"wrote {len(entries)} files to {out}")


if __name__ == "__main__":
    main(sys.argv[1])
