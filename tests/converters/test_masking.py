"""Masked recurrent layers in ONNX (unmasked steps moved to the front, sequence_lens, outputs gathered back): any
padding pattern gives the runtime's numbers, and final outputs do not depend on where the padding is."""
import numpy as np
import onnxruntime

from keraslite import format as kf
from keraslite import runtime
from keraslite.converters import export_onnx
from keraslite.format.spec import TensorRef

FIXTURE = "tests/fixtures/keras2/masked_text.h5"


def test_padding_anywhere_matches_the_runtime():
    spec = kf.read(FIXTURE)
    names = ["gru_last", "bi_last", "back_gap", "bi_gap"]
    spec = spec.replace(outputs=[TensorRef(n) for n in names])
    session = onnxruntime.InferenceSession(export_onnx(spec, opset=17).SerializeToString(),
                                           providers=["CPUExecutionProvider"])
    words = [3, 7, 1, 12]
    rows = np.array([[0, 0, 0] + words, words + [0, 0, 0], [3, 0, 7, 0, 1, 0, 12], [5, 0, 0, 0, 0, 0, 0]], np.int32)
    got = session.run(None, {"ids": rows})
    want = runtime.load_spec(spec).predict(rows)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5)
    for g in got[:2]:  # final outputs: the same words give the same result wherever the padding is
        np.testing.assert_allclose(g[1], g[0], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(g[2], g[0], rtol=1e-5, atol=1e-6)
