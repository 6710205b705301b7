"""``BackupAndRestore``: back the training state up during fit, and resume a killed fit where it stopped.

A backup is one checkpoint ``ckpt-<n>``: the weights through ``model.save_weights`` (``ckpt-<n>.weights.h5``) and
the optimizer's variables (``ckpt-<n>.optimizer.npz``: iterations, moments, ...), then ``training_metadata.json``,
written last and atomically, names the checkpoint and the epoch to resume at. A crash at any moment leaves the
metadata pointing at a checkpoint that is complete. With ``double_checkpoint`` the previous checkpoint is kept too
and used when the newest one cannot be read.
"""
from __future__ import annotations

import json
import os
import warnings

import numpy as np

from ...errors import KerasliteError
from ...format.atomic import atomic_write
from .base import Callback

METADATA = "training_metadata.json"


class BackupAndRestore(Callback):
    """Back up weights, optimizer state and the epoch during ``fit``; a new ``fit`` resumes from the backup.

    Args:
        backup_dir: a folder for this training run's backups only.
        save_freq: ``"epoch"`` (after each epoch), a number of batches, or ``False`` (never).
        double_checkpoint: keep the previous backup as well, to fall back on if the newest is unreadable.
        delete_checkpoint: remove the backup when ``fit`` finishes.

    Example:
        >>> backup = keraslite.callbacks.BackupAndRestore(backup_dir="/tmp/backup")
        >>> model.fit(x, y, epochs=10, callbacks=[backup])  # killed at epoch 4? run the same line again
    """

    def __init__(self, backup_dir, save_freq="epoch", double_checkpoint=False, delete_checkpoint=True):
        super().__init__()
        if not backup_dir:
            raise KerasliteError(f"BackupAndRestore: `backup_dir` must name a folder; received {backup_dir!r}")
        ok = save_freq is False or save_freq == "epoch" or (
            isinstance(save_freq, (int, np.integer)) and not isinstance(save_freq, bool) and save_freq > 0)
        if not ok:
            raise KerasliteError("Invalid value for argument `save_freq`. Received: save_freq="
                                 f"{save_freq!r}. Expected either 'epoch', a positive integer number of batches, "
                                 "or False")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.double_checkpoint = double_checkpoint
        self.delete_checkpoint = delete_checkpoint
        self._metadata_path = os.path.join(self.backup_dir, METADATA)
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = -1
        self._current_epoch = 0

    # ------------------------------------------------------------------------------------------- restore
    def on_train_begin(self, logs=None):
        metadata = self._read_metadata()
        if metadata is None:
            return
        if not self.model.built:
            raise KerasliteError("To use the BackupAndRestore callback, your model must be built before you call "
                                 f"`fit()`. Model {self.model.name!r} is unbuilt. You can build it beforehand by "
                                 "calling it on a batch of data, or give its first layer an input_shape")
        try:
            self._load(metadata["checkpoint"])
            self.model._initial_epoch = metadata["epoch"]
        except (OSError, KerasliteError) as exc:
            previous = metadata.get("previous")
            if not previous:
                raise
            warnings.warn(f"BackupAndRestore: the newest backup {metadata['checkpoint']!r} in {self.backup_dir} "
                          f"cannot be read ({exc}); resuming from the previous one", stacklevel=2)
            self._load(previous["checkpoint"])
            self.model._initial_epoch = previous["epoch"]
        self._current_epoch = self.model._initial_epoch

    def _read_metadata(self):
        if not os.path.exists(self._metadata_path):
            return None
        try:
            with open(self._metadata_path) as fh:
                metadata = json.load(fh)
            int(metadata["epoch"]), str(metadata["checkpoint"])
        except (ValueError, KeyError, TypeError) as exc:
            raise KerasliteError(f"BackupAndRestore: {self._metadata_path} is not a backup this callback wrote "
                                 f"({type(exc).__name__}: {exc}); the folder must hold one training run's "
                                 "backups only. Delete it to start from scratch") from None
        return metadata

    def _paths(self, checkpoint):
        base = os.path.join(self.backup_dir, checkpoint)
        return f"{base}.weights.h5", f"{base}.optimizer.npz"

    def _load(self, checkpoint):
        """Weights and optimizer state of one checkpoint into the model."""
        from ..models.saving import restore_optimizer

        weights_path, optimizer_path = self._paths(checkpoint)
        self.model.load_weights(weights_path)
        if os.path.exists(optimizer_path) and self.model.optimizer is not None:
            with np.load(optimizer_path, allow_pickle=False) as npz:
                arrays = [npz[f"arr_{i}"] for i in range(len(npz.files))]
            restore_optimizer(self.model, [(f"arr_{i}", a) for i, a in enumerate(arrays)])

    # ------------------------------------------------------------------------------------------- back up
    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch
        self._last_batch_seen = -1

    def on_epoch_end(self, epoch, logs=None):
        self._current_epoch = epoch + 1
        self._last_batch_seen = -1
        if self.save_freq == "epoch":
            self._save()

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq is False or self.save_freq == "epoch":
            return
        self._batches_seen_since_last_saving += batch - self._last_batch_seen
        self._last_batch_seen = batch
        if self._batches_seen_since_last_saving >= self.save_freq:
            self._batches_seen_since_last_saving = 0
            # mid-epoch: a resumed fit redoes this epoch from its first batch, on these weights (as Keras)
            self._save(batch)

    def _save(self, batch=None):
        from ..models.saving import optimizer_state

        os.makedirs(self.backup_dir, exist_ok=True)
        old = self._read_metadata()
        number = int(old["checkpoint"].rsplit("-", 1)[-1]) + 1 if old else 1
        checkpoint = f"ckpt-{number}"
        weights_path, optimizer_path = self._paths(checkpoint)
        self.model.save_weights(weights_path, overwrite=True)
        state = optimizer_state(self.model) or []
        with atomic_write(optimizer_path) as tmp:
            with open(tmp, "wb") as fh:
                np.savez(fh, *[np.asarray(a) for _, a in state])
        previous = None
        if self.double_checkpoint and old:
            previous = {"epoch": old["epoch"], "batch": old.get("batch"), "checkpoint": old["checkpoint"]}
        metadata = {"epoch": self._current_epoch, "batch": batch, "checkpoint": checkpoint, "previous": previous}
        with atomic_write(self._metadata_path) as tmp:
            with open(tmp, "w") as fh:
                json.dump(metadata, fh)
        keep = {checkpoint} | ({previous["checkpoint"]} if previous else set())
        self._remove_checkpoints(keep)

    def _remove_checkpoints(self, keep=()):
        """Delete this callback's checkpoint files except those of ``keep``."""
        for name in os.listdir(self.backup_dir):
            stem = name.split(".", 1)[0]
            if stem.startswith("ckpt-") and stem not in keep and name.endswith((".weights.h5", ".optimizer.npz")):
                os.remove(os.path.join(self.backup_dir, name))

    def on_train_end(self, logs=None):
        if not self.delete_checkpoint or not os.path.isdir(self.backup_dir):
            return
        # only the files this callback writes go (Keras removes the whole folder)
        if os.path.exists(self._metadata_path):
            os.remove(self._metadata_path)
        self._remove_checkpoints()
        if not os.listdir(self.backup_dir):
            os.rmdir(self.backup_dir)


__all__ = ["BackupAndRestore"]
