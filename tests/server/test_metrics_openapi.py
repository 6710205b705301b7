"""/metrics (Prometheus text format, counted per model, endpoint and status) and /openapi.json (covers every route)."""
import re

from prometheus_client.parser import text_string_to_metric_families

ROW = [0.5] * 8


def samples(client, name):
    """``{frozenset(labels.items()): value}`` of one sample name in /metrics."""
    r = client.get("/metrics")
    assert r.status_code == 200 and r.mimetype == "text/plain"
    found = {}
    for family in text_string_to_metric_families(r.get_data(as_text=True)):
        for s in family.samples:
            if s.name == name:
                found[frozenset(s.labels.items())] = s.value
    return found


def count(found, **labels):
    return sum(v for k, v in found.items() if set(labels.items()) <= k)


def test_requests_are_counted_by_model_endpoint_and_status(mlp_file):
    from keraslite.server import create_app

    client = create_app({"mlp": mlp_file}).test_client()
    for _ in range(3):
        assert client.post("/v1/models/mlp:predict", json={"instances": [ROW]}).status_code == 200
    assert client.post("/v1/models/mlp:predict", json={"instances": []}).status_code == 400
    v2 = {"inputs": [{"name": "features", "shape": [1, 8], "datatype": "FP32", "data": ROW}]}
    assert client.post("/v2/models/mlp/infer", json=v2).status_code == 200
    assert client.get("/v2/models/ghost").status_code == 404

    total = samples(client, "keraslite_requests_total")
    assert count(total, model="mlp", endpoint="tfserving.predict", status="200") == 3
    assert count(total, model="mlp", endpoint="tfserving.predict", status="400") == 1
    assert count(total, model="mlp", endpoint="v2.infer", status="200") == 1
    # An unknown model name is not a label value (a scanner could otherwise grow the series without bound).
    assert count(total, model="", endpoint="v2.model_metadata", status="404") == 1
    latency = samples(client, "keraslite_request_duration_seconds_count")
    assert count(latency, model="mlp", endpoint="tfserving.predict") == 4
    inference = samples(client, "keraslite_inference_duration_seconds_count")
    assert count(inference, model="mlp") == 4  # the 400 never reached the model
    buckets = samples(client, "keraslite_inference_duration_seconds_bucket")
    assert count(buckets, model="mlp", le="+Inf") == 4


def test_openapi_describes_every_route(app, client):
    doc = client.get("/openapi.json").json
    assert doc["openapi"].startswith("3.")
    documented = set()
    for path, ops in doc["paths"].items():
        for method in ops:
            documented.add((method.upper(), path))
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (method, path) in documented, (method, path)
    names = doc["paths"]["/v1/models/{name}:predict"]["post"]["parameters"][0]["schema"]["enum"]
    assert names == ["mlp", "multi"]
    # Every $ref resolves.
    refs = set(re.findall(r'"#/components/schemas/(\w+)"', client.get("/openapi.json").get_data(as_text=True)))
    assert refs and refs <= set(doc["components"]["schemas"])


def test_index_lists_models(client):
    r = client.get("/")
    assert r.json["models"] == ["mlp", "multi"]
