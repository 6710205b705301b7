"""A request body handed from keraslite's worker to the app once, so its memory goes as soon as it is decoded.

The worker reads the whole body before the app runs and passes it as ``environ["keraslite.body"]``. Were it a
plain bytearray, the event loop, the request thread, the environ and ``wsgi.input`` would all keep it alive until
the answer is written, and a 15 MB body would sit beside the 25 MB array decoded from it during the predict.
``take`` hands the bytes over and forgets them; ``wsgi.input`` reads through the same object.
"""
from __future__ import annotations


class HandedBody:
    """The bytes of a body, given away by ``take`` (once); ``len`` stays the body's size."""

    __slots__ = ("_data", "_size")

    def __init__(self, data):
        self._data, self._size = data, len(data)

    def __len__(self) -> int:
        return self._size

    def take(self):
        data, self._data = self._data, None
        return data if data is not None else b""


def take_body(value):
    """The bytes of ``environ["keraslite.body"]``: a HandedBody (taken) or plain bytes (as the tests pass)."""
    return value.take() if isinstance(value, HandedBody) else value


class BodyStream:
    """``wsgi.input`` over a HandedBody: reading takes the body (whoever decodes it first has it)."""

    def __init__(self, body: HandedBody):
        self._body, self._view, self._pos = body, None, 0

    def _data(self) -> memoryview:
        if self._view is None:
            self._view = memoryview(self._body.take())
        return self._view

    def read(self, size=-1) -> bytes:
        view = self._data()
        end = len(view) if size is None or size < 0 else min(len(view), self._pos + size)
        data, self._pos = bytes(view[self._pos:end]), end
        return data

    def readline(self, size=-1) -> bytes:
        view = self._data()
        rest = view[self._pos:] if size is None or size < 0 else view[self._pos:self._pos + size]
        cut = bytes(rest).find(b"\n")
        return self.read(cut + 1 if cut >= 0 else len(rest))

    def readlines(self, hint=-1):
        return list(iter(self.readline, b""))

    def __iter__(self):
        return iter(self.readline, b"")
