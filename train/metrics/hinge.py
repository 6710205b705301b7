"""Hinge metrics (the mean of a hinge loss): Hinge, SquaredHinge, CategoricalHinge."""
from __future__ import annotations

from ..losses import functions as losses
from .reduction import FunctionMean


class Hinge(FunctionMean):
    """The mean of ``mean(maximum(1 - y_true * y_pred, 0), axis=-1)``; 0/1 labels are mapped to -1/1."""

    fn = staticmethod(losses.hinge)
    default_name = "hinge"


class SquaredHinge(FunctionMean):
    """The mean of ``mean(square(maximum(1 - y_true * y_pred, 0)), axis=-1)``."""

    fn = staticmethod(losses.squared_hinge)
    default_name = "squared_hinge"


class CategoricalHinge(FunctionMean):
    """The mean of ``maximum(neg - pos + 1, 0)`` with ``pos = sum(y_true * y_pred)``,
    ``neg = max((1 - y_true) * y_pred)``."""

    fn = staticmethod(losses.categorical_hinge)
    default_name = "categorical_hinge"


CLASSES = {c.__name__: c for c in (Hinge, SquaredHinge, CategoricalHinge)}

__all__ = list(CLASSES)
