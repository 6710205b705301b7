"""Interim metrics (Mean, MeanMetricWrapper, accuracies) until the full package lands; same API."""
import numpy as np

from ...errors import KerasliteError
from ..autodiff import Variable


def _np(x):
    return np.asarray(x._v if hasattr(x, "_v") else x)


class Metric:
    def __init__(self, name=None, dtype=None):
        self.name = name or type(self).__name__.lower()
        self.dtype = dtype or "float32"
        self._variables = []

    def add_variable(self, shape, initializer="zeros", dtype=None, aggregation="sum", name=None):
        v = Variable(np.zeros(shape, dtype or self.dtype), trainable=False, name=name)
        self._variables.append(v)
        return v

    @property
    def variables(self):
        return list(self._variables)

    def reset_state(self):
        for v in self._variables:
            v.assign(np.zeros(v.shape, v.dtype))

    def __call__(self, *args, **kwargs):
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


class Mean(Metric):
    def __init__(self, name="mean", dtype=None):
        super().__init__(name, dtype)
        self.total = self.add_variable((), name="total")
        self.count = self.add_variable((), name="count")

    def update_state(self, values, sample_weight=None):
        values = _np(values).astype(np.float32)
        if sample_weight is None:
            self.total.assign(self.total._v + values.sum())
            self.count.assign(self.count._v + values.size)
        else:
            sw = np.broadcast_to(_np(sample_weight).astype(np.float32), values.shape) if np.ndim(sample_weight) \
                else np.full(values.shape, float(_np(sample_weight)), np.float32)
            self.total.assign(self.total._v + (values * sw).sum())
            self.count.assign(self.count._v + sw.sum())

    def result(self):
        return np.float32(self.total._v / self.count._v) if self.count._v else np.float32(0.0)


class MeanMetricWrapper(Mean):
    def __init__(self, fn, name=None, dtype=None, **kwargs):
        super().__init__(name or fn.__name__, dtype)
        self.fn, self.kwargs = fn, kwargs

    def update_state(self, y_true, y_pred, sample_weight=None):
        values = self.fn(_np(y_true), _np(y_pred), **self.kwargs)
        sw = sample_weight
        if sw is not None and np.ndim(sw) < np.ndim(values):
            sw = _np(sw).reshape(_np(sw).shape + (1,) * (np.ndim(values) - np.ndim(sw)))
        super().update_state(values, sw)


def binary_accuracy(y_true, y_pred, threshold=0.5):
    return (y_true == (y_pred > threshold)).astype(np.float32).mean(axis=-1)


def categorical_accuracy(y_true, y_pred):
    return (np.argmax(y_true, -1) == np.argmax(y_pred, -1)).astype(np.float32)


def sparse_categorical_accuracy(y_true, y_pred):
    t = y_true.reshape(y_pred.shape[:-1]) if y_true.size == np.prod(y_pred.shape[:-1]) else y_true
    return (t.astype(np.int64) == np.argmax(y_pred, -1)).astype(np.float32)


class BinaryAccuracy(MeanMetricWrapper):
    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        super().__init__(binary_accuracy, name, dtype, threshold=threshold)


class CategoricalAccuracy(MeanMetricWrapper):
    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(categorical_accuracy, name, dtype)


class SparseCategoricalAccuracy(MeanMetricWrapper):
    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(sparse_categorical_accuracy, name, dtype)


def get(identifier):
    if isinstance(identifier, Metric) or callable(identifier):
        return identifier
    table = {"binary_accuracy": BinaryAccuracy, "categorical_accuracy": CategoricalAccuracy,
             "sparse_categorical_accuracy": SparseCategoricalAccuracy}
    if identifier in table:
        return table[identifier]()
    raise KerasliteError(f"Could not interpret metric identifier: {identifier!r}")
