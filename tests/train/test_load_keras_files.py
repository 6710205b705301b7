"""Every model file real Keras made (tests/fixtures/manifest.json) loads with ``keraslite.models.load_model`` as a
trainable model whose ``predict`` gives Keras' outputs: whatever a user can serve, they can also fine-tune."""
import numpy as np

import keraslite as keras

KINDS = ("h5", "keras")


def test_file_loads_as_a_trainable_model_that_predicts_as_keras(keras_case):
    xs, ys = keras_case.arrays()
    kinds = [k for k in KINDS if keras_case.path(k)]
    assert kinds, f"{keras_case.id} has no .h5 or .keras file"
    for kind in kinds:
        model = keras.models.load_model(keras_case.path(kind), compile=False)
        assert model.trainable_weights or not model.weights, f"{keras_case.id} ({kind}) loaded frozen"
        got = model.predict(xs if len(xs) > 1 else xs[0], batch_size=len(xs[0]), verbose=0)
        got = got if isinstance(got, (list, tuple)) else [got]
        assert len(got) == len(ys)
        for g, y in zip(got, ys):
            np.testing.assert_allclose(g, y, rtol=1e-4, atol=1e-5, err_msg=f"{keras_case.id} ({kind})")
