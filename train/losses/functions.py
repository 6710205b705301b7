"""Per-sample loss functions (``keras.losses.mean_squared_error`` and friends), written on keraslite ops.

Cross-entropies follow Keras on TensorFlow: when ``y_pred`` came out of a softmax or sigmoid, they work from that
op's input (``_keras_logits``), so a model ending in ``Dense(10, activation="softmax")`` trains exactly as in Keras.
"""
from __future__ import annotations

import math

import numpy as np

from ...errors import KerasliteError
from ..autodiff import Tensor, elementwise as E, nn as N, reduce as R, shape as S
from ..autodiff.core import FLOATX, primitive
from ..autodiff.trace import not_replayable

EPSILON = 1e-7


def _pair(y_true, y_pred):
    """Both sides as float tensors of ``y_pred``'s dtype (a Python list or an int array for ``y_true`` too)."""
    if not isinstance(y_pred, Tensor):
        y_pred = Tensor(np.asarray(y_pred, dtype=FLOATX))
    dtype = y_pred.dtype if y_pred.dtype.kind == "f" else np.dtype(FLOATX)
    if isinstance(y_true, Tensor):
        y_true = y_true if y_true.dtype == dtype else E.cast(y_true, dtype)
    else:
        y_true = np.asarray(y_true, dtype=dtype)
    return y_true, y_pred


def _shape(x):
    return x.shape if isinstance(x, Tensor) else np.shape(x)


def _check_same_shape(y_true, y_pred, name):
    if tuple(_shape(y_true)) != tuple(_shape(y_pred)):
        raise KerasliteError(f"{name}: `y_true` and `y_pred` must have the same shape. Received: "
                             f"y_true.shape={tuple(_shape(y_true))}, y_pred.shape={tuple(_shape(y_pred))}")


def _logits(output, from_logits):
    """The logits behind ``output`` when it came from a softmax/sigmoid (Keras' ``_get_logits``)."""
    logits = getattr(output, "_keras_logits", None)
    if logits is not None:
        return logits, True
    return output, from_logits


def mean_squared_error(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred)
    return R.mean(E.square(E.subtract(y_true, y_pred)), axis=-1)


def mean_absolute_error(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred)
    return R.mean(E.absolute(E.subtract(y_true, y_pred)), axis=-1)


def mean_absolute_percentage_error(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred)
    diff = E.absolute(E.divide(E.subtract(y_true, y_pred), E.maximum(E.absolute(y_true), EPSILON)))
    return E.multiply(R.mean(diff, axis=-1), 100.0)


def mean_squared_logarithmic_error(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred)
    first = E.log(E.add(E.maximum(y_pred, EPSILON), 1.0))
    second = E.log(E.add(E.maximum(y_true, EPSILON), 1.0))
    return R.mean(E.square(E.subtract(first, second)), axis=-1)


def huber(y_true, y_pred, delta=1.0):
    y_true, y_pred = _pair(y_true, y_pred)
    error = E.subtract(y_pred, y_true)
    abs_error = E.absolute(error)
    quadratic = E.multiply(E.square(error), 0.5)
    linear = E.subtract(E.multiply(abs_error, float(delta)), 0.5 * delta * delta)
    return R.mean(E.where(_value(abs_error) <= delta, quadratic, linear), axis=-1)


def log_cosh(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred)
    x = E.subtract(y_pred, y_true)
    return R.mean(E.subtract(E.add(x, E.softplus(E.multiply(x, -2.0))), math.log(2.0)), axis=-1)


def kl_divergence(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred)
    t = E.clip(y_true, EPSILON, 1.0)
    p = E.clip(y_pred, EPSILON, 1.0)
    return R.sum_(E.multiply(t, E.log(E.divide(t, p))), axis=-1)


def poisson(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred)
    return R.mean(E.subtract(y_pred, E.multiply(y_true, E.log(E.add(y_pred, EPSILON)))), axis=-1)


def _l2_normalize(x, axis):
    norm = E.sqrt(R.sum_(E.square(x), axis=axis, keepdims=True))
    return E.divide(x, E.maximum(norm, EPSILON))


