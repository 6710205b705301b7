"""What the routes share: the app's models, metrics and settings, found through ``current_app``."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, List, Optional

import numpy as np
from flask import Response, current_app, request

from ..errors import InputError
from .config import ServerConfig
from .decode import ApiError, bad, clip
from .models import VERSION, ModelStore, ServedModel

EXTENSION = "keraslite"


@dataclass
class ServerState:
    """The per-app state stored in ``app.extensions["keraslite"]``."""

    store: ModelStore
    metrics: Any
    config: ServerConfig


def versioned_routes(bp, prefix: str):
    """A decorator registering a view under ``{prefix}/<name>{rule}`` and ``.../versions/<version>{rule}``."""
    def routes(rule: str, **options):
        def register(view):
            bp.add_url_rule(f"{prefix}/<name>" + rule, view_func=view, **options)
            bp.add_url_rule(f"{prefix}/<name>/versions/<version>" + rule, view_func=view,
                            endpoint=view.__name__ + "_version", **options)
            return view
        return register
    return routes


def state() -> ServerState:
    return current_app.extensions[EXTENSION]


def model_or_404(name: str, version=None, st: Optional[ServerState] = None) -> ServedModel:
    """The served model ``name`` (and ``version``, when given); 404 naming the served ones otherwise."""
    store = (st or state()).store
    served = store.get(name)
    if served is None:
        raise ApiError(404, f"model {clip(name)} not found; served models: {store.names()}")
    if version is not None and str(version) != VERSION:
        raise ApiError(404, f"version {clip(version)} of model {name!r} not found; available versions: "
                            f"[{VERSION!r}]")
    return served


def json_response(body: bytes, status: int = 200) -> Response:
    """An ``application/json`` answer from already encoded bytes."""
    return Response(body, status=status, mimetype="application/json")


def not_ready_reason(served: Optional[ServedModel] = None) -> Optional[str]:
    """Why this worker cannot answer predicts now (stopping, metrics broken, a model failing), or None."""
    if request.environ.get("keraslite.draining"):
        return "the server is shutting down"
    problem = state().metrics.problem()
    if problem:
        return problem
    for model in [served] if served is not None else state().store.models.values():
        if not model.answers():
            return f"model {model.name!r} cannot predict"
    return None


def run_predict(st: ServerState, served: ServedModel, arrays: List[np.ndarray]) -> List[np.ndarray]:
    """Predict, timing the inference; the runtime's InputError (a client mistake) becomes a 400."""
    batches = {int(a.shape[0]) for a in arrays if a.ndim}
    if len(batches) > 1:
        sizes = {spec.name: int(a.shape[0]) for spec, a in zip(served.inputs, arrays)}
        raise bad(f"inputs have different batch sizes (axis 0): {sizes}; expected one batch size for all inputs")
    start = time.perf_counter()
    try:
        with np.errstate(all="ignore"):  # NaN/Infinity inputs are allowed (TF Serving); overflow is the model's
            outputs = served.predict(arrays)
    except InputError as exc:
        raise bad(str(exc)) from None
    st.metrics.observe_inference(served.name, time.perf_counter() - start)
    return outputs
