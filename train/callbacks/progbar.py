"""The progress display of fit/evaluate/predict, in Keras 3's format.

    Epoch 3/10
    29/29 ━━━━━━━━━━━━━━━━━━━━ 0s 2ms/step - accuracy: 0.9714 - loss: 0.1034 - val_accuracy: ... - val_loss: ...

``verbose=1`` redraws one line (at most every 50 ms, always at the end); ``verbose=2`` prints one line per epoch;
``verbose=0`` prints nothing. Values are shown as the logs give them (Keras' metrics are already running means).
"""
from __future__ import annotations

import math
import os
import sys
import time

from .base import Callback

BOLD, GREEN, GREY, RESET = "\x1b[1m", "\x1b[32m", "\x1b[37m", "\x1b[0m"


def _value(v) -> str:
    try:
        v = float(v)
    except (TypeError, ValueError):
        return f" {v}"
    return f" {v:.4f}" if abs(v) > 1e-3 else f" {v:.4e}"


def _per_unit(seconds: float, unit: str) -> str:
    if seconds >= 1 or seconds == 0:
        return f" {seconds:.0f}s/{unit}"
    if seconds >= 1e-3:
        return f" {seconds * 1e3:.0f}ms/{unit}"
    return f" {seconds * 1e6:.0f}us/{unit}"


class Progbar:
    """A progress bar for ``target`` steps (``keras.utils.Progbar``)."""

    def __init__(self, target, width=20, verbose=1, interval=0.05, stateful_metrics=None, unit_name="step",
                 stream=None):
        self.target, self.width, self.verbose, self.interval = target, width, verbose, interval
        self.unit_name = unit_name
        self.stream = stream
        self._values = {}
        self._start = time.time()
        self._last_update = 0.0
        self._after_first = None
        self._seen = 0
        self._prev_width = 0
        out = self._out()
        self._dynamic = (hasattr(out, "isatty") and out.isatty()) or "ipykernel" in sys.modules or \
            os.name == "posix" or "PYCHARM_HOSTED" in os.environ

    def _out(self):
        return self.stream or sys.stdout

    def _step_time(self, current, now):
        if not current:
            return 0.0
        if self._after_first is not None and current > 1:
            return (now - self._after_first) / (current - 1)
        if current == 1:
            self._after_first = now
        return (now - self._start) / current

    def update(self, current, values=None, finalize=None):
        """Show progress at step ``current`` with ``values`` (a list of ``(name, value)``)."""
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        for k, v in values or []:
            self._values[k] = v
        self._seen = current
        now = time.time()
        per_step = self._step_time(current, now)
        if self.verbose == 1:
            if now - self._last_update < self.interval and not finalize:
                return
            self._draw(current, now, per_step, finalize)
        elif self.verbose == 2 and finalize and self.target:
            digits = int(math.log10(self.target)) + 1
            line = f"{current:{digits}d}/{self.target} - {now - self._start:.0f}s -{_per_unit(per_step, self.unit_name)}"
            line += "".join(f" - {k}:{_value(v)}" for k, v in self._values.items())
            self._out().write(line + "\n")
            self._out().flush()
        self._last_update = now

    def _draw(self, current, now, per_step, finalize):
        message = ("\b" * self._prev_width + "\r") if self._dynamic else "\n"
        special = 0
        if self.target:
            digits = int(math.log10(self.target)) + 1
            bar = f"{BOLD}{current:{digits}d}/{self.target}{RESET} "
            special += 8
            filled = int(self.width * current / self.target)
            if filled > 0:
                bar += f"{GREEN}{'━' * filled}{RESET}"
                special += 9
            bar += f"{GREY}{'━' * (self.width - filled)}{RESET}"
            special += 9
        else:
            bar = f"{current:7d}/Unknown"
        if self.target and not finalize:
            eta = per_step * (self.target - current)
            if eta > 3600:
                text = f"{int(eta // 3600)}:{int(eta % 3600 // 60):02d}:{int(eta % 60):02d}"
            elif eta > 60:
                text = f"{int(eta // 60)}:{int(eta % 60):02d}"
            else:
                text = f"{int(eta)}s"
            info = f" {BOLD}{text}{RESET}"
        else:
            info = f" {BOLD}{now - self._start:.0f}s{RESET}"
        special += 8
        info += _per_unit(per_step, self.unit_name)
        info += "".join(f" - {k}:{_value(v)}" for k, v in self._values.items())
        width = len(bar) + len(info) - special
        message += bar + info
        if self._prev_width > width:
            message += " " * (self._prev_width - width)
        if finalize:
            message += "\n"
        self._out().write(message)
        self._out().flush()
        self._prev_width = width

    def add(self, n, values=None):
        self.update(self._seen + n, values)


class ProgbarLogger(Callback):
    """Prints the progress bar and epoch lines during fit, evaluate and predict."""

    def __init__(self):
        super().__init__()
        self.seen = 0
        self.progbar = None
        self.target = None
        self.verbose = 1
        self.epochs = 1
        self._in_fit = False

    def set_params(self, params):
        verbose = params.get("verbose", 1)
        self.verbose = 1 if verbose == "auto" else verbose
        self.epochs = params.get("epochs", 1)
        self.target = params.get("steps")

    def on_train_begin(self, logs=None):
        self._in_fit = True

    def on_train_end(self, logs=None):
        self._in_fit = False

    def on_test_begin(self, logs=None):
        if not self._in_fit:
            self._reset()

    def on_predict_begin(self, logs=None):
        self._reset()

    def on_epoch_begin(self, epoch, logs=None):
        self._reset()
        if self.verbose and self.epochs > 1:
            sys.stdout.write(f"Epoch {epoch + 1}/{self.epochs}\n")

    def on_train_batch_end(self, batch, logs=None):
        self._update(batch, logs)

    def on_test_batch_end(self, batch, logs=None):
        if not self._in_fit:
            self._update(batch, logs)

    def on_predict_batch_end(self, batch, logs=None):
        self._update(batch, None)

    def on_epoch_end(self, epoch, logs=None):
        self._finalize(logs)

    def on_test_end(self, logs=None):
        if not self._in_fit:
            self._finalize(logs)

    def on_predict_end(self, logs=None):
        self._finalize(logs)

    def _reset(self):
        self.seen = 0
        self.progbar = Progbar(self.target, verbose=self.verbose)

    def _update(self, batch, logs):
        if self.progbar is None:
            self._reset()
        self.seen = batch + 1
        if self.verbose == 1:
            self.progbar.update(self.seen, list((logs or {}).items()), finalize=False)

    def _finalize(self, logs):
        if self.progbar is None:
            self._reset()
        if self.target is None:
            self.target = self.seen
            self.progbar.target = self.target
        self.progbar.update(self.target, list((logs or {}).items()), finalize=True)


__all__ = ["Progbar", "ProgbarLogger"]
