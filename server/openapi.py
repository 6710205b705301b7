"""``GET /openapi.json``: an OpenAPI 3 description of every route, with the served model names as an enum."""
from __future__ import annotations

from typing import Any, Dict, List

from flask import Blueprint, jsonify

from .. import __version__
from .context import state
from .dtypes import V2_TO_NUMPY

bp = Blueprint("openapi", __name__)

ERROR = {"$ref": "#/components/schemas/Error"}
NUMBERS = {"description": "A number or nested arrays of numbers (booleans for BOOL tensors).",
           "oneOf": [{"type": "number"}, {"type": "boolean"}, {"type": "array", "items": {}}]}


def _json(schema: Dict[str, Any]) -> Dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _responses(ok: Dict[str, Any], errors: List[int]) -> Dict[str, Any]:
    meaning = {400: "Bad request: the message names the input, axis, expected and got.",
               404: "Unknown model or version.", 413: "Body over the size limit.", 415: "Body is not JSON.",
               503: "Not ready yet."}
    out = {"200": {"description": "OK", **_json(ok)}}
    for status in errors:
        out[str(status)] = {"description": meaning[status], **_json(ERROR)}
    return out


def _params(names: List[str], version: bool) -> List[Dict[str, Any]]:
    params = [{"name": "name", "in": "path", "required": True, "schema": {"type": "string", "enum": names}}]
    if version:
        params.append({"name": "version", "in": "path", "required": True, "schema": {"type": "string", "enum": ["1"]}})
    return params


def _model_paths(names: List[str]) -> Dict[str, Any]:
    """The per-model routes, each also under ``/versions/{version}``."""
    paths: Dict[str, Any] = {}
    ops = {
        ("/v1/models/{name}", ""): ("get", "TF Serving model status", {"type": "object"}, [404]),
        ("/v1/models/{name}", "/metadata"): ("get", "TF Serving signature metadata", {"type": "object"}, [404]),
        ("/v1/models/{name}", ":predict"): ("post", "TF Serving predict", {"$ref": "#/components/schemas/TFResponse"},
                                            [400, 404, 413, 415]),
        ("/v2/models/{name}", ""): ("get", "V2 model metadata", {"$ref": "#/components/schemas/V2Metadata"}, [404]),
        ("/v2/models/{name}", "/ready"): ("get", "V2 model readiness", {"type": "object"}, [404, 503]),
        ("/v2/models/{name}", "/infer"): ("post", "V2 inference", {"$ref": "#/components/schemas/V2Response"},
                                          [400, 404, 413, 415]),
    }
    for (base, suffix), (method, summary, ok, errors) in ops.items():
        for version in (False, True):
            path = base + ("/versions/{version}" if version else "") + suffix
            op: Dict[str, Any] = {"summary": summary, "parameters": _params(names, version),
                                  "responses": _responses(ok, errors)}
            if method == "post":
                request = "TFRequest" if base.startswith("/v1") else "V2Request"
                op["requestBody"] = {"required": True, **_json({"$ref": f"#/components/schemas/{request}"})}
            paths[path] = {method: op}
    return paths


def _schemas() -> Dict[str, Any]:
    tensor = {"type": "object", "required": ["name", "shape", "datatype", "data"], "properties": {
        "name": {"type": "string"}, "shape": {"type": "array", "items": {"type": "integer", "minimum": 0}},
        "datatype": {"type": "string", "enum": sorted(V2_TO_NUMPY)}, "data": NUMBERS,
        "parameters": {"type": "object"}}}
    return {
        "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
        "TFRequest": {"type": "object", "description": "Exactly one of instances (row format) or inputs (columnar).",
                      "properties": {"signature_name": {"type": "string", "enum": ["serving_default"]},
                                     "instances": {"type": "array", "minItems": 1, "items": {}},
                                     "inputs": {}}},
        "TFResponse": {"type": "object", "properties": {"predictions": {"type": "array"}, "outputs": {}}},
        "V2Tensor": tensor,
        "V2Request": {"type": "object", "required": ["inputs"], "properties": {
            "id": {"type": "string"}, "parameters": {"type": "object"},
            "inputs": {"type": "array", "minItems": 1, "items": {"$ref": "#/components/schemas/V2Tensor"}},
            "outputs": {"type": "array", "items": {"type": "object", "required": ["name"],
                                                   "properties": {"name": {"type": "string"}}}}}},
        "V2Response": {"type": "object", "required": ["model_name", "outputs"], "properties": {
            "model_name": {"type": "string"}, "model_version": {"type": "string"}, "id": {"type": "string"},
            "outputs": {"type": "array", "items": {"$ref": "#/components/schemas/V2Tensor"}}}},
        "V2Metadata": {"type": "object", "required": ["name", "inputs", "outputs"], "properties": {
            "name": {"type": "string"}, "versions": {"type": "array", "items": {"type": "string"}},
            "platform": {"type": "string"}, "inputs": {"type": "array"}, "outputs": {"type": "array"}}},
    }


def document(names: List[str]) -> Dict[str, Any]:
    """The OpenAPI 3.0 document for a server holding the models ``names``."""
    simple = {
        "/": ("Index: served models and entry points", {"type": "object"}, []),
        "/v2": ("V2 server metadata", {"type": "object"}, []),
        "/v2/health/live": ("V2 liveness", {"type": "object"}, []),
        "/v2/health/ready": ("V2 readiness: every model loaded and warmed up", {"type": "object"}, [503]),
        "/openapi.json": ("This document", {"type": "object"}, []),
    }
    paths: Dict[str, Any] = {p: {"get": {"summary": s, "responses": _responses(ok, errs)}}
                             for p, (s, ok, errs) in simple.items()}
    paths["/metrics"] = {"get": {"summary": "Prometheus metrics (all gunicorn workers)", "responses": {
        "200": {"description": "Prometheus text format", "content": {"text/plain": {"schema": {"type": "string"}}}}}}}
    paths.update(_model_paths(names))
    return {"openapi": "3.0.3",
            "info": {"title": "keraslite prediction server", "version": __version__,
                     "description": "TensorFlow Serving REST and Open Inference Protocol V2 for Keras models."},
            "paths": paths, "components": {"schemas": _schemas()}}


@bp.get("/openapi.json")
def openapi_json():
    return jsonify(document(state().store.names()))
