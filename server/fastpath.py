"""The two predict routes without Flask's per-request machinery, for bodies keraslite's worker has read already.

Flask builds a request context, a Request object, routes through werkzeug's matcher, runs the before/after hooks
and builds a Response for every request: about as much time as decoding and predicting a batch-1 MLP request.
``FastPath`` sits in front of the Flask app (``app.wsgi_app``) and answers ``POST /v1/models/{name}:predict`` and
``POST /v2/models/{name}/infer`` itself when the body is in ``environ["keraslite.body"]``, calling the same
``tfserving.answer`` / ``v2.answer`` as the Flask views, with the same errors and metrics. Everything else
(other routes, a body still to be read from ``wsgi.input`` under another worker class) goes to Flask.
"""
from __future__ import annotations

import logging
import re
import time
from http import HTTPStatus

from . import jsonio, tfserving, v2
from .context import ServerState, model_or_404
from .body import take_body
from .decode import BODY_KEY, ApiError, check_content_type, decode_object

log = logging.getLogger("keraslite.server")
ROUTE = re.compile(r"/v(?:1/models/(?P<tf>[^/]+?)(?:/versions/(?P<tf_version>[^/]+))?:predict"
                   r"|2/models/(?P<v2>[^/]+)(?:/versions/(?P<v2_version>[^/]+))?/infer)")
STATUS = {s.value: f"{s.value} {s.phrase}" for s in HTTPStatus}


class FastPath:
    """WSGI middleware: the predict routes answered directly, the rest passed to ``flask_wsgi``."""

    def __init__(self, flask_wsgi, st: ServerState):
        self.flask_wsgi, self.st = flask_wsgi, st

    def __call__(self, environ, start_response):
        body = environ.get(BODY_KEY)
        route = ROUTE.fullmatch(environ.get("PATH_INFO", "")) if body is not None else None
        if route is None or environ.get("REQUEST_METHOD") != "POST":
            return self.flask_wsgi(environ, start_response)
        start, st = time.perf_counter(), self.st
        tf = route.group("tf") is not None
        name = route.group("tf") if tf else route.group("v2")
        try:
            served = model_or_404(name, route.group("tf_version" if tf else "v2_version"), st)
            check_content_type(environ.get("CONTENT_TYPE", "").split(";", 1)[0].strip())
            decoded = decode_object(take_body(body), allow_non_finite=tf)
            data, status = (tfserving.answer if tf else v2.answer)(st, served, decoded), 200
        except ApiError as exc:
            data, status = jsonio.dumps({"error": exc.message}), exc.status
        except Exception as exc:  # noqa: BLE001 - the same answer as the Flask app's handler
            log.exception("unexpected error answering POST %s", environ.get("PATH_INFO"))
            data, status = jsonio.dumps({"error": f"internal error: {type(exc).__name__}: {exc}"}), 500
        model = name if st.store.get(name) is not None else ""
        st.metrics.observe_request(model, "tfserving.predict" if tf else "v2.infer", status,
                                   time.perf_counter() - start)
        start_response(STATUS[status], [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]
