"""Accuracy metrics: the per-sample functions (``binary_accuracy``, ...) and their mean-metric classes."""
from __future__ import annotations

import numpy as np

from ...errors import KerasliteError
from ..autodiff import Tensor
from ..autodiff.core import FLOATX
from .base import same_rank, to_numpy
from .reduction import FunctionMean, MeanMetricWrapper


def _pred(y_pred) -> np.ndarray:
    """``y_pred`` as an array, float32 unless it already has a dtype (Keras' ``convert_to_tensor``)."""
    return to_numpy(y_pred)


def accuracy(y_true, y_pred):
    """1.0 where ``y_true == y_pred`` exactly (after squeezing a trailing axis of 1), else 0.0."""
    y_pred = _pred(y_pred)
    y_true = to_numpy(y_true, y_pred.dtype)
    y_true, y_pred = same_rank(y_true, y_pred)
    return Tensor((y_true == y_pred).astype(FLOATX))


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """1.0 where ``y_pred > threshold`` agrees with ``y_true``; a soft label such as 0.7 never agrees."""
    y_pred = _pred(y_pred)
    y_true = to_numpy(y_true)
    y_true, y_pred = same_rank(y_true, y_pred)
    positive = y_pred > np.asarray(threshold, dtype=y_pred.dtype if y_pred.dtype.kind == "f" else FLOATX)
    return Tensor((y_true == positive.astype(y_true.dtype)).astype(FLOATX))


def categorical_accuracy(y_true, y_pred):
    """1.0 where the argmax of ``y_pred`` is the argmax of the one-hot ``y_true`` (first index on ties)."""
    y_pred = _pred(y_pred)
    labels = np.argmax(to_numpy(y_true), axis=-1).astype(y_pred.dtype)
    original_shape, reshape = labels.shape, False
    if labels.ndim == y_pred.ndim:  # y_true had one axis more than y_pred
        labels, reshape = _squeeze_last(labels, y_pred, "categorical_accuracy"), True
    predicted = np.argmax(y_pred, axis=-1).astype(labels.dtype)
    _check_labels(labels, predicted, "categorical_accuracy", y_true, y_pred)
    matches = (labels == predicted).astype(FLOATX)
    return Tensor(matches.reshape(original_shape) if reshape else matches)


def sparse_categorical_accuracy(y_true, y_pred):
    """1.0 where the argmax of ``y_pred`` equals the integer label ``y_true``; returns one value per sample."""
    y_pred = _pred(y_pred)
    labels = to_numpy(y_true, y_pred.dtype)
    original_shape, reshape = labels.shape, False
    if labels.ndim == y_pred.ndim and labels.shape[-1] == 1:
        labels, reshape = labels[..., 0], True
    predicted = np.argmax(y_pred, axis=-1).astype(labels.dtype)
    _check_labels(labels, predicted, "sparse_categorical_accuracy", y_true, y_pred)
    matches = (labels == predicted).astype(FLOATX)
    if reshape:
        matches = matches.reshape(original_shape)
    if matches.ndim > 1 and matches.shape[-1] == 1:
        matches = matches[..., 0]
    return Tensor(matches)


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """1.0 where the one-hot ``y_true``'s class is among the ``k`` highest scores of ``y_pred``."""
    y_pred = _pred(y_pred)
    labels = np.argmax(to_numpy(y_true, y_pred.dtype), axis=-1)
    return Tensor(_in_top_k_shaped(labels, y_pred, k, "top_k_categorical_accuracy"))


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5, from_sorted_ids=False):
    """1.0 where the integer label is among the ``k`` highest scores (or, with ``from_sorted_ids``, among the
    first ``k`` class ids of ``y_pred``, which then holds ids sorted by score)."""
    y_pred = _pred(y_pred)
    labels = to_numpy(y_true, y_pred.dtype if from_sorted_ids else "int32")
    if not from_sorted_ids:
        return Tensor(_in_top_k_shaped(labels, y_pred, k, "sparse_top_k_categorical_accuracy"))
    shape = labels.shape
    flat_pred = y_pred.reshape(-1, y_pred.shape[-1]) if y_pred.ndim > 2 else y_pred
    flat = labels.reshape(-1)
    if flat.shape[0] != flat_pred.shape[0]:
        _mismatch("sparse_top_k_categorical_accuracy", labels, y_pred)
    matches = np.any(flat[:, None] == flat_pred[:, :k], axis=1).astype(FLOATX)
    return Tensor(matches.reshape(shape) if labels.ndim > 1 else matches)


