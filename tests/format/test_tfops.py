"""TF ops (Keras 2 TFOpLambda/SlicingOpLambda, Keras 3 keras.ops), the applications' own layer classes and opaque
initializers: read from real Keras files as data; every name, argument or module outside the allow-list refused
with its reason. Hostile variants are edits of the real fixtures."""
import collections
import json
import os
import shutil

import h5py
import pytest

from keraslite import format as kf
from keraslite.errors import ModelFormatError, UnsupportedLayerError

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures")


def fixture(name):
    return os.path.join(FIXTURES, name)


def edited(tmp_path, name, edit):
    """A copy of fixture ``name`` (.h5) whose model_config went through ``edit``."""
    path = str(tmp_path / os.path.basename(name))
    shutil.copy(fixture(name), path)
    with h5py.File(path, "r+") as f:
        config = json.loads(f.attrs["model_config"])
        edit(config["config"]["layers"])
        f.attrs["model_config"] = json.dumps(config).encode()
    return path


def entry(layers, name):
    return next(l for l in layers if l.get("name", l["config"].get("name")) == name)


def ops_of(spec):
    return collections.Counter((l.config["function"], json.dumps(l.config["arguments"], sort_keys=True))
                               for l in spec.layers if l.class_name == "TFOpLambda")


def test_both_dialects_read_to_the_same_ops():
    keras2, keras3 = kf.read(fixture("keras2/tf_ops.h5")), kf.read(fixture("keras3/tf_ops.keras"))
    assert ops_of(keras2) == ops_of(keras3)
    assert ops_of(kf.read(fixture("keras3/tf_ops.h5"))) == ops_of(keras3)  # Keras 3's .h5 has no modules
    functions = {f for f, _ in ops_of(keras2)}
    assert {"math.add", "math.truediv", "concat", "reshape", "transpose", "__operators__.getitem",
            "math.reduce_mean", "nn.softmax", "squeeze"} <= functions


def test_constant_and_tensor_arguments():
    spec = kf.read(fixture("keras2/tf_ops.h5"))
    consts = [l for l in spec.layers if l.class_name == "TFOpLambda" and l.config["function"] == "math.subtract"
              and not isinstance(l.config["arguments"]["x"], dict)]
    assert consts and consts[0].config["arguments"]["x"] == 2.0  # 2.0 - x: the constant came first
    assert consts[0].config["arguments"]["y"] == {"__tensor__": 0} and len(consts[0].inbound[0]) == 1


def test_unknown_tf_function_is_refused_with_the_allow_list(tmp_path):
    path = edited(tmp_path, "keras2/tf_ops.h5",
                  lambda layers: entry(layers, "tf.math.sqrt")["config"].update(function="io.write_file"))
    with pytest.raises(UnsupportedLayerError, match=r"'io.write_file'.*allow-list.*nothing is imported.*math.add"):
        kf.read(path)


def test_string_constant_is_refused(tmp_path):
    def edit(layers):
        entry(layers, "tf.__operators__.add")["inbound_nodes"][0][3]["y"] = "__import__('os')"
    with pytest.raises(ModelFormatError, match="not a finite number"):
        kf.read(edited(tmp_path, "keras2/tf_ops.h5", edit))


def test_ops_over_the_batch_axis_are_refused(tmp_path):
    def edit(layers):
        entry(layers, "tf.math.reduce_mean")["inbound_nodes"][0][3]["axis"] = 0
    with pytest.raises(UnsupportedLayerError, match="reduce_mean with axis=0 .*batch axis"):
        kf.read(edited(tmp_path, "keras2/tf_ops.h5", edit))

    def edit_reshape(layers):
        entry(layers, "tf.reshape")["inbound_nodes"][0][3]["shape"] = [3, 48]
    with pytest.raises(UnsupportedLayerError, match=r"reshape to shape \[3, 48\]"):
        kf.read(edited(tmp_path, "keras2/tf_ops.h5", edit_reshape))


def test_unexpected_argument_is_refused(tmp_path):
    def edit(layers):
        entry(layers, "tf.math.reduce_mean")["inbound_nodes"][0][3]["callback"] = 1
    with pytest.raises(UnsupportedLayerError, match=r"arguments \['callback'\] it does not take"):
        kf.read(edited(tmp_path, "keras2/tf_ops.h5", edit))


