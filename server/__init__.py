"""keraslite's prediction server: TensorFlow Serving REST and Open Inference Protocol V2 over one Flask app.

    from keraslite.server import create_app
    app = create_app({"digits": "digits.h5"})      # or create_app() with KERASLITE_MODELS set, or the demo model

Run it in production with ``keraslite serve MODEL`` (gunicorn with keraslite's worker class) or directly with
``KERASLITE_MODELS=digits=digits.h5 gunicorn -k keraslite.server.worker.KerasliteWorker 'keraslite.server:create_app()'``.

``create_app`` is imported lazily so that ``keraslite.server.cli`` (imported by every ``keraslite`` command) does
not pull in Flask.
"""


def __getattr__(name):
    if name == "create_app":
        from .app import create_app

        return create_app
    raise AttributeError(f"module 'keraslite.server' has no attribute {name!r}")


__all__ = ["create_app"]
