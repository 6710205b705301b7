"""Serving a raw-text model (real Keras 3's review_model.keras: TextVectorization -> Embedding -> Dense): TF
Serving strings (and {"b64"}), V2 BYTES, metadata DT_STRING/BYTES, Keras' own outputs."""
import base64
import os

import numpy as np
import pytest

from .conftest import FIXTURES, keras_arrays

REVIEWS = os.path.join(FIXTURES, "text", "review_model.keras")


@pytest.fixture(scope="module")
def text_client():
    from keraslite.server import create_app

    return create_app({"reviews": REVIEWS}).test_client()


@pytest.fixture(scope="module")
def keras_io():
    (x,), (y,) = keras_arrays(REVIEWS)
    return [[str(s)] for s in x[:, 0]], y


def test_tf_serving_strings(text_client, keras_io):
    rows, y = keras_io
    r = text_client.post("/v1/models/reviews:predict", json={"instances": rows})
    assert r.status_code == 200
    np.testing.assert_allclose(r.json["predictions"], y, atol=1e-6)
    b64 = [[{"b64": base64.b64encode(row[0].encode()).decode()}] for row in rows]
    r = text_client.post("/v1/models/reviews:predict", json={"inputs": b64})
    np.testing.assert_allclose(r.json["outputs"], y, atol=1e-6)


def test_v2_bytes(text_client, keras_io):
    rows, y = keras_io
    body = {"inputs": [{"name": "review", "shape": [len(rows), 1], "datatype": "BYTES",
                        "data": [row[0] for row in rows]}]}
    r = text_client.post("/v2/models/reviews/infer", json=body)
    assert r.status_code == 200
    np.testing.assert_allclose(np.reshape(r.json["outputs"][0]["data"], (-1, 1)), y, atol=1e-6)


def test_metadata_names_string_dtypes(text_client):
    meta = text_client.get("/v1/models/reviews/metadata").json
    assert meta["metadata"]["signature_def"]["signature_def"]["serving_default"]["inputs"]["review"]["dtype"] == \
        "DT_STRING"
    assert text_client.get("/v2/models/reviews").json["inputs"][0]["datatype"] == "BYTES"


@pytest.mark.parametrize("body, status, text", [
    ({"instances": [[3]]}, 400, "expected strings"),
    ({"instances": [[{"b64": "%%%"}]]}, 400, "invalid base64"),
    ({"instances": ["no column"]}, 400, "expected rank 2"),
])
def test_bad_string_requests(text_client, body, status, text):
    r = text_client.post("/v1/models/reviews:predict", json=body)
    assert r.status_code == status and text in r.json["error"]


def test_v2_datatype_mismatch(text_client):
    body = {"inputs": [{"name": "review", "shape": [1, 1], "datatype": "FP32", "data": [1.0]}]}
    r = text_client.post("/v2/models/reviews/infer", json=body)
    assert r.status_code == 400 and "datatype FP32 is not supported for this input: it takes BYTES" in \
        r.json["error"]


def test_keraslite_serve_answers_raw_text(free_port, tmp_path, keras_io):
    """`keraslite serve review_model.keras` under gunicorn, over real HTTP, printing a string curl to try."""
    import subprocess
    import sys

    from .test_e2e import request, wait_ready

    log_path = tmp_path / "serve.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "keraslite", "serve", REVIEWS, "--port", str(free_port),
                                 "--workers", "1"], stdout=log, stderr=subprocess.STDOUT, cwd=str(tmp_path))
    try:
        wait_ready(proc, free_port, log_path)
        rows, y = keras_io
        status, _, body = request(free_port, "POST", "/v1/models/review_model:predict", {"instances": rows})
        assert status == 200
        np.testing.assert_allclose(body["predictions"], y, atol=1e-6)
        assert '{"instances":[["some text"]]}' in open(log_path).read()
    finally:
        proc.terminate()
        proc.wait(timeout=60)
