"""Data adapters: arrays (and lists/dicts of arrays), Python generators, ``PyDataset`` and keraslite
``Dataset``s, all turned into one kind of epoch iterator of ``(x, y, sample_weight)`` batches for fit/evaluate/
predict (Keras 3's data adapters, without tf.data).
"""
from __future__ import annotations

import math
import types
import warnings
from typing import Iterator, Optional

import numpy as np

from ...errors import KerasliteError
from .. import random as krandom
from ..autodiff import Tensor
from ..autodiff.core import FLOATX
from ..layers.keras_tensor import flatten, map_structure
from .dataset import Dataset, iter_elements
from .py_dataset import PyDatasetBatches, is_py_dataset


def _array(x, name):
    if isinstance(x, Tensor):
        x = x._v
    if isinstance(x, np.ndarray):
        arr = x
    else:
        try:
            arr = np.asarray(x)
        except (ValueError, TypeError) as exc:
            raise KerasliteError(f"`{name}` must be a numpy array (or a list/dict of them); could not convert "
                                 f"{type(x).__name__}: {exc}") from None
    if arr.dtype == object and not _all_strings(arr):
        raise KerasliteError(f"`{name}` holds Python objects (dtype=object), e.g. rows of different lengths; "
                             "pad them into one rectangular numeric array first")
    if arr.dtype == np.float64:
        arr = arr.astype(FLOATX)  # Keras casts float64 data to floatx
    if arr.ndim == 0:
        raise KerasliteError(f"`{name}` must have a batch dimension, got a scalar")
    return arr


def _all_strings(arr: np.ndarray) -> bool:
    """An object array of str/bytes: text data for TextVectorization or StringLookup inputs."""
    return all(isinstance(v, (str, bytes)) for v in arr.ravel().tolist())


def standardize(data, name):
    """Arrays, lists/tuples and dicts of arrays with every leaf a numpy array (None stays None)."""
    if data is None:
        return None
    if isinstance(data, dict):
        return {k: _array(v, f"{name}[{k!r}]") for k, v in data.items()}
    if isinstance(data, (list, tuple)) and data and all(isinstance(v, (np.ndarray, Tensor)) for v in data):
        return [_array(v, f"{name}[{i}]") for i, v in enumerate(data)]
    return _array(data, name)


def num_samples(*structures) -> int:
    """The common first dimension of every array; a clear error naming the arguments when they differ."""
    sizes = {}
    for label, structure in structures:
        if structure is None:
            continue
        for arr in flatten(structure):
            sizes.setdefault(label, set()).add(int(arr.shape[0]))
    flat = {n for s in sizes.values() for n in s}
    if len(flat) > 1:
        detail = ", ".join(f"{k}: {sorted(v)}" for k, v in sizes.items())
        raise KerasliteError(f"Data cardinality is ambiguous: make sure all arrays contain the same number of "
                             f"samples. Sizes found ({detail})")
    if not flat:
        raise KerasliteError("no data given: pass x (and y) as arrays, a generator or a Dataset")
    return flat.pop()


def class_weights_to_sample_weights(y, class_weight, num_classes: Optional[int]):
    """Per-sample weights from ``class_weight`` ({class index: weight}); classes not listed get 1."""
    if isinstance(y, (list, dict)):
        raise KerasliteError("`class_weight` is only supported for Models with a single output.")
    bad = [k for k in class_weight if not isinstance(k, (int, np.integer))]
    if bad:
        raise KerasliteError(f"`class_weight` keys must be integer class indices, got {bad!r}")
    if num_classes is not None:
        unknown = sorted(int(k) for k in class_weight if not 0 <= int(k) < num_classes)
        if unknown:
            raise KerasliteError(f"`class_weight` names class(es) {unknown} that do not exist: the model's output "
                                 f"has {num_classes} classes (0..{num_classes - 1})")
    labels = np.asarray(y)
    if labels.ndim > 1:
        labels = np.argmax(labels, axis=-1) if labels.shape[-1] != 1 else labels[..., 0]
    labels = np.round(labels).astype(np.int64)
    table = np.ones(max(int(labels.max()) + 1 if labels.size else 1, max(class_weight) + 1), FLOATX)
    for k, w in class_weight.items():
        table[int(k)] = w
    return table[labels.reshape(labels.shape[0], -1)[:, 0] if labels.ndim > 1 else labels]


