"""Confusion-matrix metrics: TruePositives/FalsePositives/TrueNegatives/FalseNegatives, Precision, Recall and
the at-a-point family (SensitivityAtSpecificity, SpecificityAtSensitivity, PrecisionAtRecall,
RecallAtPrecision). AUC is in auc.py. The counting itself is thresholds.py."""
from __future__ import annotations

import numpy as np

from ...errors import KerasliteError
from ..autodiff import Tensor
from .base import Metric, accumulate, divide_no_nan
from .thresholds import NEG_INF, Thresholds, parse_thresholds, prepare


class _ConditionCount(Metric):
    """One confusion-matrix cell counted at each threshold."""

    _kind = ""

    def __init__(self, thresholds=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.thresholds = parse_thresholds(thresholds, 0.5, type(self).__name__)
        self._thresholds = Thresholds(self.thresholds)
        self.accumulator = self.add_variable(shape=(len(self.thresholds),), initializer="zeros",
                                             name="accumulator")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred, weights = prepare(y_true, y_pred, sample_weight, type(self).__name__)
        counts = self._thresholds.counts(y_true, y_pred, weights, wanted=(self._kind,))
        accumulate(self.accumulator, counts[self._kind])

    def result(self):
        value = self.accumulator._v
        return Tensor(value[0].copy() if len(self.thresholds) == 1 else value.copy())

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds}


class TruePositives(_ConditionCount):
    """The (weighted) number of positives predicted positive (``y_pred > threshold``), at each threshold.

    Args:
        thresholds: a float or list of floats in [0, 1] (default 0.5); the result has one value per threshold.
        name: metric name (default ``true_positives``, made unique).
        dtype: dtype of the state (default float32).
    """

    _kind = "tp"


class FalsePositives(_ConditionCount):
    """The (weighted) number of negatives predicted positive, at each threshold (see ``TruePositives``)."""

    _kind = "fp"


class TrueNegatives(_ConditionCount):
    """The (weighted) number of negatives predicted negative, at each threshold (see ``TruePositives``)."""

    _kind = "tn"


class FalseNegatives(_ConditionCount):
    """The (weighted) number of positives predicted negative, at each threshold (see ``TruePositives``)."""

    _kind = "fn"


class _PrecisionRecall(Metric):
    """Shared by Precision and Recall: TP and one other cell, at thresholds, with ``top_k`` and ``class_id``."""

    _other = ""

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.top_k = top_k
        self.class_id = class_id
        default = 0.5 if top_k is None else NEG_INF
        self.thresholds = parse_thresholds(thresholds, default, type(self).__name__)
        self._thresholds = Thresholds(self.thresholds)
        n = len(self.thresholds)
        self.true_positives = self.add_variable(shape=(n,), initializer="zeros", name="true_positives")
        other = "false_positives" if self._other == "fp" else "false_negatives"
        setattr(self, other, self.add_variable(shape=(n,), initializer="zeros", name=other))
        self._other_var = getattr(self, other)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred, weights = prepare(y_true, y_pred, sample_weight, type(self).__name__, self.top_k,
                                          self.class_id)
        counts = self._thresholds.counts(y_true, y_pred, weights, wanted=("tp", self._other))
        accumulate(self.true_positives, counts["tp"])
        accumulate(self._other_var, counts[self._other])

    def result(self):
        tp = self.true_positives._v
        value = divide_no_nan(tp, tp + self._other_var._v)
        return Tensor(value[0] if len(self.thresholds) == 1 else value)

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds, "top_k": self.top_k,
                "class_id": self.class_id}


class Precision(_PrecisionRecall):
    """TP / (TP + FP) of predictions above each threshold (0 when nothing was predicted positive).

    Args:
        thresholds: a float or list of floats in [0, 1] (default 0.5, or "the top k" when ``top_k`` is set).
        top_k: only each row's ``k`` highest scores count as positive predictions.
        class_id: compute the metric for this one class of a (batch, classes) prediction.
        name: metric name (default ``precision``, made unique).
        dtype: dtype of the state (default float32).

    Example::

        m = Precision()
        m.update_state([0, 1, 1, 1], [1, 0, 1, 1])
        float(m.result())  # 0.6666667
    """

    _other = "fp"


class Recall(_PrecisionRecall):
    """TP / (TP + FN) at each threshold (0 when there were no positives); arguments as ``Precision``."""

    _other = "fn"


