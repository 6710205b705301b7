"""Grow-only temporary arrays for the numpy forms of the rules (per thread, per dtype)."""
from __future__ import annotations

import threading

import numpy as np

_local = threading.local()


def scratch(size, dtype, count=1):
    """``count`` temporary flat arrays of ``size`` (grow-only buffer per thread and dtype), for the numpy forms."""
    views = getattr(_local, "views", None)
    if views is None:
        views = _local.views = {}
        _local.buffers = {}
    key = (dtype.char, size, count)
    out = views.get(key)
    if out is None:
        buf = _local.buffers.get(dtype.char)
        if buf is None or buf.shape[1] < size:
            buf = _local.buffers[dtype.char] = np.empty((3, max(size, 1024)), dtype)
            views.clear()  # views of the old buffer stay valid but keep it alive; drop them
        out = views[key] = [buf[i, :size] for i in range(count)]
    return out


__all__ = ["scratch"]
