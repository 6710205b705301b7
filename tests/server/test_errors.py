"""Every client mistake: JSON {"error": ...} naming what is wrong, the right status, and the server keeps serving."""
import json

import pytest

PREDICT = "/v1/models/mlp:predict"
INFER = "/v2/models/mlp/infer"
ROW = [0.5] * 8


def v2(shape=(1, 8), datatype="FP32", data=None, name="features", **extra):
    data = [0.5] * (shape[0] * shape[1]) if data is None else data
    return {"inputs": [{"name": name, "shape": list(shape), "datatype": datatype, "data": data, **extra}]}


CASES = [
    # (id, method, url, json body or raw bytes, content type, status, words the message must contain)
    ("malformed-json", "POST", PREDICT, b'{"instances": [', "application/json", 400, ["malformed JSON"]),
    ("not-utf8", "POST", PREDICT, b'\xff\xfe', "application/json", 400, ["malformed JSON", "UTF-8"]),
    ("deep-json", "POST", PREDICT, b"[" * 100000, "application/json", 400, ["malformed JSON"]),
    ("top-level-array", "POST", PREDICT, [1, 2], None, 400, ["JSON object", "array"]),
    ("empty-body", "POST", PREDICT, b"", "application/json", 400, ["empty request body"]),
    ("neither", "POST", PREDICT, {"foo": 1}, None, 400, ["instances", "inputs", "neither"]),
    ("both", "POST", PREDICT, {"instances": [ROW], "inputs": [ROW]}, None, 400, ["both"]),
    ("empty-batch", "POST", PREDICT, {"instances": []}, None, 400, ["empty batch"]),
    ("empty-columnar", "POST", PREDICT, {"inputs": [[]]}, None, 400, ["features", "axis 1", "expected 8", "got 0"]),
    ("instances-not-list", "POST", PREDICT, {"instances": {"features": ROW}}, None, 400, ["instances", "array"]),
    ("wrong-width", "POST", PREDICT, {"instances": [[0.5] * 7]}, None, 400,
     ["input 'features'", "axis 1", "expected 8", "got 7"]),
    ("wrong-rank", "POST", PREDICT, {"instances": ROW}, None, 400, ["features", "expected rank 2", "got rank 1"]),
    ("string-value", "POST", PREDICT, {"instances": [[0.5] * 7 + ["x"]]}, None, 400,
     ["features", "expected numbers", "string"]),
    ("null-value", "POST", PREDICT, {"instances": [[0.5] * 7 + [None]]}, None, 400, ["expected numbers", "null"]),
    ("bool-value", "POST", PREDICT, {"instances": [[True] * 8]}, None, 400, ["booleans"]),
    ("ragged", "POST", PREDICT, {"instances": [ROW, [0.5] * 7]}, None, 400, ["features", "ragged"]),
    ("huge-int", "POST", INFER, v2(datatype="INT64", data=[2 ** 70] * 8), None, 400, ["int64", "lie in"]),
    ("float32-overflow", "POST", PREDICT, {"instances": [[0.5] * 7 + [1e39]]}, None, 400,
     ["input 'features'", "1e+39", "float32", "[0, 7]"]),
    ("float32-overflow-v2", "POST", INFER, v2(data=[0.5] * 7 + [-3e39]), None, 400, ["-3e+39", "float32"]),
    ("v2-nan-token", "POST", INFER, b'{"inputs": [{"name": "features", "shape": [1, 1], "datatype": "FP32", '
     b'"data": [NaN]}]}', "application/json", 400, ["malformed JSON"]),
    ("v2-shape-65-dims", "POST", INFER, v2(shape=[1] * 65, data=[0.5]), None, 400, ["rank 65", "expected rank 2"]),
    ("v2-name-list", "POST", INFER, v2(name=["features"]), None, 400, ["'name' must be a string", "an array"]),
    ("v2-name-object", "POST", INFER, v2(name={"a": 1}), None, 400, ["'name' must be a string", "an object"]),
    ("v2-input-parameters-list", "POST", INFER, v2(parameters=[1]), None, 400, ["'parameters'", "an object"]),
    ("v2-input-parameters-string", "POST", INFER, v2(parameters="x"), None, 400, ["'parameters'", "a string"]),
    ("v2-output-parameters", "POST", INFER, {**v2(), "outputs": [{"name": "dense_2", "parameters": 5}]}, None,
     400, ["outputs[0]", "'parameters'", "a number"]),
    ("v2-output-name-list", "POST", INFER, {**v2(), "outputs": [{"name": ["x"]}]}, None, 400, ["unknown output"]),
    ("unknown-signature", "POST", PREDICT, {"signature_name": "train", "instances": [ROW]}, None, 400,
     ["signature_name", "train", "serving_default"]),
    ("unknown-named-input", "POST", PREDICT, {"instances": [{"nope": ROW}]}, None, 400, ["unknown input 'nope'"]),
    ("multi-needs-names", "POST", "/v1/models/multi:predict", {"instances": [[0.5] * 6]}, None, 400,
     ["3 inputs", "object"]),
    ("multi-missing-input", "POST", "/v1/models/multi:predict",
     {"inputs": {"input_a": [[0.5] * 6], "input_b": [[0.5] * 6]}}, None, 400, ["missing input 'input_c'"]),
    ("multi-batch-mismatch", "POST", "/v1/models/multi:predict",
     {"inputs": {"input_a": [[0.5] * 6], "input_b": [[0.5] * 6] * 2, "input_c": [[0.5] * 4]}}, None, 400,
     ["batch sizes"]),
    ("v2-length-vs-shape", "POST", INFER, v2(shape=(2, 8), data=[0.5] * 8), None, 400,
     ["features", "8 values", "(2, 8)", "16"]),
    ("v2-wrong-shape", "POST", INFER, v2(shape=(2, 4), data=[0.5] * 8), None, 400,
     ["features", "axis 1", "expected 8", "got 4"]),
    ("v2-unknown-datatype", "POST", INFER, v2(datatype="FP128"), None, 400, ["unknown datatype 'FP128'", "FP32"]),
    ("v2-bytes", "POST", INFER, v2(datatype="BYTES"), None, 400, ["BYTES", "not supported"]),
    ("v2-fraction-as-int", "POST", INFER, v2(datatype="INT32"), None, 400, ["INT32", "whole numbers"]),
    ("v2-int8-range", "POST", INFER, v2(datatype="INT8", data=[300] * 8), None, 400, ["int8", "-128", "300"]),
    ("v2-empty-batch", "POST", INFER, v2(shape=(0, 8), data=[]), None, 400, ["empty batch"]),
    ("v2-no-inputs", "POST", INFER, {"inputs": []}, None, 400, ["'inputs'", "non-empty"]),
    ("v2-unknown-input", "POST", INFER, v2(name="x"), None, 400, ["unknown input 'x'", "features"]),
    ("v2-missing-key", "POST", INFER, {"inputs": [{"name": "features", "shape": [1, 8], "data": ROW}]}, None,
     400, ["missing 'datatype'"]),
    ("v2-bad-shape", "POST", INFER, v2(shape=(1, -8)), None, 400, ["'shape'", "non-negative"]),
    ("v2-string-data", "POST", INFER, v2(data=["a"] * 8), None, 400, ["expected numbers", "string"]),
    ("v2-unknown-output", "POST", INFER, {**v2(), "outputs": [{"name": "zz"}]}, None, 400, ["unknown output 'zz'"]),
    ("v2-id-not-string", "POST", INFER, {**v2(), "id": 5}, None, 400, ["'id'", "string"]),
    ("v2-binary-data", "POST", INFER, v2(parameters={"binary_data_size": 32}), None, 400, ["binary"]),
    ("unknown-model-v1", "POST", "/v1/models/nope:predict", {"instances": [ROW]}, None, 404,
     ["model 'nope' not found", "mlp"]),
    ("unknown-model-v2", "GET", "/v2/models/nope", None, None, 404, ["model 'nope' not found"]),
    ("unknown-version", "GET", "/v1/models/mlp/versions/2", None, None, 404, ["version '2'", "'1'"]),
    ("unknown-route", "GET", "/v3/anything", None, None, 404, ["no route", "/openapi.json"]),
    ("get-predict", "GET", PREDICT, None, None, 405, ["GET", "POST"]),
    ("delete-model", "DELETE", "/v2/models/mlp", None, None, 405, ["DELETE", "GET"]),
    ("post-health", "POST", "/v2/health/ready", {}, None, 405, ["POST"]),
    ("text-plain", "POST", PREDICT, b'{"instances": []}', "text/plain", 415, ["Content-Type", "text/plain"]),
    ("multipart", "POST", INFER, b"--x--", "multipart/form-data; boundary=x", 415, ["multipart/form-data"]),
    ("too-large", "POST", PREDICT, b"[" + b"0," * 600000 + b"0]", "application/json", 413, ["too large", "1 MB"]),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_client_mistake_gets_json_error(client, case):
    _, method, url, body, content_type, status, words = case
    kwargs = {}
    if isinstance(body, bytes):
        kwargs = {"data": body, "content_type": content_type}
    elif body is not None:
        kwargs = {"json": body}
    r = client.open(url, method=method, **kwargs)
    assert r.status_code == status, r.get_data(as_text=True)[:300]
    assert r.is_json, r.get_data(as_text=True)[:300]
    assert set(r.json) == {"error"}
    for word in words:
        assert word in r.json["error"], (word, r.json["error"])
    # The same app keeps answering good requests afterwards.
    ok = client.post(PREDICT, json={"instances": [ROW]})
    assert ok.status_code == 200
    if method == "POST" and status != 413:
        # keraslite's worker hands the body over already read: the fast path must answer exactly as Flask does.
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        fast = client.open(url, method=method, data=raw, content_type=content_type or "application/json",
                           environ_overrides={"keraslite.body": bytearray(raw)})
        assert (fast.status_code, fast.json) == (r.status_code, r.json)


def test_curl_default_content_type_is_accepted_as_json(client):
    # TF Serving's documented curl commands (`curl -d '{...}'`) send application/x-www-form-urlencoded.
    r = client.post(PREDICT, data=json.dumps({"instances": [ROW]}), content_type="application/x-www-form-urlencoded")
    assert r.status_code == 200
    r = client.post(PREDICT, data=json.dumps({"instances": [ROW]}), content_type="application/vnd.api+json")
    assert r.status_code == 200


def test_405_names_allowed_methods_in_header(client):
    r = client.get(PREDICT)
    assert r.status_code == 405 and "POST" in r.headers["Allow"]
