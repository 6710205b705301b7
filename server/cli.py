"""``keraslite serve``: TF Serving REST + Open Inference V2 for Keras files (also the short ``serve MODEL``).

Kept cheap to import: Flask, gunicorn and the runtime load inside the handler.
"""
from __future__ import annotations

import argparse

HELP = "serve models over HTTP: TensorFlow Serving REST and Open Inference Protocol V2 (gunicorn)"
EPILOG = """examples:
  keraslite serve                          # the bundled demo digits model on http://127.0.0.1:8501
  keraslite serve model.h5                 # served as 'model'
  keraslite serve mlp=a.h5 cnn=b.keras --host 0.0.0.0 --workers 2

Each gunicorn worker loads and warms up every model before it takes requests; SIGTERM finishes the requests in
flight, then exits. Numeric threads per worker = cores // workers (OMP/OPENBLAS/MKL/NUMBA_NUM_THREADS)."""


def register(subparsers) -> None:
    """Add the ``serve`` subcommand to the ``keraslite`` parser."""
    p = subparsers.add_parser("serve", help=HELP, description=HELP, epilog=EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("models", nargs="*", metavar="MODEL",
                   help="a model file (anything keraslite.runtime.load accepts), or NAME=PATH; default: the demo")
    p.add_argument("--name", help="URL name of the model when one MODEL is given (default: the file stem)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=8501, help="port (default: 8501, as TF Serving's REST port)")
    p.add_argument("--workers", type=int, default=None, help="gunicorn worker processes (default: one per core)")
    p.add_argument("--threads", type=int, default=None, help="request threads per worker (default: 2)")
    p.add_argument("--max-body-mb", type=float, default=32.0, help="largest request body in MB (default: 32)")
    p.add_argument("--dev", action="store_true", help="use Flask's development server instead of gunicorn")
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
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
    if args.max_body_mb <= 0:
        raise ServerConfigError(f"--max-body-mb must be positive, got {args.max_body_mb}")
    from .launcher import serve

    return serve(models, host=args.host, port=args.port, workers=args.workers, threads=args.threads,
                 max_body_mb=args.max_body_mb, dev=args.dev, log_level=args.log_level)
