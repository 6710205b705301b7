"""Large matrix products split over keraslite's own threads, each running single-threaded BLAS.

Why not BLAS's own threads: multi-threaded OpenBLAS synchronises its threads by spinning for every product, and
when another process holds a core the spinning thread waits for a descheduled partner. On a busy 2-core machine
a 128x784x512 product then took 30-48 ms instead of 0.9 ms on one thread (bench/RESULTS.md, "Training"). Here
BLAS runs on one thread per call and a large product is cut into row (or column) blocks run by a small pool; the
calling thread also runs every block that no pool thread has started by the time it is free (``run_all``), so a
busy machine costs at most the idle core, never a collapse or a wait for a thread that was not scheduled. Every
output element is still one BLAS dot over the whole inner dimension, so the numbers do not depend on the split
beyond the few ulps BLAS's blocking can change.

``policy(n)`` holds for the duration of ``fit``/``evaluate``/``predict`` (``train/models/threads.py`` picks ``n``)
and of a ``GradientTape`` block and its ``gradient()`` call (``n = default_threads()``); outside them ``matmul``
is ``np.matmul`` and BLAS has its own settings. ``KERASLITE_TRAIN_THREADS=n`` picks ``n``; a BLAS variable the
user set (``OPENBLAS_NUM_THREADS`` and the like) hands threading back to BLAS, untouched.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

# Products below this many multiply-adds run in one call: a hand-off to a pool thread costs ~20-50 us.
MIN_SPLIT_MACS = 4_000_000
MIN_BLOCK = 64  # rows or columns per block: BLAS kernels work on panels of this order

USER_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
LOCAL_RANKS_VARIABLES = ("MPI_LOCALNRANKS", "OMPI_COMM_WORLD_LOCAL_SIZE", "SLURM_NTASKS_PER_NODE")

_lock = threading.Lock()
_pool = None
_pool_size = 0
_threads = 1
_depth = 0  # nesting of policies (a tape inside fit changes nothing)
_acting = False  # the outermost policy put BLAS on one thread (not when the user's BLAS variables rule)
_controller = None  # threadpoolctl's controller of the BLAS libraries, made once
_local = threading.local()  # .inside: this thread runs a pool task


def set_threads(n: int) -> int:
    """Let ``matmul`` use up to ``n`` threads (1 turns splitting off); returns the previous setting."""
    global _threads
    previous, _threads = _threads, max(1, int(n))
    return previous


def threads() -> int:
    """How many threads ``matmul`` may use now."""
    return _threads


def policy_threads():
    """Inside a ``policy`` that acts, the threads it gives to products (other compiled kernels should use as
    many); None elsewhere, and when BLAS variables the user set hand threading back to BLAS."""
    return _threads if _acting else None


def default_threads() -> int:
    """``KERASLITE_TRAIN_THREADS``, else the cores this process may run on divided by the MPI ranks on its host."""
    wanted = os.environ.get("KERASLITE_TRAIN_THREADS")
    if wanted:
        try:
            return max(1, int(wanted))
        except ValueError:
            from ...errors import KerasliteError

            raise KerasliteError(f"KERASLITE_TRAIN_THREADS must be a whole number of threads, got {wanted!r}; "
                                 "unset it to let keraslite choose") from None
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    for var in LOCAL_RANKS_VARIABLES:
        value = os.environ.get(var, "")
        if value.isdigit() and int(value) > 0:
            return max(1, cores // int(value))
    return cores


def _blas_libraries():
    global _controller
    if _controller is None:
        try:
            import threadpoolctl
        except ImportError:
            return None
        _controller = threadpoolctl.ThreadpoolController().select(user_api="blas")
    return _controller


class policy:
    """BLAS on one thread and large products split over ``n`` threads (default ``default_threads()``) inside.

    Re-entrant: only the outermost one acts, and it restores BLAS's thread counts when it ends.
    Example: ``with policy(2): z = matmul(x, w)``.
    """

    def __init__(self, n=None):
        self.n, self._restore = n, None

    def __enter__(self):
        global _depth, _threads, _acting
        with _lock:
            _depth += 1
            if _depth > 1:
                return self
        handed_to_blas = (not os.environ.get("KERASLITE_TRAIN_THREADS")
                          and any(os.environ.get(v) for v in USER_VARIABLES))
        libraries = None if handed_to_blas else _blas_libraries()
        counts = [(lib, lib.num_threads) for lib in libraries.lib_controllers] if libraries is not None else []
        threads_before = _threads
        if libraries is not None:
            _threads = default_threads() if self.n is None else max(1, int(self.n))
            for lib, _ in counts:
                lib.set_num_threads(1)
            _acting = True
        self._restore = (threads_before, counts)
        return self

    def __exit__(self, *exc):
        global _depth, _threads, _acting
        with _lock:
            _depth -= 1
            if self._restore is not None:
                _threads, counts = self._restore
                _acting = False
                for lib, count in counts:
                    lib.set_num_threads(count)
                self._restore = None
        return False


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


def _task(fn):
    """``fn`` as run by a pool thread: products it makes stay on that thread (no nested split)."""
    def run():
        _local.inside = True
        try:
            return fn()
        finally:
            _local.inside = False
    return run


def run_all(fns):
    """Call every function of ``fns`` (no arguments) and return their results in order: the first here, the others
    offered to the pool; whatever no pool thread has started by the time this thread is free runs here too.

    Why: a pool thread may not get a core for milliseconds on a busy machine, and waiting for one that has not
    started would cost more than doing its work (only a started task is waited for).
    Example: ``gx, gk = run_all([lambda: dz @ w.T, lambda: x.T @ dz])``.
    """
    if len(fns) == 1 or _threads == 1 or getattr(_local, "inside", False):
        return [fn() for fn in fns]
    pool = _executor(min(_threads, len(fns)))
    futures = [pool.submit(_task(fn)) for fn in fns[1:]]
    results = [None] * len(fns)
    try:
        results[0] = fns[0]()
        for i, future in enumerate(futures, 1):
            if future.cancel():
                results[i] = fns[i]()
    finally:  # on an error too: no task may still write into an output the caller drops
        for future in futures:
            future.cancel()
        for i, future in enumerate(futures, 1):
            if not future.cancelled():
                results[i] = future.result()
    return results


def matmul_tasks(a, b, out=None):
    """``(out, tasks)`` for 2-D ``a @ b`` (into ``out`` when given): running every task, in any order and on any
    threads, fills ``out``.

    The blocks depend only on the shapes and ``threads()``, never on which thread runs one, so the numbers are
    the same from run to run. Example: ``out, tasks = matmul_tasks(x.T, dz); run_all(tasks)``.
    """
    m, k = a.shape
    cols = b.shape[1]
    out = np.empty((m, cols), dtype=np.result_type(a, b)) if out is None else out
    along_rows = m >= cols
    length = m if along_rows else cols
    parts = min(_threads, length // MIN_BLOCK) if m * k * cols >= MIN_SPLIT_MACS else 1
    if parts < 2:
        return out, [lambda: np.matmul(a, b, out=out)]
    edges = [length * i // parts for i in range(parts + 1)]

    def block(lo, hi):
        if along_rows:
            return lambda: np.matmul(a[lo:hi], b, out=out[lo:hi])
        return lambda: np.matmul(a, b[:, lo:hi], out=out[:, lo:hi])

    return out, [block(edges[i], edges[i + 1]) for i in range(parts)]


def matmul(a, b, out=None):
    """``a @ b`` for 2-D float arrays (into ``out`` when given); large products run in blocks on up to
    ``threads()`` threads.

    Example: ``z = matmul(x, kernel)`` inside a training step gives ``x @ kernel``.
    """
    if _threads == 1 or a.ndim != 2 or b.ndim != 2 or getattr(_local, "inside", False):
        return np.matmul(a, b, out=out)
    out, tasks = matmul_tasks(a, b, out)
    run_all(tasks)  # one task (a small product) runs here
    return out


__all__ = ["matmul", "matmul_tasks", "run_all", "policy", "policy_threads", "default_threads", "set_threads",
           "threads", "MIN_SPLIT_MACS"]
