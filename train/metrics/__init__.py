"""``keraslite.metrics``: Keras 3's metric classes and function forms, ``get``/``serialize``/``deserialize``, and
``get_metric``, the ``compile(metrics=...)`` resolution (``"accuracy"``/``"acc"`` picked from the shapes).

A metric keeps its state in non-trainable Variables (``metric.variables``); ``update_state`` accumulates,
``result`` reads and ``reset_state`` zeroes, exactly as Keras 3, with Keras' float32 numbers.
"""
from __future__ import annotations

from typing import Callable, Dict, Optional, Sequence

from ...errors import KerasliteError
from ..losses import functions as _loss_functions
from . import accuracy as _accuracy, auc as _auc, confusion as _confusion, correlation as _correlation
from . import fscore as _fscore, hinge as _hinge, iou as _iou, probabilistic as _probabilistic
from . import regression as _regression
from .accuracy import *  # noqa: F401,F403
from .auc import AUC
from .base import Metric, keras_snake_case
from .confusion import *  # noqa: F401,F403
from .correlation import *  # noqa: F401,F403
from .fscore import F1Score, FBetaScore
from .hinge import CategoricalHinge, Hinge, SquaredHinge
from .iou import BinaryIoU, IoU, MeanIoU, OneHotIoU, OneHotMeanIoU
from .probabilistic import *  # noqa: F401,F403
from .reduction import Mean, MeanMetricWrapper, Sum
from .regression import *  # noqa: F401,F403

# The metric classes by Keras class_name (what a saved compile config names).
CLASSES: Dict[str, type] = {"Metric": Metric, "Mean": Mean, "Sum": Sum, "MeanMetricWrapper": MeanMetricWrapper}
for _family in (_regression, _confusion, _auc, _correlation, _hinge, _probabilistic, _accuracy, _fscore, _iou):
    CLASSES.update(_family.CLASSES)

# What ``get`` resolves a string to: every class name, its snake_case form (Keras' spelling: ``mean_io_u``) and
# Keras' short aliases. "accuracy"/"acc" in compile are resolved from the shapes instead (``get_metric``).
NAMES: Dict[str, type] = dict(CLASSES)
NAMES.update({keras_snake_case(name): cls for name, cls in CLASSES.items()})
NAMES.update({"bce": BinaryCrossentropy, "BCE": BinaryCrossentropy, "mse": MeanSquaredError,  # noqa: F405
              "MSE": MeanSquaredError, "mae": MeanAbsoluteError, "MAE": MeanAbsoluteError,  # noqa: F405
              "mape": MeanAbsolutePercentageError, "MAPE": MeanAbsolutePercentageError,  # noqa: F405
              "msle": MeanSquaredLogarithmicError, "MSLE": MeanSquaredLogarithmicError})  # noqa: F405

# The function forms (``keras.metrics.binary_accuracy``, ...): per-sample values, usable in compile.
FUNCTIONS: Dict[str, Callable] = {}
FUNCTIONS.update(_accuracy.FUNCTIONS)
FUNCTIONS.update(_regression.FUNCTIONS)
FUNCTIONS.update(_correlation.FUNCTIONS)
for _name in ("binary_crossentropy", "binary_focal_crossentropy", "categorical_crossentropy",
              "sparse_categorical_crossentropy", "kl_divergence", "poisson", "hinge", "squared_hinge",
              "categorical_hinge"):
    FUNCTIONS[_name] = getattr(_loss_functions, _name)
globals().update(FUNCTIONS)  # the functions win over same-named submodules (hinge, accuracy), as in Keras

ACCURACY_NAMES = ("accuracy", "acc")
CROSSENTROPY_NAMES = ("crossentropy", "ce")


