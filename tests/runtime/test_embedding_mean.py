"""Embedding -> GlobalAveragePooling1D as one compiled gather (fuse.absorb_embedding): the same numbers as the two
layers computed apart (a float64 reference), the Embedding's index error, and the graphs that must not fuse. The
real-Keras oracle for this model is the text_gap fixture (tests/runtime/test_fixtures.py)."""
import numpy as np
import pytest

from keraslite import runtime
from keraslite.errors import InputError
from keraslite.format.spec import LayerSpec, ModelSpec, TensorRef
from keraslite.runtime import native

VOCAB, DIM, STEPS = 50, 8, 7


def _embedding(rng, h, mask_zero=False):
    return ("Embedding", {"input_dim": VOCAB, "output_dim": DIM, "mask_zero": mask_zero},
            [("embeddings", h.rand(rng, VOCAB, DIM))])


def _classifier(rng, h, mask_zero=False):
    """The tutorial's text classifier: Embedding, Dropout, GlobalAveragePooling1D, Dense."""
    return h.chain((STEPS,), [_embedding(rng, h, mask_zero), ("Dropout", {"rate": 0.5}, []),
                              ("GlobalAveragePooling1D", {}, []),
                              ("Dense", {"units": 3, "activation": "linear", "use_bias": True},
                               [("kernel", h.rand(rng, DIM, 3)), ("bias", h.rand(rng, 3))])], dtype="int32")


def _reference(spec, ids, masked=False):
    table = spec.layers[1].weight_dict["embeddings"].astype(np.float64)
    kernel, bias = (spec.layers[4].weight_dict[k].astype(np.float64) for k in ("kernel", "bias"))
    seq = table[ids]
    if masked:
        keep = (ids != 0)[..., None]
        pooled = (seq * keep).sum(axis=1) / keep.sum(axis=1)
    else:
        pooled = seq.mean(axis=1)
    return pooled @ kernel + bias


def test_the_compiled_kernels_are_built():
    assert native.lib() is not None, "the C kernels are not built: pip install -e . with a C compiler"


@pytest.mark.parametrize("dtype", ["int32", "int64", "float32"])
def test_fused_classifier_matches_the_two_layers(h, rng, dtype):
    spec = _classifier(rng, h)
    model = runtime.load_spec(spec)
    assert "embedding_0" not in model.plan.step_layers  # the gather took the Embedding's step
    for n in (1, 3, 40):
        ids = rng.integers(0, VOCAB, (n, STEPS))
        got = model.predict(ids.astype(dtype))
        np.testing.assert_allclose(got, _reference(spec, ids), rtol=1e-5, atol=1e-6)


def test_index_outside_the_table_is_the_embeddings_error(h, rng):
    model = runtime.load_spec(_classifier(rng, h))
    ids = rng.integers(0, VOCAB, (2, STEPS)).astype("int32")
    for bad, seen in ((VOCAB, rf"\d+, {VOCAB}"), (-1, r"-1, \d+")):
        ids[1, 3] = bad
        with pytest.raises(InputError, match=r"'embedding_0' \(Embedding\): index out of range: got values in "
                                             rf"\[{seen}\], expected 0 <= index < input_dim={VOCAB}"):
            model.predict(ids)
    ids[1, 3] = 0
    assert np.isfinite(model.predict(ids)).all()  # the model still serves after a bad request


def test_a_masked_average_is_not_fused_and_stays_keras(h, rng):
    spec = _classifier(rng, h, mask_zero=True)
    model = runtime.load_spec(spec)
    assert "embedding_0" in model.plan.step_layers
    ids = rng.integers(0, VOCAB, (4, STEPS))
    ids[:, -2:] = 0  # padding at the end, as a tokenizer writes it
    ids[ids[:, 0] == 0, 0] = 1
    np.testing.assert_allclose(model.predict(ids.astype("int32")), _reference(spec, ids, masked=True),
                               rtol=1e-5, atol=1e-6)


def test_an_embedding_read_twice_is_not_fused(h, rng):
    ids = h.input_layer("ids", [STEPS], "int32")
    cls, cfg, weights = _embedding(rng, h)
    emb = LayerSpec("emb", cls, cfg, weights, [[TensorRef("ids")]])
    avg = LayerSpec("avg", "GlobalAveragePooling1D", {}, [], [[TensorRef("emb")]])
    top = LayerSpec("top", "GlobalMaxPooling1D", {}, [], [[TensorRef("emb")]])
    cat = LayerSpec("cat", "Concatenate", {"axis": -1}, [], [[TensorRef("avg"), TensorRef("top")]])
    model = runtime.load_spec(ModelSpec("m", [ids, emb, avg, top, cat], [TensorRef("ids")], [TensorRef("cat")]))
    assert "emb" in model.plan.step_layers
    x = rng.integers(0, VOCAB, (3, STEPS))
    seq = weights[0][1][x]
    np.testing.assert_allclose(model.predict(x.astype("int32")), np.concatenate([seq.mean(1), seq.max(1)], -1),
                               rtol=1e-6, atol=1e-7)


def test_kernel_refuses_bad_arrays():
    lib = native.lib()
    table, out = np.zeros((4, 2), np.float32), np.zeros((1, 2), np.float32)
    with pytest.raises(ValueError, match="indices must be int32 or int64"):
        lib.embedding_mean(np.zeros((1, 3), np.float32), table, out)
    with pytest.raises(ValueError, match=r"indices \(n, t\) and a table \(rows, d\)"):
        lib.embedding_mean(np.zeros(3, np.int32), table, out)
    with pytest.raises(ValueError, match="out must hold"):
        lib.embedding_mean(np.zeros((2, 3), np.int32), table, out)
    assert lib.embedding_mean(np.array([[0, 4, 1]], np.int64), table, out) == 1  # the position of the bad index
