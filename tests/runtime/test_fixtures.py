"""Every real-Keras fixture, in every file form it was saved in, predicts what Keras predicted."""
import numpy as np

from keraslite import runtime


def _close(ours, keras):
    tol = 1e-4 * max(1.0, float(np.abs(keras).max()))
    assert ours.shape == keras.shape
    err = float(np.abs(ours.astype(np.float64) - keras).max())
    assert err <= tol, f"max |ours - keras| = {err:.3g} > {tol:.3g}"


def test_fixture_matches_keras(keras_case):
    xs, ys = keras_case.arrays()
    kinds = [k for k in ("h5", "keras", "json", "yaml") if keras_case.path(k)]
    assert kinds, f"{keras_case.id}: no model file"
    for kind in kinds:
        weights = keras_case.path("weights") if kind in ("json", "yaml") else None
        model = runtime.load(keras_case.path(kind), weights=weights)
        assert [t.name for t in model.inputs] == keras_case.inputs
        out = model.predict(xs if len(xs) > 1 else xs[0])
        outs = out if isinstance(out, list) else [out]
        assert len(outs) == len(ys)
        for ours, keras in zip(outs, ys):
            _close(ours, keras)


def test_fixture_by_name_and_in_small_batches(keras_case):
    xs, ys = keras_case.arrays()
    model = runtime.load(keras_case.path("h5") or keras_case.path("keras"))
    out = model.predict({name: x.astype(np.float64) if x.dtype.kind == "f" else x
                         for name, x in zip(keras_case.inputs, xs)}, batch_size=2)
    for ours, keras in zip(out if isinstance(out, list) else [out], ys):
        _close(ours, keras)


def test_fixture_in_a_large_batch(keras_case):
    """The batch repeated to 40 rows: exercises the large-batch paths (LSTM steps on BLAS, cache-sized passes)."""
    xs, ys = keras_case.arrays()
    model = runtime.load(keras_case.path("h5") or keras_case.path("keras"))
    reps = -(-40 // xs[0].shape[0])
    big = [np.concatenate([x] * reps) for x in xs]
    model._chunk = min(model._chunk, 16)  # at least three internal passes whatever the model's size
    out = model.predict(big if len(big) > 1 else big[0])
    for ours, keras in zip(out if isinstance(out, list) else [out], ys):
        _close(ours, np.concatenate([keras] * reps))
