"""Each replica's share of every batch, the chief-only callbacks, and predictions gathered back in order.

Every replica reads the same data (arrays, a generator, a Dataset) and takes a contiguous slice of each global
batch: replica r of p gets rows ``[r * n // p, (r + 1) * n // p)``, so a batch of 64 on 2 replicas is 32 + 32 and
a last batch of 5 is 2 + 3. A replica whose slice would be empty (a last batch smaller than the number of
replicas) runs one stand-in sample with weight 0, so every replica makes the same collective calls. The shuffle
of each epoch is drawn with the chief's random state on every replica, so they all slice the same batches.
"""
from __future__ import annotations

import itertools
import math

import numpy as np

from ...errors import KerasliteError
from .. import random as krandom
from ..layers.keras_tensor import flatten, map_structure
from . import context

_END = object()


def split(n: int, size: int, rank: int):
    """``(start, stop)`` of replica ``rank``'s rows in a batch of ``n``."""
    return n * rank // size, n * (rank + 1) // size


def _rows(x) -> int:
    return int(np.shape(flatten(x)[0])[0])


class ShardedAdapter:
    """A data adapter whose batches are this replica's slices of the inner adapter's global batches."""

    def __init__(self, engine, model, inner, kind):
        self.engine, self.model, self.inner, self.kind = engine, model, inner, kind

    def __len__(self):
        return self.inner.__len__()  # None for a generator of unknown length

    def __getattr__(self, name):  # _exhausted, steps, ... of the inner adapter
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    @property
    def batch_size(self):
        global_size = getattr(self.inner, "batch_size", None)
        return None if global_size is None else math.ceil(global_size / self.engine.size)

    def batches(self):
        engine = self.engine
        engine.phase = self.kind
        if self.kind == "predict":
            engine.predict_counts = []
        context.set_engine(engine)
        try:
            it = iter(self.inner.batches())
            first = self._first(it)
            if first is _END:
                return
            for batch in itertools.chain([first], it):
                yield self._local(batch)
                engine.end_step()
        finally:
            context.set_engine(None)

    def _first(self, it):
        """The first batch, drawn (with the epoch's shuffle) from the chief's random state on every replica."""
        if self.kind != "train":
            return next(it, _END)
        state = self.engine.chief_random_state()
        if self.engine.is_chief:
            return next(it, _END)
        own = krandom._global["rng"]
        shared = np.random.Generator(type(own.bit_generator)())
        shared.bit_generator.state = state
        krandom._global["rng"] = shared
        try:
            return next(it, _END)
        finally:
            krandom._global["rng"] = own

    def _local(self, batch):
        engine = self.engine
        parts = list(batch) + [None] * (3 - len(batch)) if isinstance(batch, tuple) else [batch, None, None]
        start, stop = split(_rows(parts[0]), engine.size, engine.rank)
        count = stop - start
        index = slice(start, stop) if count else slice(0, 1)  # a stand-in sample, weight 0
        local = tuple(None if p is None else map_structure(lambda a: a[index], p) for p in parts[:3])
        if self.kind == "train" and engine._needs_sync:
            engine.sync_model(self.model, local[0])
        engine.begin_step(self.model, count, self.kind)
        if self.kind == "predict":
            engine.predict_counts.append(count)
        return local


# ------------------------------------------------------------------------------------------------ callbacks
def _chief_only_types():
    from .. import callbacks

    names = ("ProgbarLogger", "ModelCheckpoint", "CSVLogger", "BackupAndRestore", "TensorBoard")
    return tuple(getattr(callbacks, n) for n in names if hasattr(callbacks, n))


def _muted(callback):
    """A callback with the same hooks as ``callback`` that does nothing (the loops stay alike on every rank)."""
    from ..callbacks.base import HOOKS, Callback, _overrides

    hooks = [h for h in HOOKS + ("on_batch_begin", "on_batch_end") if _overrides(callback, h)]
    noop = lambda self, *args, **kwargs: None  # noqa: E731
    cls = type(f"Muted{type(callback).__name__}", (Callback,), {h: noop for h in hooks})
    return cls()


def chief_only_callbacks(cbs, is_chief):
    """Progress bars, checkpoints, CSV logs, backups and TensorBoard run on the chief; elsewhere muted twins."""
    if is_chief:
        return cbs
    kinds = _chief_only_types()
    cbs.callbacks = [_muted(c) if isinstance(c, kinds) else c for c in cbs.callbacks]
    cbs._refresh()
    return cbs


# ------------------------------------------------------------------------------------------------ predict
def gather_predictions(engine, outputs):
    """Every replica's prediction rows, in the order of the input (the stand-in rows dropped)."""
    counts = np.asarray(engine.predict_counts, np.int64)
    collective = engine.collective
    batches = collective.allgather_counts([counts.size], "the gathering of predictions")[:, 0]
    if len(set(batches.tolist())) != 1:
        raise KerasliteError(f"predict(): the replicas saw different numbers of batches ({batches.tolist()}); every "
                             "replica must be given the same data")
    table = collective.allgather_counts(counts, "the gathering of predictions")  # [rank, batch] rows
    produced = np.maximum(counts, 1)
    keep = np.concatenate([np.arange(s, s + c) for s, c in zip(np.cumsum(produced) - produced, counts)]
                          ) if counts.size else np.zeros(0, np.int64)
    rank_start = np.concatenate([[0], np.cumsum(table.sum(axis=1))[:-1]])
    batch_start = rank_start[:, None] + np.cumsum(table, axis=1) - table
    order = np.concatenate([np.arange(batch_start[r, b], batch_start[r, b] + table[r, b])
                            for b in range(table.shape[1]) for r in range(table.shape[0])]).astype(np.int64)

    def gather(leaf):
        rows = collective.allgatherv(np.asarray(leaf)[keep], "the gathering of predictions")
        return rows[order]

    return map_structure(gather, outputs)


__all__ = ["ShardedAdapter", "split", "chief_only_callbacks", "gather_predictions"]
