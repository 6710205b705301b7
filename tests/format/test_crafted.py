"""A corpus of hostile and broken model files, built here from a real Keras fixture: each one must be refused
with a ModelFormatError whose message names the problem; nothing is executed, nothing outside the file is read."""
import json
import os
import shutil
import zipfile

import h5py
import numpy as np
import pytest

from keraslite import format as kf
from keraslite.errors import ModelFormatError, UnsupportedLayerError

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures")
MLP = os.path.join(FIXTURES, "keras2", "mlp_basic.h5")          # Sequential: features -> dense ... dense_2
KERAS3 = os.path.join(FIXTURES, "keras3", "mlp_basic.keras")


@pytest.fixture
def mlp(tmp_path):
    path = str(tmp_path / "m.h5")
    shutil.copy(MLP, path)
    return path


def _edit_config(path, edit):
    with h5py.File(path, "r+") as f:
        config = json.loads(f.attrs["model_config"])
        edit(config)
        f.attrs["model_config"] = json.dumps(config).encode()


def _layers(config):
    return config["config"]["layers"]


def _refused(path, pattern, weights=None, cls=ModelFormatError):
    with pytest.raises(cls, match=pattern) as info:
        kf.read(path, weights=weights)
    return str(info.value)


def test_real_file_reads(mlp):
    assert kf.read(mlp).layer("dense").weight_dict["kernel"].shape[1] > 0


def test_soft_link(mlp):
    with h5py.File(mlp, "r+") as f:
        del f["model_weights/dense/dense/kernel:0"]
        f["model_weights/dense/dense/kernel:0"] = h5py.SoftLink("/model_weights/dense_1/dense_1/kernel:0")
    message = _refused(mlp, "soft link")
    assert "m.h5" in message


def test_external_link(mlp, tmp_path):
    with h5py.File(str(tmp_path / "other.h5"), "w") as other:
        other["x"] = np.zeros((3, 3), np.float32)
    with h5py.File(mlp, "r+") as f:
        del f["model_weights/dense/dense/kernel:0"]
        f["model_weights/dense/dense/kernel:0"] = h5py.ExternalLink(str(tmp_path / "other.h5"), "/x")
    _refused(mlp, "external link")


def test_external_dataset(mlp, tmp_path):
    raw = tmp_path / "outside.bin"
    with h5py.File(mlp, "r+") as f:
        shape = f["model_weights/dense/dense/kernel:0"].shape
        raw.write_bytes(np.ones(shape, np.float32).tobytes())
        del f["model_weights/dense/dense/kernel:0"]
        f["model_weights/dense/dense"].create_dataset("kernel:0", shape, np.float32,
                                                       external=[(str(raw), 0, h5py.h5f.UNLIMITED)])
    _refused(mlp, "external files")


def test_virtual_dataset(mlp):
    with h5py.File(mlp, "r+") as f:
        shape = f["model_weights/dense/dense/kernel:0"].shape
        f["source"] = np.ones(shape, np.float32)
        layout = h5py.VirtualLayout(shape=shape, dtype=np.float32)
        layout[:] = h5py.VirtualSource(".", "source", shape=shape)
        del f["model_weights/dense/dense/kernel:0"]
        f["model_weights/dense/dense"].create_virtual_dataset("kernel:0", layout)
    _refused(mlp, "virtual dataset")


def test_dataset_declaring_far_more_than_it_stores(mlp):
    with h5py.File(mlp, "r+") as f:
        del f["model_weights/dense/dense/kernel:0"]
        f["model_weights/dense/dense"].create_dataset("kernel:0", (1 << 16, 1 << 14), np.float32,
                                                       chunks=(256, 256), compression="gzip")
    _refused(mlp, "declares .* bytes but stores")


def test_empty_dataspace_weight(mlp):
    with h5py.File(mlp, "r+") as f:
        del f["model_weights/dense/dense/kernel:0"]
        f["model_weights/dense/dense/kernel:0"] = h5py.Empty("f4")
    _refused(mlp, "holds no data")


def test_named_datatype_in_place_of_a_weight(mlp):
    with h5py.File(mlp, "r+") as f:
        del f["model_weights/dense/dense/kernel:0"]
        f["model_weights/dense/dense/kernel:0"] = np.dtype("f4")  # a committed datatype object
    _refused(mlp, "neither a group nor a dataset")


