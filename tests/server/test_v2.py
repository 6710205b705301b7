"""Open Inference Protocol V2: health, metadata and /infer, checked against real Keras outputs."""
import numpy as np
import pytest

import keraslite


def test_server_metadata_and_health(client):
    assert client.get("/v2").json == {"name": "keraslite", "version": keraslite.__version__, "extensions": []}
    assert client.get("/v2/health/live").json == {"live": True}
    r = client.get("/v2/health/ready")
    assert (r.status_code, r.json) == (200, {"ready": True})
    for url in ("/v2/models/mlp/ready", "/v2/models/mlp/versions/1/ready"):
        assert client.get(url).json == {"name": "mlp", "ready": True}


def test_model_metadata_lists_named_typed_shaped_tensors(client):
    r = client.get("/v2/models/multi")
    assert r.status_code == 200
    assert r.json["name"] == "multi" and r.json["versions"] == ["1"] and r.json["platform"] == "keraslite"
    assert r.json["inputs"] == [{"name": "input_a", "datatype": "FP32", "shape": [-1, 6]},
                                {"name": "input_b", "datatype": "FP32", "shape": [-1, 6]},
                                {"name": "input_c", "datatype": "FP32", "shape": [-1, 4]}]
    assert r.json["outputs"] == [{"name": "head_a", "datatype": "FP32", "shape": [-1, 3]},
                                 {"name": "head_b", "datatype": "FP32", "shape": [-1, 2]}]
    assert client.get("/v2/models/multi/versions/1").json == r.json


def tensor(name, arr, datatype="FP32", nested=False):
    data = arr.tolist() if nested else arr.ravel().tolist()
    return {"name": name, "shape": list(arr.shape), "datatype": datatype, "data": data}


@pytest.mark.parametrize("nested", [False, True], ids=["flat", "nested"])
def test_infer_matches_keras_and_echoes_id(client, mlp_io, nested):
    (x,), (y,) = mlp_io
    r = client.post("/v2/models/mlp/infer", json={"id": "req-7", "inputs": [tensor("features", x, nested=nested)]})
    assert r.status_code == 200, r.json
    assert r.json["model_name"] == "mlp" and r.json["model_version"] == "1" and r.json["id"] == "req-7"
    (out,) = r.json["outputs"]
    assert out["datatype"] == "FP32" and out["shape"] == list(y.shape)
    np.testing.assert_allclose(np.array(out["data"]).reshape(out["shape"]), y, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("datatype", ["FP16", "FP64", "INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16",
                                      "UINT32", "UINT64"])
def test_infer_takes_every_numeric_datatype(client, datatype):
    x = np.arange(16, dtype=np.float32).reshape(2, 8) % 5
    expected = client.post("/v1/models/mlp:predict", json={"instances": x.tolist()}).json["predictions"]
    data = x.astype(int).tolist() if datatype[0] in "IU" else x.tolist()
    body = {"inputs": [{"name": "features", "shape": [2, 8], "datatype": datatype, "data": data}]}
    r = client.post("/v2/models/mlp/infer", json=body)
    assert r.status_code == 200, r.json
    np.testing.assert_allclose(np.array(r.json["outputs"][0]["data"]).reshape(2, 4), expected, rtol=1e-5)


def test_infer_named_inputs_in_any_order_and_outputs_filter(client, multi_io):
    xs, ys = multi_io
    names = ["input_a", "input_b", "input_c"]
    inputs = [tensor(n, x) for n, x in zip(names, xs)][::-1]
    r = client.post("/v2/models/multi/infer", json={"inputs": inputs, "outputs": [{"name": "head_b"}]})
    assert r.status_code == 200, r.json
    assert [o["name"] for o in r.json["outputs"]] == ["head_b"]
    np.testing.assert_allclose(np.array(r.json["outputs"][0]["data"]).reshape(ys[1].shape), ys[1],
                               rtol=1e-4, atol=1e-5)
    both = client.post("/v2/models/multi/versions/1/infer", json={"inputs": inputs}).json["outputs"]
    assert [o["name"] for o in both] == ["head_a", "head_b"]
    np.testing.assert_allclose(np.array(both[0]["data"]).reshape(ys[0].shape), ys[0], rtol=1e-4, atol=1e-5)
