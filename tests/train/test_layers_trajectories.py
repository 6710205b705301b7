"""Trajectory parity for Conv1D models (causal, same, valid + dilated): real Keras 3's recorded fits
(tests/fixtures/training, group "recurrent", cases conv1d_*: Embedding -> Conv1D -> GlobalMaxPooling1D -> Dense,
Adam) replayed step by step as test_trajectories.py does.

Keras on TensorFlow hands the Embedding's gradient to Adam as IndexedSlices, and Adam then adds the square of each
repeated token's gradient to the second moment instead of the square of their sum, so the embedding rows of
repeated tokens move differently from a dense Adam (keraslite's, and Keras on JAX's). That is the Embedding's
and the optimizer's business, not Conv1D's: the replay teacher-forces the embeddings (after every step they are
set to Keras' recorded values) and checks every other weight, the logs and the first step of everything.
"""
import numpy as np
import pytest

import keraslite as keras

from . import test_trajectories as trajectories

CONV1D = {c.id: c for c in trajectories.training_cases.load_cases(group="recurrent", kind="fit_trajectory")
          if c.id.startswith("recurrent/conv1d")}
RTOL, ATOL = trajectories.RTOL, trajectories.ATOL


class ForcedEmbeddings(keras.callbacks.Callback):
    """Records the weights after every step, then sets the embeddings to Keras' values at that step."""

    def __init__(self, case):
        super().__init__()
        self.case, self.weights, self.logs = case, [], []

    def on_train_batch_end(self, batch, logs=None):
        self.weights.append(self.model.get_weights())
        self.logs.append(dict(logs))
        forced = self.model.get_weights()
        forced[0] = self.case.weights(len(self.weights))[0]
        self.model.set_weights(forced)


def test_the_conv1d_cases_are_recorded():
    assert sorted(CONV1D) == ["recurrent/conv1d_causal", "recurrent/conv1d_same", "recurrent/conv1d_valid_dilated"]


@pytest.mark.parametrize("case_id", sorted(CONV1D))
def test_conv1d_fit_matches_keras(case_id):
    case = CONV1D[case_id]
    assert case.weight_names[0].endswith("embeddings")
    model = keras.models.model_from_json(case.model_json())
    model.set_weights(case.weights(0))
    model.compile(**trajectories.compile_args(case))
    recorder = ForcedEmbeddings(case)
    history = model.fit(trajectories._one(case.inputs()), trajectories.targets(case), verbose=0,
                        callbacks=[recorder], **trajectories.fit_args(case))
    assert len(recorder.weights) == case.steps
    for step, weights in enumerate(recorder.weights, start=1):
        for i, (name, got, want) in enumerate(zip(case.weight_names, weights, case.weights(step))):
            if i == 0 and step > 1:
                continue  # moved by our dense Adam from Keras' rows (see the module docstring)
            if i == 0:
                single = _rows_seen_once(case)  # the first step of a row seen once is the same in both rules
                got, want = got[single], want[single]
            np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL, err_msg=f"{name} after step {step}")
    for key in case.info["batch_log_keys"]:
        np.testing.assert_allclose([logs[key] for logs in recorder.logs], case.arrays[f"batch_log/{key}"],
                                   rtol=RTOL, atol=ATOL, err_msg=f"batch {key}")
    for key in case.info["epoch_log_keys"]:
        np.testing.assert_allclose(history.history[key], case.arrays[f"epoch_log/{key}"], rtol=RTOL, atol=ATOL)


def _rows_seen_once(case):
    """Embedding rows whose token occurs exactly once in the first batch."""
    batch = case.inputs()[0][:case.fit["batch_size"]]
    tokens, counts = np.unique(batch, return_counts=True)
    return tokens[counts == 1]
