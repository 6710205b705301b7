"""``AUC``: area under the ROC, PR or PR-gain curve from confusion counts at ``num_thresholds`` thresholds.

The thresholds are Keras': ``i / (num_thresholds - 1)`` for the inner ones and ``-epsilon``, ``1 + epsilon`` at
the ends, so a prediction of exactly 0 or 1 is still counted. The area is a Riemann sum (``interpolation`` takes
the mean of the two heights, ``minoring``/``majoring`` the lower/higher one), except PR with interpolation, which
uses the interpolation of Davis & Goadrich (2006) as Keras does.
"""
from __future__ import annotations

import numpy as np

from ...errors import KerasliteError
from ..autodiff import Tensor
from .base import EPSILON, Metric, accumulate, divide_no_nan, to_numpy
from .thresholds import Thresholds, evenly_spaced, prepare

CURVES = {"roc": "ROC", "pr": "PR", "prgain": "PRGAIN"}
SUMMATIONS = ("interpolation", "majoring", "minoring")


def _sigmoid(x: np.ndarray) -> np.ndarray:
    out = np.empty_like(x)
    pos = x >= 0
    out[pos] = 1 / (1 + np.exp(-x[pos]))
    e = np.exp(x[~pos])
    out[~pos] = e / (1 + e)
    return out


