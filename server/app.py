"""The Flask app factory: load and warm the models, register both protocols, metrics, OpenAPI and JSON errors."""
from __future__ import annotations

import logging
import os
import time
from typing import Any, Mapping, Optional, Union

from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from .config import ServerConfig, models_from_env, parse_model_args
from .context import EXTENSION, ServerState
from .decode import ApiError
from .metrics import Metrics
from .models import ModelStore

log = logging.getLogger("keraslite.server")


def create_app(models: Union[None, str, Mapping[str, Any]] = None,
               config: Union[None, ServerConfig, Mapping[str, Any]] = None) -> Flask:
    """Build the prediction server's Flask app.

    Args:
        models: ``{name: path or runtime model}``; a single path (served under its file stem); or None to read
            KERASLITE_MODELS (``"name=path,name2=path2"`` or one path), falling back to the bundled demo model.
        config: a ServerConfig, a dict of its fields (``max_body_mb``, ``warmup``), or None for the defaults
            (KERASLITE_MAX_BODY_MB is honoured).

    Returns:
        A Flask app serving TF Serving REST (``/v1/...``), Open Inference V2 (``/v2/...``), ``/metrics`` and
        ``/openapi.json``. Every model is loaded and has run one predict before this returns.

    Example::

        app = create_app({"digits": "digits.h5"})
        app.test_client().get("/v1/models/digits").json
    """
    if models is None:
        models = models_from_env()
    elif isinstance(models, (str, os.PathLike)):
        models = parse_model_args([os.fspath(models)])
    if config is None:
        config = ServerConfig.from_env()
    elif not isinstance(config, ServerConfig):
        config = ServerConfig(**dict(config))

    app = Flask("keraslite.server")
    app.config["MAX_CONTENT_LENGTH"] = config.max_body_bytes
    app.json.sort_keys = False
    app.json.compact = True
    st = ServerState(store=ModelStore(models, warmup=config.warmup), metrics=Metrics(), config=config)
    app.extensions[EXTENSION] = st

    from . import openapi, tfserving, v2

    app.register_blueprint(tfserving.bp)
    app.register_blueprint(v2.bp)
    app.register_blueprint(openapi.bp)
    app.add_url_rule("/metrics", "metrics", _metrics, methods=["GET"])
    app.add_url_rule("/", "index", _index, methods=["GET"])
    app.register_error_handler(ApiError, _api_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
    app.before_request(_start_timer)
    app.after_request(_count_request)
    from .fastpath import FastPath

    app.wsgi_app = FastPath(app.wsgi_app, st)  # the predict routes, for bodies keraslite's worker has read
    return app


def _metrics():
    from flask import current_app

    body, content_type = current_app.extensions[EXTENSION].metrics.exposition()
    return Response(body, content_type=content_type)


def _index():
    from flask import current_app

    names = current_app.extensions[EXTENSION].store.names()
    return jsonify({"name": "keraslite", "models": names, "openapi": "/openapi.json",
                    "endpoints": [f"/v1/models/{names[0]}:predict", f"/v2/models/{names[0]}/infer", "/metrics"]})


def _api_error(exc: ApiError):
    return jsonify({"error": exc.message}), exc.status


def _http_error(exc: HTTPException):
    status = exc.code or 500
    if status == 404:
        message = f"no route for {request.method} {request.path}; the API is described at /openapi.json"
    elif status == 405:
        allowed = sorted(exc.valid_methods or []) if hasattr(exc, "valid_methods") else []
        message = f"method {request.method} is not allowed on {request.path}; allowed: {allowed}"
    elif status == 413:
        limit = request.max_content_length or 0
        message = (f"request body too large: the limit is {limit / 2**20:g} MB ({limit} bytes); send smaller "
                   f"batches or raise --max-body-mb")
    else:
        message = exc.description or exc.name
    response = jsonify({"error": message})
    response.status_code = status
    if status == 405 and getattr(exc, "valid_methods", None):
        response.headers["Allow"] = ", ".join(exc.valid_methods)
    return response


def _unexpected_error(exc: Exception):
    log.exception("unexpected error answering %s %s", request.method, request.path)
    return jsonify({"error": f"internal error: {type(exc).__name__}: {exc}"}), 500


def _start_timer():
    g.keraslite_start = time.perf_counter()


def _count_request(response):
    from flask import current_app

    state: Optional[ServerState] = current_app.extensions.get(EXTENSION)
    start = g.get("keraslite_start")
    if state is None or start is None:
        return response
    name = (request.view_args or {}).get("name")
    model = name if name is not None and state.store.get(name) is not None else ""
    endpoint = request.url_rule.endpoint if request.url_rule else "unmatched"
    endpoint = endpoint[: -len("_version")] if endpoint.endswith("_version") else endpoint
    state.metrics.observe_request(model, endpoint, response.status_code, time.perf_counter() - start)
    return response