def _take(structure, index):
    return map_structure(lambda a: a[index], structure)


class ArrayAdapter:
    """Batches of in-memory arrays, reshuffled each epoch when ``shuffle`` (``"batch"`` shuffles batch order)."""

    def __init__(self, x, y=None, sample_weight=None, batch_size=32, shuffle=False, steps=None):
        self.x, self.y, self.sample_weight = x, y, sample_weight
        self.n = num_samples(("x", x), ("y", y), ("sample_weight", sample_weight))
        self.batch_size = int(batch_size or 32)
        self.shuffle = shuffle
        self.num_batches = math.ceil(self.n / self.batch_size)
        self.steps = steps

    def __len__(self):
        return self.num_batches if self.steps is None else min(self.steps, self.num_batches)

    def batches(self) -> Iterator[tuple]:
        bs = self.batch_size
        order = None
        if self.shuffle is True:
            order = krandom.generator().permutation(self.n)
        starts = np.arange(0, self.n, bs)
        if self.shuffle == "batch":
            starts = krandom.generator().permutation(starts)
        for i, start in enumerate(starts):
            if self.steps is not None and i >= self.steps:
                return
            index = slice(start, start + bs) if order is None else order[start:start + bs]
            yield (_take(self.x, index), None if self.y is None else _take(self.y, index),
                   None if self.sample_weight is None else self.sample_weight[index])


def unpack(batch):
    """``(x, y, sample_weight)`` from a batch tuple of length 1-3 (or a bare x)."""
    if isinstance(batch, tuple):
        if len(batch) == 1:
            return batch[0], None, None
        if len(batch) == 2:
            return batch[0], batch[1], None
        if len(batch) == 3:
            return batch
        raise KerasliteError(f"Data is expected to be in format `x`, `(x,)`, `(x, y)`, or `(x, y, sample_weight)`, "
                             f"found a tuple of {len(batch)} elements")
    return batch, None, None


class IteratorAdapter:
    """Batches from a generator, an iterator, a keraslite Dataset or a Keras ``PyDataset``."""

    def __init__(self, source, steps=None, name="x", shuffle=False):
        self.source = source
        self.steps = steps
        self._iter = None
        self._exhausted = False
        self._one_shot = isinstance(source, types.GeneratorType) or (
            hasattr(source, "__next__") and not hasattr(source, "__getitem__"))
        if is_py_dataset(source):
            self.source = PyDatasetBatches(source, shuffle=shuffle is True)
            self._py_dataset = source

    def __len__(self):
        if self.steps is not None:
            return self.steps
        if hasattr(self.source, "__len__") and not self._one_shot:
            try:
                return len(self.source)
            except TypeError:
                return None
        return None

    def _fresh(self):
        if isinstance(self.source, Dataset):
            return iter_elements(self.source)  # plain arrays, without the per-element .numpy() views
        return iter(self.source)

    def batches(self) -> Iterator[tuple]:
        if self._one_shot:
            if self._iter is None:
                self._iter = iter(self.source)
            it = self._iter
        else:
            it = self._fresh()
        count = 0
        while self.steps is None or count < self.steps:
            try:
                batch = next(it)
            except StopIteration:
                if self._one_shot and self.steps is not None:
                    warnings.warn("Your input ran out of data; interrupting training. Make sure that your dataset "
                                  "or generator can generate at least `steps_per_epoch * epochs` batches.",
                                  stacklevel=4)
                    self._exhausted = True
                break
            if not isinstance(batch, tuple):
                batch = (batch,)
            x, y, sw = unpack(tuple(map_structure(_batch_array, b) if b is not None else None for b in batch))
            count += 1
            yield x, y, sw
        ended = getattr(self, "_py_dataset", self.source)
        if hasattr(ended, "on_epoch_end"):
            ended.on_epoch_end()


def _batch_array(a):
    if isinstance(a, Tensor):
        a = a._v
    arr = np.asarray(a)
    return arr.astype(FLOATX) if arr.dtype == np.float64 else arr


