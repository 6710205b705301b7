"""Mask paths real-Keras fixtures do not reach (masked_text and masked_frames are the oracle for the numbers):
what the runtime refuses, and mask invariants that follow from Keras' definition (a masked step leaves the state
alone, so padding anywhere never changes a non-sequence output)."""
import numpy as np
import pytest

from keraslite import format as kf
from keraslite import runtime
from keraslite.errors import UnsupportedLayerError
from keraslite.format.spec import LayerSpec, ModelSpec, TensorRef

FIXTURE = "tests/fixtures/keras2/masked_text.h5"


def _embedding_pair(rng, h):
    ids = h.input_layer("ids", [5], "int32")
    emb = LayerSpec("emb", "Embedding", {"input_dim": 9, "output_dim": 3, "mask_zero": True},
                    [("embeddings", h.rand(rng, 9, 3))], [[TensorRef("ids")]])
    return ids, emb


def test_merging_masked_tensors_is_refused(h, rng):
    ids, emb = _embedding_pair(rng, h)
    add = LayerSpec("add", "Add", {}, [], [[TensorRef("emb"), TensorRef("emb")]])
    spec = ModelSpec("m", [ids, emb, add], [TensorRef("ids")], [TensorRef("add")])
    with pytest.raises(UnsupportedLayerError, match="'add' \\(Add\\): combining masked tensors"):
        runtime.load_spec(spec)


def test_layers_without_mask_support_drop_it(h, rng):
    """As in Keras 3: a Flatten after a masked Embedding drops the mask; the Dense after it sees every step."""
    ids, emb = _embedding_pair(rng, h)
    flat = LayerSpec("flat", "Flatten", {}, [], [[TensorRef("emb")]])
    spec = ModelSpec("m", [ids, emb, flat], [TensorRef("ids")], [TensorRef("flat")])
    x = np.array([[0, 0, 3, 4, 0]], np.int32)
    table = emb.weight_dict["embeddings"]
    np.testing.assert_array_equal(runtime.load_spec(spec).predict(x), table[x].reshape(1, -1))


def test_padding_position_does_not_change_final_outputs():
    """Keras skips masked steps entirely: a row padded at the front, inside or at the end gives the same final
    recurrent outputs (the GRU and Bidirectional GRU here return no sequences)."""
    spec = kf.read(FIXTURE)
    ends = [l.name for l in spec.layers if l.name in ("gru_last", "bi_last")]
    model = runtime.load_spec(spec.replace(outputs=[TensorRef(n) for n in ends]))
    words = [3, 7, 1, 12]
    rows = np.array([[0, 0, 0] + words, words + [0, 0, 0], [3, 0, 7, 0, 1, 0, 12]], np.int32)
    outs = model.predict(rows)
    for out in outs:
        np.testing.assert_allclose(out[1], out[0], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(out[2], out[0], rtol=1e-5, atol=1e-6)
