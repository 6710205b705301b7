"""TensorFlow Serving REST API: model status, metadata and ``:predict`` in row and columnar formats."""
from __future__ import annotations

from typing import Any, Dict, List

import numpy as np
from flask import Blueprint, jsonify, request
from werkzeug.exceptions import MethodNotAllowed

from . import jsonio
from .context import ServerState, json_response, model_or_404, run_predict, state, versioned_routes
from .decode import as_input, bad, clip, json_type, read_json
from .dtypes import tf_name
from .models import VERSION, ServedModel
from .numeric import NumericText

SIGNATURE = "serving_default"
bp = Blueprint("tfserving", __name__)


_routes = versioned_routes(bp, "/v1/models")


@_routes("", methods=["GET"])
def status(name, version=None):
    """Model version status, as TF Serving's GetModelStatus."""
    base, colon, verb = name.rpartition(":")
    if colon and verb == "predict" and state().store.get(base) is not None:
        raise MethodNotAllowed(valid_methods=["POST"])
    served = model_or_404(name, version)
    return jsonify({"model_version_status": [
        {"version": VERSION, "state": "AVAILABLE" if served.ready else "LOADING", "status": {"error_code": "OK", "error_message": ""}}]})


def _tensor_info(spec, prefix: str) -> Dict[str, Any]:
    dims = [{"size": str(-1 if d is None else int(d)), "name": ""} for d in spec.shape]
    return {"dtype": tf_name(spec.dtype), "tensor_shape": {"dim": dims, "unknown_rank": False},
            "name": f"{prefix}{spec.name}:0"}


@_routes("/metadata", methods=["GET"])
def metadata(name, version=None):
    """The ``serving_default`` signature: input and output names, dtypes and shapes (-1 for the batch)."""
    served = model_or_404(name, version)
    signature = {
        "inputs": {s.name: _tensor_info(s, "serving_default_") for s in served.inputs},
        "outputs": {s.name: _tensor_info(s, "StatefulPartitionedCall/") for s in served.outputs},
        "method_name": "tensorflow/serving/predict",
    }
    return jsonify({"model_spec": {"name": name, "signature_name": "", "version": VERSION},
                    "metadata": {"signature_def": {"signature_def": {SIGNATURE: signature}}}})


@_routes(":predict", methods=["POST"])
def predict(name, version=None):
    """Predict: ``{"instances": [...]}`` -> ``{"predictions": [...]}``, ``{"inputs": ...}`` -> ``{"outputs": ...}``."""
    st = state()
    served = model_or_404(name, version, st)
    return json_response(answer(st, served, read_json(request, allow_non_finite=True)))


def answer(st: ServerState, served: ServedModel, body: dict) -> bytes:
    """The JSON answer to a decoded ``:predict`` body (TF Serving reads and writes NaN/Infinity tokens)."""
    signature = body.get("signature_name", SIGNATURE)
    if not isinstance(signature, str) or signature not in (SIGNATURE, ""):
        raise bad(f"unknown signature_name {clip(signature)}; this model has one signature, {SIGNATURE!r}")
    has_rows, has_cols = "instances" in body, "inputs" in body
    if has_rows == has_cols:
        which = "both" if has_rows else "neither"
        raise bad(f"expected exactly one of 'instances' (row format) or 'inputs' (columnar format), got {which}")
    limit = st.config.max_batch
    if has_rows:
        outputs = run_predict(st, served, _rows(served, body["instances"], limit))
        result = {"predictions": _row_predictions(served, outputs)}
    else:
        outputs = run_predict(st, served, _columns(served, body["inputs"], limit))
        result = {"outputs": outputs[0] if len(outputs) == 1 else dict(zip([s.name for s in served.outputs], outputs))}
    # Non-finite outputs are written as TF Serving writes them: bare NaN / Infinity / -Infinity tokens.
    return jsonio.dumps_tf(result, outputs)


def _check_names(given, served: ServedModel, where: str) -> None:
    names = [s.name for s in served.inputs]
    unknown = [k for k in given if k not in names]
    if unknown:
        raise bad(f"{where}: unknown input {clip(unknown[0])}; the model's inputs are {names}")
    missing = [n for n in names if n not in given]
    if missing:
        raise bad(f"{where}: missing input {missing[0]!r}; the model's inputs are {names}")


def _rows(served: ServedModel, instances, limit: int) -> List[np.ndarray]:
    """Row format: a list of instances, each a value (one input) or an object of named inputs."""
    if not isinstance(instances, (list, NumericText)):
        raise bad(f"'instances' must be an array with one entry per example, got {json_type(instances)}")
    if not (instances.rows if isinstance(instances, NumericText) else instances):
        raise bad("'instances' is empty: expected at least one instance (empty batch)")
    specs = served.inputs
    if isinstance(instances, NumericText):  # a large array of numbers: unnamed rows of the only input
        named = [False]
    else:  # {"b64": ...} is one binary string, not an object of named inputs
        named = [isinstance(inst, dict) and set(inst) != {"b64"} for inst in instances]
    if not any(named):
        if len(specs) != 1:
            raise bad(f"the model has {len(specs)} inputs {[s.name for s in specs]}: give each instance as an "
                      f"object with one entry per input")
        hint = " ('instances' holds one entry per example)"
        return [as_input(instances, specs[0], f"input {specs[0].name!r}", hint, limit)]
    if not all(named):
        raise bad(f"instance {named.index(False)}: expected an object of named inputs like the other "
                  f"instances, got {json_type(instances[named.index(False)])}")
    for i, inst in enumerate(instances):
        _check_names(inst, served, f"instance {i}")
    return [as_input([inst[s.name] for inst in instances], s, f"input {s.name!r}", max_batch=limit)
            for s in specs]


def _columns(served: ServedModel, inputs, limit: int) -> List[np.ndarray]:
    """Columnar format: one batched value (one input) or an object of named batched values."""
    specs = served.inputs
    if isinstance(inputs, dict):
        _check_names(inputs, served, "'inputs'")
        return [as_input(inputs[s.name], s, f"input {s.name!r}", max_batch=limit) for s in specs]
    if len(specs) != 1:
        raise bad(f"the model has {len(specs)} inputs {[s.name for s in specs]}: 'inputs' must be an object with "
                  f"one entry per input")
    return [as_input(inputs, specs[0], f"input {specs[0].name!r}", max_batch=limit)]


def _row_predictions(served: ServedModel, outputs: List[np.ndarray]):
    if len(outputs) == 1:
        return outputs[0]
    names = [s.name for s in served.outputs]
    return [{n: out[i] for n, out in zip(names, outputs)} for i in range(len(outputs[0]))]