def test_unknown_keras3_operation_is_refused(tmp_path):
    def edit(layers):
        entry(layers, "sqrt")["class_name"] = "Cumsum"
    with pytest.raises(UnsupportedLayerError, match="'Cumsum' is not supported; supported classes: .*Add"):
        kf.read(edited(tmp_path, "keras3/tf_ops.h5", edit))


def test_application_layers_need_their_own_module(tmp_path):
    spec = kf.read(fixture("keras2/app_layers.h5"))
    assert {"LayerScale", "CustomScaleLayer"} <= {l.class_name for l in spec.layers}
    assert spec.layer("layer_scale").weight_dict["gamma"].shape == (4,)

    def move(layers):
        entry(layers, "layer_scale")["module"] = "my_package.layers"
    with pytest.raises(ModelFormatError, match="my_package.layers"):
        kf.read(edited(tmp_path, "keras2/app_layers.h5", move))

    def keras_lookalike(layers):
        entry(layers, "layer_scale")["module"] = "keras.layers"
    with pytest.raises(UnsupportedLayerError, match="not the one Keras' applications ship"):
        kf.read(edited(tmp_path, "keras2/app_layers.h5", keras_lookalike))


def test_custom_registered_name_is_refused(tmp_path):
    def edit(layers):
        entry(layers, "custom_scale")["class_name"] = "Mine>CustomScaleLayer"
    with pytest.raises(UnsupportedLayerError, match="'Mine>CustomScaleLayer' is not supported"):
        kf.read(edited(tmp_path, "keras2/app_layers.h5", edit))


def test_initializer_from_another_module_is_opaque_data():
    conv = kf.read(fixture("keras2/app_layers.h5")).layer("conv")
    init = conv.config["bias_initializer"]
    assert init["module"].startswith("tensorflow") and init["class_name"] == "Constant"
    assert init["config"]["value"] == pytest.approx(0.1)


def test_opaque_objects_stop_at_initializers(tmp_path):
    def regularizer(layers):
        entry(layers, "conv")["config"]["kernel_regularizer"] = {
            "module": "tensorflow.python.ops", "class_name": "L2", "config": {"l2": 0.1}}
    with pytest.raises(ModelFormatError, match="refers to module 'tensorflow.python.ops'"):
        kf.read(edited(tmp_path, "keras2/app_layers.h5", regularizer))

    def nested_object(layers):
        init = entry(layers, "conv")["config"]["bias_initializer"]
        init["config"]["value"] = {"class_name": "function", "config": "os.system"}
    with pytest.raises(ModelFormatError, match="refers to module"):
        kf.read(edited(tmp_path, "keras2/app_layers.h5", nested_object))


def test_opaque_initializer_written_back(tmp_path):
    spec = kf.read(fixture("keras2/app_layers.h5"))
    kf.write(spec, str(tmp_path / "k2.h5"), dialect="keras2")
    kf.write(spec, str(tmp_path / "both.h5"))
    with h5py.File(str(tmp_path / "k2.h5")) as f:
        k2 = json.loads(f.attrs["model_config"])
    with h5py.File(str(tmp_path / "both.h5")) as f:
        both = json.loads(f.attrs["model_config"])
    assert entry(k2["config"]["layers"], "conv")["config"]["bias_initializer"]["module"].startswith("tensorflow")
    assert entry(both["config"]["layers"], "conv")["config"]["bias_initializer"] == {
        "class_name": "Constant", "config": {"value": pytest.approx(0.1)}}
    spec.layer("conv").config["bias_initializer"]["class_name"] = "RandomNormal"
    with pytest.raises(ModelFormatError, match="'RandomNormal' from module 'tensorflow.*no Keras equivalent.*keras2"):
        kf.write(spec, str(tmp_path / "bad.h5"))


def test_keras3_masks_are_absorbed():
    spec = kf.read(fixture("keras3/masked_text.keras"))
    assert not {"NotEqual", "Any"} & {l.class_name for l in spec.layers}
    assert ops_of(spec) == collections.Counter()


def test_keras3_mask_from_elsewhere_is_refused(tmp_path):
    def edit(layers):
        entry(layers, "not_equal")["inbound_nodes"][0]["args"][1] = 3
    with pytest.raises(UnsupportedLayerError, match="its mask is computed by operations"):
        kf.read(edited(tmp_path, "keras3/masked_text.h5", edit))