def is_iterable_source(x) -> bool:
    """A generator, iterator, Dataset or PyDataset (anything fit consumes batch by batch)."""
    if isinstance(x, (np.ndarray, Tensor, list, tuple, dict)) or x is None:
        return False
    return hasattr(x, "__iter__") or hasattr(x, "__next__") or (hasattr(x, "__getitem__") and hasattr(x, "__len__"))


def num_steps(adapter) -> Optional[int]:
    """Batches per epoch of an adapter, None when unknown (a plain generator): ``len()`` cannot return None."""
    return adapter.__len__()


def make_adapter(x, y=None, sample_weight=None, batch_size=None, steps=None, shuffle=False, class_weight=None,
                 num_classes=None, label="x"):
    """The adapter for ``x`` (and ``y``, ``sample_weight``) as fit/evaluate/predict receive them."""
    if is_iterable_source(x):
        for arg, value in (("y", y), ("sample_weight", sample_weight)):
            if value is not None:
                raise KerasliteError(f"`{arg}` argument is not supported when using a generator or dataset as "
                                     f"input: the batches must carry it (yield (x, y) or (x, y, sample_weight))")
        if class_weight is not None:
            return _ClassWeighted(IteratorAdapter(x, steps, shuffle=shuffle), class_weight, num_classes)
        return IteratorAdapter(x, steps, shuffle=shuffle)
    x = standardize(x, label)
    y = standardize(y, "y")
    if sample_weight is not None:
        sample_weight = _array(sample_weight, "sample_weight").astype(FLOATX)
    if class_weight is not None:
        if sample_weight is not None:
            raise KerasliteError("You cannot `class_weight` and `sample_weight` at the same time.")
        if y is None:
            raise KerasliteError("`class_weight` needs targets `y`")
        sample_weight = class_weights_to_sample_weights(y, class_weight, num_classes)
    return ArrayAdapter(x, y, sample_weight, batch_size=batch_size, shuffle=shuffle, steps=steps)


class _ClassWeighted:
    """Class weights applied batch by batch to a generator's ``(x, y)`` batches."""

    def __init__(self, inner, class_weight, num_classes):
        self.inner, self.class_weight, self.num_classes = inner, class_weight, num_classes

    def __len__(self):
        return self.inner.__len__()

    def batches(self):
        for x, y, sw in self.inner.batches():
            if sw is not None:
                raise KerasliteError("You cannot `class_weight` and `sample_weight` at the same time.")
            yield x, y, class_weights_to_sample_weights(y, self.class_weight, self.num_classes)


def split_validation(x, y, sample_weight, validation_split):
    """The last ``validation_split`` fraction of the arrays as validation data (before any shuffling), as Keras."""
    if is_iterable_source(x):
        raise KerasliteError("`validation_split` is only supported for Tensors or NumPy arrays, found a "
                             f"{type(x).__name__}; pass validation_data=... instead")
    if not 0.0 < validation_split < 1.0:
        raise KerasliteError(f"`validation_split` must be between 0 and 1 (exclusive), got {validation_split}")
    x, y = standardize(x, "x"), standardize(y, "y")
    sw = None if sample_weight is None else _array(sample_weight, "sample_weight")
    n = num_samples(("x", x), ("y", y), ("sample_weight", sw))
    split_at = int(math.floor(n * (1.0 - validation_split)))
    if split_at == 0 or split_at == n:
        raise KerasliteError(f"Training data contains {n} samples, which is not sufficient to split it into a "
                             f"validation and training set as specified by `validation_split={validation_split}`. "
                             "Either provide more data, or a different value for the `validation_split` argument.")
    head, tail = slice(0, split_at), slice(split_at, n)
    pick = lambda s, part: None if s is None else _take(s, part)  # noqa: E731
    return (pick(x, head), pick(y, head), pick(sw, head)), (pick(x, tail), pick(y, tail), pick(sw, tail))


__all__ = ["make_adapter", "num_steps", "split_validation", "unpack", "standardize", "num_samples", "ArrayAdapter",
           "IteratorAdapter", "is_iterable_source", "class_weights_to_sample_weights"]
