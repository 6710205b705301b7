"""keraslite.metrics against real Keras 3: every case recorded by tests/fixtures/make_metric_fixtures.py is
replayed (three update_state calls, reset_state, one more call) and compared result by result, with the names,
configs and variables Keras gave the metric; plus the compile resolution tables and the error messages."""
import json
import os
import warnings

import numpy as np
import pytest

from keraslite.errors import KerasliteError
from keraslite.train import metrics as M
from keraslite.train.autodiff import Tensor, Variable
from keraslite.train.layers.base import clear_session

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures", "metrics")


def _load():
    path = os.path.join(FIXTURES, "metrics.json")
    if not os.path.exists(path):
        raise RuntimeError(f"{path} is missing: run tests/fixtures/make_metric_fixtures.py with the TensorFlow venv")
    with open(path) as fh:
        doc = json.load(fh)
    with np.load(os.path.join(FIXTURES, "metrics.npz")) as npz:
        arrays = {k: npz[k] for k in npz.files}
    return doc, arrays


DOC, ARRAYS = _load()
CASES = DOC["cases"]
# Results that are ratios of integer counts: without weights they must equal Keras' bit for bit.
EXACT = {"Accuracy", "BinaryAccuracy", "CategoricalAccuracy", "SparseCategoricalAccuracy", "TopKCategoricalAccuracy",
         "SparseTopKCategoricalAccuracy", "TruePositives", "FalsePositives", "TrueNegatives", "FalseNegatives",
         "Precision", "Recall", "SensitivityAtSpecificity", "SpecificityAtSensitivity", "PrecisionAtRecall",
         "RecallAtPrecision", "IoU", "MeanIoU", "BinaryIoU", "OneHotIoU", "OneHotMeanIoU"}


def make(case):
    kwargs = dict(case["kwargs"])
    if "fn" in kwargs:
        kwargs["fn"] = M.FUNCTIONS[kwargs["fn"]]
    return M.CLASSES[case["class_name"]](**kwargs)


def feed(metric, batch):
    args = [ARRAYS[batch["y_true"]]]
    if "y_pred" in batch:
        y_pred = Tensor(ARRAYS[batch["y_pred"]])
        if "mask" in batch:
            y_pred._keras_mask = Tensor(ARRAYS[batch["mask"]])
        args.append(y_pred)
    weight = ARRAYS[batch["sample_weight"]] if "sample_weight" in batch else None
    metric.update_state(*args, sample_weight=weight)


def replay(metric, case):
    results = []
    for batch in case["batches"]:
        feed(metric, batch)
        results.append(np.asarray(metric.result(), dtype=np.float64))
    metric.reset_state()
    results.append(np.asarray(metric.result(), dtype=np.float64))
    feed(metric, case["batches"][0])
    results.append(np.asarray(metric.result(), dtype=np.float64))
    return results


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_matches_keras(case):
    clear_session()
    metric = make(case)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # Keras' own warnings (float weights on int IoU, adjusted R2)
        if case["error"]:
            with pytest.raises(KerasliteError):
                replay(metric, case)
            return
        results = replay(metric, case)
    exact = case["class_name"] in EXACT and "sample_weight" not in case["batches"][0]
    for i, (ours, key) in enumerate(zip(results, case["results"])):
        expected = ARRAYS[key]
        assert ours.shape == expected.shape, f"result {i}"
        if exact:
            np.testing.assert_array_equal(ours, expected, err_msg=f"result {i}")
        else:
            np.testing.assert_allclose(ours, expected, rtol=1e-6, atol=1e-7, err_msg=f"result {i}")
    assert metric.name == case["name"]
    assert metric.dtype == case["dtype"]
    assert json.loads(json.dumps(metric.get_config())) == case["config"]
    assert [[v.name, list(v.shape), str(v.dtype)] for v in metric.variables] == case["variables"]


def test_every_registered_metric_is_covered_by_the_fixtures():
    covered = {c["class_name"] for c in CASES}
    assert set(M.CLASSES) - {"Metric"} - covered == set()
    assert covered - set(M.CLASSES) == set()


def test_get_knows_exactly_keras_names():
    keras_names = DOC["names"]["get"]
    assert {k: v.__name__ for k, v in M.NAMES.items()} == keras_names


