"""Reader paths real files take but our fixtures do not: Keras 2.0-2.2 bare-list Sequential configs, class
aliases, and name lists Keras chunked into ``layer_names0``, ``layer_names1``, ... when they outgrew an HDF5 header.
Each test edits a real Keras file the way those Keras versions wrote it and checks the same model comes out."""
import json
import os
import shutil

import h5py
import numpy as np

from keraslite import format as kf

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures")
MLP = os.path.join(FIXTURES, "keras2", "mlp_basic.h5")


def _same_weights(a, b):
    for (pa, na, xa), (pb, nb, xb) in zip(a.iter_weights(), b.iter_weights()):
        assert (pa, na) == (pb, nb)
        np.testing.assert_array_equal(xa, xb)


def test_bare_list_sequential_config(tmp_path):
    path = str(tmp_path / "old.h5")
    shutil.copy(MLP, path)
    with h5py.File(path, "r+") as f:
        config = json.loads(f.attrs["model_config"])
        layers = config["config"]["layers"]
        shape = layers[0]["config"]["batch_input_shape"]
        layers = layers[1:]                                   # Keras 2.2 had no InputLayer entry ...
        layers[0]["config"]["batch_input_shape"] = shape      # ... the first layer carried the input shape
        f.attrs["model_config"] = json.dumps({"class_name": "Sequential", "config": layers}).encode()
    old, new = kf.read(path), kf.read(MLP)
    assert old.input_layers[0].config["batch_shape"] == new.input_layers[0].config["batch_shape"]
    assert [l.class_name for l in old.layers[1:]] == [l.class_name for l in new.layers[1:]]
    _same_weights(old, new)


def test_class_aliases(tmp_path):
    path = str(tmp_path / "alias.h5")
    shutil.copy(MLP, path)
    with h5py.File(path, "r+") as f:
        config = json.loads(f.attrs["model_config"])
        for layer in config["config"]["layers"]:
            if layer["class_name"] == "BatchNormalization":
                layer["class_name"] = "BatchNormalizationV1"
        f.attrs["model_config"] = json.dumps(config).encode()
    spec = kf.read(path)
    assert "BatchNormalization" in [l.class_name for l in spec.layers]
    _same_weights(spec, kf.read(MLP))


def test_chunked_name_lists(tmp_path):
    path = str(tmp_path / "chunked.h5")
    shutil.copy(MLP, path)
    with h5py.File(path, "r+") as f:
        group = f["model_weights"]
        names = [n.decode() if isinstance(n, bytes) else n for n in group.attrs["layer_names"]]
        del group.attrs["layer_names"]
        group.attrs["layer_names0"] = np.array([n.encode() for n in names[:3]])
        group.attrs["layer_names1"] = np.array([n.encode() for n in names[3:]])
        dense = group["dense"]
        weight_names = [n.encode() if isinstance(n, str) else n for n in dense.attrs["weight_names"]]
        del dense.attrs["weight_names"]
        dense.attrs["weight_names0"] = np.array(weight_names[:1])
        dense.attrs["weight_names1"] = np.array(weight_names[1:])
    _same_weights(kf.read(path), kf.read(MLP))


def test_writer_chunks_long_name_lists(tmp_path, monkeypatch):
    from keraslite.format import writer

    monkeypatch.setattr(writer, "ATTR_LIMIT", 40)  # force chunking on a small model
    out = str(tmp_path / "m.h5")
    kf.write(kf.read(MLP), out)
    with h5py.File(out, "r") as f:
        assert "layer_names" not in f["model_weights"].attrs and "layer_names1" in f["model_weights"].attrs
    _same_weights(kf.read(out), kf.read(MLP))