def cosine_similarity(y_true, y_pred, axis=-1):
    y_true, y_pred = _pair(y_true, y_pred)
    return E.negative(R.sum_(E.multiply(_l2_normalize(y_true, axis), _l2_normalize(y_pred, axis)), axis=axis))


def _hinge_labels(y_true):
    values = _value(y_true)
    not_replayable("hinge labels converted or not depending on their values")
    return E.subtract(E.multiply(y_true, 2.0), 1.0) if np.all((values == 0) | (values == 1)) else y_true


def hinge(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred)
    return R.mean(E.maximum(E.subtract(1.0, E.multiply(_hinge_labels(y_true), y_pred)), 0.0), axis=-1)


def squared_hinge(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred)
    return R.mean(E.square(E.maximum(E.subtract(1.0, E.multiply(_hinge_labels(y_true), y_pred)), 0.0)), axis=-1)


def categorical_hinge(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred)
    pos = R.sum_(E.multiply(y_true, y_pred), axis=-1)
    neg = R.max_(E.multiply(E.subtract(1.0, y_true), y_pred), axis=-1)
    return E.maximum(E.add(E.subtract(neg, pos), 1.0), 0.0)


def _value(x):
    return x._v if isinstance(x, Tensor) else np.asarray(x)


# ---------------------------------------------------------------------------------------------- cross-entropy
def categorical_crossentropy_raw(target, output, from_logits=False, axis=-1):
    """Keras' backend categorical cross-entropy (no label smoothing, no reduction over the batch)."""
    target, output = _pair(target, output)
    _check_same_shape(target, output, "categorical_crossentropy")
    output, from_logits = _logits(output, from_logits)
    if from_logits:
        return N.softmax_cross_entropy(output, target, axis=axis)
    output = E.divide(output, R.sum_(output, axis=axis, keepdims=True))
    output = E.clip(output, EPSILON, 1.0 - EPSILON)
    return E.negative(R.sum_(E.multiply(target, E.log(output)), axis=axis))


def _sparse_labels(labels, shape):
    """Integer class indices for logits of ``shape``, checked (a primitive, so a traced step checks each batch)."""
    labels = np.asarray(labels)
    if labels.ndim == len(shape) and labels.shape[-1] == 1:
        labels = labels[..., 0]
    if labels.shape != shape[:-1]:
        raise KerasliteError("sparse_categorical_crossentropy: `y_pred` must have rank `y_true.ndim + 1` with the "
                             f"same leading shape. Received: y_true.shape={labels.shape}, "
                             f"y_pred.shape={shape}")
    if labels.dtype.kind == "f":
        if not np.all(np.isfinite(labels)) or np.any(labels != np.round(labels)):
            raise KerasliteError("sparse_categorical_crossentropy expects integer class indices in `y_true`; "
                                 "found non-integer values. Use categorical_crossentropy for one-hot or soft labels")
    labels = labels.astype(np.int64)
    classes = shape[-1]
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        bad = labels[(labels < 0) | (labels >= classes)].ravel()[0]
        raise KerasliteError(f"sparse_categorical_crossentropy: label {int(bad)} is out of range for {classes} "
                             f"classes (expected 0..{classes - 1}); check y or the number of units of the "
                             "output layer")
    return labels


sparse_labels = primitive("sparse_labels", _sparse_labels)


def sparse_categorical_crossentropy_raw(target, output, from_logits=False, axis=-1):
    """Keras' backend sparse categorical cross-entropy on integer labels."""
    if not isinstance(output, Tensor):
        output = Tensor(np.asarray(output, dtype=FLOATX))
    labels = sparse_labels(target, shape=tuple(output.shape))
    output, from_logits = _logits(output, from_logits)
    if not from_logits:
        output = E.log(E.clip(output, EPSILON, 1.0 - EPSILON))
    return N.sparse_softmax_cross_entropy(output, labels)