@pytest.mark.parametrize("row", DOC["accuracy"], ids=lambda r: f"{r['identifier']}-{r['y_true']}-{r['y_pred']}")
def test_accuracy_resolution(row):
    metric = M.get_metric(row["identifier"], row["y_true"], row["y_pred"])
    assert (type(metric).__name__, metric.name) == (row["class_name"], row["name"])


@pytest.mark.parametrize("row", DOC["crossentropy"], ids=lambda r: f"{r['identifier']}-{r['y_true']}-{r['y_pred']}")
def test_crossentropy_resolution(row):
    assert M.resolve_crossentropy(row["identifier"], row["y_true"], row["y_pred"]).__name__ == row["fn"]


@pytest.mark.parametrize("row", DOC["compile_names"], ids=lambda r: r["identifier"])
def test_compile_names(row):
    metric = M.get_metric(row["identifier"], (8, 1), (8, 1))
    assert (type(metric).__name__, metric.name) == (row["class_name"], row["name"])


def test_compile_wraps_functions_and_keeps_object_names():
    fn_metric = M.get_metric(M.binary_accuracy, (4, 1), (4, 1))
    assert isinstance(fn_metric, M.MeanMetricWrapper) and fn_metric.name == "binary_accuracy"
    fn_metric.update_state(np.array([[1], [0]]), np.array([[0.9], [0.8]], np.float32))
    assert float(fn_metric.result()) == 0.5
    auc = M.AUC(name="my_auc")
    assert M.get_metric(auc, (4, 1), (4, 1)) is auc and auc.name == "my_auc"


def test_automatic_names_match_keras():
    clear_session()
    made = [M.AUC(), M.AUC(), M.Precision(), M.TruePositives(), M.MeanIoU(2), M.BinaryIoU(),
            M.MeanMetricWrapper(M.mean_squared_error), M.Mean(), M.Mean()]
    assert [m.name for m in made] == DOC["names"]["auto_names"]


def test_serialize_matches_keras_and_round_trips():
    objects = [M.AUC(name="auc", curve="PR"), M.BinaryAccuracy(threshold=0.3),
               M.Precision(thresholds=[0.2, 0.6], name="p")]
    for obj, expected in zip(objects, DOC["names"]["serialize"]):
        assert json.loads(json.dumps(M.serialize(obj))) == expected
        again = M.deserialize(M.serialize(obj))
        assert type(again) is type(obj) and again.get_config() == obj.get_config()
    assert M.get({"class_name": "Precision", "config": {"thresholds": 0.7}}).thresholds == [0.7]
    wrapped = M.deserialize(M.serialize(M.MeanMetricWrapper(M.hinge, name="h")))
    assert wrapped._fn is M.hinge and wrapped.name == "h"


def test_state_lives_in_non_trainable_variables():
    m = M.AUC(num_thresholds=5)
    assert len(m.variables) == 4
    assert all(isinstance(v, Variable) and not v.trainable and v.aggregation == "sum" for v in m.variables)
    assert [v.path for v in m.variables][0].endswith("/true_positives")
    m.update_state([0, 1, 1], [0.2, 0.9, 0.4])
    m.variables[0].assign(np.zeros(5, np.float32))  # an all-reduce writes here: result() must follow
    assert float(m.result()) != 1.0
    value = m(np.array([1]), np.array([0.3], np.float32))  # __call__ = update then result
    assert isinstance(float(value), float)


def test_user_subclass():
    class BinaryTruePositives(M.Metric):
        def __init__(self, name="binary_true_positives", **kwargs):
            super().__init__(name=name, **kwargs)
            self.true_positives = self.add_variable(shape=(), initializer="zeros", name="true_positives")

        def update_state(self, y_true, y_pred, sample_weight=None):
            hits = np.logical_and(np.asarray(y_true, bool), np.asarray(y_pred, bool))
            self.true_positives.assign_add(hits.sum().astype("float32"))

        def result(self):
            return self.true_positives

    m = BinaryTruePositives()
    m.update_state([1, 1, 0], [1, 0, 1])
    assert float(m.result()) == 1.0 and m.get_config() == {"name": "binary_true_positives", "dtype": "float32"}
    m.reset_state()
    assert float(m.result()) == 0.0
    assert M.serialize(m)["registered_name"] == "BinaryTruePositives"
    assert type(M.deserialize(M.serialize(m), custom_objects={"BinaryTruePositives": BinaryTruePositives})) \
        is BinaryTruePositives


