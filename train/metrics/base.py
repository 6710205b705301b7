"""``Metric``: the Keras 3 base class, plus the numpy helpers every metric family shares.

State lives in non-trainable ``Variable``s made by ``add_variable`` and listed by ``variables`` (a distributed
strategy all-reduces them); ``update_state`` accumulates, ``result`` reads, ``reset_state`` zeroes. Metrics never
need gradients, so their arithmetic runs on numpy arrays in the metric's dtype (float32 unless told otherwise),
with Keras' float32 semantics: a Tensor input is read with ``np.asarray``.
"""
from __future__ import annotations

from typing import List

import numpy as np

from ...errors import KerasliteError
from ..autodiff import Tensor, Variable
from ..autodiff.core import FLOATX
from ..layers.base import snake_case, unique_name

EPSILON = 1e-7  # keras.backend.epsilon()


keras_snake_case = snake_case  # Keras' to_snake_case: MeanIoU -> mean_io_u, AUC -> auc


def dtype_name(dtype) -> str:
    """A metric dtype as Keras names it: None -> float32, ``"int"`` -> int64, DTypePolicy dicts by their name."""
    if dtype is None:
        return FLOATX
    if isinstance(dtype, dict):
        dtype = (dtype.get("config") or {}).get("name", FLOATX)
    name = getattr(dtype, "name", dtype)
    if name == "int":
        return "int64"
    if name == "float":
        return "float32"
    if isinstance(name, str) and name.startswith("mixed_"):
        return {"mixed_float16": "float16", "mixed_bfloat16": "bfloat16"}.get(name, FLOATX)
    try:
        return np.dtype(name).name
    except TypeError:
        raise KerasliteError(f"Invalid metric dtype {dtype!r}; expected a dtype name such as 'float32'") from None