class AUC(Metric):
    """Approximate area under a curve (ROC by default) from bucketed predictions.

    Args:
        num_thresholds: how many thresholds (> 1, default 200); ignored when ``thresholds`` is given.
        curve: ``"ROC"``, ``"PR"`` (precision-recall) or ``"PRGAIN"``.
        summation_method: ``"interpolation"``, ``"minoring"`` or ``"majoring"``.
        name: metric name (default ``auc``, made unique: ``auc_1``, ...).
        dtype: dtype of the state (default float32).
        thresholds: explicit inner thresholds in [0, 1] (the ends -epsilon and 1 + epsilon are added).
        multi_label: treat each column of a (batch, labels) prediction as its own curve and average the areas;
            otherwise all entries are pooled into one curve.
        num_labels: the number of labels, to make the state before the first batch (``multi_label`` only).
        label_weights: per-label weights: they weight the average of areas with ``multi_label``, and the
            counts otherwise.
        from_logits: apply a sigmoid to ``y_pred`` first.

    Example::

        m = AUC(num_thresholds=3)
        m.update_state([0, 0, 1, 1], [0, 0.5, 0.3, 0.9])
        float(m.result())  # 0.75
    """

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation", name=None, dtype=None,
                 thresholds=None, multi_label=False, num_labels=None, label_weights=None, from_logits=False):
        curve_key = str(getattr(curve, "value", curve))
        if curve_key.lower() not in CURVES or curve_key not in (curve_key.lower(), CURVES[curve_key.lower()]):
            raise KerasliteError(f'Invalid AUC curve value: "{curve}". Expected values are ["PR", "ROC", "PRGAIN"]')
        method = str(getattr(summation_method, "value", summation_method))
        if method.lower() not in SUMMATIONS or method not in (method.lower(), method.capitalize()):
            raise KerasliteError(f'Invalid AUC summation method value: "{summation_method}". Expected values are '
                                 '["interpolation", "majoring", "minoring"]')
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            inner = sorted(float(t) for t in thresholds)
            bad = [t for t in inner if not 0 <= t <= 1]
            if bad:
                raise KerasliteError(f"AUC: threshold values must be in [0, 1]. Received: {bad}")
            self.num_thresholds = len(inner) + 2
            even = evenly_spaced([0.0] + inner + [1.0])
        else:
            if not isinstance(num_thresholds, int) or num_thresholds <= 1:
                raise KerasliteError("Argument `num_thresholds` must be an integer > 1. "
                                     f"Received: num_thresholds={num_thresholds!r}")
            self.num_thresholds = num_thresholds
            inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            even = True
        self._thresholds_list = [0.0 - EPSILON] + inner + [1.0 + EPSILON]
        self._thresholds = Thresholds(self._thresholds_list, even=even)
        self.curve = CURVES[curve_key.lower()]
        self.summation_method = method.lower()
        super().__init__(name=name, dtype=dtype)
        self.multi_label = bool(multi_label)
        self.num_labels = num_labels
        self.label_weights = None if label_weights is None else np.asarray(label_weights, dtype=self.dtype)
        self._from_logits = from_logits
        self._built = False
        if self.multi_label:
            if num_labels:
                self._build((None, num_labels))
        else:
            if num_labels:
                raise KerasliteError("AUC: `num_labels` is needed only when `multi_label` is True. "
                                     f"Received: num_labels={num_labels!r}, multi_label={multi_label!r}")
            self._build(None)

    @property
    def thresholds(self):
        return list(self._thresholds_list)

    def _build(self, shape):
        if self.multi_label:
            if len(shape) != 2:
                raise KerasliteError("AUC: `y_pred` must have rank 2 when `multi_label=True`. Found rank "
                                     f"{len(shape)}. Full shape received for `y_pred`: {tuple(shape)}")
            self._num_labels = shape[1]
            var_shape = (self.num_thresholds, self._num_labels)
        else:
            var_shape = (self.num_thresholds,)
        self._build_input_shape = shape
        self.true_positives = self.add_variable(shape=var_shape, initializer="zeros", name="true_positives")
        self.false_positives = self.add_variable(shape=var_shape, initializer="zeros", name="false_positives")
        self.true_negatives = self.add_variable(shape=var_shape, initializer="zeros", name="true_negatives")
        self.false_negatives = self.add_variable(shape=var_shape, initializer="zeros", name="false_negatives")
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        if not self._built:
            self._build(np.shape(to_numpy(y_pred)))
        y_true, y_pred, weights = prepare(y_true, y_pred, sample_weight, "AUC", dtype=self.dtype)
        if self.multi_label and (y_pred.ndim != 2 or y_pred.shape[1] != self._num_labels):
            raise KerasliteError(f"AUC(multi_label=True) was built for {self._num_labels} labels; got y_pred of "
                                 f"shape {tuple(y_pred.shape)}")
        if self._from_logits:
            y_pred = _sigmoid(y_pred)
        label_weights = None if self.multi_label else self.label_weights
        counts = self._thresholds.counts(y_true, y_pred, weights, multi_label=self.multi_label,
                                         label_weights=label_weights)
        accumulate(self.true_positives, counts["tp"])
        accumulate(self.false_positives, counts["fp"])
        accumulate(self.true_negatives, counts["tn"])
        accumulate(self.false_negatives, counts["fn"])

    def _average(self, by_label):
        """One area per label (multi_label) averaged, weighted by ``label_weights``; or the pooled sum."""
        if not self.multi_label:
            return Tensor(np.sum(by_label, dtype=by_label.dtype))
        areas = np.sum(by_label, axis=0, dtype=by_label.dtype)
        if self.label_weights is None:
            return Tensor(np.mean(areas, dtype=areas.dtype))
        lw = self.label_weights
        return Tensor(divide_no_nan(np.sum(areas * lw, dtype=areas.dtype), np.sum(lw, dtype=lw.dtype)))

    def interpolate_pr_auc(self):
        """Davis & Goadrich's interpolated area under the PR curve, from the TP and FP counts."""
        tp, fp, fn = self.true_positives._v, self.false_positives._v, self.false_negatives._v
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        slope = divide_no_nan(dtp, np.maximum(dp, 0))
        intercept = tp[1:] - slope * p[1:]
        both = (p[:-1] > 0) & (p[1:] > 0)
        ratio = np.where(both, divide_no_nan(p[:-1], np.maximum(p[1:], 0)), np.ones_like(p[1:]))
        with np.errstate(divide="ignore", invalid="ignore"):
            log_ratio = np.log(ratio)
        increments = divide_no_nan(slope * (dtp + intercept * log_ratio), np.maximum(tp[1:] + fn[1:], 0))
        return self._average(increments)

    def result(self):
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self.interpolate_pr_auc()
        tp, fp = self.true_positives._v, self.false_positives._v
        tn, fn = self.true_negatives._v, self.false_negatives._v
        recall = divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = divide_no_nan(fp, fp + tn), recall
        elif self.curve == "PR":
            x, y = recall, divide_no_nan(tp, tp + fp)
        else:  # PRGAIN
            scale = divide_no_nan(tp + fn, tn + fp)
            one = np.ones((), tp.dtype)
            recall_gain = np.where(tp == 0, 0, one - scale * divide_no_nan(fn, tp))
            precision_gain = np.where(tp == 0, one, one - scale * divide_no_nan(fp, tp))
            x, y = np.maximum(recall_gain, 0).astype(tp.dtype), precision_gain.astype(tp.dtype)
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / y.dtype.type(2)
        elif self.summation_method == "minoring":
            heights = np.minimum(y[:-1], y[1:])
        else:
            heights = np.maximum(y[:-1], y[1:])
        return self._average((x[:-1] - x[1:]) * heights)

    def reset_state(self):
        if self._built:
            super().reset_state()

    def get_config(self):
        lw = self.label_weights
        config = {**super().get_config(), "num_thresholds": self.num_thresholds, "curve": self.curve,
                  "summation_method": self.summation_method, "multi_label": self.multi_label,
                  "num_labels": self.num_labels, "label_weights": None if lw is None else lw.tolist(),
                  "from_logits": self._from_logits}
        if self._init_from_thresholds:
            config["thresholds"] = self.thresholds[1:-1]
        return config


CLASSES = {"AUC": AUC}

__all__ = ["AUC"]
