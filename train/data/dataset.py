"""``Dataset``: a small tf.data-like input pipeline on numpy, for the folder loaders and for ``fit``.

A Dataset is a recipe: each ``iter()`` runs it again from the start (so every epoch of ``fit`` sees the whole data,
reshuffled), producing elements that are nested tuples/dicts of numpy arrays. Transformations return new
Datasets: ``batch``, ``unbatch``, ``shuffle``, ``map`` (optionally on worker threads), ``filter``, ``cache``
(memory or file), ``prefetch`` (a background thread), ``take``, ``skip``, ``repeat``, ``zip``, ``concatenate``,
``enumerate``, ``shard``. ``cardinality()`` is the number of elements, ``INFINITE`` or ``UNKNOWN`` as in tf.data.

    ds = Dataset.from_tensor_slices((x, y)).shuffle(1000, seed=1).batch(32).prefetch(AUTOTUNE)
    model.fit(ds, epochs=5)
"""
from __future__ import annotations

import itertools
import math
from typing import Any, Callable, Iterator

import numpy as np

from ...errors import KerasliteError
from .. import random as krandom
from . import parallel
from .cache import FileCache, MemoryCache
from .structure import as_element, eager, leaves, pack, plain, stack, to_array, unstack

AUTOTUNE = parallel.AUTOTUNE
INFINITE = -1  # tf.data.INFINITE_CARDINALITY
UNKNOWN = -2   # tf.data.UNKNOWN_CARDINALITY


class Cardinality(int):
    """An element count (``INFINITE``/``UNKNOWN`` when not finite or not known); ``.numpy()`` as tf.data's."""

    def numpy(self):
        return np.int64(self)


def _positive(name: str, value, allow_minus_one=False) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or (
            value < 0 and not (allow_minus_one and value == -1)):
        raise KerasliteError(f"`{name}` must be a non-negative integer{' or -1' if allow_minus_one else ''}, got "
                             f"{value!r}")
    return int(value)


