"""Reduction metrics: ``Sum``, ``Mean`` and ``MeanMetricWrapper`` (the mean of a per-sample function)."""
from __future__ import annotations

import numpy as np

from ...errors import KerasliteError
from ..autodiff import Tensor
from .base import Metric, accumulate, apply_mask, broadcast, divide_no_nan, mask_of, same_rank, to_numpy


def samplewise(values, sample_weight, reduce_fn, dtype, owner, values_mask=None):
    """Keras' ``reduce_to_samplewise_values``: per-sample values (weighted) and the per-sample weights.

    The weights are squeezed or expanded to the values' rank, the values reduced over the axes the weights lack,
    the weights broadcast over the rest; both are then reduced to one entry per sample.
    """
    values = to_numpy(values, dtype)
    if sample_weight is not None:
        sample_weight = to_numpy(sample_weight, dtype)
        if values_mask is not None:
            sample_weight = apply_mask(sample_weight, values_mask, dtype, owner)
        values, sample_weight = same_rank(values, sample_weight)
        w_ndim = sample_weight.ndim
        if values.ndim > w_ndim:
            values = reduce_fn(values, axis=tuple(range(w_ndim, values.ndim)))
        if w_ndim > values.ndim:
            raise KerasliteError(f"{owner}: `sample_weight` of shape {tuple(sample_weight.shape)} has more axes "
                                 f"than the per-sample values of shape {tuple(values.shape)}. Pass one weight "
                                 "per sample")
        sample_weight = broadcast(sample_weight, values.shape, "sample_weight", owner)
        values = values * sample_weight
        if w_ndim > 1:
            sample_weight = reduce_fn(sample_weight, axis=tuple(range(1, w_ndim)))
    if values.ndim > 1:
        values = reduce_fn(values, axis=tuple(range(1, values.ndim)))
    return values, sample_weight


_SCALARS = (float, int, np.float32, np.float64)


def _sum(x, axis):
    return np.sum(x, axis=axis, dtype=x.dtype)


def _mean(x, axis):
    return np.mean(x, axis=axis, dtype=x.dtype)


class Sum(Metric):
    """The (weighted) sum of the values seen: ``Sum()([1, 3, 5, 7])`` is 16.

    Args:
        name: metric name (default ``"sum"``).
        dtype: dtype of the state (default float32).
    """

    def __init__(self, name="sum", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable(shape=(), initializer="zeros", dtype=self.dtype, name="total")

    def update_state(self, values, sample_weight=None):
        values, _ = samplewise(values, sample_weight, _sum, self.dtype, type(self).__name__)
        accumulate(self.total, np.sum(values, dtype=values.dtype))

    def result(self):
        return self.total.value  # a snapshot: later updates do not change it


class Mean(Metric):
    """The (weighted) mean of the values seen: ``Mean()([1, 3, 5, 7])`` is 4, with weights [1, 1, 0, 0] it is 2.

    Args:
        name: metric name (default ``"mean"``).
        dtype: dtype of the state (default float32).
    """

    def __init__(self, name="mean", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable(shape=(), initializer="zeros", dtype=self.dtype, name="total")
        self.count = self.add_variable(shape=(), initializer="zeros", dtype=self.dtype, name="count")

    def update_state(self, values, sample_weight=None, _values_mask=None):
        if type(values) in _SCALARS and (sample_weight is None or type(sample_weight) in _SCALARS):
            return self._update_scalar(values, sample_weight)
        if sample_weight is None and _values_mask is None and isinstance(values, Tensor) and values._v.ndim == 1 \
                and values._v.dtype == self.total._v.dtype:  # one unweighted value per sample (accuracy)
            accumulate(self.total, np.sum(values._v, dtype=values._v.dtype))
            accumulate(self.count, values._v.shape[0])
            return
        values, sample_weight = samplewise(values, sample_weight, _mean, self.dtype, type(self).__name__,
                                           _values_mask)
        accumulate(self.total, np.sum(values, dtype=values.dtype))
        if sample_weight is not None:
            accumulate(self.count, np.sum(sample_weight, dtype=sample_weight.dtype))
        else:
            accumulate(self.count, values.shape[0] if values.ndim else 1)

    def _update_scalar(self, value, weight):
        """One Python number (the fit loop's loss trackers): the general path's arithmetic without the arrays."""
        total, count = self.total._v, self.count._v
        kind = total.dtype.type
        value = kind(value)
        weight = kind(1) if weight is None else kind(weight)
        total[()] = total[()] + value * weight
        count[()] = count[()] + weight

    def result(self):
        return Tensor(divide_no_nan(self.total._v, self.count._v))


class MeanMetricWrapper(Mean):
    """The mean of a per-sample function ``fn(y_true, y_pred, **kwargs)``, weighted by ``sample_weight``.

    A mask on ``y_pred`` (``y_pred._keras_mask``) multiplies into the weights, as in Keras.

    Args:
        fn: the per-sample function (e.g. ``keraslite.metrics.binary_accuracy`` or a loss function).
        name: metric name (default: the snake-cased class name, made unique).
        dtype: dtype of the state (default float32).
        **kwargs: passed to ``fn`` on every call.

    Example::

        m = MeanMetricWrapper(fn=keraslite.losses.mean_squared_error, name="mse")
        m.update_state([[0.0, 1.0]], [[1.0, 1.0]])
        float(m.result())  # 0.5
    """

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        if not callable(fn):
            raise KerasliteError(f"MeanMetricWrapper needs a callable `fn(y_true, y_pred)`. Received: fn={fn!r}")
        super().__init__(name=name, dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs

    def update_state(self, y_true, y_pred, sample_weight=None):
        mask = mask_of(y_pred)
        values = self._fn(y_true, y_pred, **self._fn_kwargs)
        sample_weight = apply_mask(sample_weight, mask, self.dtype, self.name)
        super().update_state(values, sample_weight=sample_weight, _values_mask=mask_of(values))

    def get_config(self):
        from . import serialize_function

        return {**super().get_config(), "fn": serialize_function(self._fn), **self._fn_kwargs}

    @classmethod
    def from_config(cls, config):
        from . import deserialize_function

        config = dict(config)
        if "fn" in config:
            config["fn"] = deserialize_function(config["fn"])
        return cls(**config)


_DEFAULT = object()  # "name not given": Keras' default names are plain ("mse"), an explicit None is made unique


class FunctionMean(MeanMetricWrapper):
    """The mean of one fixed per-sample function (``fn`` and ``default_name`` are class attributes), configured
    only by ``name`` and ``dtype``: the shape of most Keras metric classes (MeanSquaredError, Hinge, ...)."""

    fn = None
    default_name = ""

    def __init__(self, name=_DEFAULT, dtype=None):
        super().__init__(fn=type(self).fn, name=self.default_name if name is _DEFAULT else name, dtype=dtype)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


__all__ = ["Sum", "Mean", "MeanMetricWrapper", "FunctionMean", "samplewise"]
