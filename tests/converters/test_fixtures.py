"""Every fixture model exported at opsets 13, 17 and 21: checker, strict shape inference, onnxruntime vs Keras."""
import os

import numpy as np
import onnx
import pytest

OPSETS = (13, 17, 21)


@pytest.mark.parametrize("opset", OPSETS)
def test_fixture_matches_keras(keras_case, opset, onnx_helpers):
    h = onnx_helpers
    proto, session = h.exported(h.model_file(keras_case), opset)
    onnx.checker.check_model(proto, full_check=True)
    onnx.shape_inference.infer_shapes(proto, check_type=True, strict_mode=True, data_prop=True)
    xs, ys = keras_case.arrays()
    assert [i.name for i in proto.graph.input] == keras_case.inputs
    assert [o.name for o in proto.graph.output] == keras_case.outputs
    for batch in (1, 7):
        rows = np.arange(batch) % len(xs[0])  # batch 7 repeats Keras' rows; each row is still Keras' own output
        outputs = session.run(None, h.feed(session, [x[rows] for x in xs]))
        for name, got, y in zip(keras_case.outputs, outputs, ys):
            h.assert_close(got, y[rows], f"{keras_case.id} opset {opset} batch {batch} output {name}")


def test_fixture_signature(keras_case, onnx_helpers):
    h = onnx_helpers
    proto, _ = h.exported(h.model_file(keras_case), 17)
    xs, ys = keras_case.arrays()
    for info, x in zip(proto.graph.input, xs):
        dims = info.type.tensor_type.shape.dim
        assert dims[0].dim_param == "batch", f"{info.name}: batch dimension should be symbolic"
        assert [d.dim_value for d in dims[1:] if d.HasField("dim_value")] == [
            n for n, d in zip(x.shape[1:], dims[1:]) if d.HasField("dim_value")]
    for info, y in zip(proto.graph.output, ys):
        dims = info.type.tensor_type.shape.dim
        assert dims[0].dim_param == "batch"
        assert [d.dim_value for d in dims[1:]] == list(y.shape[1:]), info.name
    props = {p.key: p.value for p in proto.metadata_props}
    assert proto.producer_name == "keraslite"
    assert props["source_file"] == os.path.basename(h.model_file(keras_case))
    assert props["keras_version"].split(".")[0] == str(keras_case.keras)


def test_other_file_forms_match_keras(keras_case, onnx_helpers):
    """The .keras zip (Keras 3) or architecture JSON + weights (Keras 2) exports to the same numbers."""
    from keraslite import format as kformat

    h = onnx_helpers
    if keras_case.path("keras"):
        spec = kformat.read(keras_case.path("keras"))
    else:
        spec = kformat.read(keras_case.path("json"), weights=keras_case.path("weights"))
    proto, session = h.exported(spec, 17, key=(keras_case.id, "other-form"))
    xs, ys = keras_case.arrays()
    for name, got, y in zip(keras_case.outputs, session.run(None, h.feed(session, xs)), ys):
        h.assert_close(got, y, f"{keras_case.id} ({'keras' if keras_case.path('keras') else 'json'}) output {name}")