def test_group_in_place_of_a_weight(mlp):
    with h5py.File(mlp, "r+") as f:
        del f["model_weights/dense/dense/kernel:0"]
        f["model_weights/dense/dense"].create_group("kernel:0")
    _refused(mlp, "is a group, expected a weight array")


def test_missing_weight_dataset(mlp):
    with h5py.File(mlp, "r+") as f:
        del f["model_weights/dense/dense/kernel:0"]
    message = _refused(mlp, "missing 'dense/kernel:0'")
    assert "/model_weights/dense" in message


def test_weight_shape_mismatch(mlp):
    with h5py.File(mlp, "r+") as f:
        old = f["model_weights/dense/dense/kernel:0"][()]
        del f["model_weights/dense/dense/kernel:0"]
        f["model_weights/dense/dense/kernel:0"] = old[:, :-1]
    _refused(mlp, r"layer 'dense' weight 'kernel' has shape .* expected")


def test_missing_weights_group(mlp):
    with h5py.File(mlp, "r+") as f:
        del f["model_weights/dense_1"]
    _refused(mlp, "missing 'dense_1'")


def test_lambda_keras2_marshal(mlp):
    def edit(config):
        _layers(config).insert(2, {"class_name": "Lambda", "config": {
            "name": "evil", "function": ["4wEAAAAAAAAA", None, None], "function_type": "lambda"}})
    _edit_config(mlp, edit)
    message = _refused(mlp, "Lambda", cls=UnsupportedLayerError)
    assert "'evil'" in message


def test_lambda_keras3_form(mlp):
    def edit(config):
        _layers(config).insert(2, {"module": "keras.layers", "class_name": "Lambda", "registered_name": None,
                                   "config": {"name": "evil", "function": {"class_name": "__lambda__", "config": {
                                       "code": "4wEAAAAA", "defaults": None, "closure": None}}}})
    _edit_config(mlp, edit)
    _refused(mlp, "Lambda|Python function")


@pytest.mark.parametrize("cls", ["TFSMLayer", "TorchModuleWrapper"])
def test_layers_that_load_other_artifacts(mlp, cls):
    _edit_config(mlp, lambda c: _layers(c).insert(2, {"class_name": cls, "config": {
        "name": "x", "filepath": "/etc/passwd", "module": "torch.nn"}}))
    _refused(mlp, f"{cls} is refused")


def test_custom_module(mlp):
    def edit(config):
        _layers(config)[1]["module"] = "evil_package.layers"
    _edit_config(mlp, edit)
    _refused(mlp, "module 'evil_package.layers'.*never imports code")


def test_custom_registered_name_in_nested_initializer(mlp):
    def edit(config):
        _layers(config)[1]["config"]["kernel_initializer"] = {
            "module": None, "class_name": "MyInit", "registered_name": "Custom>MyInit", "config": {}}
    _edit_config(mlp, edit)
    _refused(mlp, "custom object 'Custom>MyInit'")


def test_unknown_layer_lists_supported(mlp):
    _edit_config(mlp, lambda c: _layers(c).insert(2, {"class_name": "FancyLayer", "config": {"name": "f"}}))
    message = _refused(mlp, "FancyLayer", cls=UnsupportedLayerError)
    assert "Dense" in message and "Conv2D" in message


def test_graph_cycle(tmp_path):
    config = {"class_name": "Functional", "config": {"name": "m", "layers": [
        {"class_name": "InputLayer", "name": "x", "config": {"name": "x", "batch_input_shape": [None, 3]},
         "inbound_nodes": []},
        {"class_name": "Add", "name": "a", "config": {"name": "a"}, "inbound_nodes": [[["x", 0, 0, {}],
                                                                                       ["b", 0, 0, {}]]]},
        {"class_name": "Add", "name": "b", "config": {"name": "b"}, "inbound_nodes": [[["a", 0, 0, {}],
                                                                                       ["x", 0, 0, {}]]]}],
        "input_layers": [["x", 0, 0]], "output_layers": [["b", 0, 0]]}}
    path = tmp_path / "cycle.json"
    path.write_text(json.dumps(config))
    _refused(str(path), "cycle")


