"""Without orjson (it is optional), the standard library decodes and encodes with the same results."""
import subprocess
import sys

import numpy as np

SCRIPT = r"""
import json, sys
sys.modules["orjson"] = None  # as if it were not installed
import numpy as np
from keraslite.server import create_app, jsonio
assert jsonio.orjson is None
client = create_app({"mlp": sys.argv[1]}, {"max_body_mb": 8}).test_client()
row = [0.25] * 8
small = client.post("/v1/models/mlp:predict", json={"instances": [row]})
big = client.post("/v1/models/mlp:predict", data=json.dumps({"instances": [row] * 60000}),
                  content_type="application/json")
nan = client.post("/v1/models/mlp:predict", data=b'{"instances": [[NaN, 0, 0, 0, 0, 0, 0, 0]]}',
                  content_type="application/json")
v2 = client.post("/v2/models/mlp/infer", json={"inputs": [{"name": "features", "shape": [1, 8], "datatype": "FP32",
                                                          "data": [3e38] * 8}]})
v2_nan = client.post("/v2/models/mlp/infer", data=b'{"inputs": [{"name": "features", "shape": [1, 1], '
                     b'"datatype": "FP32", "data": [NaN]}]}', content_type="application/json")
bad = client.post("/v1/models/mlp:predict", data=b'{"instances": [1,,2]}', content_type="application/json")
print(json.dumps({"small": small.json, "big_rows": len(big.json["predictions"]), "big_first": big.json["predictions"][0],
                  "nan": nan.get_data(as_text=True), "v2": v2.json["outputs"][0]["data"],
                  "v2_nan": [v2_nan.status_code, v2_nan.json["error"]], "bad": [bad.status_code, bad.json["error"]]}))
"""


def test_standard_library_fallback(mlp_file, client):
    out = subprocess.run([sys.executable, "-c", SCRIPT, mlp_file], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    import json

    got = json.loads(out.stdout.strip().splitlines()[-1])
    with_orjson = client.post("/v1/models/mlp:predict", json={"instances": [[0.25] * 8]}).json
    assert abs(got["small"]["predictions"][0][0] - with_orjson["predictions"][0][0]) < 1e-6
    assert got["big_rows"] == 60000
    # one row alone and the same row in a big batch may round differently (kernels block by batch size)
    np.testing.assert_allclose(got["big_first"], got["small"]["predictions"][0], rtol=1e-5, atol=1e-6)
    assert got["nan"] == '{"predictions":[[NaN,NaN,NaN,NaN]]}'
    assert set(got["v2"]) == {"NaN"}
    assert got["v2_nan"][0] == 400 and "malformed JSON" in got["v2_nan"][1]
    assert got["bad"][0] == 400 and "malformed JSON" in got["bad"][1]
