"""``EarlyStopping``: stop fit when the monitored quantity has stopped improving (Keras 3's rules and messages)."""
from __future__ import annotations

from .monitor import MonitorCallback, missing_key_warning, print_msg


class EarlyStopping(MonitorCallback):
    """Stop training once ``monitor`` has not improved for ``patience`` epochs.

    Args:
        monitor: the logged quantity to watch (default ``"val_loss"``).
        min_delta: a change smaller than this does not count as an improvement.
        patience: epochs without improvement before stopping (0: stop at the first one).
        verbose: 1 prints ``Epoch N: early stopping`` and the restore message.
        mode: ``"auto"`` (from the metric), ``"min"`` or ``"max"``.
        baseline: a value the quantity must beat; epochs that do not beat it count towards ``patience``.
        restore_best_weights: at the end, set the weights of the best epoch (even if it did not beat baseline).
        start_from_epoch: epochs to let pass before watching (a warm-up).

    Example:
        >>> stop = keraslite.callbacks.EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)
        >>> model.fit(x, y, validation_split=0.2, epochs=500, callbacks=[stop])
    """

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto", baseline=None,
                 restore_best_weights=False, start_from_epoch=0):
        super().__init__(monitor, mode, min_delta=min_delta)
        self.patience = patience
        self.verbose = verbose
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = start_from_epoch
        self.wait = 0
        self.stopped_epoch = 0
        self.best_weights = None
        self.best_epoch = 0

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()  # here, once the compiled metrics exist
        current = self.get_monitor_value(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            # the first watched epoch is the best so far even when it misses the baseline
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print_msg(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print_msg(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)

    def get_monitor_value(self, logs):
        """The monitored value from ``logs``, or None (with Keras' warning listing the keys there are)."""
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None:
            missing_key_warning(f"Early stopping conditioned on metric `{self.monitor}` which is not available.",
                                logs)
        return value


__all__ = ["EarlyStopping"]
