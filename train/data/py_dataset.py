"""Keras 3's ``PyDataset`` (``keraslite.utils.PyDataset``) and the adapter that feeds one to fit/evaluate/predict:
batch order reshuffled each epoch when ``fit(shuffle=True)`` (Python's ``random``, as Keras), ``workers > 1``
fetching batches on threads, ``on_epoch_begin``/``on_epoch_end`` called around every epoch."""
from __future__ import annotations

import itertools
import random
import warnings
from typing import Iterator

from .parallel import parallel_map


class PyDataset:
    """Base class for a dataset of batches: implement ``__getitem__(index)`` (one batch) and ``__len__`` (or the
    ``num_batches`` property; None for an endless dataset).

    Example::

        class Batches(keraslite.utils.PyDataset):
            def __init__(self, x, y, batch_size, **kwargs):
                super().__init__(**kwargs)
                self.x, self.y, self.batch_size = x, y, batch_size

            def __len__(self):
                return -(-len(self.x) // self.batch_size)

            def __getitem__(self, i):
                s = slice(i * self.batch_size, (i + 1) * self.batch_size)
                return self.x[s], self.y[s]
    """

    def __init__(self, workers=1, use_multiprocessing=False, max_queue_size=10):
        self._workers = workers
        self._use_multiprocessing = use_multiprocessing
        self._max_queue_size = max_queue_size

    def _warn_if_super_not_called(self):
        if not hasattr(self, "_workers"):
            self._workers, self._use_multiprocessing, self._max_queue_size = 1, False, 10
            warnings.warn("Your `PyDataset` class should call `super().__init__(**kwargs)` in its constructor. "
                          "`**kwargs` can include `workers`, `use_multiprocessing`, `max_queue_size`. Do not pass "
                          "these arguments to `fit()`, as they will be ignored.", stacklevel=3)

    @property
    def workers(self):
        self._warn_if_super_not_called()
        return self._workers

    @workers.setter
    def workers(self, value):
        self._workers = value

    @property
    def use_multiprocessing(self):
        self._warn_if_super_not_called()
        return self._use_multiprocessing

    @use_multiprocessing.setter
    def use_multiprocessing(self, value):
        self._use_multiprocessing = value

    @property
    def max_queue_size(self):
        self._warn_if_super_not_called()
        return self._max_queue_size

    @max_queue_size.setter
    def max_queue_size(self, value):
        self._max_queue_size = value

    def __getitem__(self, index):
        raise NotImplementedError

    @property
    def num_batches(self):
        """Number of batches (None: endless); defaults to ``len(self)``."""
        if hasattr(self, "__len__"):
            return len(self)
        raise NotImplementedError("You need to implement the `num_batches` property:\n\n"
                                  "@property\ndef num_batches(self):\n  return ...")

    def __iter__(self):
        try:
            n = self.num_batches
        except NotImplementedError:
            n = None
        for index in (range(n) if n is not None else itertools.count()):
            yield self[index]

    def on_epoch_begin(self):
        """Called at the start of every epoch."""

    def on_epoch_end(self):
        """Called at the end of every epoch."""


def is_py_dataset(x) -> bool:
    """A Keras-style PyDataset: keraslite's class, or any object with ``__getitem__`` and a batch count that is
    not a plain container (Keras 2's ``Sequence`` included)."""
    return isinstance(x, PyDataset) or (hasattr(x, "__getitem__") and (hasattr(x, "__len__") or hasattr(
        x, "num_batches")) and not hasattr(x, "batch") and not isinstance(x, (list, tuple, dict, str)))


def num_batches(x):
    try:
        return x.num_batches if hasattr(x, "num_batches") else len(x)
    except NotImplementedError:
        return None


class PyDatasetBatches:
    """One epoch's batch sequence of a PyDataset."""

    def __init__(self, dataset, shuffle=False):
        self.dataset, self.shuffle = dataset, shuffle

    def __len__(self):
        return num_batches(self.dataset)

    def __iter__(self) -> Iterator:
        ds = self.dataset
        if hasattr(ds, "on_epoch_begin"):
            ds.on_epoch_begin()
        n = num_batches(ds)
        if n is None:
            indices = itertools.count()
        else:
            indices = list(range(n))
            if self.shuffle:
                random.shuffle(indices)
        threads = getattr(ds, "_workers", 1) or 1
        yield from parallel_map(iter(indices), ds.__getitem__, threads if threads > 1 else 1)


__all__ = ["PyDataset", "PyDatasetBatches", "is_py_dataset", "num_batches"]
