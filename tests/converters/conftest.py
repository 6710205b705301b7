"""Helpers for the exporter tests: one export and one onnxruntime session per (model file, opset), reused."""
import numpy as np
import onnxruntime
import pytest

from keraslite.converters import export_onnx

OPSETS = (13, 17, 21)
_SESSIONS = {}


def model_file(case):
    """The file to export for a fixture case: .h5 when Keras wrote one, else .keras."""
    path = case.path("h5") or case.path("keras")
    if path is None:
        pytest.fail(f"fixture {case.id} has neither an .h5 nor a .keras file")
    return path


def exported(path_or_spec, opset, key=None):
    """``(ModelProto, InferenceSession)`` for a model at an opset, built once per test session."""
    key = key or (str(path_or_spec), opset)
    if key not in _SESSIONS:
        proto = export_onnx(path_or_spec, opset=opset)
        session = onnxruntime.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
        _SESSIONS[key] = (proto, session)
    return _SESSIONS[key]


def feed(session, xs):
    """Inputs by graph input name, cast to the dtype each graph input declares."""
    dtypes = {"tensor(float)": np.float32, "tensor(int32)": np.int32, "tensor(int64)": np.int64,
              "tensor(double)": np.float64}
    return {i.name: np.asarray(x).astype(dtypes[i.type]) for i, x in zip(session.get_inputs(), xs)}


def assert_close(got, expected, what=""):
    """Within 1e-4 relative, with an absolute floor of 1e-4 of the output's scale for values near zero."""
    expected = np.asarray(expected)
    assert got.shape == expected.shape, f"{what}: shape {got.shape}, expected {expected.shape}"
    scale = max(float(np.max(np.abs(expected))) if expected.size else 0.0, 1e-6)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * scale, err_msg=what)


class Helpers:
    """The helpers above, handed to tests as the ``onnx_helpers`` fixture (tests cannot import conftest)."""

    OPSETS = OPSETS
    model_file = staticmethod(model_file)
    exported = staticmethod(exported)
    feed = staticmethod(feed)
    assert_close = staticmethod(assert_close)


@pytest.fixture(scope="session")
def onnx_helpers():
    return Helpers
