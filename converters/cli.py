"""``keraslite export-onnx``: write a Keras model as ONNX, optionally checked against keraslite's runtime."""
from __future__ import annotations

import argparse
import os

MIN_OPSET, MAX_OPSET, DEFAULT_OPSET = 13, 21, 17

EXAMPLES = f"""examples:
  keraslite export-onnx model.h5 model.onnx                   # opset {DEFAULT_OPSET}
  keraslite export-onnx model.keras model.onnx --opset 21 --check
  keraslite export-onnx arch.json model.onnx --weights weights.h5

The ONNX inputs and outputs keep Keras' names, dtypes and layout (NHWC images in), with a dynamic batch dimension,
so the same arrays feed Keras, keraslite and onnxruntime.
--check runs onnx.checker and, when onnxruntime is installed, compares onnxruntime's output with keraslite's
runtime on a random batch and prints the largest difference (exit 1 beyond 1e-3 relative).
"""


def opset_arg(text: str) -> int:
    """argparse type for --opset: an integer in 13..21."""
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or not MIN_OPSET <= value <= MAX_OPSET:
        raise argparse.ArgumentTypeError(f"expected an integer from {MIN_OPSET} to {MAX_OPSET}, got {text!r}")
    return value


def register(subparsers) -> None:
    p = subparsers.add_parser("export-onnx", help="export a Keras model to ONNX (no TensorFlow needed)",
                              description="Export a Keras model file (.h5, .keras, or .json/.yaml with --weights) "
                                          "to a single ONNX file.", epilog=EXAMPLES,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="Keras model: .h5, .keras, or an architecture .json/.yaml with --weights")
    p.add_argument("output", help="the .onnx file to write")
    p.add_argument("--opset", type=opset_arg, default=DEFAULT_OPSET, metavar="N",
                   help=f"ONNX opset, {MIN_OPSET} to {MAX_OPSET} (default {DEFAULT_OPSET})")
    p.add_argument("--weights", help="weights file for an architecture-only model")
    p.add_argument("--check", action="store_true",
                   help="run onnx.checker and compare onnxruntime with keraslite's runtime on a random batch")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import onnx

    from ..errors import ConversionError
    from ..format import read
    from . import check
    from .export import export_onnx

    spec = read(args.model, weights=args.weights)
    model = export_onnx(spec, args.output, opset=args.opset)
    ins = ", ".join(f"{i.name}{_shape(i)}" for i in model.graph.input)
    outs = ", ".join(f"{o.name}{_shape(o)}" for o in model.graph.output)
    print(f"{args.model} -> {args.output}: opset {args.opset}, {len(model.graph.node)} nodes, "
          f"{os.path.getsize(args.output) / 1e6:.2f} MB; inputs {ins}; outputs {outs}")
    if args.check:
        onnx.checker.check_model(args.output, full_check=True)
        print("onnx.checker: ok")
        result = check.compare(model, spec)
        if result is not None:
            print(f"onnxruntime vs keraslite runtime on a random batch of {check.CHECK_BATCH}: largest difference "
                  f"{result['max_abs']:.3g} ({result['max_rel']:.3g} of the largest output value)")
            if result["max_rel"] > check.TOLERANCE:
                raise ConversionError(f"onnxruntime and keraslite's runtime disagree by {result['max_rel']:.3g} "
                                      f"(relative), more than {check.TOLERANCE:g}: please report this model")
    return 0


def _shape(info) -> str:
    dims = [d.dim_param or str(d.dim_value) if (d.dim_param or d.HasField("dim_value")) else "?"
            for d in info.type.tensor_type.shape.dim]
    return "(" + ", ".join(dims) + ")"
