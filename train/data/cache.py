"""``Dataset.cache``: elements kept after the first complete pass, in memory or in a file.

The file form is ``<filename>.index`` (JSON: the element structure and count, written last, so a cache is only
used once complete) and ``<filename>.data`` (each array saved with ``numpy.save``, never pickled: string arrays are
stored as fixed-width bytes). A pass that stops early (``take``, ``steps_per_epoch``) leaves no cache behind, as in
tf.data.
"""
from __future__ import annotations

import json
import os
import threading
from typing import Callable, Iterator, List

import numpy as np

from ...errors import KerasliteError
from .structure import leaves, pack


class MemoryCache:
    """Replays the elements of the first complete pass."""

    def __init__(self):
        self.elements = None
        self.lock = threading.Lock()

    def iterate(self, source: Callable[[], Iterator]) -> Iterator:
        if self.elements is not None:
            yield from self.elements
            return
        seen: List = []
        for element in source():
            seen.append(element)
            yield element
        with self.lock:
            if self.elements is None:
                self.elements = seen


def _template(element):
    """A JSON description of an element's nesting (leaves as None)."""
    if isinstance(element, dict):
        return {"dict": [[k, _template(v)] for k, v in element.items()]}
    if isinstance(element, tuple):
        return {"tuple": [_template(v) for v in element]}
    return None


def _from_template(t):
    if isinstance(t, dict) and "dict" in t:
        return {k: _from_template(v) for k, v in t["dict"]}
    if isinstance(t, dict) and "tuple" in t:
        return tuple(_from_template(v) for v in t["tuple"])
    return 0


class FileCache:
    """Writes the first complete pass to ``filename`` and reads every later pass (and later runs) from it."""

    def __init__(self, filename: str):
        self.filename = os.fspath(filename)
        self.index, self.data = self.filename + ".index", self.filename + ".data"

    def complete(self) -> bool:
        return os.path.exists(self.index) and os.path.exists(self.data)

    def iterate(self, source: Callable[[], Iterator]) -> Iterator:
        if self.complete():
            yield from self._read()
            return
        folder = os.path.dirname(os.path.abspath(self.filename))
        if not os.path.isdir(folder):
            raise KerasliteError(f"cache(filename={self.filename!r}): the folder {folder!r} does not exist")
        tmp = f"{self.data}.tmp-{os.getpid()}-{threading.get_ident()}"
        count, template, finished = 0, None, False
        try:
            with open(tmp, "wb") as fh:
                for element in source():
                    if template is None:
                        template = _template(element)
                    for leaf in leaves(element):
                        _save(fh, leaf)
                    count += 1
                    yield element
                finished = True
        finally:
            if finished:
                os.replace(tmp, self.data)
                with open(self.index + ".tmp", "w") as fh:
                    json.dump({"count": count, "template": template, "leaves": _leaf_count(template)}, fh)
                os.replace(self.index + ".tmp", self.index)
            elif os.path.exists(tmp):
                os.remove(tmp)

    def _read(self) -> Iterator:
        with open(self.index) as fh:
            meta = json.load(fh)
        template, n_leaves = _from_template(meta["template"]), meta["leaves"]
        with open(self.data, "rb") as fh:
            for _ in range(meta["count"]):
                flat = [_load(fh, self.data) for _ in range(n_leaves)]
                yield pack(template, flat) if meta["template"] is not None else flat[0]


def _leaf_count(t) -> int:
    if isinstance(t, dict) and "dict" in t:
        return sum(_leaf_count(v) for _, v in t["dict"])
    if isinstance(t, dict) and "tuple" in t:
        return sum(_leaf_count(v) for v in t["tuple"])
    return 1


def _save(fh, array: np.ndarray) -> None:
    is_text = array.dtype == object
    np.save(fh, np.asarray(is_text))
    if is_text:
        flat = array.ravel().tolist()
        lengths = np.asarray([len(b) for b in flat], np.int64).reshape(array.shape)
        np.save(fh, lengths)
        np.save(fh, np.frombuffer(b"".join(flat), np.uint8))
    else:
        np.save(fh, array, allow_pickle=False)


def _load(fh, label: str) -> np.ndarray:
    try:
        is_text = bool(np.load(fh))
        if not is_text:
            return np.load(fh, allow_pickle=False)
        lengths = np.load(fh, allow_pickle=False)
        raw = np.load(fh, allow_pickle=False).tobytes()
    except (ValueError, EOFError, OSError) as exc:
        raise KerasliteError(f"the dataset cache {label!r} is damaged ({exc}); delete it to rebuild") from None
    ends = np.cumsum(lengths.ravel())
    out = np.empty(ends.size, dtype=object)
    out[:] = [raw[e - n:e] for e, n in zip(ends.tolist(), lengths.ravel().tolist())]
    return out.reshape(lengths.shape)


__all__ = ["MemoryCache", "FileCache"]
