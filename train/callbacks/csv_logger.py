"""``CSVLogger``: one CSV row per epoch, in exactly the layout Keras writes.

The header is ``epoch`` then the log keys sorted; when the first epoch has no ``val_*`` key, a ``val_`` column is
added for every key (filled with ``NA``), so a later validated epoch still fits. Rows end in ``\\r\\n`` (the csv
module's Excel dialect), numbers are Python's ``repr`` of the logged floats.
"""
from __future__ import annotations

import collections.abc
import csv
import os

import numpy as np

from .base import Callback


def _cell(value):
    if isinstance(value, str):
        return value
    if isinstance(value, collections.abc.Iterable) and not (isinstance(value, np.ndarray) and value.ndim == 0):
        return f'"[{", ".join(map(str, value))}]"'
    return value


class CSVLogger(Callback):
    """Stream the epoch logs to a CSV file.

    Args:
        filename: the CSV file.
        separator: the column separator (default ``","``).
        append: add to an existing file (its header is kept) instead of overwriting it.

    Example:
        >>> model.fit(x, y, epochs=10, callbacks=[keraslite.callbacks.CSVLogger("training.log")])
    """

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.sep = separator
        self.filename = os.fspath(filename)
        self.append = append
        self.writer = None
        self.keys = None
        self.append_header = True
        self.csv_file = None

    def on_train_begin(self, logs=None):
        mode = "w"
        if self.append:
            mode = "a"
            if os.path.exists(self.filename):
                with open(self.filename, newline="") as fh:
                    self.append_header = not fh.readline()
        self._close()
        self.csv_file = open(self.filename, mode, newline="")
        self.writer = None
        self.keys = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
            if self.keys and not any(k.startswith("val_") for k in self.keys):
                self.keys += [f"val_{k}" for k in self.keys]
        if self.writer is None:
            separator = self.sep

            class Dialect(csv.excel):
                delimiter = separator

            self.writer = csv.DictWriter(self.csv_file, fieldnames=["epoch"] + self.keys, dialect=Dialect)
            if self.append_header:
                self.writer.writeheader()
        row = {"epoch": epoch}
        row.update((k, _cell(logs.get(k, "NA"))) for k in self.keys)
        self.writer.writerow(row)
        self.csv_file.flush()

    def on_train_end(self, logs=None):
        self._close()
        self.writer = None

    def _close(self):
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()


__all__ = ["CSVLogger"]
