"""F-scores: ``FBetaScore`` and ``F1Score`` over (batch, classes) predictions."""
from __future__ import annotations

import numpy as np

from ...errors import KerasliteError
from ..autodiff import Tensor
from .base import EPSILON, Metric, accumulate, to_numpy

AVERAGES = (None, "micro", "macro", "weighted")


class FBetaScore(Metric):
    """The F-beta score per class (``average=None``) or averaged (``"micro"``, ``"macro"``, ``"weighted"``).

    Args:
        average: how to combine classes (see above).
        beta: weight of recall against precision (a float > 0).
        threshold: predictions above it are positive; None means each row's highest score (if above 1e-9).
        name, dtype: as every metric.
    """

    def __init__(self, average=None, beta=1.0, threshold=None, name="fbeta_score", dtype=None):
        super().__init__(name=name, dtype=dtype)
        if average not in AVERAGES:
            raise KerasliteError("Invalid `average` argument value. Expected one of: {None, 'micro', 'macro', "
                                 f"'weighted'}}. Received: average={average!r}")
        if not isinstance(beta, float):
            raise KerasliteError("Invalid `beta` argument value. It should be a Python float. "
                                 f"Received: beta={beta!r} of type '{type(beta)}'")
        if beta <= 0.0:
            raise KerasliteError(f"Invalid `beta` argument value. It should be > 0. Received: beta={beta}")
        if threshold is not None:
            if not isinstance(threshold, float):
                raise KerasliteError("Invalid `threshold` argument value. It should be a Python float. "
                                     f"Received: threshold={threshold!r} of type '{type(threshold)}'")
            if threshold > 1.0 or threshold <= 0.0:
                raise KerasliteError("Invalid `threshold` argument value. It should verify 0 < threshold <= 1. "
                                     f"Received: threshold={threshold}")
        self.average = average
        self.beta = beta
        self.threshold = threshold
        self.axis = None if average == "micro" else 0
        self._built = False

    def _build(self, y_true_shape, y_pred_shape):
        if len(y_pred_shape) != 2 or len(y_true_shape) != 2:
            raise KerasliteError(f"{type(self).__name__} expects 2D inputs with shape (batch_size, output_dim). "
                                 f"Received input shapes: y_pred.shape={tuple(y_pred_shape)} and "
                                 f"y_true.shape={tuple(y_true_shape)}.")
        shape = () if self.average == "micro" else (y_pred_shape[-1],)
        for name in ("true_positives", "false_positives", "false_negatives", "intermediate_weights"):
            setattr(self, name, self.add_variable(shape=shape, initializer="zeros", dtype=self.dtype, name=name))
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = to_numpy(y_true, self.dtype), to_numpy(y_pred, self.dtype)
        if not self._built:
            self._build(y_true.shape, y_pred.shape)
        if y_true.shape != y_pred.shape:
            raise KerasliteError(f"{type(self).__name__}: y_true.shape={tuple(y_true.shape)} and "
                                 f"y_pred.shape={tuple(y_pred.shape)} must match")
        if self.threshold is None:
            top = np.max(y_pred, axis=-1, keepdims=True)
            positive = (y_pred >= top) & (np.abs(y_pred) > 1e-9)
        else:
            positive = y_pred > self.threshold
        pred = positive.astype(self.dtype)
        sw = None if sample_weight is None else to_numpy(sample_weight, self.dtype)

        def weighted_sum(values):
            if sw is not None:
                values = values * np.expand_dims(sw, 1)
            return np.sum(values, axis=self.axis, dtype=values.dtype)

        one = np.ones((), self.dtype)
        accumulate(self.true_positives, weighted_sum(pred * y_true))
        accumulate(self.false_positives, weighted_sum(pred * (one - y_true)))
        accumulate(self.false_negatives, weighted_sum((one - pred) * y_true))
        accumulate(self.intermediate_weights, weighted_sum(y_true))

    def result(self):
        if not self._built:
            return Tensor(np.zeros((), self.dtype))
        eps = np.asarray(EPSILON, self.dtype)
        tp, fp, fn = self.true_positives._v, self.false_positives._v, self.false_negatives._v
        precision = tp / (tp + fp + eps)
        recall = tp / (tp + fn + eps)
        beta_sq = np.asarray(self.beta ** 2, self.dtype)
        mean = (precision * recall) / (beta_sq * precision + recall + eps)
        f = mean * (1 + beta_sq)
        if self.average == "weighted":
            iw = self.intermediate_weights._v
            f = np.sum(f * (iw / (np.sum(iw, dtype=iw.dtype) + eps)), dtype=f.dtype)
        elif self.average is not None:
            f = np.mean(f, dtype=f.dtype)
        return Tensor(np.asarray(f, self.dtype))

    def get_config(self):
        return {**super().get_config(), "average": self.average, "beta": self.beta, "threshold": self.threshold}


class F1Score(FBetaScore):
    """The F1 score: ``FBetaScore`` with ``beta=1``."""

    def __init__(self, average=None, threshold=None, name="f1_score", dtype=None):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, dtype=dtype)

    def get_config(self):
        config = super().get_config()
        del config["beta"]
        return config


CLASSES = {"FBetaScore": FBetaScore, "F1Score": F1Score}

__all__ = list(CLASSES)
