"""Correlation metrics: PearsonCorrelation and ConcordanceCorrelation (means of per-sample correlations)."""
from __future__ import annotations

import numpy as np

from ..autodiff import Tensor
from .base import EPSILON, same_rank, to_numpy
from .reduction import MeanMetricWrapper


def _pair(y_true, y_pred):
    y_pred = to_numpy(y_pred)
    return same_rank(to_numpy(y_true, y_pred.dtype), y_pred)


def pearson_correlation(y_true, y_pred, axis=-1):
    """Pearson's correlation of ``y_true`` and ``y_pred`` along ``axis``."""
    y_true, y_pred = _pair(y_true, y_pred)
    d = y_pred.dtype
    t = y_true - np.mean(y_true, axis=axis, keepdims=True, dtype=d)
    p = y_pred - np.mean(y_pred, axis=axis, keepdims=True, dtype=d)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = t / np.std(t, axis=axis, keepdims=True, dtype=d)
        p = p / np.std(p, axis=axis, keepdims=True, dtype=d)
    return Tensor(np.mean(t * p, axis=axis, dtype=d))


def concordance_correlation(y_true, y_pred, axis=-1):
    """Lin's concordance correlation along ``axis``, with Keras' formula (its covariance term centres ``y_true``
    on the mean of ``y_pred``, as Keras 3 does)."""
    y_true, y_pred = _pair(y_true, y_pred)
    d = y_pred.dtype
    t_mean = np.mean(y_true, axis=axis, keepdims=True, dtype=d)
    p_mean = np.mean(y_pred, axis=axis, keepdims=True, dtype=d)
    t_var = np.var(y_true - t_mean, axis=axis, keepdims=True, dtype=d)
    p_var = np.var(y_pred - p_mean, axis=axis, keepdims=True, dtype=d)
    covar = (y_true - p_mean) * (y_pred - p_mean)
    norm = t_var + p_var + np.square(t_mean - p_mean)
    return Tensor(np.mean(2 * covar / (norm + d.type(EPSILON)), axis=axis, dtype=d))


class PearsonCorrelation(MeanMetricWrapper):
    """The mean Pearson correlation along ``axis``."""

    def __init__(self, name="pearson_correlation", dtype=None, axis=-1):
        super().__init__(fn=pearson_correlation, name=name, dtype=dtype, axis=axis)
        self.axis = axis

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "axis": self.axis}


class ConcordanceCorrelation(MeanMetricWrapper):
    """The mean concordance correlation along ``axis``."""

    def __init__(self, name="concordance_correlation", dtype=None, axis=-1):
        super().__init__(fn=concordance_correlation, name=name, dtype=dtype, axis=axis)
        self.axis = axis

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "axis": self.axis}


FUNCTIONS = {"pearson_correlation": pearson_correlation, "concordance_correlation": concordance_correlation}
CLASSES = {"PearsonCorrelation": PearsonCorrelation, "ConcordanceCorrelation": ConcordanceCorrelation}

__all__ = list(FUNCTIONS) + list(CLASSES)
