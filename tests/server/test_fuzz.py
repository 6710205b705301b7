"""Property test: whatever a client sends to any route, the answer is never a 5xx and errors are JSON."""
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

URLS = ["/v1/models/mlp:predict", "/v1/models/multi:predict", "/v2/models/mlp/infer", "/v2/models/multi/infer",
        "/v1/models/mlp", "/v1/models/mlp/metadata", "/v2/models/mlp", "/v2/models/mlp/ready", "/v2/health/ready",
        "/v1/models/mlp/versions/7:predict", "/v2/models/x%00/infer", "/v1/models/:predict", "/metrics"]
DATATYPES = ["FP32", "FP64", "FP16", "INT8", "INT32", "INT64", "UINT8", "UINT64", "BOOL", "BYTES", "fp32", ""]
NAMES = ["features", "input_a", "input_b", "input_c", "x", ""]

scalars = st.one_of(st.none(), st.booleans(), st.integers(-2 ** 70, 2 ** 70),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=4))
json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=6),
                                                            st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                           max_leaves=40)
# Near-valid numeric tensors reach the deep checks (shape, dtype, batch) instead of failing early.
rows = st.lists(st.one_of(st.floats(-1e6, 1e6), st.integers(-300, 300)), min_size=0, max_size=10)
matrices = st.lists(rows, min_size=0, max_size=4)
v2_tensor = st.fixed_dictionaries({
    "name": st.sampled_from(NAMES), "datatype": st.sampled_from(DATATYPES),
    "shape": st.lists(st.integers(-1, 10), max_size=3), "data": st.one_of(rows, matrices, json_values)},
    optional={"parameters": st.dictionaries(st.sampled_from(["binary_data_size", "x"]), json_values, max_size=2)})
bodies = st.one_of(
    json_values,
    st.fixed_dictionaries({}, optional={"instances": st.one_of(matrices, json_values),
                                        "inputs": st.one_of(matrices, json_values),
                                        "signature_name": st.sampled_from(["serving_default", "", "x"])}),
    st.fixed_dictionaries({"inputs": st.lists(v2_tensor, max_size=4)},
                          optional={"id": json_values, "outputs": st.one_of(
                              json_values, st.lists(st.fixed_dictionaries({"name": st.sampled_from(
                                  ["head_a", "head_b", "zz"])}), max_size=3))}))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(url=st.sampled_from(URLS), method=st.sampled_from(["POST", "GET", "PUT"]), body=bodies,
       content_type=st.sampled_from(["application/json", "application/json", "text/plain", None]),
       garble=st.booleans())
def test_no_request_gets_a_5xx(client, url, method, body, content_type, garble):
    raw = json.dumps(body).encode()
    if garble:
        raw = raw[: len(raw) // 2]
    headers = {"Content-Type": content_type} if content_type else {}
    r = client.open(url, method=method, data=raw, headers=headers)
    assert r.status_code < 500, (r.status_code, r.get_data(as_text=True)[:300])
    if r.status_code >= 400:
        assert r.is_json and isinstance(r.json.get("error"), str) and r.json["error"]
