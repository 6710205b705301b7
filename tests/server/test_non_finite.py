"""NaN and infinities: TF Serving's NaN/Infinity tokens both ways; V2 stays strict JSON (proto3's strings out)."""
import json

import numpy as np
import orjson

PREDICT = "/v1/models/mlp:predict"
INFER = "/v2/models/mlp/infer"


def test_tf_serving_reads_and_writes_nan_and_infinity_tokens(client):
    r = client.post(PREDICT, data=b'{"instances": [[NaN, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]]}',
                    content_type="application/json")
    assert r.status_code == 200, r.get_data(as_text=True)
    text = r.get_data(as_text=True)
    assert text == '{"predictions":[[NaN,NaN,NaN,NaN]]}'  # NaN spreads through every Dense unit
    assert np.isnan(json.loads(text)["predictions"]).all()  # Python's json (and JavaScript) read the tokens
    r = client.post(PREDICT, data=b'{"instances": [[Infinity, -Infinity, 0, 0, 0, 0, 0, 0]]}',
                    content_type="application/json")
    assert r.status_code == 200


def test_finite_outputs_stay_strict_json(client):
    r = client.post(PREDICT, json={"instances": [[0.5] * 8]})
    assert r.status_code == 200 and np.isfinite(orjson.loads(r.data)["predictions"]).all()


def test_v2_answers_non_finite_outputs_as_proto3_strings_in_strict_json(app, client):
    x = np.full((2, 8), 3e38, np.float32)  # finite float32 inputs whose Dense sums overflow
    x[1] = 0.5
    r = client.post(INFER, json={"inputs": [{"name": "features", "shape": [2, 8], "datatype": "FP32",
                                             "data": x.ravel().tolist()}]})
    assert r.status_code == 200, r.json
    (out,) = orjson.loads(r.data)["outputs"]  # a strict parser reads the answer
    expected = np.asarray(app.extensions["keraslite"].store.get("mlp").predict([x])[0]).ravel()
    assert not np.isfinite(expected).all(), "the test input no longer overflows"
    for got, want in zip(out["data"], expected):
        if np.isnan(want):
            assert got == "NaN"
        elif np.isinf(want):
            assert got == ("Infinity" if want > 0 else "-Infinity")
        else:
            assert isinstance(got, float) and np.isclose(got, want, rtol=1e-6)
