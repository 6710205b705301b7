"""``keraslite.losses``: Keras 3's loss classes and functions; ``get`` resolves names, configs and objects.

A loss object reduces the per-sample values of its function as Keras does: weighted by ``sample_weight``
(broadcast to the values' rank), masked by the prediction's mask, then summed and divided by the number of values
(``sum_over_batch_size``, the default), summed (``sum``), divided by the sum of weights
(``mean_with_sample_weight``) or left alone (``none``/None).
"""
from __future__ import annotations

import numpy as np

from ...errors import KerasliteError
from .._resolve import resolve
from ..autodiff import Tensor, elementwise as E, reduce as R, shape as S
from ..autodiff.trace import not_replayable
from . import functions
from .functions import *  # noqa: F401,F403  (the function forms: keras.losses.mean_squared_error, ...)

REDUCTIONS = ("sum_over_batch_size", "sum", None, "none", "mean", "mean_with_sample_weight")


def _ndim(x):
    return x.ndim if isinstance(x, Tensor) else np.ndim(x)


def _same_rank(values, weights):
    """Squeeze or expand a trailing 1 so ``weights`` and ``values`` have the same rank (Keras' rule)."""
    wv = weights
    if _ndim(values) == _ndim(wv) + 1 and values.shape[-1] == 1:
        values = S.squeeze(values, -1)
    elif _ndim(wv) == _ndim(values) + 1 and np.shape(wv)[-1] == 1:
        wv = np.squeeze(wv, -1) if not isinstance(wv, Tensor) else S.squeeze(wv, -1)
    while _ndim(wv) < _ndim(values):
        wv = np.expand_dims(wv, -1) if not isinstance(wv, Tensor) else S.expand_dims(wv, -1)
    return values, wv


def same_rank(y_true, y_pred):
    """Keras' rule for targets one axis short of (or longer than) the predictions, when that axis is 1:
    a 1-D target gains the axis, otherwise the size-1 axis is dropped."""
    t_rank, p_rank = _ndim(y_true), _ndim(y_pred)
    if p_rank == t_rank + 1 and y_pred.shape[-1] == 1:
        if t_rank == 1:
            y_true = y_true[..., None] if not isinstance(y_true, Tensor) else S.expand_dims(y_true, -1)
        else:
            y_pred = S.squeeze(y_pred, -1) if isinstance(y_pred, Tensor) else np.squeeze(y_pred, -1)
    elif t_rank == p_rank + 1 and np.shape(y_true)[-1] == 1:
        if p_rank == 1:
            y_pred = S.expand_dims(y_pred, -1) if isinstance(y_pred, Tensor) else y_pred[..., None]
        else:
            y_true = np.squeeze(y_true, -1) if not isinstance(y_true, Tensor) else S.squeeze(y_true, -1)
    return y_true, y_pred


def reduce_weighted(values, sample_weight=None, mask=None, reduction="sum_over_batch_size"):
    """Weight, mask and reduce per-sample loss values."""
    if mask is not None:
        m = np.asarray(mask._v if isinstance(mask, Tensor) else mask).astype(values.dtype)
        if reduction in ("mean", "sum_over_batch_size"):
            valid = m.sum()
            m = m * (np.float32(m.size) / valid if valid else 0)
        if sample_weight is not None:
            sw = np.asarray(sample_weight._v if isinstance(sample_weight, Tensor) else sample_weight, values.dtype)
            m, sw = np.broadcast_arrays(*_align(m, sw))
            sample_weight = m * sw
        else:
            sample_weight = m
    if sample_weight is not None:
        sw = sample_weight if isinstance(sample_weight, Tensor) else np.asarray(sample_weight, values.dtype)
        values, sw = _same_rank(values, sw)
        values = E.multiply(values, sw)
    if reduction in (None, "none") or values.ndim == 0 or values.shape == (0,):
        return values
    total = R.sum_(values)
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and sample_weight is not None:
        not_replayable("a loss divisor computed from the sample weights")
        divisor = float(np.sum(sample_weight._v if isinstance(sample_weight, Tensor) else sample_weight))
    else:
        divisor = float(np.prod(values.shape))
    return E.divide(total, divisor) if divisor else E.multiply(total, 0.0)


def _align(a, b):
    while a.ndim < b.ndim:
        a = a[..., None]
    while b.ndim < a.ndim:
        b = b[..., None]
    return a, b


class Loss:
    """Base class: ``call(y_true, y_pred)`` gives per-sample values; ``__call__`` weights and reduces them."""

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        if reduction not in REDUCTIONS:
            raise KerasliteError(f"Invalid value for argument `reduction`. Expected one of {set(REDUCTIONS)}. "
                                 f"Received: reduction={reduction!r}")
        self.name = name or _snake(type(self).__name__)
        self.reduction = reduction
        self.dtype = dtype or "float32"

    def __call__(self, y_true, y_pred, sample_weight=None):
        mask = getattr(y_pred, "_keras_mask", None)
        values = self.call(y_true, y_pred)
        out_mask = getattr(values, "_keras_mask", None)
        if mask is not None and out_mask is not None:
            mask = Tensor(np.logical_and(_arr(mask), _arr(out_mask)))
        else:
            mask = mask if mask is not None else out_mask
        return reduce_weighted(values, sample_weight, mask, self.reduction)

    def call(self, y_true, y_pred):
        raise NotImplementedError

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _arr(x):
    return x._v if isinstance(x, Tensor) else np.asarray(x)


