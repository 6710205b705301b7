"""Keras loads .h5 weights by layer position in its own graph order; keraslite writes layers in that order. The
oracle is real Keras: every fixture's layer list is in the order Keras wrote it."""
from keraslite import format as kf
from keraslite.format.order import keras_order


def test_order_is_the_one_real_keras_wrote(keras_case):
    spec = kf.read(keras_case.path("h5") or keras_case.path("keras"))
    assert [l.name for l in keras_order(spec).layers] == [l.name for l in spec.layers]


def test_shuffled_layers_are_written_in_keras_order(tmp_path, keras_cases):
    case = next(c for c in keras_cases if c.id == "keras2/merge_multi")
    spec = kf.read(case.path("h5"))
    shuffled = spec.replace(layers=spec.layers[:1] + spec.layers[1:][::-1])
    out = str(tmp_path / "m.h5")
    kf.write(shuffled, out, dialect="keras2")
    assert [l.name for l in kf.read(out).layers] == [l.name for l in spec.layers]