def _in_top_k_shaped(labels, y_pred, k, owner):
    shape = labels.shape
    flat_pred = y_pred.reshape(-1, y_pred.shape[-1]) if y_pred.ndim > 2 else y_pred
    flat = labels.reshape(-1) if labels.ndim > 1 else labels
    if flat_pred.ndim != 2 or flat.shape[0] != flat_pred.shape[0]:
        _mismatch(owner, labels, y_pred)
    matches = in_top_k(flat.astype(np.int64), flat_pred, k).astype(FLOATX)
    return matches.reshape(shape) if labels.ndim > 1 else matches


def in_top_k(targets: np.ndarray, predictions: np.ndarray, k: int) -> np.ndarray:
    """TensorFlow's ``in_top_k``: a target is in when fewer than ``k`` scores beat it (ties at the boundary are
    all in); a target out of range or a row with a non-finite score is never in."""
    classes = predictions.shape[-1]
    valid = (targets >= 0) & (targets < classes)
    rows = np.arange(predictions.shape[0])
    target_score = predictions[rows, np.where(valid, targets, 0)]
    beaten_by = np.sum(predictions > target_score[:, None], axis=-1)
    finite = np.all(np.isfinite(predictions), axis=-1)
    return valid & finite & (beaten_by < k)


def _squeeze_last(labels, y_pred, owner):
    if labels.shape[-1] != 1:
        raise KerasliteError(f"{owner}: y_true has one axis more than y_pred but its last axis is not 1. "
                             f"Received: y_true argmax shape={labels.shape}, y_pred.shape={y_pred.shape}")
    return labels[..., 0]


def _check_labels(labels, predicted, owner, y_true, y_pred):
    if labels.shape != predicted.shape:
        try:
            np.broadcast_shapes(labels.shape, predicted.shape)
        except ValueError:
            _mismatch(owner, to_numpy(y_true), y_pred)


def _mismatch(owner, y_true, y_pred):
    raise KerasliteError(f"{owner}: the shapes of y_true and y_pred do not match. Received: "
                         f"y_true.shape={tuple(np.shape(y_true))}, y_pred.shape={tuple(np.shape(y_pred))}. "
                         "Expected integer labels of shape y_pred.shape[:-1] (or with a trailing 1), or one-hot "
                         "labels of y_pred's shape")


class Accuracy(FunctionMean):
    """How often ``y_pred`` equals ``y_true`` exactly."""

    fn = staticmethod(accuracy)
    default_name = "accuracy"


class BinaryAccuracy(MeanMetricWrapper):
    """How often ``y_pred > threshold`` matches the binary label."""

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        super().__init__(fn=binary_accuracy, name=name, dtype=dtype, threshold=threshold)
        self.threshold = threshold

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "threshold": self.threshold}


class CategoricalAccuracy(FunctionMean):
    """How often the argmax of ``y_pred`` matches the argmax of the one-hot label."""

    fn = staticmethod(categorical_accuracy)
    default_name = "categorical_accuracy"


class SparseCategoricalAccuracy(FunctionMean):
    """How often the argmax of ``y_pred`` matches the integer label."""

    fn = staticmethod(sparse_categorical_accuracy)
    default_name = "sparse_categorical_accuracy"


class TopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the one-hot label's class is in the top ``k`` predictions."""

    def __init__(self, k=5, name="top_k_categorical_accuracy", dtype=None):
        super().__init__(fn=top_k_categorical_accuracy, name=name, dtype=dtype, k=k)
        self.k = k

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "k": self.k}


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the integer label is in the top ``k`` predictions."""

    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy", dtype=None, from_sorted_ids=False):
        super().__init__(fn=sparse_top_k_categorical_accuracy, name=name, dtype=dtype, k=k,
                         from_sorted_ids=from_sorted_ids)
        self.k = k
        self.from_sorted_ids = from_sorted_ids

    def get_config(self):
        config = {"name": self.name, "dtype": self.dtype, "k": self.k}
        if self.from_sorted_ids:
            config["from_sorted_ids"] = True
        return config


FUNCTIONS = {f.__name__: f for f in (accuracy, binary_accuracy, categorical_accuracy, sparse_categorical_accuracy,
                                     top_k_categorical_accuracy, sparse_top_k_categorical_accuracy)}
CLASSES = {c.__name__: c for c in (Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy,
                                   TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy)}

__all__ = list(FUNCTIONS) + list(CLASSES) + ["in_top_k"]
