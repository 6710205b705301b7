"""Intersection-over-union metrics from an accumulated confusion matrix: IoU, MeanIoU, BinaryIoU, OneHotIoU,
OneHotMeanIoU.

As in Keras the state is an integer matrix by default (``dtype="int64"``): labels, predictions and sample weights
are cast to integers, so a weight of 1.5 counts as 1 (Keras warns; so do we). Labels or predictions outside
[0, num_classes), and labels equal to ``ignore_class``, are left out.
"""
from __future__ import annotations

import warnings

import numpy as np

from ...errors import KerasliteError
from ..autodiff import Tensor
from .base import EPSILON, Metric, accumulate, broadcast, to_numpy


class _IoUBase(Metric):
    """The confusion-matrix state shared by the IoU metrics."""

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None, sparse_y_true=True,
                 sparse_y_pred=True, axis=-1):
        if not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
            raise KerasliteError(f"{type(self).__name__}: `num_classes` must be a positive integer. "
                                 f"Received: num_classes={num_classes!r}")
        super().__init__(name=name, dtype=dtype or "int")
        self.num_classes = int(num_classes)
        self.ignore_class = ignore_class
        self.sparse_y_true = sparse_y_true
        self.sparse_y_pred = sparse_y_pred
        self.axis = axis
        self.total_cm = self.add_variable(shape=(self.num_classes, self.num_classes), initializer="zeros",
                                          dtype=self.dtype, name="total_confusion_matrix")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = to_numpy(y_true), to_numpy(y_pred)
        if not self.sparse_y_true:
            y_true = np.argmax(y_true, axis=self.axis)
        if not self.sparse_y_pred:
            y_pred = np.argmax(y_pred, axis=self.axis)
        y_true = to_numpy(y_true, self.dtype).reshape(-1)
        y_pred = to_numpy(y_pred, self.dtype).reshape(-1)
        if y_true.shape != y_pred.shape:
            raise KerasliteError(f"{self.name}: y_true and y_pred must hold the same number of labels after "
                                 f"flattening. Received: {y_true.shape[0]} and {y_pred.shape[0]} (check "
                                 "`sparse_y_true`, `sparse_y_pred` and `axis`)")
        if sample_weight is None:
            weights = np.ones((), self.dtype)
        else:
            sample_weight = to_numpy(sample_weight)
            if sample_weight.dtype.kind == "f" and np.dtype(self.dtype).kind in "iu":
                warnings.warn("You are passing weight as `float`, but dtype is `int`. This may result in an "
                              "incorrect weight due to type casting Consider using integer weights.", stacklevel=2)
            weights = to_numpy(sample_weight, self.dtype)
            if weights.ndim > 1:
                weights = weights.reshape(-1)
        weights = broadcast(weights, y_true.shape, "sample_weight", self.name)
        n = self.num_classes
        keep = (y_true >= 0) & (y_true < n) & (y_pred >= 0) & (y_pred < n)
        if self.ignore_class is not None:
            keep &= y_true != self.ignore_class
        cells = (y_true[keep] * n + y_pred[keep]).astype(np.int64)
        counts = np.bincount(cells, weights=weights[keep].astype(np.float64), minlength=n * n)
        accumulate(self.total_cm, counts.reshape(n, n))

    def reset_state(self):
        self.total_cm.assign(np.zeros(self.total_cm.shape, self.total_cm.dtype))


