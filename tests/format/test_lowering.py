"""Writing models for a Keras version that lacks some of their parts: TF ops, the applications' layers and
activations written as built-in layers, nested models inlined, '/' names renamed. The rewritten files must still
give Keras' own outputs (stored with the fixtures); real Keras loading them is checked by
tests/format/write_check_dir.py + make_keras_fixtures.py --check."""
import os

import numpy as np
import pytest

from keraslite import format as kf
from keraslite import runtime
from keraslite.errors import ModelFormatError

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures")


def keras_outputs(name):
    with np.load(os.path.join(FIXTURES, name + ".npz")) as npz:
        xs = [npz[k] for k in sorted(npz.files) if k.startswith("x")]
        ys = [npz[k] for k in sorted(npz.files) if k.startswith("y")]
    return xs, ys


def assert_keras_numbers(path, name):
    xs, ys = keras_outputs(name)
    out = runtime.load(path).predict(xs if len(xs) > 1 else xs[0])
    for ours, want in zip(out if isinstance(out, list) else [out], ys):
        np.testing.assert_allclose(ours, want, rtol=1e-4, atol=1e-5 * max(1.0, float(np.abs(want).max())))


@pytest.mark.parametrize("name", ["keras2/app_layers", "keras3/app_layers"])
def test_application_layers_and_activations_become_builtin_layers(tmp_path, name):
    spec = kf.read(os.path.join(FIXTURES, name + ".h5"))
    out = str(tmp_path / "portable.h5")
    notes = kf.write(spec, out)
    classes = {l.class_name for l in kf.read(out).layers}
    assert not {"LayerScale", "CustomScaleLayer", "TFOpLambda"} & classes
    assert any("LayerScale" in n for n in notes) and any("tensor operations" in n for n in notes)
    if name.startswith("keras3"):
        assert any("hard_silu" in n for n in notes)
        assert not any(l.config.get("activation") == "hard_silu" for l in kf.read(out).layers)
    assert_keras_numbers(out, name)


def test_dialect_keeps_what_its_keras_reads(tmp_path):
    spec = kf.read(os.path.join(FIXTURES, "keras3/app_layers.keras"))
    out = str(tmp_path / "same.keras")
    assert kf.write(spec, out) == []
    assert {"LayerScale", "CustomScaleLayer", "TFOpLambda"} <= {l.class_name for l in kf.read(out).layers}
    assert_keras_numbers(out, "keras3/app_layers")
    k2 = kf.read(os.path.join(FIXTURES, "keras2/app_layers.h5"))
    out = str(tmp_path / "k2.h5")
    kf.write(k2, out, dialect="keras2")
    assert {"CustomScaleLayer", "TFOpLambda"} <= {l.class_name for l in kf.read(out).layers}
    assert_keras_numbers(out, "keras2/app_layers")


@pytest.mark.parametrize("name", ["keras2/tf_ops", "keras3/tf_ops"])
def test_tf_ops_round_trip_in_their_own_dialect(tmp_path, name):
    spec = kf.read(os.path.join(FIXTURES, name + ".h5"))
    out = str(tmp_path / ("ops.h5" if name.startswith("keras2") else "ops.keras"))
    kf.write(spec, out, dialect="keras2" if name.startswith("keras2") else "keras3")
    again = kf.read(out)
    before = [(l.config["function"], l.config["arguments"]) for l in spec.layers if l.class_name == "TFOpLambda"]
    assert [(l.config["function"], l.config["arguments"]) for l in again.layers
            if l.class_name == "TFOpLambda"] == before
    assert_keras_numbers(out, name)


def test_op_without_builtin_layer_refuses_portable(tmp_path):
    spec = kf.read(os.path.join(FIXTURES, "keras2/tf_ops.h5"))
    with pytest.raises(ModelFormatError, match=r"TF op math\.\w+\): .*no built-in layer equivalent in a portable "
                                               r"h5 file; write dialect='keras2'"):
        kf.write(spec, str(tmp_path / "x.h5"))
    assert not os.path.exists(tmp_path / "x.h5")


def test_nested_models_are_inlined_for_portable(tmp_path):
    spec = kf.read(os.path.join(FIXTURES, "keras2/nested.h5"))
    out = str(tmp_path / "flat.h5")
    notes = kf.write(spec, out)
    assert any("flattened" in n for n in notes)
    flat = kf.read(out)
    assert all(l.model is None for l in flat.layers)
    assert len(flat.layer("block_dense").inbound) == 2  # the block was called twice: its layers stay shared
    assert len(flat.layer("shared").inbound) == 2
    assert_keras_numbers(out, "keras2/nested")


def test_slash_names_are_renamed_for_keras3(tmp_path):
    spec = kf.read(os.path.join(FIXTURES, "keras2/mlp_basic.h5"))
    spec.layers[1].name = "block/dense"
    spec.layers[2].inbound = [[kf.TensorRef("block/dense")]]
    out = str(tmp_path / "renamed.h5")
    notes = kf.write(spec, out)
    assert any("'/'" in n for n in notes)
    assert "block_dense" in [l.name for l in kf.read(out).layers]
    kf.write(spec, str(tmp_path / "k2.h5"), dialect="keras2")  # tf_keras keeps such names
    assert "block/dense" in [l.name for l in kf.read(str(tmp_path / "k2.h5")).layers]
