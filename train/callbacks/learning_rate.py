"""Callbacks that set the optimizer's learning rate: ``LearningRateScheduler`` and ``ReduceLROnPlateau``.

Both read ``optimizer.learning_rate`` as the float32 value Keras keeps it in, assign the settable property, and add
``learning_rate`` to the epoch logs (so History and CSVLogger after them record it).
"""
from __future__ import annotations

import inspect

import numpy as np

from ...errors import KerasliteError
from .base import Callback
from .monitor import MonitorCallback, missing_key_warning, print_msg


def _optimizer(callback):
    optimizer = getattr(callback.model, "optimizer", None)
    if optimizer is None or not hasattr(optimizer, "learning_rate"):
        raise KerasliteError(f"{type(callback).__name__} needs a compiled model whose optimizer has a "
                             f"`learning_rate`; the model's optimizer is {optimizer!r}. Call model.compile(...) "
                             "first")
    return optimizer


def current_learning_rate(optimizer) -> float:
    """The learning rate now, as the float32 value the optimizer holds (a Variable, array or float)."""
    value = optimizer.learning_rate
    if hasattr(value, "numpy"):
        value = value.numpy()
    return float(np.float32(np.asarray(value)))


def _set_learning_rate(callback, optimizer, value):
    try:
        optimizer.learning_rate = value
    except (TypeError, AttributeError) as exc:
        raise KerasliteError(f"{type(callback).__name__} cannot set the optimizer's learning rate ({exc}); an "
                             "optimizer created with a LearningRateSchedule keeps its schedule. Pass a float "
                             "learning_rate to the optimizer to let a callback change it") from None


def _takes_learning_rate(schedule) -> bool:
    """Whether ``schedule`` accepts ``(epoch, lr)`` (else it is called with the epoch only, Keras' old form)."""
    try:
        inspect.signature(schedule).bind(0, 0.0)
    except TypeError:
        return False
    except ValueError:
        return True  # a builtin without a signature: try the two-argument form, as Keras does
    return True


class LearningRateScheduler(Callback):
    """Set the learning rate at the start of every epoch from ``schedule(epoch, lr)`` (or ``schedule(epoch)``).

    Args:
        schedule: a function of the epoch index (from 0) and the current learning rate, returning a float.
        verbose: 1 prints ``Epoch N: LearningRateScheduler setting learning rate to X.``

    Example:
        >>> def schedule(epoch, lr):
        ...     return lr if epoch < 10 else lr * 0.9
        >>> model.fit(x, y, epochs=15, callbacks=[keraslite.callbacks.LearningRateScheduler(schedule)])
    """

    def __init__(self, schedule, verbose=0):
        super().__init__()
        if not callable(schedule):
            raise KerasliteError(f"LearningRateScheduler: `schedule` must be a function (epoch, lr) -> float; "
                                 f"received {schedule!r}")
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = _optimizer(self)
        if _takes_learning_rate(self.schedule):
            learning_rate = self.schedule(epoch, current_learning_rate(optimizer))
        else:
            learning_rate = self.schedule(epoch)
        if not isinstance(learning_rate, (float, np.floating)):
            raise KerasliteError("The output of the `schedule` function should be a float. Got: "
                                 f"{learning_rate!r} ({type(learning_rate).__name__}) at epoch {epoch}; return a "
                                 "float such as 0.01")
        _set_learning_rate(self, optimizer, learning_rate)
        if self.verbose > 0:
            print_msg(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {learning_rate}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = current_learning_rate(_optimizer(self))


class ReduceLROnPlateau(MonitorCallback):
    """Multiply the learning rate by ``factor`` once ``monitor`` has not improved for ``patience`` epochs.

    Args:
        monitor: the logged quantity to watch (default ``"val_loss"``).
        factor: the multiplier (< 1): ``new_lr = lr * factor``.
        patience: epochs without improvement before a reduction.
        verbose: 1 prints ``Epoch N: ReduceLROnPlateau reducing learning rate to X.``
        mode: ``"auto"``, ``"min"`` or ``"max"``.
        min_delta: the smallest change that counts as an improvement.
        cooldown: epochs to wait after a reduction before counting again.
        min_lr: the learning rate never goes below this.

    Example:
        >>> reduce = keraslite.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.2, patience=5, min_lr=1e-3)
        >>> model.fit(x, y, validation_split=0.2, epochs=50, callbacks=[reduce])
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto", min_delta=1e-4,
                 cooldown=0, min_lr=0.0, **kwargs):
        if "epsilon" in kwargs:  # Keras 2's name of min_delta
            min_delta = kwargs.pop("epsilon")
        super().__init__(monitor, mode, min_delta=min_delta)
        if factor >= 1.0:
            raise KerasliteError(f"ReduceLROnPlateau does not support a factor >= 1.0. Received factor={factor}; "
                                 "pass a factor below 1, such as 0.1")
        if kwargs:
            raise KerasliteError(f"ReduceLROnPlateau got unexpected argument(s) {sorted(kwargs)}")
        self.factor = factor
        self.min_lr = min_lr
        self.patience = patience
        self.verbose = verbose
        self.cooldown = cooldown
        self.cooldown_counter = 0
        self.wait = 0

    def on_train_begin(self, logs=None):
        self.best = None
        self.cooldown_counter = 0
        self.wait = 0

    def in_cooldown(self):
        return self.cooldown_counter > 0

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        logs = {} if logs is None else logs
        optimizer = _optimizer(self)
        logs["learning_rate"] = current_learning_rate(optimizer)
        current = logs.get(self.monitor)
        if current is None:
            missing_key_warning(f"Learning rate reduction is conditioned on metric `{self.monitor}` which is not "
                                "available.", logs, end=".")
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current, self.best):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience and self._reduce(optimizer, epoch):
                self.cooldown_counter = self.cooldown
                self.wait = 0

    def _reduce(self, optimizer, epoch) -> bool:
        old = current_learning_rate(optimizer)
        if old <= np.float32(self.min_lr):
            return False
        new = max(old * self.factor, self.min_lr)
        _set_learning_rate(self, optimizer, new)
        if self.verbose > 0:
            print_msg(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new}.")
        return True


__all__ = ["LearningRateScheduler", "ReduceLROnPlateau", "current_learning_rate"]
