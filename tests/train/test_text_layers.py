"""TextVectorization, StringLookup, IntegerLookup, CategoryEncoding and Hashing against real Keras 3: the same
vocabularies (token order included), outputs, dtypes and error wording on a recorded corpus
(tests/fixtures/text/*.json, made by tests/fixtures/make_text_fixtures.py)."""
import json
import os

import numpy as np
import pytest

import keraslite as keras
from keraslite.errors import KerasliteError
from keraslite.train.data import Dataset

TEXT = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures", "text")
with open(os.path.join(TEXT, "cases.json"), encoding="utf-8") as fh:
    CASES = json.load(fh)
with open(os.path.join(TEXT, "hashing.json"), encoding="utf-8") as fh:
    HASHES = json.load(fh)
L = keras.layers


def _kwargs(case):
    kwargs = dict(case["kwargs"])
    if isinstance(kwargs.get("ngrams"), list):
        kwargs["ngrams"] = tuple(kwargs["ngrams"])
    return kwargs


def _check(got, case):
    want = np.asarray(case["outputs"])
    got = np.asarray(got)
    assert got.shape == want.shape
    assert str(got.dtype) == case["dtype"]
    if got.dtype == object:
        assert got.tolist() == want.tolist()
    else:
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("case", CASES["text"], ids=[c["name"] for c in CASES["text"]])
def test_text_vectorization_matches_keras(case):
    layer = L.TextVectorization(**_kwargs(case))
    if case["adapt"] is not None:
        if case.get("adapt_batch"):  # the tutorial's way: a batched Dataset of strings
            layer.adapt(Dataset.from_tensor_slices(np.array(case["adapt"])).batch(case["adapt_batch"]))
        else:
            layer.adapt(np.array(case["adapt"]))
    assert layer.get_vocabulary() == case["vocabulary"]
    x = np.array(case["inputs"])
    x = x[:, None] if case["column"] else x
    _check(layer(x).numpy(), case)
    if "idf_weights" in case:
        np.testing.assert_allclose(layer._lookup_layer._idf, case["idf_weights"], rtol=1e-6)
    assert layer.get_config()["vocabulary_size"] == case["config"]["vocabulary_size"]


LOOKUPS = [c for c in CASES["lookup"] if c["class_name"] != "CategoryEncoding"]


@pytest.mark.parametrize("case", LOOKUPS, ids=[f"{c['class_name']}-{c['name']}" for c in LOOKUPS])
def test_lookups_match_keras(case):
    layer = getattr(L, case["class_name"])(**case["kwargs"])
    if case["adapt"] is not None:
        layer.adapt(np.array(case["adapt"]))
    assert layer.get_vocabulary() == case["vocabulary"]
    _check(layer(np.array(case["inputs"])).numpy(), case)
    if "idf_weights" in case:
        np.testing.assert_allclose(layer._idf, case["idf_weights"], rtol=1e-6)
    config = layer.get_config()
    for key in ("max_tokens", "num_oov_indices", "mask_token", "oov_token", "output_mode", "vocabulary_size"):
        assert config[key] == case["config"][key], key


ENCODINGS = [c for c in CASES["lookup"] if c["class_name"] == "CategoryEncoding"]


@pytest.mark.parametrize("case", ENCODINGS, ids=[c["name"] for c in ENCODINGS])
def test_category_encoding_matches_keras(case):
    layer = L.CategoryEncoding(**case["kwargs"])
    np.testing.assert_array_equal(layer(np.array(case["inputs"])).numpy(), case["outputs"])
    if "count_weights" in case:
        got = layer(np.array(case["inputs"]), count_weights=np.array(case["count_weights"], "float32")).numpy()
        np.testing.assert_allclose(got, case["weighted_outputs"], rtol=1e-6)


@pytest.mark.parametrize("case", HASHES["layers"], ids=[str(c["kwargs"]) + ("-float" if c.get("float") else "")
                                                       for c in HASHES["layers"]])
def test_hashing_layer_matches_keras(case):
    x = np.array(case["inputs"], dtype="float32" if case.get("float") else None)
    got = L.Hashing(**case["kwargs"])(x).numpy()
    np.testing.assert_array_equal(got, case["outputs"])
    assert str(got.dtype) == case["dtype"]


def test_oov_buckets_hash_as_keras():
    oov = HASHES["oov"]
    strings = L.StringLookup(vocabulary=["a", "b"], num_oov_indices=4)
    np.testing.assert_array_equal(strings(np.array(oov["string_inputs"])).numpy(), oov["string_outputs"])
    ints = L.IntegerLookup(vocabulary=[1, 2], num_oov_indices=4, oov_method="farmhash")
    np.testing.assert_array_equal(ints(np.array(oov["int_inputs"])).numpy(), oov["int_outputs"])


@pytest.mark.parametrize("case", [c for c in CASES["errors"] if c["error"]],
                         ids=[f"{c['class_name']}-{sorted(c['kwargs'])}" for c in CASES["errors"] if c["error"]])
def test_bad_arguments_use_keras_wording(case):
    message = case["error"].split(": ", 1)[1].replace("[np.str_('a')]", "['a']")
    with pytest.raises(KerasliteError) as info:
        getattr(L, case["class_name"])(**case["kwargs"])
    assert str(info.value) == message


def test_callables_get_numpy_strings():
    seen = {}

    def standardize(texts):
        seen["dtype"] = texts.dtype.kind
        return np.char.replace(np.char.lower(texts), "<br />", " ")

    layer = L.TextVectorization(standardize=standardize, split=lambda t: [s.split("-") for s in t])
    layer.adapt(np.array(["A-b<br />-c", "a-b"]))
    assert seen["dtype"] == "U"
    # "a" twice, then "c", "b " and "b" once each: ties go to the highest term first (Keras' order)
    assert layer.get_vocabulary() == ["", "[UNK]", "a", "c", "b ", "b"]


def test_adapt_refuses_labelled_batches_and_fixed_vocabularies():
    ds = Dataset.from_tensor_slices((np.array(["a b", "c"]), np.array([0, 1]))).batch(2)
    with pytest.raises(KerasliteError, match=r"adapt on the inputs only, e\.g\. layer\.adapt\(dataset\.map"):
        L.TextVectorization().adapt(ds)
    with pytest.raises(KerasliteError, match="Cannot adapt layer .* after setting a static vocabulary"):
        L.StringLookup(vocabulary=["a"]).adapt(np.array(["a", "b"]))


def test_vocabulary_file_given_by_the_user(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("great\nbad\nfilm\n", encoding="utf-8")
    layer = L.TextVectorization(vocabulary=str(path))
    assert layer.get_vocabulary() == ["", "[UNK]", "great", "bad", "film"]
    with pytest.raises(KerasliteError, match="Vocabulary file .*missing.txt does not exist."):
        L.StringLookup(vocabulary=str(tmp_path / "missing.txt"))


def test_no_oov_indices_names_the_unknown_terms():
    layer = L.StringLookup(vocabulary=["a", "b"], num_oov_indices=0)
    with pytest.raises(KerasliteError, match=r"found OOV values \['zz'\], consider setting `num_oov_indices=1`"):
        layer(np.array(["a", "zz"]))