def _snake(name):
    import re

    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class LossFunctionWrapper(Loss):
    """A Loss around a per-sample function with fixed keyword arguments."""

    def __init__(self, fn, reduction="sum_over_batch_size", name=None, dtype=None, **kwargs):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true, y_pred):
        y_true, y_pred = same_rank(y_true, y_pred)
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self):
        return {**super().get_config(), **self._fn_kwargs}


def _loss_class(class_name, fn, defaults):
    """A Keras loss class: constructor arguments ``defaults`` passed to ``fn``, name defaulting to ``fn``'s."""
    def __init__(self, *args, reduction="sum_over_batch_size", name=fn.__name__, dtype=None, **kwargs):
        params = dict(defaults)
        for key, value in zip(defaults, args):
            params[key] = value
        unknown = set(kwargs) - set(defaults)
        if unknown:
            raise KerasliteError(f"{class_name} got unexpected arguments {sorted(unknown)}; it takes "
                                 f"{sorted(defaults) + ['reduction', 'name', 'dtype']}")
        params.update(kwargs)
        LossFunctionWrapper.__init__(self, fn, reduction=reduction, name=name, dtype=dtype, **params)

    cls = type(class_name, (LossFunctionWrapper,), {"__init__": __init__, "__doc__": f"Loss class of "
                                                    f"``{fn.__name__}``."})

    @classmethod
    def from_config(klass, config):
        return klass(**config)

    cls.from_config = from_config
    return cls


F = functions
MeanSquaredError = _loss_class("MeanSquaredError", F.mean_squared_error, {})
MeanAbsoluteError = _loss_class("MeanAbsoluteError", F.mean_absolute_error, {})
MeanAbsolutePercentageError = _loss_class("MeanAbsolutePercentageError", F.mean_absolute_percentage_error, {})
MeanSquaredLogarithmicError = _loss_class("MeanSquaredLogarithmicError", F.mean_squared_logarithmic_error, {})
Huber = _loss_class("Huber", F.huber, {"delta": 1.0})
LogCosh = _loss_class("LogCosh", F.log_cosh, {})
KLDivergence = _loss_class("KLDivergence", F.kl_divergence, {})
Poisson = _loss_class("Poisson", F.poisson, {})
CosineSimilarity = _loss_class("CosineSimilarity", F.cosine_similarity, {"axis": -1})
Hinge = _loss_class("Hinge", F.hinge, {})
SquaredHinge = _loss_class("SquaredHinge", F.squared_hinge, {})
CategoricalHinge = _loss_class("CategoricalHinge", F.categorical_hinge, {})
BinaryCrossentropy = _loss_class("BinaryCrossentropy", F.binary_crossentropy,
                                 {"from_logits": False, "label_smoothing": 0.0, "axis": -1})
BinaryFocalCrossentropy = _loss_class("BinaryFocalCrossentropy", F.binary_focal_crossentropy,
                                      {"apply_class_balancing": False, "alpha": 0.25, "gamma": 2.0,
                                       "from_logits": False, "label_smoothing": 0.0, "axis": -1})
CategoricalCrossentropy = _loss_class("CategoricalCrossentropy", F.categorical_crossentropy,
                                      {"from_logits": False, "label_smoothing": 0.0, "axis": -1})
SparseCategoricalCrossentropy = _loss_class("SparseCategoricalCrossentropy", F.sparse_categorical_crossentropy,
                                            {"from_logits": False, "ignore_class": None, "axis": -1})

CLASSES = {c.__name__: c for c in (
    MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredLogarithmicError, Huber, LogCosh,
    KLDivergence, Poisson, CosineSimilarity, Hinge, SquaredHinge, CategoricalHinge, BinaryCrossentropy,
    BinaryFocalCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy, LossFunctionWrapper)}
FUNCTION_OF = {c.__name__: c for c in CLASSES.values()}
NAMES = {**{name: (lambda fn=fn: fn) for name, fn in F.FUNCTIONS.items()},
         **{alias: (lambda fn=F.FUNCTIONS[target]: fn) for alias, target in F.ALIASES.items()}}


def get(identifier):
    """A loss: a function from a name (``"mse"``, ``"binary_crossentropy"``), a Loss from a class name or config,
    or the object/callable itself."""
    return resolve(identifier, "loss", CLASSES, NAMES, Loss)


def serialize(loss):
    """A loss as files hold it: its function name, or ``{"class_name", "config"}`` for a Loss object."""
    if isinstance(loss, Loss):
        return {"class_name": type(loss).__name__, "config": loss.get_config()}
    for name, fn in F.FUNCTIONS.items():
        if loss is fn:
            return name
    raise KerasliteError(f"loss {getattr(loss, '__name__', loss)!r} is a Python function, which a model file "
                         "cannot hold; compile with a built-in loss to save the training config")


__all__ = ["Loss", "LossFunctionWrapper", "get", "serialize", "reduce_weighted", *CLASSES, *F.FUNCTIONS,
           *F.ALIASES]
