"""Regression metrics: MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError,
MeanSquaredLogarithmicError, RootMeanSquaredError, CosineSimilarity, LogCoshError and R2Score."""
from __future__ import annotations

import functools
import warnings

import numpy as np

from ...errors import KerasliteError
from ..autodiff import Tensor
from ..autodiff.core import FLOATX
from ..losses import functions as losses
from .base import EPSILON, Metric, accumulate, broadcast, same_rank, to_numpy
from .reduction import FunctionMean, Mean, MeanMetricWrapper


def aligned(fn):
    """``fn`` after Keras' squeeze-or-expand of a trailing axis of 1 (what Keras' own regression losses do first),
    so ``y_true`` of shape (n,) against ``y_pred`` of shape (n, 1) compares sample by sample."""
    @functools.wraps(fn)
    def wrapper(y_true, y_pred, **kwargs):
        y_pred = to_numpy(y_pred)
        y_true, y_pred = same_rank(to_numpy(y_true, y_pred.dtype), y_pred)
        return fn(y_true, y_pred, **kwargs)
    return wrapper


mean_squared_error = aligned(losses.mean_squared_error)
mean_absolute_error = aligned(losses.mean_absolute_error)
mean_absolute_percentage_error = aligned(losses.mean_absolute_percentage_error)
mean_squared_logarithmic_error = aligned(losses.mean_squared_logarithmic_error)
log_cosh = aligned(losses.log_cosh)
huber = aligned(losses.huber)


def cosine_similarity(y_true, y_pred, axis=-1):
    """The cosine of the angle between ``y_true`` and ``y_pred`` along ``axis`` (metric sign: 1 is best)."""
    y_pred = to_numpy(y_pred)
    y_true, y_pred = same_rank(to_numpy(y_true, y_pred.dtype), y_pred)
    return Tensor(np.sum(_l2_normalize(y_true, axis) * _l2_normalize(y_pred, axis), axis=axis,
                         dtype=y_pred.dtype))


def _l2_normalize(x, axis):
    """Keras' ``ops.normalize``: ``x * min(rsqrt(sum(x^2)), 1 / epsilon)``."""
    square_sum = np.sum(np.square(x), axis=axis, keepdims=True, dtype=x.dtype)
    with np.errstate(divide="ignore"):
        inv = np.minimum(1 / np.sqrt(square_sum), x.dtype.type(1 / EPSILON))
    return x * inv


class MeanSquaredError(FunctionMean):
    """The mean of ``mean(square(y_true - y_pred), axis=-1)`` over samples."""

    fn = staticmethod(mean_squared_error)
    default_name = "mean_squared_error"


class MeanAbsoluteError(FunctionMean):
    """The mean of ``mean(abs(y_true - y_pred), axis=-1)`` over samples."""

    fn = staticmethod(mean_absolute_error)
    default_name = "mean_absolute_error"


class MeanAbsolutePercentageError(FunctionMean):
    """The mean of ``100 * mean(abs((y_true - y_pred) / max(abs(y_true), epsilon)), axis=-1)``."""

    fn = staticmethod(mean_absolute_percentage_error)
    default_name = "mean_absolute_percentage_error"


class MeanSquaredLogarithmicError(FunctionMean):
    """The mean of ``mean(square(log(y_true + 1) - log(y_pred + 1)), axis=-1)`` (values floored at epsilon)."""

    fn = staticmethod(mean_squared_logarithmic_error)
    default_name = "mean_squared_logarithmic_error"


class CosineSimilarity(MeanMetricWrapper):
    """The mean cosine similarity between labels and predictions along ``axis``."""

    def __init__(self, name="cosine_similarity", dtype=None, axis=-1):
        super().__init__(fn=cosine_similarity, name=name, dtype=dtype, axis=axis)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}  # Keras leaves ``axis`` out too


class LogCoshError(FunctionMean):
    """The mean of ``mean(log(cosh(y_pred - y_true)), axis=-1)``."""

    fn = staticmethod(log_cosh)
    default_name = "logcosh"


class RootMeanSquaredError(Mean):
    """``sqrt`` of the (weighted) mean of the squared errors, element by element."""

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = same_rank(to_numpy(y_true, self.dtype), to_numpy(y_pred, self.dtype))
        try:
            error_sq = np.square(y_pred - y_true)
        except ValueError:
            raise KerasliteError(f"{self.name}: y_true of shape {tuple(y_true.shape)} and y_pred of shape "
                                 f"{tuple(y_pred.shape)} cannot be compared") from None
        super().update_state(error_sq, sample_weight=sample_weight)

    def result(self):
        return Tensor(np.sqrt(super().result()._v))


