"""Vocabularies in model files: Keras 3's .keras layout (assets/<layer path>/vocabulary.txt, idf weights as
variables) read from real Keras files and written back the same way; file-path vocabularies refused."""
import io
import json
import os
import zipfile

import h5py
import numpy as np
import pytest

from keraslite import format as kf
from keraslite.errors import ModelFormatError

TEXT = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures", "text")
KERAS_FILES = ["review_model", "tfidf_model", "lookup_model"]


def members(path):
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def lookup_configs(config):
    return {l["config"]["name"]: l["config"] for l in config["config"]["layers"]
            if l["class_name"] in ("TextVectorization", "StringLookup")}


@pytest.mark.parametrize("name", KERAS_FILES)
def test_keras_layout_round_trips(name, tmp_path):
    source = os.path.join(TEXT, f"{name}.keras")
    spec = kf.read(source)
    lookup = next(l for l in spec.layers if l.class_name in ("TextVectorization", "StringLookup"))
    original = members(source)
    asset = next(v for k, v in original.items() if k.startswith("assets/"))
    assert lookup.config["vocabulary"] == asset.decode().splitlines()
    out = str(tmp_path / f"{name}.keras")
    kf.write(spec, out, dialect="keras3")
    written = members(out)
    assert sorted(k for k in written if k.startswith("assets/")) == sorted(k for k in original
                                                                           if k.startswith("assets/"))
    for key in (k for k in original if k.startswith("assets/")):
        assert written[key].rstrip(b"\n") == original[key].rstrip(b"\n")
    ours, theirs = json.loads(written["config.json"]), json.loads(original["config.json"])
    for (_, a), (_, b) in zip(sorted(lookup_configs(ours).items()), sorted(lookup_configs(theirs).items())):
        assert a["vocabulary"] is None and a["vocabulary_size"] == b["vocabulary_size"]
    if name == "tfidf_model":
        with h5py.File(io.BytesIO(written["model.weights.h5"])) as ours_h5, \
                h5py.File(io.BytesIO(original["model.weights.h5"])) as theirs_h5:
            for path in ("layers/text_vectorization/vars/idf_weights",
                         "layers/text_vectorization/_lookup_layer/vars/idf_weights"):
                np.testing.assert_allclose(ours_h5[path][()], theirs_h5[path][()], rtol=1e-6)
    again = kf.read(out)
    assert [l.config for l in again.layers] == [l.config for l in spec.layers]


def test_h5_and_json_keep_the_vocabulary_inline(tmp_path):
    spec = kf.read(os.path.join(TEXT, "review_model.keras"))
    vocab = spec.layers[1].config["vocabulary"]
    kf.write(spec, str(tmp_path / "m.h5"), dialect="keras3")
    assert kf.read(str(tmp_path / "m.h5")).layers[1].config["vocabulary"] == vocab


def _with_config(source, out, edit):
    with zipfile.ZipFile(source) as zf, zipfile.ZipFile(out, "w") as dst:
        for item in zf.infolist():
            data = zf.read(item)
            if item.filename == "config.json":
                config = json.loads(data)
                edit(config)
                data = json.dumps(config).encode()
            dst.writestr(item, data)


@pytest.mark.parametrize("vocabulary", ["/etc/passwd", "../vocab.txt", "assets/vocabulary.txt"])
def test_a_vocabulary_file_path_is_refused(vocabulary, tmp_path):
    out = str(tmp_path / "evil.keras")

    def edit(config):
        config["config"]["layers"][1]["config"]["vocabulary"] = vocabulary
    _with_config(os.path.join(TEXT, "review_model.keras"), out, edit)
    with pytest.raises(ModelFormatError) as info:
        kf.read(out)
    message = str(info.value)
    assert "text_vectorization" in message and repr(vocabulary) in message
    assert "loading never opens other files named by a model" in message


def test_an_inline_vocabulary_without_special_tokens_is_completed(tmp_path):
    out = str(tmp_path / "inline.keras")

    def edit(config):
        config["config"]["layers"][1]["config"]["vocabulary"] = ["great", "bad"]
    _with_config(os.path.join(TEXT, "lookup_model.keras"), out, edit)
    layer = kf.read(out).layers[1]
    assert layer.config["vocabulary"] == ["[UNK]", "[UNK]", "great", "bad"]
    assert layer.config["vocabulary_size"] == 4


def test_a_damaged_asset_is_named(tmp_path):
    out = str(tmp_path / "bad.keras")
    with zipfile.ZipFile(os.path.join(TEXT, "lookup_model.keras")) as zf, zipfile.ZipFile(out, "w") as dst:
        for item in zf.infolist():
            data = b"\xff\xfe broken" if item.filename.endswith("vocabulary.txt") else zf.read(item)
            dst.writestr(item, data)
    with pytest.raises(ModelFormatError, match=r"string_lookup.*asset 'assets/layers/string_lookup/vocabulary.txt'"
                                               r".*not UTF-8"):
        kf.read(out)
