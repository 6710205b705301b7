"""Elements of a keraslite ``Dataset``: nested tuples/dicts of numpy arrays, and what is done to them (converting a
map function's output, stacking a batch, splitting one, and the array type iteration hands out).

Strings are object arrays of ``bytes`` (TensorFlow's ``tf.string``): a scalar string element is a 0-d object
array, a batch of them a 1-D object array, and ``as_numpy_iterator`` gives ``b"..."`` values as tf.data does.
"""
from __future__ import annotations

from typing import Any, Callable, List

import numpy as np

from ...errors import KerasliteError
from ..autodiff import Tensor


class EagerArray(np.ndarray):
    """A numpy array that also answers ``.numpy()``, so tutorial code written for tf.data's eager tensors
    (``images[i].numpy().astype("uint8")``, ``labels.numpy()``) runs unchanged on a keraslite Dataset."""

    def numpy(self):
        base = np.asarray(self)
        return base[()] if base.ndim == 0 else base


def map_structure(fn: Callable, element: Any) -> Any:
    """``fn`` applied to every array of a nested tuple/list/dict element (lists become tuples, as in tf.data)."""
    if isinstance(element, dict):
        return {k: map_structure(fn, v) for k, v in element.items()}
    if isinstance(element, (tuple, list)):
        return tuple(map_structure(fn, v) for v in element)
    return fn(element)


def leaves(element: Any) -> List:
    """The arrays of an element in a fixed order (dict keys in insertion order)."""
    if isinstance(element, dict):
        return [leaf for v in element.values() for leaf in leaves(v)]
    if isinstance(element, (tuple, list)):
        return [leaf for v in element for leaf in leaves(v)]
    return [element]


def pack(template: Any, flat: List) -> Any:
    """Arrays ``flat`` arranged as ``template`` (the inverse of ``leaves``)."""
    it = iter(flat)

    def build(t):
        if isinstance(t, dict):
            return {k: build(v) for k, v in t.items()}
        if isinstance(t, (tuple, list)):
            return tuple(build(v) for v in t)
        return next(it)
    return build(template)


def to_array(value) -> np.ndarray:
    """One component as a numpy array: Tensors unwrapped, str turned into bytes, Python numbers as float32/int32
    (tf.data's defaults)."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "U":
            return _bytes_array(value)
        return np.asarray(value)  # drops an EagerArray subclass
    if isinstance(value, Tensor):
        return to_array(value._v)
    if isinstance(value, (str, bytes)):
        out = np.empty((), dtype=object)
        out[()] = value.encode("utf-8") if isinstance(value, str) else value
        return out
    if isinstance(value, bool):
        return np.asarray(value)
    if isinstance(value, float):
        return np.asarray(value, np.float32)
    if isinstance(value, int):
        return np.asarray(value, np.int32 if -2 ** 31 <= value < 2 ** 31 else np.int64)
    arr = np.asarray(value)
    if arr.dtype.kind == "U":
        return _bytes_array(arr)
    if arr.dtype == np.float64 and not isinstance(value, np.generic):
        return arr.astype(np.float32)  # nested Python floats: float32 as in tf.data
    if arr.dtype == object:
        return _bytes_array(arr)
    return arr


def _bytes_array(arr: np.ndarray) -> np.ndarray:
    flat = arr.ravel().tolist()
    out = np.empty(len(flat), dtype=object)
    try:
        out[:] = [v.encode("utf-8") if isinstance(v, str) else _checked_bytes(v) for v in flat]
    except TypeError as exc:
        raise KerasliteError(f"Dataset elements must be numbers or strings; {exc}") from None
    return out.reshape(arr.shape)


def _checked_bytes(v):
    if isinstance(v, (bytes, np.bytes_)):
        return bytes(v)
    raise TypeError(f"got a {type(v).__name__} inside an object array")


def as_element(value) -> Any:
    """A map function's (or generator's) output as a Dataset element."""
    if isinstance(value, (tuple, list)) and not _is_scalar_list(value):
        return tuple(as_element(v) for v in value)
    if isinstance(value, dict):
        return {k: as_element(v) for k, v in value.items()}
    return to_array(value)


def _is_scalar_list(value) -> bool:
    """A list of numbers is one array component, a tuple is a structure (tf.data's rule)."""
    return isinstance(value, list) and all(isinstance(v, (int, float, bool, np.generic)) for v in value)


def stack(elements: List, where: str = "batch") -> Any:
    """One batch from a list of elements: each component stacked along a new first axis."""
    first = elements[0]
    columns = list(zip(*[leaves(e) for e in elements]))
    out = []
    for c, column in enumerate(columns):
        shapes = {a.shape for a in column}
        if len(shapes) > 1:
            bad = next(i for i, a in enumerate(column) if a.shape != column[0].shape)
            raise KerasliteError(f"Cannot {where} tensors with different shapes in component {c}. First element had "
                                 f"shape {list(column[0].shape)} and element {bad} had shape "
                                 f"{list(column[bad].shape)}. Resize or pad the elements to one shape first")
        out.append(np.stack(column))
    return pack(first, out)


def unstack(batch) -> List:
    """The elements of a batch (split along the first axis of every component)."""
    flat = leaves(batch)
    n = {a.shape[0] if a.ndim else None for a in flat}
    if None in n:
        raise KerasliteError("unbatch() needs every component to have a batch axis; got a scalar component")
    if len(n) > 1:
        raise KerasliteError(f"unbatch() needs components of one batch size, got sizes {sorted(n)}")
    size = n.pop()
    return [pack(batch, [a[i, ...] for a in flat]) for i in range(size)]


def eager(element) -> Any:
    """An element as handed out by ``for x in dataset``: arrays with ``.numpy()``."""
    return map_structure(lambda a: a.view(EagerArray), element)


def plain(element) -> Any:
    """An element as ``as_numpy_iterator`` hands it out: arrays, numpy scalars, and bytes for strings."""
    return map_structure(lambda a: a[()] if a.ndim == 0 else a, element)


__all__ = ["EagerArray", "map_structure", "leaves", "pack", "to_array", "as_element", "stack", "unstack", "eager",
           "plain"]
