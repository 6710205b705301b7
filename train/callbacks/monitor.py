"""``MonitorCallback``: what EarlyStopping, ModelCheckpoint and ReduceLROnPlateau share.

A monitored quantity (``monitor``), a direction (``mode``: ``"min"``, ``"max"`` or ``"auto"``, which Keras infers
from the metric), a ``min_delta`` below which a change does not count, and the best value so far.
"""
from __future__ import annotations

import sys
import warnings

from ...errors import KerasliteError
from .base import Callback

MODES = ("auto", "min", "max")

# Keras 3 metric classes by the direction they declare (``_direction``), for metrics that do not carry it.
UP = {"Accuracy", "BinaryAccuracy", "CategoricalAccuracy", "SparseCategoricalAccuracy", "TopKCategoricalAccuracy",
      "SparseTopKCategoricalAccuracy", "Precision", "Recall", "SensitivityAtSpecificity",
      "SpecificityAtSensitivity", "PrecisionAtRecall", "RecallAtPrecision", "AUC", "IoU", "BinaryIoU", "MeanIoU",
      "OneHotIoU", "OneHotMeanIoU", "FBetaScore", "F1Score", "PearsonCorrelation", "ConcordanceCorrelation",
      "CosineSimilarity", "R2Score"}
DOWN = {"MeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError", "MeanSquaredLogarithmicError",
        "RootMeanSquaredError", "LogCoshError", "Hinge", "SquaredHinge", "CategoricalHinge", "BinaryCrossentropy",
        "CategoricalCrossentropy", "SparseCategoricalCrossentropy"}


def check_mode(callback_name, mode):
    """``mode`` itself, or an error naming the accepted values."""
    if mode not in MODES:
        raise KerasliteError(f"{callback_name}: `mode` must be one of 'auto', 'min' or 'max'; received "
                             f"mode={mode!r}")
    return mode


def print_msg(message):
    """Print a callback's message as Keras does (stdout, flushed)."""
    sys.stdout.write(f"{message}\n")
    sys.stdout.flush()


def missing_key_warning(text, logs, end=""):
    """Keras' warning for a monitored key absent from the logs: ``text`` plus the keys there are."""
    warnings.warn(f"{text} Available metrics are: {','.join(list(logs))}{end}", stacklevel=3)


class MonitorCallback(Callback):
    """Base of the callbacks that watch one logged quantity and decide whether it improved."""

    def __init__(self, monitor="val_loss", mode="auto", baseline=None, min_delta=0):
        super().__init__()
        self.monitor = monitor
        self.mode = check_mode(type(self).__name__, mode)
        self.best = baseline
        self.min_delta = abs(min_delta)
        self.monitor_op = None
        self._signed_delta = None

    def _set_monitor_op(self):
        """Pick ``<`` or ``>`` from ``mode``, or from the monitored metric in ``"auto"`` mode."""
        direction = {"min": "down", "max": "up"}.get(self.mode) or self._metric_direction()
        if direction == "up":
            self.monitor_op, self._signed_delta = (lambda a, b: a > b), self.min_delta
        else:
            self.monitor_op, self._signed_delta = (lambda a, b: a < b), -self.min_delta

    def _metric_direction(self):
        name = self.monitor[4:] if self.monitor.startswith("val_") else self.monitor
        if name == "loss" or name.endswith("_loss"):
            return "down"
        for metric in getattr(self.model, "metrics", None) or []:
            if getattr(metric, "name", None) != name:
                continue
            declared = getattr(metric, "_direction", None)
            if declared in ("up", "down"):
                return declared
            cls = type(metric).__name__
            if cls in UP or cls in DOWN:
                return "up" if cls in UP else "down"
        raise KerasliteError(f"{type(self).__name__} callback received monitor={self.monitor}, but keraslite isn't "
                             "able to automatically determine whether that metric should be maximized or "
                             "minimized. Pass `mode='max'` in order to monitor based on the highest metric value, "
                             "or pass `mode='min'` in order to use the lowest value.")

    def _is_improvement(self, value, reference):
        """Whether ``value`` beats ``reference`` by more than ``min_delta`` (anything beats None)."""
        if self.monitor_op is None:
            self._set_monitor_op()
        if reference is None:
            return True
        return bool(self.monitor_op(value - self._signed_delta, reference))


__all__ = ["MonitorCallback", "check_mode", "print_msg", "missing_key_warning"]
