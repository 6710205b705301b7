"""TensorFlow Serving REST: status, metadata and :predict in both formats, checked against real Keras outputs."""
import numpy as np



def test_status_reports_available_version_1(client):
    for url in ("/v1/models/mlp", "/v1/models/mlp/versions/1"):
        r = client.get(url)
        assert r.status_code == 200
        assert r.json == {"model_version_status": [
            {"version": "1", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}]}


def test_metadata_describes_the_serving_default_signature(client):
    r = client.get("/v1/models/multi/metadata")
    assert r.status_code == 200
    assert r.json["model_spec"] == {"name": "multi", "signature_name": "", "version": "1"}
    sig = r.json["metadata"]["signature_def"]["signature_def"]["serving_default"]
    assert list(sig["inputs"]) == ["input_a", "input_b", "input_c"]
    assert list(sig["outputs"]) == ["head_a", "head_b"]
    a = sig["inputs"]["input_a"]
    assert a["dtype"] == "DT_FLOAT"
    assert [d["size"] for d in a["tensor_shape"]["dim"]] == ["-1", "6"]
    assert [d["size"] for d in sig["outputs"]["head_b"]["tensor_shape"]["dim"]] == ["-1", "2"]
    assert sig["method_name"] == "tensorflow/serving/predict"


def test_row_format_matches_keras(client, mlp_io):
    (x,), (y,) = mlp_io
    r = client.post("/v1/models/mlp:predict", json={"instances": x.tolist()})
    assert r.status_code == 200, r.json
    np.testing.assert_allclose(np.array(r.json["predictions"]), y, rtol=1e-4, atol=1e-5)


def test_columnar_format_and_signature_name_and_version_route(client, mlp_io):
    (x,), (y,) = mlp_io
    body = {"signature_name": "serving_default", "inputs": x[:2].tolist()}
    r = client.post("/v1/models/mlp/versions/1:predict", json=body)
    assert r.status_code == 200, r.json
    np.testing.assert_allclose(np.array(r.json["outputs"]), y[:2], rtol=1e-4, atol=1e-5)
    named = client.post("/v1/models/mlp:predict", json={"inputs": {"features": x[:1].tolist()}})
    np.testing.assert_allclose(np.array(named.json["outputs"]), y[:1], rtol=1e-4, atol=1e-5)


def test_named_inputs_row_format_gives_one_object_per_instance(client, multi_io):
    xs, ys = multi_io
    names = ["input_a", "input_b", "input_c"]
    instances = [{n: x[i].tolist() for n, x in zip(names, xs)} for i in range(len(xs[0]))]
    r = client.post("/v1/models/multi:predict", json={"instances": instances})
    assert r.status_code == 200, r.json
    preds = r.json["predictions"]
    assert len(preds) == len(xs[0]) and set(preds[0]) == {"head_a", "head_b"}
    np.testing.assert_allclose(np.array([p["head_a"] for p in preds]), ys[0], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.array([p["head_b"] for p in preds]), ys[1], rtol=1e-4, atol=1e-5)


def test_named_inputs_columnar_format_gives_an_object_of_outputs(client, multi_io):
    xs, ys = multi_io
    inputs = dict(zip(["input_a", "input_b", "input_c"], (x.tolist() for x in xs)))
    r = client.post("/v1/models/multi:predict", json={"inputs": inputs})
    assert r.status_code == 200, r.json
    np.testing.assert_allclose(np.array(r.json["outputs"]["head_a"]), ys[0], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.array(r.json["outputs"]["head_b"]), ys[1], rtol=1e-4, atol=1e-5)


def test_integer_json_values_are_accepted_for_float_inputs(client):
    r = client.post("/v1/models/mlp:predict", json={"instances": [[0, 1, 2, 3, 4, 5, 6, 7]]})
    assert r.status_code == 200
    assert np.isclose(sum(r.json["predictions"][0]), 1.0, atol=1e-5)  # a softmax head