def test_deep_nesting(tmp_path):
    inner = {"class_name": "Sequential", "config": {"name": "s0", "layers": [
        {"class_name": "Dense", "config": {"name": "d", "units": 2}}]}}
    for i in range(1, 40):
        inner = {"class_name": "Sequential", "config": {"name": f"s{i}", "layers": [inner]}}
    path = tmp_path / "deep.json"
    path.write_text(json.dumps(inner))
    _refused(str(path), "nested more than")


def test_yaml_python_tags_are_not_constructed(tmp_path):
    path = tmp_path / "evil.yaml"
    marker = tmp_path / "ran"
    path.write_text(f"!!python/object/apply:os.system ['touch {marker}']\n")
    _refused(str(path), "not valid YAML")
    assert not marker.exists()


def test_bad_json(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"class_name": "Sequential", "config": ')
    _refused(str(path), "not valid JSON")


def test_architecture_without_weights(tmp_path, mlp):
    arch = tmp_path / "arch.json"
    kf.write(kf.read(mlp), str(arch))
    _refused(str(arch), "has no weights; pass the weights file")


def test_weights_only_file_given_as_model(tmp_path, mlp):
    weights = str(tmp_path / "w.h5")
    kf.write_weights(kf.read(mlp), weights)
    _refused(weights, "weights-only file")


def test_weights_of_another_model(tmp_path, mlp):
    arch = tmp_path / "arch.json"
    kf.write(kf.read(mlp), str(arch))
    other = os.path.join(FIXTURES, "keras2", "cnn_basic_weights.h5")
    _refused(str(arch), "layers with weights|expects|has shape", weights=other)


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9])
def test_truncated_h5(tmp_path, keep):
    data = open(MLP, "rb").read()
    path = tmp_path / "t.h5"
    path.write_bytes(data[: int(len(data) * keep)])
    _refused(str(path), "t.h5")


def test_garbage(tmp_path):
    """Seeded bytes, not os.urandom: one file in ~250 of those started with "{" (after whitespace) and was read,
    rightly, as JSON (the case below), failing this test at random."""
    data = bytes(np.random.default_rng(7).integers(0, 256, 4096, dtype=np.uint8))
    assert data.lstrip()[:1] != b"{"
    path = tmp_path / "g.h5"
    path.write_bytes(data)
    _refused(str(path), "not a Keras model file")


def test_garbage_that_opens_like_json(tmp_path):
    path = tmp_path / "g.h5"
    path.write_bytes(b" {" + bytes(np.random.default_rng(8).integers(0, 256, 4094, dtype=np.uint8)))
    _refused(str(path), "not valid JSON")


def test_empty_file(tmp_path):
    path = tmp_path / "e.h5"
    path.write_bytes(b"")
    _refused(str(path), "not a Keras model file")


def _rezip(tmp_path, extra):
    out = str(tmp_path / "m.keras")
    with zipfile.ZipFile(KERAS3) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info.filename))
        extra(dst)
    return out


def test_zip_path_traversal(tmp_path):
    path = _rezip(tmp_path, lambda z: z.writestr("../../escape.txt", "x"))
    _refused(path, "outside the archive")


def test_zip_bomb(tmp_path):
    out = str(tmp_path / "bomb.keras")
    with zipfile.ZipFile(KERAS3) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename != "model.weights.h5":
                dst.writestr(info.filename, src.read(info.filename))
        dst.writestr("model.weights.h5", b"\0" * (32 << 20))
    _refused(out, "zip bomb")


def test_truncated_zip(tmp_path):
    data = open(KERAS3, "rb").read()
    path = tmp_path / "t.keras"
    path.write_bytes(data[: len(data) // 2])
    _refused(str(path), "t.keras")


def test_attribute_declaring_too_many_values(mlp, monkeypatch):
    # A damaged header can declare billions of names; h5py would convert them all before we could look.
    # The real limit is a million names; lowered here so a small real file crosses it.
    from keraslite.format import h5io

    monkeypatch.setattr(h5io, "MAX_ATTR_ITEMS", 4)
    _refused(mlp, "attribute 'layer_names' declares 8 values .* refused as damaged or hostile")
