"""Open Inference Protocol V2 (KServe): server and model health, model metadata and ``/infer``."""
from __future__ import annotations

import math
from typing import Any, Dict, List

import numpy as np
from flask import Blueprint, jsonify, request

from .. import __version__
from . import jsonio
from .context import (ServerState, json_response, model_or_404, not_ready_reason, run_predict, state,
                      versioned_routes)
from .decode import bad, cast, check_batch, check_shape, clip, json_type, read_json, show_shape, to_array
from .dtypes import numpy_for_v2, signature_shape, v2_name
from .numeric import NumericText
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
    """200 when every model can predict now; 503 with the reason otherwise (also while the worker stops)."""
    reason = not_ready_reason()
    if reason:
        return jsonify({"ready": False, "reason": reason}), 503
    return jsonify({"ready": True})


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
    reason = not_ready_reason(served)
    if reason:
        return jsonify({"name": served.name, "ready": False, "reason": reason}), 503
    return jsonify({"name": served.name, "ready": True})


@_routes("/infer", methods=["POST"])
def infer(name, version=None):
    """Inference: ``{"inputs": [{"name", "shape", "datatype", "data"}], "outputs"?, "id"?}``."""
    st = state()
    served = model_or_404(name, version, st)
    return json_response(answer(st, served, read_json(request)))  # strict JSON: no NaN/Infinity tokens


def answer(st: ServerState, served: ServedModel, body: dict) -> bytes:
    """The JSON answer to a decoded ``/infer`` body; non-finite outputs as proto3's strings."""
    wanted = _requested_outputs(served, body.get("outputs"))
    outputs = run_predict(st, served, _inputs(served, body.get("inputs"), st.config.max_batch))
    response: Dict[str, Any] = {"model_name": served.name, "model_version": VERSION}
    if "id" in body:
        if not isinstance(body["id"], str):
            raise bad(f"'id' must be a string, got {json_type(body['id'])}")
        response["id"] = body["id"]
    response["outputs"] = [
        {"name": spec.name, "datatype": v2_name(out.dtype), "shape": list(out.shape), "data": jsonio.v2_data(out)}
        for spec, out in zip(served.outputs, outputs) if spec.name in wanted]
    return jsonio.dumps(response)


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
        if not isinstance(out_name, str) or out_name not in names:
            raise bad(f"outputs[{i}]: unknown output {clip(out_name)}; the model's outputs are {names}")
        if _parameters(item, f"outputs[{i}]").get("binary_data"):
            raise bad(f"outputs[{i}]: binary_data is not supported; keraslite returns JSON data")
        chosen.append(out_name)
    return chosen


def _inputs(served: ServedModel, inputs, limit: int) -> List[np.ndarray]:
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
        if not isinstance(name, str):
            raise bad(f"inputs[{i}]: 'name' must be a string naming one of the model's inputs {list(specs)}, got "
                      f"{json_type(name)}")
        if name not in specs:
            raise bad(f"inputs[{i}]: unknown input {clip(name)}; the model's inputs are {list(specs)}")
        if name in arrays:
            raise bad(f"inputs[{i}]: input {name!r} is given twice")
        arrays[name] = _tensor(tensor, specs[name], f"input {name!r}", limit)
    missing = [n for n in specs if n not in arrays]
    if missing:
        raise bad(f"missing input {missing[0]!r}; the model's inputs are {list(specs)}")
    return [arrays[n] for n in specs]


def _parameters(obj: Dict[str, Any], what: str) -> Dict[str, Any]:
    """An input's or output's ``parameters``: an object (or absent)."""
    params = obj.get("parameters")
    if params is None:
        return {}
    if not isinstance(params, dict):
        raise bad(f"{what}: 'parameters' must be an object, got {json_type(params)}")
    return params


def _tensor(tensor: Dict[str, Any], spec, what: str, limit: int) -> np.ndarray:
    """One V2 input tensor -> an array of the model input's dtype, checked against ``shape`` and the signature."""
    for key in ("shape", "datatype", "data"):
        if key not in tensor:
            raise bad(f"{what}: missing {key!r}")
    if _parameters(tensor, what).get("binary_data_size") is not None:
        raise bad(f"{what}: binary tensor data is not supported; send 'data' as JSON numbers")
    shape = tensor["shape"]
    if not isinstance(shape, list) or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0
                                              for d in shape):
        raise bad(f"{what}: 'shape' must be an array of non-negative integers, got {clip(shape, 60)}")
    if len(shape) != len(spec.shape):  # before any allocation: numpy allows at most 64 axes
        raise bad(f"{what}: 'shape' has rank {len(shape)}, expected rank {len(spec.shape)} "
                  f"(shape {show_shape(spec.shape)}, axis 0 the batch)")
    if shape:
        check_batch(shape[0], limit)
    dtype = numpy_for_v2(tensor["datatype"], what)
    if dtype == "string" or spec.dtype == "string":  # BYTES tensors for raw-text models
        from .strings import v2_bytes_tensor

        if dtype != spec.dtype:
            raise bad(f"{what}: datatype {tensor['datatype']} is not supported for this input: it takes "
                      f"{v2_name(spec.dtype)} (BYTES carries strings, for text inputs)")
        return v2_bytes_tensor(tensor["data"], shape, spec, what)
    data = tensor["data"]
    if isinstance(data, NumericText):
        arr = to_array(data, what, dtype)  # a large array: parsed straight into the datatype
    else:
        arr = to_array(data if isinstance(data, list) else [data], what)
    count = math.prod(shape)
    if arr.size != count:
        raise bad(f"{what}: 'data' has {arr.size} values but 'shape' {show_shape(shape)} needs {count}")
    arr = cast(arr.reshape(shape), dtype, f"{what} (datatype {tensor['datatype']})")
    check_shape(arr, spec, what)
    return cast(arr, spec.dtype, what)