class Metric:
    """Encapsulates a metric's state and logic (``keras.metrics.Metric``).

    Subclasses make their state in ``__init__`` with ``self.add_variable(...)``, accumulate into it in
    ``update_state`` and compute the value from it in ``result``.

    Args:
        name: the name shown in logs; defaults to the snake-cased class name, made unique (``auc``, ``auc_1``).
        dtype: the dtype of the state and the computation (default float32).

    Example::

        class BinaryTruePositives(keraslite.metrics.Metric):
            def __init__(self, name="binary_true_positives", **kwargs):
                super().__init__(name=name, **kwargs)
                self.true_positives = self.add_variable(shape=(), initializer="zeros", name="true_positives")

            def update_state(self, y_true, y_pred, sample_weight=None):
                values = np.logical_and(np.asarray(y_true, bool), np.asarray(y_pred, bool)).astype("float32")
                self.true_positives.assign_add(values.sum())

            def result(self):
                return self.true_positives
    """

    def __init__(self, dtype=None, name=None):
        if name is None:
            name = unique_name(keras_snake_case(type(self).__name__))
        if not isinstance(name, str):
            raise KerasliteError(f"Argument `name` of a metric must be a string. Received: name={name!r}")
        self.name = name
        self._dtype = dtype_name(dtype)
        self._variables: List[Variable] = []
        self._metrics: List["Metric"] = []

    # -- state
    def add_variable(self, shape, initializer="zeros", dtype=None, aggregation="sum", name=None) -> Variable:
        """A non-trainable state Variable, tracked in ``variables`` (``aggregation`` says how replicas combine)."""
        if not hasattr(self, "_variables"):
            raise KerasliteError(f"{type(self).__name__}.__init__ must call super().__init__() before "
                                 "add_variable()")
        shape = tuple(int(d) for d in shape) if shape is not None else ()
        var = Variable(initializer, shape=shape, dtype=dtype or self._dtype, trainable=False,
                       aggregation=aggregation, name=name or "variable")
        var.path = f"{self.name.replace('/', '>')}/{var.name}"
        self._variables.append(var)
        return var

    def add_weight(self, shape=(), initializer=None, dtype=None, name=None) -> Variable:
        """Keras 2 spelling of ``add_variable``."""
        return self.add_variable(shape=shape, initializer=initializer or "zeros", dtype=dtype, name=name)

    @property
    def variables(self) -> List[Variable]:
        out = list(self._variables)
        for m in self._metrics:
            out.extend(m.variables)
        return out

    def reset_state(self) -> None:
        """Zero every state variable (called at the start of each epoch and evaluation)."""
        for v in self.variables:
            v.assign(np.zeros(v.shape, v.dtype))

    def reset_states(self) -> None:
        """Keras 2 spelling of ``reset_state``."""
        self.reset_state()

    # -- the contract
    def update_state(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must implement update_state()")

    def result(self):
        raise NotImplementedError(f"{type(self).__name__} must implement result()")

    def __call__(self, *args, **kwargs):
        if not hasattr(self, "_variables"):
            raise KerasliteError(f"{type(self).__name__}.__init__ must call super().__init__()")
        self.update_state(*args, **kwargs)
        return self.result()

    @property
    def dtype(self) -> str:
        return self._dtype

    def get_config(self) -> dict:
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"

    __str__ = __repr__


# ------------------------------------------------------------------------------------------------ numpy helpers
def to_numpy(x, dtype=None) -> np.ndarray:
    """A Tensor, Variable, array or nested list as a numpy array (optionally cast, as ``ops.cast``)."""
    if isinstance(x, Tensor):
        x = x._v
    a = np.asarray(x)
    if a.dtype == np.float64 and not isinstance(x, np.ndarray):
        a = a.astype(FLOATX)  # Python floats are float32 in Keras
    if dtype is not None and a.dtype != dtype:
        a = cast(a, dtype)
    return a


def cast(a: np.ndarray, dtype) -> np.ndarray:
    """``ops.cast``: floats to integers truncate toward zero (as TensorFlow does), anything to bool is ``!= 0``."""
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return a != 0
    if dtype.kind in "iu" and a.dtype.kind == "f":
        return np.trunc(a).astype(dtype)
    return a.astype(dtype)


def mask_of(x):
    """The Keras mask attached to a prediction (``x._keras_mask``), as a numpy array, or None."""
    mask = getattr(x, "_keras_mask", None)
    return None if mask is None else to_numpy(mask)


def same_rank(x1: np.ndarray, x2: np.ndarray, expand_rank_1: bool = True):
    """Keras' ``squeeze_or_expand_to_same_rank``: fix a trailing axis of size 1 when ranks differ by one."""
    r1, r2 = x1.ndim, x2.ndim
    if r1 == r2 + 1 and x1.shape[-1] == 1:
        if r2 == 1 and expand_rank_1:
            x2 = x2[..., None]
        else:
            x1 = x1[..., 0]
    elif r2 == r1 + 1 and x2.shape[-1] == 1:
        if r1 == 1 and expand_rank_1:
            x1 = x1[..., None]
        else:
            x2 = x2[..., 0]
    return x1, x2


def divide_no_nan(x, y):
    """``x / y``, 0 where ``y == 0`` (``ops.divide_no_nan``), in the inputs' float dtype."""
    x, y = np.asarray(x), np.asarray(y)
    zero = y == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.divide(x, np.where(zero, np.ones_like(y), y))
    return np.where(zero, np.zeros_like(out), out)


def broadcast(a: np.ndarray, shape, what: str, owner: str) -> np.ndarray:
    """``np.broadcast_to`` with a Keras-style error naming both shapes."""
    try:
        return np.broadcast_to(a, shape)
    except ValueError:
        raise KerasliteError(f"{owner}: `{what}` of shape {tuple(a.shape)} cannot be broadcast to shape "
                             f"{tuple(shape)}. Pass one weight per sample or one per element") from None


def apply_mask(sample_weight, mask, dtype, owner):
    """Keras' ``apply_mask`` with ``reduction="sum"``: the mask (as 0/1) multiplies into the sample weights."""
    if mask is None:
        return sample_weight
    float_mask = cast(mask, dtype)
    if sample_weight is None:
        return float_mask
    sw = to_numpy(sample_weight, dtype)
    float_mask, sw = same_rank(float_mask, sw)
    try:
        return sw * float_mask
    except ValueError:
        raise KerasliteError(f"{owner}: `sample_weight` of shape {tuple(sw.shape)} does not match the mask of "
                             f"shape {tuple(float_mask.shape)} on y_pred; with a mask, pass weights of the mask's "
                             "shape") from None


def accumulate(var: Variable, delta) -> None:
    """``var += delta`` in place, in the variable's dtype."""
    np.add(var._v, np.asarray(delta).astype(var._v.dtype, copy=False), out=var._v)


def check_same_shape(y_true: np.ndarray, y_pred: np.ndarray, owner: str) -> None:
    if y_true.shape != y_pred.shape:
        raise KerasliteError(f"{owner}: `y_true` and `y_pred` must have the same shape. Received: "
                             f"y_true.shape={tuple(y_true.shape)}, y_pred.shape={tuple(y_pred.shape)}")


__all__ = ["Metric", "EPSILON", "keras_snake_case", "dtype_name", "to_numpy", "cast", "mask_of", "same_rank",
           "divide_no_nan", "broadcast", "apply_mask", "accumulate", "check_same_shape"]