# ------------------------------------------------------------------------------------------------ errors
def _raises(fn, *fragments):
    with pytest.raises(KerasliteError) as info:
        fn()
    for fragment in fragments:
        assert fragment in str(info.value), str(info.value)


def test_unknown_name_lists_known_ones():
    _raises(lambda: M.get("no_such_metric"), "Could not interpret metric identifier: 'no_such_metric'",
            "AUC", "binary_accuracy", "mse")
    _raises(lambda: M.get("acc"), "resolved by compile from the shapes")
    _raises(lambda: M.get("mean_io_u"), "MeanIoU", "num_classes")
    _raises(lambda: M.deserialize({"class_name": "Nope", "config": {}}), "Unknown metric class 'Nope'",
            "custom_objects")
    _raises(lambda: M.get_metric(None, (1,), (1,)), "Expected metric, received `None`")


def test_bad_arguments():
    _raises(lambda: M.Precision(thresholds=[0.5, 1.5]), "threshold values must be in [0, 1]", "[1.5]")
    _raises(lambda: M.AUC(num_thresholds=1), "`num_thresholds` must be an integer > 1", "num_thresholds=1")
    _raises(lambda: M.AUC(curve="XY"), 'Invalid AUC curve value: "XY"')
    _raises(lambda: M.AUC(summation_method="mean"), "Invalid AUC summation method")
    _raises(lambda: M.AUC(num_labels=3), "`num_labels` is needed only when `multi_label` is True")
    _raises(lambda: M.SensitivityAtSpecificity(1.5), "`specificity` must be in the range [0, 1]")
    _raises(lambda: M.RecallAtPrecision(0.5, num_thresholds=0), "`num_thresholds` must be an integer > 0")
    _raises(lambda: M.IoU(3, target_class_ids=[3]), "Target class id 3 is out of range")
    _raises(lambda: M.F1Score(average="mean"), "Invalid `average` argument value")
    _raises(lambda: M.FBetaScore(beta=2), "It should be a Python float")
    _raises(lambda: M.R2Score(class_aggregation="median"), "class_aggregation")
    _raises(lambda: M.MeanMetricWrapper(fn=3), "needs a callable")


def test_bad_shapes_name_the_shapes():
    _raises(lambda: M.Precision().update_state(np.zeros((4, 3)), np.zeros((4, 2), np.float32)),
            "y_true.shape=(4, 3)", "y_pred.shape=(4, 2)")
    _raises(lambda: M.Precision(class_id=1).update_state(np.zeros(4), np.zeros(4, np.float32)),
            "must be a 2D array", "(4,)")
    _raises(lambda: M.AUC().update_state(np.zeros((4, 1)), np.zeros((4, 1), np.float32), sample_weight=np.ones(3)),
            "`sample_weight` of shape", "(4, 1)")
    _raises(lambda: M.AUC(multi_label=True).update_state(np.zeros((2, 2, 2)), np.zeros((2, 2, 2), np.float32)),
            "must have rank 2 when `multi_label=True`")
    _raises(lambda: M.SparseCategoricalAccuracy().update_state(np.zeros((4, 3)), np.zeros((5, 3), np.float32)),
            "y_true.shape=(4, 3)", "y_pred.shape=(5, 3)")
    _raises(lambda: M.Mean().update_state(np.zeros(4), sample_weight=np.ones(3)), "(3,)", "(4,)")
    _raises(lambda: M.MeanIoU(2).update_state(np.zeros(4), np.zeros(5)), "4 and 5")
    _raises(lambda: M.R2Score().update_state(np.zeros(4), np.zeros(4)), "R2Score expects 2D inputs")
    masked = Tensor(np.zeros((2, 3, 1), np.float32))
    masked._keras_mask = Tensor(np.ones((2, 3), bool))
    _raises(lambda: M.MeanSquaredError().update_state(np.zeros((2, 3, 1)), masked, sample_weight=np.ones(2)),
            "does not match the mask")
