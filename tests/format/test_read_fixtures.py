"""Every real Keras fixture reads, and the copies Keras stored in different layouts agree with each other.

The .h5 (legacy layout, weights by ``weight_names``), the .keras zip (weights by config walk) and the
architecture + weights-only files are written independently by real Keras; reading all of them into the same
ModelSpec is the oracle for the graph and the weights. Numbers are checked against Keras' outputs in
tests/runtime.
"""
import numpy as np

from keraslite import format as kf


def _forms(case):
    forms = {}
    for kind in ("h5", "keras"):
        if case.path(kind):
            forms[kind] = kf.read(case.path(kind))
    for kind in ("json", "yaml"):
        if case.path(kind):
            forms[kind] = kf.read(case.path(kind), weights=case.path("weights"))
    return forms


def _same(a, b, where):
    assert [l.name for l in a.layers] == [l.name for l in b.layers], where
    assert a.inputs == b.inputs and a.outputs == b.outputs, where
    for la, lb in zip(a.layers, b.layers):
        assert la.class_name == lb.class_name, (where, la.name)
        assert la.inbound == lb.inbound, (where, la.name)
        if la.model is not None:
            _same(la.model, lb.model, f"{where}/{la.name}")
            continue
        assert la.config == lb.config, (where, la.name)
        assert [n for n, _ in la.weights] == [n for n, _ in lb.weights], (where, la.name)
        for (name, x), (_, y) in zip(la.weights, lb.weights):
            np.testing.assert_array_equal(x, y, err_msg=f"{where} {la.name}/{name}")


def test_every_form_reads_the_same_model(keras_case):
    forms = _forms(keras_case)
    assert len(forms) >= 2, f"{keras_case.id}: expected at least two file forms, got {list(forms)}"
    first_kind, first = next(iter(forms.items()))
    for kind, spec in forms.items():
        _same(first, spec, f"{keras_case.id}: {first_kind} vs {kind}")


def test_graph_matches_manifest(keras_case):
    spec = kf.read(keras_case.path("h5") or keras_case.path("keras"))
    assert [r.layer for r in spec.inputs] == keras_case.inputs
    flat = spec.flatten()
    assert [r.layer.split("/")[-1] for r in flat.outputs] == [o.split("/")[-1] for o in keras_case.outputs] or \
        [r.layer for r in spec.outputs] == keras_case.outputs
    classes = {l.class_name for l in flat.layers} | {l.class_name for l in spec.layers} | {spec.kind}
    for layer in spec.layers:
        if layer.model is not None:
            classes.add(layer.model.kind)
    for layer in flat.layers:
        if layer.class_name == "Bidirectional":
            classes.add(layer.config["layer"]["class_name"])
    if "TFOpLambda" in classes:
        classes.add("SlicingOpLambda")  # read as TFOpLambda with function __operators__.getitem
    missing = set(keras_case.layers) - classes - {"Functional", "Model"}
    assert not missing, f"{keras_case.id}: manifest lists {sorted(missing)} not found in the spec"
    assert spec.source["dialect"] == f"keras{keras_case.keras}"


def test_weights_are_float32_and_nontrivial(keras_case):
    spec = kf.read(keras_case.path("h5") or keras_case.path("keras"))
    for path, name, array in spec.iter_weights():
        assert array.dtype in (np.float32, np.int64, np.int32), (path, name, array.dtype)
        assert np.all(np.isfinite(array)), (path, name)


def test_training_config_kept_when_compiled(keras_case):
    spec = kf.read(keras_case.path("h5") or keras_case.path("keras"))
    assert (spec.training_config is not None) == keras_case.compiled
    if keras_case.compiled:
        assert "optimizer_config" in spec.training_config
