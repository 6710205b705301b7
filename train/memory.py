"""Freed memory kept for the next batch: glibc's malloc settings for a process that trains.

A training step allocates the same large temporaries every batch (a convolution's windows, activations,
gradients: tens of MiB for a convnet at batch 128). glibc hands each allocation above its mmap threshold (128 KiB
at first, raised as such blocks are freed, up to 32 MiB) fresh pages from the kernel and gives them back when it is
freed, and it trims the top of its heap once more than its trim threshold is free there. Each batch then takes a page
fault for every 4 KiB it writes: the MNIST convnet of bench/train.py (``mnist_cnn``) took 5,000 faults and 12-14 ms
of kernel time in a 26 ms step. ``keep_freed()``, called when a fit, evaluate or predict starts, raises the mmap
threshold to its maximum (32 MiB) and the trim threshold to 1 GiB, once per process: freed blocks stay in the heap
and serve the next batch (no faults; that epoch 0.65-0.75 -> 0.49 s). The cost is that the process keeps the heap
of its largest step until it exits, as TensorFlow's and PyTorch's caching allocators keep theirs.

Left alone when the user tuned malloc (``MALLOC_MMAP_THRESHOLD_``, ``MALLOC_TRIM_THRESHOLD_``, ``GLIBC_TUNABLES``),
with ``KERASLITE_KEEP_FREED_MEMORY=0``, and off glibc.
"""
from __future__ import annotations

import os
import sys
import threading

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # mallopt's parameter numbers (malloc.h)
MMAP_THRESHOLD = 32 << 20  # glibc's largest on 64-bit systems (it refuses more)
TRIM_THRESHOLD = 1 << 30
USER_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES")

_lock = threading.Lock()
_state = {"done": False, "applied": False}


def keep_freed() -> bool:
    """Set glibc's thresholds as the module docstring says (once); whether they are set."""
    with _lock:
        if not _state["done"]:
            _state["done"] = True
            _state["applied"] = _apply()
        return _state["applied"]


def _apply() -> bool:
    if (not sys.platform.startswith("linux") or os.environ.get("KERASLITE_KEEP_FREED_MEMORY") == "0"
            or any(os.environ.get(v) for v in USER_SETTINGS)):
        return False
    import ctypes

    try:
        libc = ctypes.CDLL(None)  # the C library this process runs on
        libc.gnu_get_libc_version  # glibc only: musl's mallopt does nothing
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))


__all__ = ["keep_freed"]