def get(identifier):
    """The metric ``identifier`` stands for, as ``keras.metrics.get``.

    Args:
        identifier: None, a name (``"AUC"``, ``"auc"``, ``"mse"``, ``"binary_accuracy"``, ...), a
            ``{"class_name", "config"}`` dict, a Metric class (instantiated with defaults), a Metric, or a function.

    Returns:
        A Metric instance, a function, or None.

    Raises:
        KerasliteError: for an unknown name (the message lists the known ones) or a class that needs arguments.

    Example::

        get("AUC")                      # AUC()
        get({"class_name": "Precision", "config": {"thresholds": 0.7}})
    """
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        cls = NAMES.get(identifier)
        if cls is None:
            hint = (" ('acc' is resolved by compile from the shapes of y_true and y_pred: use "
                    "get_metric('acc', y_true_shape, y_pred_shape))" if identifier.lower() in ACCURACY_NAMES else "")
            raise KerasliteError(f"Could not interpret metric identifier: {identifier!r}{hint}. Known metric "
                                 f"names: {', '.join(sorted(NAMES))}")
        return _instantiate(cls, identifier)
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return _instantiate(identifier, identifier.__name__)
    if callable(identifier):
        return identifier
    raise KerasliteError(f"Could not interpret metric identifier: {identifier!r:.200}. Expected a metric name, "
                         "a config dict, a Metric or a function")


def _instantiate(cls, spelled):
    try:
        return cls()
    except TypeError as exc:
        raise KerasliteError(f"Metric {spelled!r} ({cls.__name__}) cannot be made without arguments ({exc}); "
                             f"pass an instance instead, e.g. metrics=[keraslite.metrics.{cls.__name__}(...)]") \
            from None


def get_metric(identifier, y_true_shape: Sequence[int], y_pred_shape: Sequence[int]) -> Metric:
    """One entry of ``compile(metrics=[...])`` as the Metric the fit loop updates (Keras 3's ``get_metric``).

    ``"accuracy"``/``"acc"`` (any case) become BinaryAccuracy, SparseCategoricalAccuracy or CategoricalAccuracy
    from the shapes (see ``resolve_accuracy``); a function is wrapped in ``MeanMetricWrapper``. The metric is
    named as the user spelled a string (``"acc"`` logs as ``acc``, ``"mse"`` as ``mse``), otherwise by the
    object's own name (a function's snake_case name).

    Example::

        get_metric("acc", (32,), (32, 10)).name       # "acc", a SparseCategoricalAccuracy
    """
    if identifier is None:
        raise KerasliteError("Expected metric, received `None`")
    if str(identifier).lower() in ACCURACY_NAMES:
        metric = resolve_accuracy(identifier, y_true_shape, y_pred_shape)
    else:
        metric = get(identifier)
    name = identifier if isinstance(identifier, str) else _object_name(metric)
    if not isinstance(metric, Metric):
        metric = MeanMetricWrapper(metric)
    metric.name = name
    return metric


def _object_name(obj) -> str:
    if hasattr(obj, "name"):
        return obj.name
    if hasattr(obj, "__name__"):
        return keras_snake_case(obj.__name__)
    return keras_snake_case(type(obj).__name__)


def _kind(y_true_shape, y_pred_shape):
    """``(is_binary, is_sparse_categorical)`` as Keras' ``is_binary_or_sparse_categorical``."""
    y_true_shape, y_pred_shape = tuple(y_true_shape), tuple(y_pred_shape)
    if not y_true_shape or not y_pred_shape:
        raise KerasliteError("Cannot resolve 'accuracy'/'crossentropy' for scalar targets or outputs. Received: "
                             f"y_true.shape={y_true_shape}, y_pred.shape={y_pred_shape}")
    is_binary = y_pred_shape[-1] == 1
    is_sparse = len(y_true_shape) < len(y_pred_shape) or (y_true_shape[-1] == 1 and y_pred_shape[-1] > 1)
    return is_binary, is_sparse


def resolve_accuracy(identifier, y_true_shape, y_pred_shape) -> Metric:
    """The accuracy ``compile`` picks for ``"accuracy"``/``"acc"``: BinaryAccuracy when the output has one unit,
    SparseCategoricalAccuracy when the targets are integer labels (lower rank, or a last axis of 1 against
    several units), else CategoricalAccuracy. The metric keeps the user's spelling as its name."""
    is_binary, is_sparse = _kind(y_true_shape, y_pred_shape)
    if is_binary:
        return BinaryAccuracy(name=str(identifier))  # noqa: F405
    if is_sparse:
        return SparseCategoricalAccuracy(name=str(identifier))  # noqa: F405
    return CategoricalAccuracy(name=str(identifier))  # noqa: F405