def binary_crossentropy_raw(target, output, from_logits=False):
    """Keras' backend binary cross-entropy, elementwise."""
    target, output = _pair(target, output)
    _check_same_shape(target, output, "binary_crossentropy")
    output, from_logits = _logits(output, from_logits)
    if from_logits:
        return N.sigmoid_cross_entropy(output, target)
    output = E.clip(output, EPSILON, 1.0 - EPSILON)
    bce = E.add(E.multiply(target, E.log(output)), E.multiply(E.subtract(1.0, target), E.log(E.subtract(1.0, output))))
    return E.negative(bce)


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    y_true, y_pred = _pair(y_true, y_pred)
    if label_smoothing:
        classes = _shape(y_true)[-1]
        y_true = E.add(E.multiply(y_true, 1.0 - label_smoothing), label_smoothing / classes)
    return categorical_crossentropy_raw(y_true, y_pred, from_logits=from_logits, axis=axis)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1):
    if ignore_class is not None:
        labels = _value(y_true)
        if labels.ndim == len(_shape(y_pred)) and labels.shape[-1] == 1:
            labels = labels[..., 0]
        valid = labels != ignore_class
        res = sparse_categorical_crossentropy_raw(np.where(valid, labels, 0), y_pred, from_logits, axis)
        res = E.where(valid, res, 0.0)
        res._keras_mask = Tensor(valid)
        return res
    return sparse_categorical_crossentropy_raw(y_true, y_pred, from_logits=from_logits, axis=axis)


def _smooth_binary(y_true, label_smoothing):
    return E.add(E.multiply(y_true, 1.0 - label_smoothing), 0.5 * label_smoothing) if label_smoothing else y_true


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    y_true, y_pred = _pair(y_true, y_pred)
    y_true = _smooth_binary(y_true, label_smoothing)
    return R.mean(binary_crossentropy_raw(y_true, y_pred, from_logits=from_logits), axis=axis)


def binary_focal_crossentropy(y_true, y_pred, apply_class_balancing=False, alpha=0.25, gamma=2.0,
                              from_logits=False, label_smoothing=0.0, axis=-1):
    from .. import activations

    y_true, y_pred = _pair(y_true, y_pred)
    y_true = _smooth_binary(y_true, label_smoothing)
    if from_logits:
        y_pred = activations.sigmoid(y_pred)
    bce = binary_crossentropy_raw(y_true, y_pred, from_logits=False)
    p_t = E.add(E.multiply(y_true, y_pred), E.multiply(E.subtract(1.0, y_true), E.subtract(1.0, y_pred)))
    focal = E.multiply(E.power(E.subtract(1.0, p_t), float(gamma)), bce)
    if apply_class_balancing:
        weight = E.add(E.multiply(y_true, alpha), E.multiply(E.subtract(1.0, y_true), 1.0 - alpha))
        focal = E.multiply(weight, focal)
    return R.mean(focal, axis=axis)


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kullback_leibler_divergence = kl_divergence
logcosh = log_cosh

FUNCTIONS = {fn.__name__: fn for fn in (
    mean_squared_error, mean_absolute_error, mean_absolute_percentage_error, mean_squared_logarithmic_error,
    huber, log_cosh, kl_divergence, poisson, cosine_similarity, hinge, squared_hinge, categorical_hinge,
    categorical_crossentropy, sparse_categorical_crossentropy, binary_crossentropy, binary_focal_crossentropy)}
ALIASES = {"mse": "mean_squared_error", "MSE": "mean_squared_error", "mae": "mean_absolute_error",
           "MAE": "mean_absolute_error", "mape": "mean_absolute_percentage_error",
           "MAPE": "mean_absolute_percentage_error", "msle": "mean_squared_logarithmic_error",
           "MSLE": "mean_squared_logarithmic_error", "kld": "kl_divergence", "KLD": "kl_divergence",
           "kullback_leibler_divergence": "kl_divergence", "logcosh": "log_cosh", "huber_loss": "huber"}

__all__ = list(FUNCTIONS) + ["categorical_crossentropy_raw", "sparse_categorical_crossentropy_raw",
                             "binary_crossentropy_raw", "FUNCTIONS", "ALIASES", "S"]