class _AtPoint(Metric):
    """All four cells on an even grid of ``num_thresholds``; subclasses pick one rate under a constraint."""

    _value_name = ""
    _rates_used = ("", "")

    def __init__(self, value, num_thresholds=200, class_id=None, name=None, dtype=None):
        owner = type(self).__name__
        if not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise KerasliteError(f"{owner}: argument `{self._value_name}` must be in the range [0, 1]. "
                                 f"Received: {self._value_name}={value!r}")
        if not isinstance(num_thresholds, int) or num_thresholds <= 0:
            raise KerasliteError(f"{owner}: argument `num_thresholds` must be an integer > 0. "
                                 f"Received: num_thresholds={num_thresholds!r}")
        super().__init__(name=name, dtype=dtype)
        self.value = value
        setattr(self, self._value_name, value)
        self.num_thresholds = num_thresholds
        self.class_id = class_id
        if num_thresholds == 1:
            self.thresholds, even = [0.5], False
        else:
            self.thresholds = [0.0] + [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self.thresholds.append(1.0)
            even = True
        self._thresholds = Thresholds(self.thresholds, even=even)
        n = len(self.thresholds)
        self.true_positives = self.add_variable(shape=(n,), initializer="zeros", name="true_positives")
        self.false_positives = self.add_variable(shape=(n,), initializer="zeros", name="false_positives")
        self.true_negatives = self.add_variable(shape=(n,), initializer="zeros", name="true_negatives")
        self.false_negatives = self.add_variable(shape=(n,), initializer="zeros", name="false_negatives")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred, weights = prepare(y_true, y_pred, sample_weight, type(self).__name__,
                                          class_id=self.class_id)
        counts = self._thresholds.counts(y_true, y_pred, weights)
        accumulate(self.true_positives, counts["tp"])
        accumulate(self.false_positives, counts["fp"])
        accumulate(self.true_negatives, counts["tn"])
        accumulate(self.false_negatives, counts["fn"])

    def _rates(self):
        tp, fp = self.true_positives._v, self.false_positives._v
        tn, fn = self.true_negatives._v, self.false_negatives._v
        return {"sensitivity": divide_no_nan(tp, tp + fn), "specificity": divide_no_nan(tn, tn + fp),
                "precision": divide_no_nan(tp, tp + fp)}

    def result(self):
        """The largest maximised rate over thresholds where the constrained rate is ``>= value`` (else 0)."""
        rates = self._rates()
        constrained, dependent = (rates[k] for k in self._rates_used)
        feasible = constrained >= np.asarray(self.value, constrained.dtype)
        return Tensor(np.max(np.where(feasible, dependent, 0), initial=0).astype(self.dtype))

    def get_config(self):
        return {**super().get_config(), "class_id": self.class_id, "num_thresholds": self.num_thresholds,
                self._value_name: self.value}


class SensitivityAtSpecificity(_AtPoint):
    """The best sensitivity (recall) over thresholds whose specificity is at least ``specificity``.

    Args:
        specificity: the required specificity, in [0, 1].
        num_thresholds: thresholds evenly spaced over [0, 1] (default 200; 1 means just 0.5).
        class_id: compute the metric for this one class of a (batch, classes) prediction.
        name, dtype: as every metric.
    """

    _rates_used = ("specificity", "sensitivity")  # (constrained, maximised)
    _value_name = "specificity"

    def __init__(self, specificity, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(specificity, num_thresholds, class_id, name, dtype)


class SpecificityAtSensitivity(_AtPoint):
    """The best specificity over thresholds whose sensitivity is at least ``sensitivity`` (arguments as
    ``SensitivityAtSpecificity``)."""

    _rates_used = ("sensitivity", "specificity")  # (constrained, maximised)
    _value_name = "sensitivity"

    def __init__(self, sensitivity, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(sensitivity, num_thresholds, class_id, name, dtype)


class PrecisionAtRecall(_AtPoint):
    """The best precision over thresholds whose recall is at least ``recall``."""

    _rates_used = ("sensitivity", "precision")  # (constrained, maximised)
    _value_name = "recall"

    def __init__(self, recall, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(recall, num_thresholds, class_id, name, dtype)


class RecallAtPrecision(_AtPoint):
    """The best recall over thresholds whose precision is at least ``precision``."""

    _rates_used = ("precision", "sensitivity")  # (constrained, maximised)
    _value_name = "precision"

    def __init__(self, precision, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(precision, num_thresholds, class_id, name, dtype)


CLASSES = {c.__name__: c for c in (TruePositives, FalsePositives, TrueNegatives, FalseNegatives, Precision, Recall,
                                   SensitivityAtSpecificity, SpecificityAtSensitivity, PrecisionAtRecall,
                                   RecallAtPrecision)}

__all__ = list(CLASSES)
