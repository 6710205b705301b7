"""``keraslite convert``: move a model between Keras versions and file forms."""
from __future__ import annotations

import argparse
import os

EXAMPLES = """examples:
  keraslite convert old_keras2.h5 model.h5                  # portable .h5: loads in tf_keras 2.x and Keras 3
  keraslite convert model.keras model.h5 --dialect keras2   # a Keras 3 .keras file for tf_keras
  keraslite convert model.h5 model.json                     # architecture + model_weights.h5 beside it
  keraslite convert arch.json model.h5 --weights w.h5       # architecture + weights -> one file
"""


def register(subparsers) -> None:
    p = subparsers.add_parser("convert", help="convert a model between Keras versions and file forms",
                              description="Read any Keras model file and write it for tf_keras 2.x, Keras 3, or "
                                          "both (portable).", epilog=EXAMPLES,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="input: .h5, .keras, or .json/.yaml (with --weights)")
    p.add_argument("output", help="output: .h5 (whole model), .json or .yaml (architecture + a weights file)")
    p.add_argument("--weights", help="weights file for an architecture-only input")
    p.add_argument("--weights-out", help="where a .json/.yaml output's weights go (default: <output stem>_weights.h5)")
    p.add_argument("--dialect", choices=("portable", "keras2", "keras3"), default="portable",
                   help="portable (default): loads in tf_keras 2.x and Keras 3; keras2 or keras3: for one of them")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from . import read, write, write_weights

    spec = read(args.model, weights=args.weights)
    ext = os.path.splitext(args.output)[1].lower()
    notes = write(spec, args.output, dialect=args.dialect)
    written = [args.output]
    if ext in (".json", ".yaml", ".yml"):
        weights_out = args.weights_out or os.path.splitext(args.output)[0] + (
            ".weights.h5" if args.dialect == "keras3" else "_weights.h5")
        write_weights(spec, weights_out, dialect=args.dialect)
        written.append(weights_out)
    src = spec.source
    target = "keras3" if ext == ".keras" else args.dialect
    print(f"{args.model} (Keras {src.get('keras_version') or '?'}, {src.get('format')}) -> "
          f"{' + '.join(written)} ({target})")
    for note in notes:
        print(f"note: {note}")
    return 0