class Dataset:
    """An iterable, re-runnable pipeline of elements (see the module docstring)."""

    def __init__(self, make: Callable[[], Iterator], cardinality: int, slices=None):
        self._make = make
        self._cardinality = int(cardinality)
        self._slices = slices  # (structure, n) of from_tensor_slices, for the batching fast path

    # ------------------------------------------------------------------ sources
    @staticmethod
    def from_tensor_slices(tensors) -> "Dataset":
        """One element per row of ``tensors`` (an array, or a tuple/dict of arrays with the same first axis)."""
        structure = as_element(tensors)
        arrays = leaves(structure)
        sizes = {a.shape[0] if a.ndim else None for a in arrays}
        if None in sizes:
            raise KerasliteError("from_tensor_slices() needs arrays with a first axis to slice; got a scalar")
        if len(sizes) != 1:
            shapes = [list(a.shape) for a in arrays]
            raise KerasliteError(f"Dimensions {sorted(sizes)} in `tensors` must be equal: all components must have "
                                 f"the same size along the first axis, got shapes {shapes}")
        n = sizes.pop()

        def make():
            for i in range(n):
                yield pack(structure, [a[i, ...] for a in arrays])
        return Dataset(make, n, slices=(structure, n))

    @staticmethod
    def from_tensors(tensors) -> "Dataset":
        """A dataset of one element: ``tensors`` as it is."""
        element = as_element(tensors)
        return Dataset(lambda: iter([element]), 1)

    @staticmethod
    def from_generator(generator: Callable, output_signature=None, output_types=None, output_shapes=None,
                       args=None) -> "Dataset":
        """Elements from calling ``generator(*args)`` anew for each pass (``output_signature`` is accepted and
        not needed: elements take the arrays' own dtypes and shapes)."""
        if not callable(generator):
            raise KerasliteError("from_generator() takes a callable that returns an iterator (a generator function),"
                                 f" got {type(generator).__name__}")

        def make():
            for value in generator(*(args or ())):
                yield as_element(value)
        return Dataset(make, UNKNOWN)

    @staticmethod
    def range(*args, dtype="int64") -> "Dataset":
        """``range(stop)``, ``range(start, stop[, step])`` as int64 scalars."""
        r = range(*args)
        return Dataset(lambda: (np.asarray(i, dtype) for i in r), len(r))

    @staticmethod
    def zip(*datasets) -> "Dataset":
        """Elements of several datasets side by side (``zip(a, b)`` or ``zip((a, b))``), as long as the shortest."""
        if len(datasets) == 1 and isinstance(datasets[0], (tuple, list, dict)):
            datasets = datasets[0]
        if isinstance(datasets, dict):
            keys, parts = list(datasets), list(datasets.values())
        else:
            keys, parts = None, list(datasets)
        for d in parts:
            if not isinstance(d, Dataset):
                raise KerasliteError(f"zip() takes Datasets, got {type(d).__name__}")
        counts = [d._cardinality for d in parts]
        finite = [c for c in counts if c >= 0]
        card = min(finite) if finite else (UNKNOWN if UNKNOWN in counts else INFINITE)

        def make():
            for items in zip(*[iter_elements(d) for d in parts]):
                yield dict(zip(keys, items)) if keys else tuple(items)
        return Dataset(make, card)

    # ------------------------------------------------------------------ iteration
    def __iter__(self) -> Iterator:
        return (eager(e) for e in self._make())

    def as_numpy_iterator(self) -> Iterator:
        """Elements as numpy arrays (scalars as numpy scalars, strings as bytes), as tf.data's."""
        return (plain(e) for e in self._make())

    def cardinality(self) -> Cardinality:
        return Cardinality(self._cardinality)

    def __len__(self):
        if self._cardinality == INFINITE:
            raise TypeError("The dataset is infinite.")
        if self._cardinality == UNKNOWN:
            raise TypeError("The dataset length is unknown.")
        return self._cardinality

    def __bool__(self):
        return True  # never falls back to __len__ (an unknown length is not an empty dataset)

    def __repr__(self):
        card = {INFINITE: "infinite", UNKNOWN: "unknown"}.get(self._cardinality, self._cardinality)
        return f"<keraslite Dataset, cardinality={card}>"

    # ------------------------------------------------------------------ transformations
    def batch(self, batch_size, drop_remainder=False, num_parallel_calls=None, deterministic=None,
              name=None) -> "Dataset":
        """Consecutive elements stacked into batches of ``batch_size`` (the last one smaller unless dropped)."""
        batch_size = _positive("batch_size", batch_size)
        if batch_size == 0:
            raise KerasliteError("`batch_size` must be a positive integer, got 0")
        card = self._cardinality
        if card >= 0:
            card = card // batch_size if drop_remainder else math.ceil(card / batch_size)
        if self._slices is not None:
            structure, n = self._slices
            arrays = leaves(structure)
            stop = n - n % batch_size if drop_remainder else n

            def make_sliced():
                for start in range(0, stop, batch_size):
                    yield pack(structure, [a[start:start + batch_size] for a in arrays])
            return Dataset(make_sliced, card)
        source = self._make

        def make():
            it = source()
            while True:
                chunk = list(itertools.islice(it, batch_size))
                if not chunk or (drop_remainder and len(chunk) < batch_size):
                    return
                yield stack(chunk)
        return Dataset(make, card)

    def unbatch(self, name=None) -> "Dataset":
        """The elements of every batch, one by one."""
        source = self._make
        return Dataset(lambda: (e for batch in source() for e in unstack(batch)), UNKNOWN)

    def shuffle(self, buffer_size, seed=None, reshuffle_each_iteration=None, name=None) -> "Dataset":
        """Elements in random order through a buffer of ``buffer_size`` (a buffer as large as the dataset gives a
        uniform shuffle). ``seed`` makes the orders reproducible; each pass reshuffles unless
        ``reshuffle_each_iteration=False``."""
        if buffer_size == AUTOTUNE:
            buffer_size = max(self._cardinality, 1024)
        buffer_size = _positive("buffer_size", buffer_size)
        if buffer_size == 0:
            raise KerasliteError("`buffer_size` must be greater than zero.")
        reshuffle = True if reshuffle_each_iteration is None else bool(reshuffle_each_iteration)
        base = int(seed) if seed is not None else int(krandom.generator().integers(2 ** 63 - 1))
        seeds = np.random.default_rng(base)
        source = self._make

        def make():
            rng = np.random.default_rng(seeds.integers(2 ** 63 - 1) if reshuffle else base)
            buffer = []
            it = source()
            for element in it:
                buffer.append(element)
                if len(buffer) >= buffer_size:
                    break
            for element in it:
                i = int(rng.integers(len(buffer)))
                yield buffer[i]
                buffer[i] = element
            while buffer:
                i = int(rng.integers(len(buffer)))
                buffer[i], buffer[-1] = buffer[-1], buffer[i]
                yield buffer.pop()
        return Dataset(make, self._cardinality)

    def map(self, map_func, num_parallel_calls=None, deterministic=None, name=None) -> "Dataset":
        """``map_func`` applied to every element (a tuple element is passed as separate arguments), on
        ``num_parallel_calls`` worker threads (``AUTOTUNE``: one per core); the order is kept."""
        if not callable(map_func):
            raise KerasliteError(f"map() takes a function, got {type(map_func).__name__}")
        threads = parallel.workers(num_parallel_calls)
        source = self._make

        def apply(element):
            out = map_func(*element) if isinstance(element, tuple) else map_func(element)
            return as_element(out)
        return Dataset(lambda: parallel.parallel_map(source(), apply, threads), self._cardinality)

    def filter(self, predicate, name=None) -> "Dataset":
        """The elements for which ``predicate`` is true."""
        source = self._make

        def keep(element):
            out = predicate(*element) if isinstance(element, tuple) else predicate(element)
            value = to_array(out)
            if value.size != 1:
                raise KerasliteError(f"filter() predicate must return one boolean, got shape {value.shape}")
            return bool(value.reshape(()))
        return Dataset(lambda: (e for e in source() if keep(e)), UNKNOWN)

    def cache(self, filename="", name=None) -> "Dataset":
        """Keep the elements of the first complete pass (in memory, or in ``filename`` + ``.index``/``.data``) and
        replay them on every later pass."""
        store = FileCache(filename) if filename else MemoryCache()
        source = self._make
        return Dataset(lambda: store.iterate(source), self._cardinality)

    def prefetch(self, buffer_size, name=None) -> "Dataset":
        """Produce elements on a background thread, up to ``buffer_size`` ahead (``AUTOTUNE``: 2)."""
        size = 2 if buffer_size in (AUTOTUNE, None) else _positive("buffer_size", buffer_size)
        source = self._make
        return Dataset(lambda: parallel.prefetch(source, size), self._cardinality)

    def take(self, count, name=None) -> "Dataset":
        """The first ``count`` elements (``-1``: all)."""
        count = _positive("count", count, allow_minus_one=True)
        if count == -1:
            return self
        card = self._cardinality
        card = count if card == INFINITE else (min(card, count) if card >= 0 else UNKNOWN)
        source = self._make
        return Dataset(lambda: itertools.islice(source(), count), card)

    def skip(self, count, name=None) -> "Dataset":
        """All but the first ``count`` elements (``-1``: none)."""
        count = _positive("count", count, allow_minus_one=True)
        card = self._cardinality
        if count == -1:
            return Dataset(lambda: iter(()), 0)
        card = max(card - count, 0) if card >= 0 else card
        source = self._make
        return Dataset(lambda: itertools.islice(source(), count, None), card)

    def repeat(self, count=None, name=None) -> "Dataset":
        """The elements ``count`` times over (forever when None or -1), each pass running the pipeline again."""
        count = None if count in (None, -1) else _positive("count", count)
        card = self._cardinality
        if count is None:
            card = 0 if card == 0 else INFINITE
        elif card >= 0:
            card *= count
        source = self._make

        def make():
            passes = itertools.count() if count is None else range(count)
            for _ in passes:
                yield from source()
        return Dataset(make, card)

    def concatenate(self, dataset, name=None) -> "Dataset":
        """This dataset's elements, then ``dataset``'s."""
        a, b = self._cardinality, dataset._cardinality
        card = INFINITE if INFINITE in (a, b) else (UNKNOWN if UNKNOWN in (a, b) else a + b)
        first, second = self._make, dataset._make
        return Dataset(lambda: itertools.chain(first(), second()), card)

    def enumerate(self, start=0, name=None) -> "Dataset":
        """``(index, element)`` pairs, the index an int64 counting from ``start``."""
        source = self._make
        return Dataset(lambda: ((np.asarray(i, np.int64), e) for i, e in enumerate(source(), start)),
                       self._cardinality)

    def shard(self, num_shards, index, name=None) -> "Dataset":
        """Every ``num_shards``-th element starting at ``index`` (one worker's part of the data)."""
        num_shards, index = _positive("num_shards", num_shards), _positive("index", index)
        if not 0 <= index < num_shards:
            raise KerasliteError(f"shard(): index must be in [0, num_shards); got index={index}, "
                                 f"num_shards={num_shards}")
        card = self._cardinality
        card = len(range(index, card, num_shards)) if card >= 0 else card
        source = self._make
        return Dataset(lambda: itertools.islice(source(), index, None, num_shards), card)

    def apply(self, transformation_func) -> "Dataset":
        """``transformation_func(self)``."""
        return transformation_func(self)


def iter_elements(dataset: Dataset) -> Iterator:
    """The elements of ``dataset`` as plain arrays (what pipeline stages pass along)."""
    return dataset._make()


def is_dataset(x: Any) -> bool:
    return isinstance(x, Dataset)


__all__ = ["Dataset", "AUTOTUNE", "INFINITE", "UNKNOWN", "Cardinality", "is_dataset"]
