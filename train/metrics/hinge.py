"""Hinge metrics (the mean of a hinge loss): Hinge, SquaredHinge, CategoricalHinge."""
from __future__ import annotations

from ..losses import functions as losses
from .reduction import MeanMetricWrapper


class Hinge(MeanMetricWrapper):
    """The mean of ``mean(maximum(1 - y_true * y_pred, 0), axis=-1)``; 0/1 labels are mapped to -1/1."""

    def __init__(self, name="hinge", dtype=None):
        super().__init__(fn=losses.hinge, name=name, dtype=dtype)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


class SquaredHinge(MeanMetricWrapper):
    """The mean of ``mean(square(maximum(1 - y_true * y_pred, 0)), axis=-1)``."""

    def __init__(self, name="squared_hinge", dtype=None):
        super().__init__(fn=losses.squared_hinge, name=name, dtype=dtype)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


class CategoricalHinge(MeanMetricWrapper):
    """The mean of ``maximum(neg - pos + 1, 0)`` with ``pos = sum(y_true * y_pred)``,
    ``neg = max((1 - y_true) * y_pred)``."""

    def __init__(self, name="categorical_hinge", dtype=None):
        super().__init__(fn=losses.categorical_hinge, name=name, dtype=dtype)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


CLASSES = {c.__name__: c for c in (Hinge, SquaredHinge, CategoricalHinge)}

__all__ = list(CLASSES)
