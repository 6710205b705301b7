"""``ModelCheckpoint``: save the model (or its weights) during fit, every epoch, every N batches, or when it improves.

Files are written through ``model.save`` / ``model.save_weights``, which replace the target atomically, so a crash
mid-save leaves the previous checkpoint whole.
"""
from __future__ import annotations

import os
import warnings

import numpy as np

from ...errors import KerasliteError
from .monitor import MonitorCallback, missing_key_warning, print_msg

MODEL_EXTENSIONS = (".keras", ".h5", ".hdf5")
WEIGHTS_EXTENSIONS = (".weights.h5", ".h5", ".hdf5")  # .h5/.hdf5: the legacy (Keras 2) weights layout


def check_save_freq(callback_name, save_freq):
    """``save_freq`` itself when it is ``"epoch"`` or a positive number of batches, else an error."""
    if save_freq == "epoch" or (isinstance(save_freq, (int, np.integer)) and not isinstance(save_freq, bool)
                                and save_freq > 0):
        return save_freq
    raise KerasliteError(f"{callback_name}: Unrecognized save_freq: {save_freq!r}. Expected save_freq are 'epoch' "
                         "or a positive integer number of batches")


def _check_filepath(filepath, save_weights_only):
    lower = filepath.lower()
    if save_weights_only:
        if lower.endswith(".keras"):
            raise KerasliteError("ModelCheckpoint: with `save_weights_only=True` the filepath must end in "
                                 f"`.weights.h5` (Keras weights format); received filepath={filepath!r}, a "
                                 "whole-model `.keras` name. Drop save_weights_only or name it '....weights.h5'")
        if not lower.endswith(WEIGHTS_EXTENSIONS):
            raise KerasliteError("ModelCheckpoint: with `save_weights_only=True` the filepath must end in "
                                 f"`.weights.h5` (Keras weights format); received filepath={filepath!r}. "
                                 "TensorFlow checkpoints (`.ckpt`) are not written by keraslite: use e.g. "
                                 "'cp-{epoch:04d}.weights.h5'")
    elif not lower.endswith(MODEL_EXTENSIONS):
        raise KerasliteError("ModelCheckpoint: the filepath must end in `.keras` (Keras model format) or `.h5`; "
                             f"received filepath={filepath!r}. Use e.g. 'ckpt-{{epoch:02d}}.keras', or pass "
                             "save_weights_only=True with a '.weights.h5' name")


class ModelCheckpoint(MonitorCallback):
    """Save the model or its weights at some frequency during ``fit``.

    Args:
        filepath: where to save; a template filled from ``epoch`` (from 1), ``batch`` (from 1, with an integer
            ``save_freq``) and the logs, e.g. ``"ckpt-{epoch:02d}-{val_loss:.2f}.keras"``. Ends in ``.keras`` or
            ``.h5`` (a whole model), or ``.weights.h5`` with ``save_weights_only=True``.
        monitor: the logged quantity ``save_best_only`` compares (default ``"val_loss"``).
        verbose: 1 prints a line for each decision (saved, improved, did not improve).
        save_best_only: save only when ``monitor`` improves on the best value so far.
        save_weights_only: ``model.save_weights`` instead of ``model.save``.
        mode: ``"auto"``, ``"min"`` or ``"max"``.
        save_freq: ``"epoch"`` or a number of batches between saves.
        initial_value_threshold: the value the first save must beat (with ``save_best_only``).

    Example:
        >>> ckpt = keraslite.callbacks.ModelCheckpoint("best.keras", monitor="val_accuracy", save_best_only=True)
        >>> model.fit(x, y, validation_split=0.2, epochs=20, callbacks=[ckpt])
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False, save_weights_only=False,
                 mode="auto", save_freq="epoch", initial_value_threshold=None):
        super().__init__(monitor, mode, initial_value_threshold)
        self.verbose = verbose
        self.filepath = os.fspath(filepath)
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.save_freq = check_save_freq("ModelCheckpoint", save_freq)
        _check_filepath(self.filepath, save_weights_only)
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = None
        self._current_epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self._should_save_on_batch(batch):
            self._save_model(self._current_epoch, batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()  # here, once the compiled metrics exist
        if self.save_freq == "epoch":
            self._save_model(epoch, None, logs)

    def _should_save_on_batch(self, batch) -> bool:
        if self.save_freq == "epoch":
            return False
        if self._last_batch_seen is None or batch <= self._last_batch_seen:
            added = batch + 1  # a new epoch started over at batch 0
        else:
            added = batch - self._last_batch_seen
        self._batches_seen_since_last_saving += added
        self._last_batch_seen = batch
        if self._batches_seen_since_last_saving >= self.save_freq:
            self._batches_seen_since_last_saving = 0
            return True
        return False

    def _should_save(self, epoch, logs, filepath) -> bool:
        if not self.save_best_only:
            if self.verbose > 0:
                print_msg(f"\nEpoch {epoch + 1}: saving model to {filepath}")
            return True
        current = logs.get(self.monitor)
        if current is None:
            missing_key_warning(f"Can save best model only with {self.monitor} available; saving anyway.", logs)
            return True
        if isinstance(current, np.ndarray) and current.ndim > 0:
            warnings.warn(f"Can save best model only when `monitor` is a scalar value. Received: {current}. "
                          "Falling back to `save_best_only=False`.", stacklevel=3)
            return True
        best = "None" if self.best is None else f"{self.best:.5f}"
        if self._is_improvement(current, self.best):
            if self.verbose > 0:
                print_msg(f"\nEpoch {epoch + 1}: {self.monitor} improved from {best} to {current:.5f}, saving "
                          f"model to {filepath}")
            self.best = current
            return True
        if self.verbose > 0:
            print_msg(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best}")
        return False

    def _save_model(self, epoch, batch, logs):
        logs = logs or {}
        filepath = self._get_file_path(epoch, batch, logs)
        if not self._should_save(epoch, logs, filepath):
            return
        if os.path.isdir(filepath):
            raise KerasliteError("Please specify a non-directory filepath for ModelCheckpoint. Filepath used is an "
                                 f"existing directory: {filepath}")
        folder = os.path.dirname(filepath)
        if folder:
            os.makedirs(folder, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(filepath, overwrite=True)
        else:
            self.model.save(filepath, overwrite=True)
        if self.verbose > 0:
            print_msg(f"\nEpoch {epoch + 1}: finished saving model to {filepath}")

    def _get_file_path(self, epoch, batch, logs) -> str:
        """``filepath`` filled in from the epoch (from 1), the batch (from 1) and the logs."""
        fields = dict(logs)
        fields["epoch"] = epoch + 1
        if batch is not None and "batch" not in logs:
            fields["batch"] = batch + 1
        try:
            return self.filepath.format(**fields)
        except KeyError as exc:
            missing = exc.args[0]
            raise KerasliteError(f"ModelCheckpoint: the `filepath` template {self.filepath!r} names "
                                 f"{{{missing}}}, which is not in the logs at epoch {epoch + 1}; it can use: "
                                 f"{', '.join(sorted(fields))}. Check the spelling (validation metrics start with "
                                 "'val_' and exist only with validation data)") from None
        except (IndexError, ValueError) as exc:
            raise KerasliteError(f"ModelCheckpoint: the `filepath` template {self.filepath!r} cannot be filled in "
                                 f"from {', '.join(f'{k}={v!r}' for k, v in sorted(fields.items()))}: {exc}. Name "
                                 "every field and give it a format that fits its value, e.g. '{epoch:02d}' or "
                                 "'{val_loss:.2f}'") from None


__all__ = ["ModelCheckpoint"]
