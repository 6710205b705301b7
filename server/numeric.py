"""Large arrays of numbers in a JSON body, read into one typed numpy array without a list per row.

A JSON parser turns ``[[0.5, 1, ...], ...]`` into Python lists of Python numbers, about 16 times the size of the
text: a 25 MB request took a worker from 59 MB to 426 MB. Bodies of LARGE bytes or more are first searched for
spans that hold only brackets, commas, whitespace and number characters (``find_spans``); each such span is kept
as a ``NumericText`` and the rest of the body, a few hundred bytes, is decoded as usual. When the server knows
which input (and dtype) a span is for, ``NumericText.to_array`` parses it a few hundred kilobytes of rows at a time
into a preallocated array of that dtype, so the Python objects alive at once stay small. Syntax, raggedness and
range are checked exactly as for small bodies, with the same messages.
"""
from __future__ import annotations

import re
from typing import Callable, List, Optional, Tuple

import numpy as np

from . import jsonio

LARGE = 1 << 20  # bodies smaller than this are decoded in one go (at most ~16 MB of objects)
MIN_SPAN = 64 << 10  # numeric spans shorter than this stay in the ordinary decode
CHUNK = 256 << 10  # bytes of text parsed at a time (~4 MB of Python objects)
WINDOW = 1 << 20  # bytes scanned per numpy pass when finding a span's end and its row boundaries
_CHARS = rb"\[\],\s0-9eE.+-"
# A maximal run of number-array characters: the look-behind makes each run start only once (linear time).
_RUN = re.compile(rb"(?<![%s])[%s]{%d,}" % (_CHARS, _CHARS, MIN_SPAN))
_OPEN = re.compile(rb"\[")
_EMPTY = re.compile(rb"\s*\]")
_DELTA = np.zeros(256, np.int8)
_DELTA[ord("[")], _DELTA[ord("]")] = 1, -1
_COMMA = ord(",")


class NumericText:
    """A JSON array of numbers left as text: ``rows`` top-level entries in ``buf[start:end]``."""

    __slots__ = ("buf", "start", "end", "rows", "splits")

    def __init__(self, buf, start: int, end: int, rows: int, splits: List[int]):
        self.buf, self.start, self.end, self.rows, self.splits = buf, start, end, rows, splits

    def __repr__(self):
        return f"<array of {self.rows} entries, {self.end - self.start} bytes>"

    def to_array(self, dtype, what: str, convert: Callable, before_alloc: Optional[Callable] = None) -> np.ndarray:
        """The array as ``dtype``; ``convert(lists, dtype, what, first_row)`` makes each chunk's array and checks it.

        ``before_alloc(shape)`` may refuse the shape (too many rows) before the output is allocated.
        """
        view = memoryview(self.buf)
        bounds = [self.start + 1] + [s + 1 for s in self.splits]
        ends = list(self.splits) + [self.end - 1]
        out, row = None, 0
        for first, last in zip(bounds, ends):
            text = b"".join((b"[", view[first:last], b"]"))
            try:
                values = jsonio.loads(text)
            except ValueError as exc:
                raise MalformedSpan(exc, first - 1) from None
            part = convert(values, dtype, what, row)
            if out is None:
                if part.ndim == 0 or part.shape[0] == 0:
                    return part
                shape = (self.rows,) + part.shape[1:]
                if before_alloc is not None:
                    before_alloc(shape)
                out = np.empty(shape, dtype=part.dtype)
            elif part.shape[1:] != out.shape[1:]:
                raise Ragged(next(axis for axis, (a, b) in enumerate(zip(part.shape, out.shape)) if axis and a != b)
                             if part.ndim == out.ndim else None)
            out[row:row + part.shape[0]] = part
            row += part.shape[0]
        del view
        self.buf = None  # parsed: the request's bytes need not outlive this
        return out


class MalformedSpan(ValueError):
    """A syntax error inside a numeric span; ``offset`` maps the chunk's positions back to the body."""

    def __init__(self, exc: ValueError, offset: int):
        super().__init__(str(exc))
        self.exc, self.offset = exc, offset


class Ragged(ValueError):
    """Rows of one span whose lengths differ along ``axis`` (None when their ranks differ)."""

    def __init__(self, axis: Optional[int]):
        super().__init__(f"ragged along axis {axis}")
        self.axis = axis


def scan(buf, start: int, stop: int) -> Optional[Tuple[int, int, List[int]]]:
    """From the ``[`` at ``buf[start]``: ``(end, rows, splits)`` of the array it opens, None if it does not close.

    ``end`` is one past its ``]``, ``rows`` its number of entries and ``splits`` the positions of some of its
    top-level commas, about CHUNK bytes apart, where the text can be cut into whole rows.
    """
    data = np.frombuffer(buf, np.uint8)
    depth, commas, splits, next_split, pos = 0, 0, [], start + CHUNK, start
    while pos < stop:
        seg = data[pos:min(pos + WINDOW, stop)]
        dep = np.cumsum(_DELTA[seg], dtype=np.int32)
        dep += depth
        closed = np.flatnonzero(dep == 0)
        n = int(closed[0]) + 1 if closed.size else seg.size
        at = np.flatnonzero((seg[:n] == _COMMA) & (dep[:n] == 1))
        commas += at.size
        if at.size:
            at += pos
            while next_split <= at[-1]:
                cut = int(at[np.searchsorted(at, next_split)])
                splits.append(cut)
                next_split = cut + CHUNK
        if closed.size:
            end = pos + n
            empty = commas == 0 and _EMPTY.match(buf, start + 1) is not None
            return end, 0 if empty else commas + 1, splits
        depth = int(dep[-1])
        pos += seg.size
    return None


def find_spans(buf) -> Tuple[List[NumericText], bool]:
    """The numeric arrays of at least MIN_SPAN bytes in ``buf``, and whether the body ends inside one."""
    spans, truncated = [], False
    for run in _RUN.finditer(buf):
        pos, stop = run.start(), run.end()
        while True:
            opening = _OPEN.search(buf, pos, stop)
            if opening is None or stop - opening.start() < MIN_SPAN:
                break
            pos = opening.start()
            closed = scan(buf, pos, stop)
            if closed is None:
                truncated = truncated or stop == len(buf)
                break
            end, rows, splits = closed
            if end - pos >= MIN_SPAN:
                spans.append(NumericText(buf, pos, end, rows, splits))
            pos = end
    return spans, truncated
