"""Probabilistic metrics (the mean of a cross-entropy or divergence): BinaryCrossentropy,
CategoricalCrossentropy, SparseCategoricalCrossentropy, KLDivergence and Poisson."""
from __future__ import annotations

from ..losses import functions as losses
from .reduction import FunctionMean, MeanMetricWrapper


class KLDivergence(FunctionMean):
    """The mean Kullback-Leibler divergence ``sum(y_true * log(y_true / y_pred), axis=-1)``."""

    fn = staticmethod(losses.kl_divergence)
    default_name = "kl_divergence"


class Poisson(FunctionMean):
    """The mean Poisson deviance ``mean(y_pred - y_true * log(y_pred + epsilon), axis=-1)``."""

    fn = staticmethod(losses.poisson)
    default_name = "poisson"


class BinaryCrossentropy(MeanMetricWrapper):
    """The mean binary cross-entropy (``from_logits``, ``label_smoothing`` as the loss)."""

    def __init__(self, name="binary_crossentropy", dtype=None, from_logits=False, label_smoothing=0):
        super().__init__(losses.binary_crossentropy, name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing}


class CategoricalCrossentropy(MeanMetricWrapper):
    """The mean categorical cross-entropy of one-hot labels (``from_logits``, ``label_smoothing``, ``axis``)."""

    def __init__(self, name="categorical_crossentropy", dtype=None, from_logits=False, label_smoothing=0, axis=-1):
        super().__init__(losses.categorical_crossentropy, name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis}


class SparseCategoricalCrossentropy(MeanMetricWrapper):
    """The mean categorical cross-entropy of integer labels (``from_logits``, ``ignore_class``, ``axis``)."""

    def __init__(self, name="sparse_categorical_crossentropy", dtype=None, from_logits=False, ignore_class=None,
                 axis=-1):
        super().__init__(losses.sparse_categorical_crossentropy, name=name, dtype=dtype, from_logits=from_logits,
                         ignore_class=ignore_class, axis=axis)
        self.from_logits = from_logits
        self.ignore_class = ignore_class
        self.axis = axis

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "from_logits": self.from_logits,
                "ignore_class": self.ignore_class, "axis": self.axis}


CLASSES = {c.__name__: c for c in (KLDivergence, Poisson, BinaryCrossentropy, CategoricalCrossentropy,
                                   SparseCategoricalCrossentropy)}

__all__ = list(CLASSES)