def resolve_crossentropy(identifier, y_true_shape, y_pred_shape) -> Callable:
    """The loss function ``compile(loss="crossentropy")`` (or ``"ce"``, any case) picks, by the same rule as
    ``resolve_accuracy``: binary, sparse categorical or categorical cross-entropy. Keras names the loss as
    spelled. (A metric named "crossentropy" is not resolved this way in Keras 3: ``get`` refuses it.)"""
    if str(identifier).lower() not in CROSSENTROPY_NAMES:
        raise KerasliteError(f"resolve_crossentropy expects 'crossentropy' or 'ce'; received {identifier!r}")
    is_binary, is_sparse = _kind(y_true_shape, y_pred_shape)
    if is_binary:
        return _loss_functions.binary_crossentropy
    if is_sparse:
        return _loss_functions.sparse_categorical_crossentropy
    return _loss_functions.categorical_crossentropy


# ---------------------------------------------------------------------------------------------- serialization
def serialize(metric) -> Optional[dict]:
    """A metric (or metric function) as Keras 3 writes it in a compile config.

    Example::

        serialize(AUC(curve="PR"))  # {"module": "keras.metrics", "class_name": "AUC", "config": {...}, ...}
    """
    if metric is None:
        return None
    if isinstance(metric, Metric):
        cls = type(metric)
        builtin = CLASSES.get(cls.__name__) is cls
        return {"module": "keras.metrics" if builtin else cls.__module__, "class_name": cls.__name__,
                "config": metric.get_config(), "registered_name": None if builtin else cls.__name__}
    if callable(metric):
        return serialize_function(metric)
    raise KerasliteError(f"Cannot serialize {metric!r:.200}: expected a Metric or a metric function")


def deserialize(config, custom_objects: Optional[dict] = None):
    """The metric a ``serialize`` dict (Keras 2 or 3 form) or a name stands for. Classes are looked up among the
    built-ins and ``custom_objects`` only; nothing is imported by name."""
    if isinstance(config, str):
        if custom_objects and config in custom_objects:
            return custom_objects[config]
        return FUNCTIONS[config] if config in FUNCTIONS and config not in NAMES else get(config)
    if not isinstance(config, dict):
        raise KerasliteError(f"Cannot deserialize metric from {config!r:.200}: expected a dict or a name")
    class_name = config.get("class_name")
    if class_name == "function":
        return deserialize_function(config)
    cls = (custom_objects or {}).get(class_name) or CLASSES.get(class_name)
    if cls is None:
        raise KerasliteError(f"Unknown metric class {class_name!r} in {config!r:.200}. Known: "
                             f"{', '.join(sorted(CLASSES))}; pass a custom class in custom_objects")
    inner = dict(config.get("config") or {})
    try:
        return cls.from_config(inner)
    except TypeError as exc:
        raise KerasliteError(f"Cannot rebuild metric {class_name} from config {inner!r:.200}: {exc}") from None


def serialize_function(fn) -> dict:
    """A metric function as Keras writes it (``{"class_name": "function", "config": name, ...}``)."""
    return {"module": "builtins", "class_name": "function", "config": getattr(fn, "__name__", repr(fn)),
            "registered_name": "function"}


def deserialize_function(config) -> Callable:
    """The built-in metric or loss function a name or ``serialize_function`` dict names."""
    name = config.get("config") if isinstance(config, dict) else config
    if callable(name):
        return name
    fn = FUNCTIONS.get(name) or _loss_functions.FUNCTIONS.get(name)
    if fn is None:
        raise KerasliteError(f"Unknown metric function {name!r}. Known: {', '.join(sorted(FUNCTIONS))}")
    return fn


__all__ = (["Metric", "Mean", "Sum", "MeanMetricWrapper", "get", "get_metric", "resolve_accuracy",
            "resolve_crossentropy", "serialize", "deserialize", "CLASSES", "NAMES", "FUNCTIONS"]
           + sorted(set(CLASSES) - {"Metric", "Mean", "Sum", "MeanMetricWrapper"}) + sorted(FUNCTIONS))
