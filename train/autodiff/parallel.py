"""Large matrix products split over keraslite's own threads, each running single-threaded BLAS.

Why not BLAS's own threads: multi-threaded OpenBLAS synchronises its threads by spinning for every product, and
when another process holds a core the spinning thread waits for a descheduled partner. On a busy 2-core machine
a 128x784x512 product then took 30-48 ms instead of 0.9 ms on one thread (bench/RESULTS.md, "BLAS threads in
training"). Here BLAS runs on one thread per call and a large product is cut into row (or column) blocks run by a
small pool that blocks on futures, so a busy machine costs at most the idle core, never a collapse. Every output
element is still one BLAS dot over the whole inner dimension, so the numbers do not depend on the split beyond
the few ulps BLAS's blocking can change.

``set_threads(n)`` is called by ``fit`` (``train/models/threads.py``); until then ``matmul`` is ``np.matmul``.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

# Products below this many multiply-adds run in one call: a hand-off to a pool thread costs ~20-50 us.
MIN_SPLIT_MACS = 4_000_000
MIN_BLOCK = 64  # rows or columns per block: BLAS kernels work on panels of this order

_lock = threading.Lock()
_pool = None
_pool_size = 0
_threads = 1


def set_threads(n: int) -> int:
    """Let ``matmul`` use up to ``n`` threads (1 turns splitting off); returns the previous setting."""
    global _threads
    previous, _threads = _threads, max(1, int(n))
    return previous


def threads() -> int:
    """How many threads ``matmul`` may use now."""
    return _threads


def _executor(n):
    global _pool, _pool_size
    with _lock:
        if _pool is None or _pool_size < n - 1:
            if _pool is not None:
                _pool.shutdown(wait=False)
            _pool, _pool_size = ThreadPoolExecutor(n - 1, thread_name_prefix="keraslite-matmul"), n - 1
        return _pool


def _forget_pool_in_child():
    # a forked child has the pool object but none of its threads
    global _pool, _pool_size
    _pool, _pool_size = None, 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool_in_child)


def matmul(a, b):
    """``a @ b`` for 2-D float arrays; large products run in blocks on up to ``threads()`` threads.

    Example: ``z = matmul(x, kernel)`` inside a training step gives ``x @ kernel``.
    """
    n = _threads
    if n == 1 or a.ndim != 2 or b.ndim != 2:
        return np.matmul(a, b)
    m, k = a.shape
    cols = b.shape[1]
    if m * k * cols < MIN_SPLIT_MACS:
        return np.matmul(a, b)
    along_rows = m >= cols
    length = m if along_rows else cols
    parts = min(n, length // MIN_BLOCK)
    if parts < 2:
        return np.matmul(a, b)
    out = np.empty((m, cols), dtype=np.result_type(a, b))
    edges = [length * i // parts for i in range(parts + 1)]

    def block(lo, hi):
        if along_rows:
            np.matmul(a[lo:hi], b, out=out[lo:hi])
        else:
            np.matmul(a, b[:, lo:hi], out=out[:, lo:hi])

    pool = _executor(parts)
    futures = [pool.submit(block, edges[i], edges[i + 1]) for i in range(1, parts)]
    block(edges[0], edges[1])
    for f in futures:
        f.result()
    return out


__all__ = ["matmul", "set_threads", "threads", "MIN_SPLIT_MACS"]
