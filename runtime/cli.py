"""``keraslite summary`` and ``keraslite predict``: the runtime's subcommands (imports stay inside handlers)."""


def register(subparsers):
    """Add the ``summary`` and ``predict`` subcommands to the ``keraslite`` parser."""
    p = subparsers.add_parser("summary", help="print a Keras-like table of a model's layers",
                              description="Layer name, class, output shape and parameters of a model, then totals.")
    p.add_argument("model", metavar="MODEL", help=".h5, .keras, or an architecture .json/.yaml")
    p.add_argument("--weights", metavar="W", help="weights file for an architecture .json/.yaml")
    p.set_defaults(func=_summary)

    p = subparsers.add_parser("predict", help="run a model on inputs from a .npy, .npz or .json file",
                              description="Run MODEL on INPUT (.npy: one array; .npz: one array per input, by input "
                                          "name or in order; .json: a list, or a dict by input name) and print or "
                                          "save the outputs.")
    p.add_argument("model", metavar="MODEL")
    p.add_argument("input", metavar="INPUT", help="INPUT.npy | INPUT.npz | INPUT.json")
    p.add_argument("--weights", metavar="W", help="weights file for an architecture .json/.yaml")
    p.add_argument("--output", metavar="OUT", help="save outputs to OUT.npy (one output) or OUT.npz (several)")
    p.add_argument("--batch-size", type=int, default=None, help="rows per internal pass")
    p.set_defaults(func=_predict)


def _summary(args):
    from . import load

    print(load(args.model, weights=args.weights).summary())
    return 0


def _read_input(path, names):
    """The model input from ``path`` as an array, a list or a dict."""
    import json

    import numpy as np

    from ..errors import InputError

    if path.endswith(".npy"):
        return np.load(path, allow_pickle=False)
    if path.endswith(".npz"):
        with np.load(path, allow_pickle=False) as npz:
            if all(n in npz.files for n in names):
                return {n: npz[n] for n in names}
            return [npz[k] for k in npz.files] if len(npz.files) > 1 else npz[npz.files[0]]
    if path.endswith(".json"):
        with open(path) as fh:
            data = json.load(fh)
        if isinstance(data, dict):
            data = data.get("inputs", data.get("instances", data))
        return {k: np.asarray(v) for k, v in data.items()} if isinstance(data, dict) else np.asarray(data)
    raise InputError(f"input file {path!r}: expected a .npy, .npz or .json file")


def _predict(args):
    import numpy as np

    from . import load

    model = load(args.model, weights=args.weights)
    x = _read_input(args.input, [t.name for t in model.inputs])
    out = model.predict(x, batch_size=args.batch_size)
    outs = out if isinstance(out, list) else [out]
    if args.output:
        if len(outs) == 1:
            np.save(args.output, outs[0])
        else:
            np.savez(args.output, **{f"{t.name}_{i}": o for i, (t, o) in enumerate(zip(model.outputs, outs))})
        print(f"saved {len(outs)} output(s) to {args.output}")
    else:
        with np.printoptions(threshold=200, precision=6, suppress=True):
            for spec, o in zip(model.outputs, outs):
                print(f"{spec.name}: shape {o.shape}")
                print(o)
    return 0