class IoU(_IoUBase):
    """The mean IoU ``TP / (TP + FP + FN)`` of the classes in ``target_class_ids`` (classes never seen count as
    absent, not as 0).

    Args:
        num_classes: the number of classes (the confusion matrix is num_classes x num_classes).
        target_class_ids: the classes to average over.
        name: metric name (default ``io_u``, made unique, as Keras names it).
        dtype: dtype of the confusion matrix (default int64: weights are truncated to integers).
        ignore_class: a label value left out (for example a "void" class).
        sparse_y_true, sparse_y_pred: False when that side holds one-hot vectors or scores along ``axis``.
        axis: the class axis of the non-sparse side.
    """

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None, ignore_class=None,
                 sparse_y_true=True, sparse_y_pred=True, axis=-1):
        super().__init__(num_classes=num_classes, name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=sparse_y_true, sparse_y_pred=sparse_y_pred, axis=axis)
        target_class_ids = list(target_class_ids)
        if not target_class_ids or max(target_class_ids) >= num_classes:
            raise KerasliteError(f"Target class id {max(target_class_ids, default=None)} is out of range, which is "
                                 f"[0, {num_classes}).")
        self.target_class_ids = target_class_ids

    def result(self):
        cm = self.total_cm._v
        d = np.dtype(self.dtype)
        tp = np.diag(cm).astype(d)
        denominator = (cm.sum(axis=0).astype(d) + cm.sum(axis=1).astype(d) - tp)
        ids = np.asarray(self.target_class_ids, dtype=np.int64)
        tp = tp[ids].astype(np.float32)
        denominator = denominator[ids].astype(np.float32)
        valid = denominator > 1e-9
        iou = tp / (denominator + np.float32(EPSILON))
        iou = np.where(valid, iou, np.float32(0))
        return Tensor(np.sum(iou, dtype=np.float32) / (np.sum(valid, dtype=np.float32) + np.float32(EPSILON)))

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes, "target_class_ids": self.target_class_ids,
                "ignore_class": self.ignore_class, "sparse_y_true": self.sparse_y_true,
                "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}


class BinaryIoU(IoU):
    """IoU of a binary prediction: ``y_pred >= threshold`` is class 1.

    Args:
        target_class_ids: which of the classes 0 and 1 to average (default both).
        threshold: the decision threshold (default 0.5).
        name, dtype: as ``IoU``.
    """

    def __init__(self, target_class_ids=(0, 1), threshold=0.5, name=None, dtype=None):
        super().__init__(num_classes=2, target_class_ids=target_class_ids, name=name, dtype=dtype)
        self.threshold = threshold

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = to_numpy(y_true, self.dtype)
        y_pred = (to_numpy(y_pred, "float32") >= np.float32(self.threshold)).astype(self.dtype)
        super().update_state(y_true, y_pred, sample_weight)

    def get_config(self):
        return {"target_class_ids": self.target_class_ids, "threshold": self.threshold, "name": self.name,
                "dtype": self.dtype}


class MeanIoU(IoU):
    """The mean IoU over all ``num_classes`` classes (arguments as ``IoU`` without ``target_class_ids``).

    Example::

        m = MeanIoU(num_classes=2)
        m.update_state([0, 0, 1, 1], [0, 1, 0, 1])
        float(m.result())  # 0.33333334
    """

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None, sparse_y_true=True,
                 sparse_y_pred=True, axis=-1):
        super().__init__(num_classes=num_classes, target_class_ids=list(range(num_classes)), name=name,
                         dtype=dtype, ignore_class=ignore_class, sparse_y_true=sparse_y_true,
                         sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        return {"num_classes": self.num_classes, "name": self.name, "dtype": self.dtype,
                "ignore_class": self.ignore_class, "sparse_y_true": self.sparse_y_true,
                "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}


class OneHotIoU(IoU):
    """``IoU`` for one-hot labels (and, unless ``sparse_y_pred``, score vectors as predictions)."""

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None, ignore_class=None,
                 sparse_y_pred=False, axis=-1):
        super().__init__(num_classes=num_classes, target_class_ids=target_class_ids, name=name, dtype=dtype,
                         ignore_class=ignore_class, sparse_y_true=False, sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        return {"num_classes": self.num_classes, "target_class_ids": self.target_class_ids, "name": self.name,
                "dtype": self.dtype, "ignore_class": self.ignore_class, "sparse_y_pred": self.sparse_y_pred,
                "axis": self.axis}


class OneHotMeanIoU(MeanIoU):
    """``MeanIoU`` for one-hot labels (and, unless ``sparse_y_pred``, score vectors as predictions)."""

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None, sparse_y_pred=False, axis=-1):
        super().__init__(num_classes=num_classes, name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=False, sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        return {"num_classes": self.num_classes, "name": self.name, "dtype": self.dtype,
                "ignore_class": self.ignore_class, "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}


CLASSES = {c.__name__: c for c in (IoU, BinaryIoU, MeanIoU, OneHotIoU, OneHotMeanIoU)}

__all__ = list(CLASSES)
