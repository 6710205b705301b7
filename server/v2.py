"""Open Inference Protocol V2 (KServe): server and model health, model metadata and ``/infer``."""
from __future__ import annotations

import math
from typing import Any, Dict, List

import numpy as np
from flask import Blueprint, jsonify, request

from .. import __version__
from .context import model_or_404, run_predict, state, versioned_routes
from .decode import bad, cast, check_shape, json_type, read_json, show_shape, to_array
from .dtypes import numpy_for_v2, signature_shape, v2_name
from .models import VERSION, ServedModel

bp = Blueprint("v2", __name__)


_routes = versioned_routes(bp, "/v2/models")


@bp.get("/v2")
def server_metadata():
    return jsonify({"name": "keraslite", "version": __version__, "extensions": []})


@bp.get("/v2/health/live")
def live():
    return jsonify({"live": True})


@bp.get("/v2/health/ready")
def ready():
    is_ready = state().store.ready
    return jsonify({"ready": is_ready}), (200 if is_ready else 503)


def _tensor_meta(spec) -> Dict[str, Any]:
    return {"name": spec.name, "datatype": v2_name(spec.dtype), "shape": signature_shape(spec.shape)}


@_routes("", methods=["GET"])
def model_metadata(name, version=None):
    served = model_or_404(name, version)
    return jsonify({"name": served.name, "versions": [VERSION], "platform": "keraslite",
                    "inputs": [_tensor_meta(s) for s in served.inputs],
                    "outputs": [_tensor_meta(s) for s in served.outputs]})


@_routes("/ready", methods=["GET"])
def model_ready(name, version=None):
    served = model_or_404(name, version)
    return jsonify({"name": served.name, "ready": served.ready}), (200 if served.ready else 503)


@_routes("/infer", methods=["POST"])
def infer(name, version=None):
    """Inference: ``{"inputs": [{"name", "shape", "datatype", "data"}], "outputs"?, "id"?}``."""
    served = model_or_404(name, version)
    body = read_json(request)
    wanted = _requested_outputs(served, body.get("outputs"))
    outputs = run_predict(served, _inputs(served, body.get("inputs")))
    response: Dict[str, Any] = {"model_name": served.name, "model_version": VERSION}
    if "id" in body:
        if not isinstance(body["id"], str):
            raise bad(f"'id' must be a string, got {json_type(body['id'])}")
        response["id"] = body["id"]
    response["outputs"] = [
        {"name": spec.name, "datatype": v2_name(out.dtype), "shape": list(out.shape), "data": out.ravel().tolist()}
        for spec, out in zip(served.outputs, outputs) if spec.name in wanted]
    return jsonify(response)


def _requested_outputs(served: ServedModel, requested) -> List[str]:
    """The output names to return: all of them, or those listed in the request's ``outputs``."""
    names = [s.name for s in served.outputs]
    if requested is None:
        return names
    if not isinstance(requested, list) or not all(isinstance(o, dict) for o in requested):
        raise bad(f"'outputs' must be an array of objects like {{\"name\": {names[0]!r}}}, got "
                  f"{json_type(requested)}")
    chosen = []
    for i, item in enumerate(requested):
        out_name = item.get("name")
        if out_name not in names:
            raise bad(f"outputs[{i}]: unknown output {out_name!r}; the model's outputs are {names}")
        if (item.get("parameters") or {}).get("binary_data"):
            raise bad(f"outputs[{i}]: binary_data is not supported; keraslite returns JSON data")
        chosen.append(out_name)
    return chosen


def _inputs(served: ServedModel, inputs) -> List[np.ndarray]:
    """The request's ``inputs`` -> one checked array per model input, in model order."""
    specs = {s.name: s for s in served.inputs}
    if not isinstance(inputs, list) or not inputs:
        got = "an empty array" if inputs == [] else json_type(inputs) if inputs is not None else "nothing"
        raise bad(f"'inputs' must be a non-empty array of tensors {{\"name\", \"shape\", \"datatype\", \"data\"}}, "
                  f"got {got}")
    arrays: Dict[str, np.ndarray] = {}
    for i, tensor in enumerate(inputs):
        if not isinstance(tensor, dict):
            raise bad(f"inputs[{i}]: expected an object {{\"name\", \"shape\", \"datatype\", \"data\"}}, got "
                      f"{json_type(tensor)}")
        name = tensor.get("name")
        if name not in specs:
            raise bad(f"inputs[{i}]: unknown input {name!r}; the model's inputs are {list(specs)}")
        if name in arrays:
            raise bad(f"inputs[{i}]: input {name!r} is given twice")
        arrays[name] = _tensor(tensor, specs[name], f"input {name!r}")
    missing = [n for n in specs if n not in arrays]
    if missing:
        raise bad(f"missing input {missing[0]!r}; the model's inputs are {list(specs)}")
    return [arrays[n] for n in specs]


def _tensor(tensor: Dict[str, Any], spec, what: str) -> np.ndarray:
    """One V2 input tensor -> an array of the model input's dtype, checked against ``shape`` and the signature."""
    for key in ("shape", "datatype", "data"):
        if key not in tensor:
            raise bad(f"{what}: missing {key!r}")
    if (tensor.get("parameters") or {}).get("binary_data_size") is not None:
        raise bad(f"{what}: binary tensor data is not supported; send 'data' as JSON numbers")
    shape = tensor["shape"]
    if not isinstance(shape, list) or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0
                                              for d in shape):
        raise bad(f"{what}: 'shape' must be an array of non-negative integers, got {str(shape)[:60]}")
    dtype = numpy_for_v2(tensor["datatype"], what)
    if dtype == "string" or spec.dtype == "string":  # BYTES tensors for raw-text models
        from .strings import v2_bytes_tensor

        if dtype != spec.dtype:
            raise bad(f"{what}: datatype {tensor['datatype']} is not supported for this input: it takes "
                      f"{v2_name(spec.dtype)} (BYTES carries strings, for text inputs)")
        return v2_bytes_tensor(tensor["data"], shape, spec, what)
    data = tensor["data"]
    arr = to_array(data if isinstance(data, list) else [data], what)
    count = math.prod(shape)
    if arr.size != count:
        raise bad(f"{what}: 'data' has {arr.size} values but 'shape' {show_shape(shape)} needs {count}")
    arr = cast(arr.reshape(shape), dtype, f"{what} (datatype {tensor['datatype']})")
    check_shape(arr, spec, what)
    return cast(arr, spec.dtype, what)
