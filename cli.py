"""The ``keraslite`` command. Each package owns its subcommands in its own ``cli.py``; this file only dispatches.

    keraslite serve model.h5            # TF Serving REST + Open Inference Protocol V2 on :8501
    keraslite export-onnx model.h5 model.onnx
    keraslite convert old.h5 new.h5 --dialect portable
    keraslite summary model.h5
    keraslite predict model.h5 input.npy
    keraslite plot-model model.h5 model.png --show-shapes
    keraslite plot-history training.log history.png

Exit status: 0 on success, 1 when the model or data is at fault (the message says why), 2 on usage errors.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from typing import List, Optional

# Subcommand modules; each defines ``register(subparsers)`` which adds its parsers and sets ``func`` on them.
# Importing them must stay cheap: heavy imports happen inside the handlers.
COMMAND_MODULES = ("keraslite.format.cli", "keraslite.runtime.cli", "keraslite.converters.cli",
                   "keraslite.server.cli", "keraslite.train.cli")


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="keraslite", description="Keras models without TensorFlow: serve, convert, export to ONNX, predict.",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n")[1])
    parser.add_argument("--version", action="version", version=f"keraslite {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMAND_MODULES:
        importlib.import_module(module).register(sub)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of the ``keraslite`` console script."""
    from .errors import KerasliteError

    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KerasliteError as exc:
        print(f"keraslite {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except FileNotFoundError as exc:
        print(f"keraslite {args.command}: error: {exc}", file=sys.stderr)
        return 1


def serve_main(argv: Optional[List[str]] = None) -> int:
    """Entry point of the short ``serve MODEL`` console script: the same as ``keraslite serve``."""
    return main(["serve", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
