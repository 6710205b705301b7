"""``keraslite plot-model`` and ``keraslite plot-history``: pictures of a model file and of a training log."""
from __future__ import annotations

import argparse

EXAMPLES = """examples:
  keraslite plot-model model.h5 model.png --show-shapes      # any file keraslite reads (.h5, .keras, .json)
  keraslite plot-model model.keras model.svg --rankdir LR --expand-nested
  keraslite plot-history training.log history.png            # a CSVLogger file: loss and metrics per epoch
"""


def register(subparsers) -> None:
    p = subparsers.add_parser("plot-model", help="draw a model file's layers (Graphviz)",
                              description="Draw the layers of any model file keraslite reads, as "
                                          "keras.utils.plot_model does. Needs pydot (keraslite[plot]) and "
                                          "Graphviz's dot.", epilog=EXAMPLES,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="a model file: .h5, .keras, or .json/.yaml (with --weights)")
    p.add_argument("output", help="the picture: .png, .svg, .pdf (or .dot for the graph text)")
    p.add_argument("--weights", help="weights file for an architecture-only input")
    p.add_argument("--show-shapes", action="store_true", help="input and output shapes of each layer")
    p.add_argument("--show-dtype", action="store_true", help="output dtype of each layer")
    p.add_argument("--hide-layer-names", action="store_true", help="class names only")
    p.add_argument("--show-layer-activations", action="store_true", help="activation of each layer")
    p.add_argument("--show-trainable", action="store_true", help="trainable or frozen")
    p.add_argument("--expand-nested", action="store_true", help="draw nested models as clusters")
    p.add_argument("--rankdir", choices=("TB", "LR", "BT", "RL"), default="TB", help="direction (default TB)")
    p.add_argument("--dpi", type=int, default=96, help="resolution of a PNG (default 96)")
    p.set_defaults(func=run_plot_model)

    h = subparsers.add_parser("plot-history", help="draw a CSVLogger training log (matplotlib)",
                              description="Draw loss and metrics per epoch, training against validation, from the "
                                          "file a CSVLogger callback wrote. Needs matplotlib (keraslite[plot]).",
                              epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    h.add_argument("log", help="the CSVLogger file (e.g. training.log)")
    h.add_argument("output", help="the picture: .png, .svg or .pdf")
    h.add_argument("--separator", default=",", help="the CSVLogger separator (default ',')")
    h.add_argument("--title", help="a title (default: the log's file name)")
    h.set_defaults(func=run_plot_history)


def run_plot_model(args: argparse.Namespace) -> int:
    from ..format import read
    from .model_plot import plot_model
    from .models.saving import from_spec

    model = from_spec(read(args.model, weights=args.weights), compile=False)
    plot_model(model, args.output, show_shapes=args.show_shapes, show_dtype=args.show_dtype,
               show_layer_names=not args.hide_layer_names, rankdir=args.rankdir, expand_nested=args.expand_nested,
               dpi=args.dpi, show_layer_activations=args.show_layer_activations,
               show_trainable=args.show_trainable)
    print(f"{args.model} -> {args.output}")
    return 0


def run_plot_history(args: argparse.Namespace) -> int:
    from .history_plot import plot_history

    plot_history(args.log, args.output, title=args.title, separator=args.separator)
    print(f"{args.log} -> {args.output}")
    return 0
