"""Bodies of a megabyte and more: numeric arrays parsed straight into typed arrays give what small bodies give."""
import json

import numpy as np
import pytest

from keraslite.server import decode
from keraslite.server.numeric import LARGE, NumericText

PREDICT = "/v1/models/mlp:predict"


@pytest.fixture(scope="module")
def big_client(mlp_file, multi_file):
    from keraslite.server import create_app

    return create_app({"mlp": mlp_file, "multi": multi_file}, {"max_body_mb": 64}).test_client()


def tiled(x, y, rows):
    reps = -(-rows // len(x))
    return np.tile(x, (reps, 1))[:rows], np.tile(y, (reps, 1))[:rows]


def test_large_tf_and_v2_bodies_match_real_keras(big_client, mlp_io):
    (x,), (y,) = mlp_io
    xs, ys = tiled(x, y, 40000)
    body = json.dumps({"instances": xs.tolist()}).encode()
    assert len(body) > LARGE and isinstance(decode.parse(body)["instances"], NumericText)
    r = big_client.post(PREDICT, data=body, content_type="application/json")
    assert r.status_code == 200, r.json
    np.testing.assert_allclose(np.array(r.json["predictions"]), ys, rtol=1e-4, atol=1e-5)
    body = json.dumps({"inputs": [{"name": "features", "shape": list(xs.shape), "datatype": "FP64",
                                   "data": xs.ravel().tolist()}]}).encode()
    r = big_client.post("/v2/models/mlp/infer", data=body, content_type="application/json")
    assert r.status_code == 200, r.json
    np.testing.assert_allclose(np.array(r.json["outputs"][0]["data"]).reshape(ys.shape), ys, rtol=1e-4, atol=1e-5)


def test_large_columnar_inputs_of_several_inputs(big_client, multi_io):
    xs, ys = multi_io
    big = [tiled(x, y, 30000) for x, y in zip(xs, [ys[0]] * 3)]
    inputs = dict(zip(["input_a", "input_b", "input_c"], (b[0].tolist() for b in big)))
    r = big_client.post("/v1/models/multi:predict", json={"inputs": inputs})
    assert r.status_code == 200, r.json
    np.testing.assert_allclose(np.array(r.json["outputs"]["head_b"]), tiled(xs[0], ys[1], 30000)[1],
                               rtol=1e-4, atol=1e-5)


ROWS = b"[" + b",".join([b"[0.5,1,2,3,4,5,6,7]"] * 60000)


@pytest.mark.parametrize("body, status, words", [
    (b'{"instances": ' + ROWS + b',[1,2]]}', 400, ["ragged", "axis 1"]),
    (b'{"instances": ' + ROWS + b',[1,2,3,4,5,6,7,1e39]]}', 400, ["1e+39", "float32", "[60000, 7]"]),
    (b'{"instances": ' + ROWS + b',[1,,2]]}', 400, ["malformed JSON", "at byte"]),
    (b'{"instances": ' + ROWS + b']', 400, ["malformed JSON"]),  # the closing brace is missing
    (b'{"instances": ' + ROWS, 400, ["malformed JSON", "cut short"]),
    (b'{"instances": ' + ROWS + b'], "signature_name": 5}', 400, ["signature_name"]),
    (b'{"instances": ' + ROWS + b',[1,2,3,4,5,6,7,"x"]]}', 400, ["expected numbers", "string"]),
    (b'{"instances": [[0.5, 1, 2, 3, 4, 5, 6, 7]], "pad": "' + ROWS + b']"}', 200, []),  # numbers in a string
    (b'{"instances": [' + ROWS + b']]}', 400, ["expected rank 2", "got rank 3"]),
])
def test_large_bodies_give_the_same_answers_as_small_ones(big_client, body, status, words):
    assert len(body) > LARGE
    r = big_client.post(PREDICT, data=body, content_type="application/json")
    assert r.status_code == status, r.get_data(as_text=True)[:300]
    for word in words:
        assert word in r.json["error"], r.json


def test_malformed_position_points_into_the_original_body():
    body = b'{"instances": ' + ROWS + b',[1,,2]]}'
    with pytest.raises(decode.ApiError) as exc:
        decode.to_array(decode.parse(body)["instances"], "input 'x'", "float32")
    assert f"at byte {body.index(b',,') + 1}" in exc.value.message
    body = b'{"instances": ' + ROWS + b'] x}'  # the error lies after the numeric span
    with pytest.raises(decode.ApiError) as exc:
        decode.parse(body)
    assert f"at byte {body.index(b' x') + 1}" in exc.value.message


def test_integer_inputs_from_a_large_span_keep_their_values():
    text = b"[" + b",".join(b"%d" % (i * 7919 % 100003 - 50000) for i in range(300000)) + b"]"
    arr = decode.to_array(decode.parse(b'{"data": ' + text + b"}")["data"], "x", "int32")
    np.testing.assert_array_equal(arr, np.array(json.loads(text), dtype=np.int32))
    with pytest.raises(decode.ApiError, match="lie in"):
        decode.to_array(decode.parse(b'{"data": ' + text + b"}")["data"], "x", "int8")
