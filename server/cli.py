"""``keraslite serve``: TF Serving REST + Open Inference V2 for Keras files (also the short ``serve MODEL``).

Kept cheap to import: Flask, gunicorn and the runtime load inside the handler.
"""
from __future__ import annotations

import argparse
from typing import Optional

HELP = "serve models over HTTP: TensorFlow Serving REST and Open Inference Protocol V2 (gunicorn)"
EPILOG = """examples:
  keraslite serve                          # the bundled demo digits model on http://127.0.0.1:8501
  keraslite serve model.h5                 # served as 'model'
  keraslite serve mlp=a.h5 cnn=b.keras --host 0.0.0.0 --workers 2

Each gunicorn worker loads and warms up every model before it takes requests; SIGTERM finishes the requests in
flight, then exits. Numeric threads per worker = cores // workers (OMP/OPENBLAS/MKL/NUMBA_NUM_THREADS)."""


def _whole(low: int, high: Optional[int] = None, what: str = "a whole number"):
    """An argparse type: an integer within [low, high]; argparse reports a bad one in one line and exits 2."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < low or (high is not None and value > high):
            span = f"from {low} to {high}" if high is not None else f"of at least {low}"
            raise argparse.ArgumentTypeError(f"expected {what} {span}, got {text!r}")
        return value
    return parse


def _positive(unit: str):
    """An argparse type: a finite number above 0 of ``unit``."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        if not (0 < value < float("inf")):
            raise argparse.ArgumentTypeError(f"expected a positive number of {unit}, got {text!r}")
        return value
    return parse


def _one_line_error(parser: argparse.ArgumentParser):
    """``parser.error`` printing only ``prog: error: message``, no usage block (exit 2, as argparse)."""
    def error(message: str):
        parser.exit(2, f"{parser.prog}: error: {message} (see {parser.prog} --help)\n")
    return error


def register(subparsers) -> None:
    """Add the ``serve`` subcommand to the ``keraslite`` parser."""
    p = subparsers.add_parser("serve", help=HELP, description=HELP, epilog=EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("models", nargs="*", metavar="MODEL",
                   help="a model file (anything keraslite.runtime.load accepts), or NAME=PATH; default: the demo")
    p.add_argument("--name", help="URL name of the model when one MODEL is given (default: the file stem)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    p.add_argument("--port", type=_whole(1, 65535, "a port number"), default=8501,
                   help="port (default: 8501, as TF Serving's REST port)")
    p.add_argument("--workers", type=_whole(1), default=None,
                   help="gunicorn worker processes (default: one per core)")
    p.add_argument("--threads", type=_whole(1), default=None,
                   help="request threads per worker (default: 2)")
    p.add_argument("--max-body-mb", type=_positive("megabytes"), default=32.0,
                   help="largest request body in MB (default: 32)")
    p.add_argument("--max-batch", type=_whole(0), default=0,
                   help="most rows one request may send (413 beyond it; default: 0, no limit)")
    p.add_argument("--header-timeout", type=_positive("seconds"), default=10.0,
                   help="seconds a client has to send a request's headers (408 after; default: 10)")
    p.add_argument("--body-timeout", type=_positive("seconds"), default=30.0,
                   help="seconds a client has to send the body, and to take the answer (default: 30)")
    p.add_argument("--dev", action="store_true", help="use Flask's development server instead of gunicorn")
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    p.error = _one_line_error(p)
    p.set_defaults(func=run)


def run(args) -> int:
    """Handler of ``keraslite serve``."""
    import os

    from .config import ServerConfigError, demo_model_path, parse_model_args

    if args.models:
        models = parse_model_args(args.models)
    else:
        if not os.path.exists(demo_model_path()):
            raise ServerConfigError(f"the bundled demo model {demo_model_path()!r} is missing; reinstall keraslite "
                                    f"or give a MODEL to serve")
        models = {"digits": demo_model_path()}
    if args.name:
        if len(models) != 1:
            raise ServerConfigError(f"--name names a single model, got {len(models)} MODELs; use NAME=PATH instead")
        from .config import check_name

        models = {check_name(args.name): next(iter(models.values()))}
    from .launcher import serve

    return serve(models, host=args.host, port=args.port, workers=args.workers, threads=args.threads,
                 max_body_mb=args.max_body_mb, dev=args.dev, log_level=args.log_level, max_batch=args.max_batch,
                 header_timeout=args.header_timeout, body_timeout=args.body_timeout)