class R2Score(Metric):
    """The coefficient of determination (R^2), per output column then aggregated.

    Args:
        class_aggregation: ``"uniform_average"`` (default), ``"variance_weighted_average"`` or None (one score per
            column).
        num_regressors: for the adjusted R^2 (0 means plain R^2).
        name, dtype: as every metric.
    """

    AGGREGATIONS = (None, "uniform_average", "variance_weighted_average")

    def __init__(self, class_aggregation="uniform_average", num_regressors=0, name="r2_score", dtype=None):
        super().__init__(name=name, dtype=dtype)
        if class_aggregation not in self.AGGREGATIONS:
            raise KerasliteError("Invalid value for argument `class_aggregation`. Expected one of "
                                 f"{self.AGGREGATIONS}. Received: class_aggregation={class_aggregation!r}")
        if num_regressors < 0:
            raise KerasliteError("Invalid value for argument `num_regressors`. Expected a value >= 0. "
                                 f"Received: num_regressors={num_regressors}")
        self.class_aggregation = class_aggregation
        self.num_regressors = num_regressors
        self.num_samples = self.add_variable(shape=(), initializer="zeros", name="num_samples")
        self._built = False

    def _build(self, y_true_shape, y_pred_shape):
        if len(y_pred_shape) != 2 or len(y_true_shape) != 2:
            raise KerasliteError("R2Score expects 2D inputs with shape (batch_size, output_dim). Received input "
                                 f"shapes: y_pred.shape={tuple(y_pred_shape)} and y_true.shape={tuple(y_true_shape)}.")
        columns = (y_pred_shape[-1],)
        self.squared_sum = self.add_variable(shape=columns, initializer="zeros", name="squared_sum")
        self.sum = self.add_variable(shape=columns, initializer="zeros", name="sum")
        self.total_mse = self.add_variable(shape=columns, initializer="zeros", name="residual")
        self.count = self.add_variable(shape=columns, initializer="zeros", name="count")
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = same_rank(to_numpy(y_true, self.dtype), to_numpy(y_pred, self.dtype))
        if not self._built:
            self._build(y_true.shape, y_pred.shape)
        if y_true.shape != y_pred.shape or y_pred.shape[-1:] != self.sum.shape:
            raise KerasliteError(f"R2Score: y_true.shape={tuple(y_true.shape)} and y_pred.shape="
                                 f"{tuple(y_pred.shape)} must match and have {self.sum.shape[0]} columns")
        sw = np.ones((), self.dtype) if sample_weight is None else to_numpy(sample_weight, self.dtype)
        if sw.ndim == 1:
            sw = sw[:, None]
        sw = broadcast(sw, y_true.shape, "sample_weight", "R2Score")
        weighted = y_true * sw
        d = y_true.dtype
        accumulate(self.sum, np.sum(weighted, axis=0, dtype=d))
        accumulate(self.squared_sum, np.sum(y_true * weighted, axis=0, dtype=d))
        accumulate(self.total_mse, np.sum(np.square(y_true - y_pred) * sw, axis=0, dtype=d))
        accumulate(self.count, np.sum(sw, axis=0, dtype=d))
        accumulate(self.num_samples, y_true.size)

    def result(self):
        if not self._built:
            return Tensor(np.zeros((), self.dtype))
        s, count = self.sum._v, self.count._v
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = s / count
            total = self.squared_sum._v - s * mean
            raw = 1 - self.total_mse._v / total
        raw = np.where(np.isinf(raw), 0.0, raw).astype(s.dtype)
        if self.class_aggregation == "uniform_average":
            score = np.mean(raw, dtype=raw.dtype)
        elif self.class_aggregation == "variance_weighted_average":
            with np.errstate(divide="ignore", invalid="ignore"):
                score = np.sum(total * raw, dtype=raw.dtype) / np.sum(total, dtype=raw.dtype)
        else:
            score = raw
        if self.num_regressors:
            n, p = float(self.num_samples._v), float(self.num_regressors)
            if p > n - 1:
                warnings.warn("More independent predictors than datapoints in adjusted R2 score. Falling back "
                              "to standard R2 score.", stacklevel=2)
            elif p == n - 1:
                warnings.warn("Division by zero in Adjusted R2 score. Falling back to standard R2 score.",
                              stacklevel=2)
            else:
                n32, p32 = np.float32(n), np.float32(p)
                score = 1 - (1 - score) * (n32 - 1) / (n32 - p32 - 1)
        return Tensor(np.asarray(score, dtype=FLOATX if self.num_regressors else s.dtype))

    def get_config(self):
        return {**super().get_config(), "class_aggregation": self.class_aggregation,
                "num_regressors": self.num_regressors}


FUNCTIONS = {f.__name__: f for f in (mean_squared_error, mean_absolute_error, mean_absolute_percentage_error,
                                     mean_squared_logarithmic_error, log_cosh, huber, cosine_similarity)}
CLASSES = {c.__name__: c for c in (MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError,
                                   MeanSquaredLogarithmicError, RootMeanSquaredError, CosineSimilarity, LogCoshError,
                                   R2Score)}

__all__ = list(FUNCTIONS) + list(CLASSES)
