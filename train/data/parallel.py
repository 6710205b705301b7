"""The two threaded stages of a Dataset: ``map`` over worker threads (results kept in order) and ``prefetch``
(a background thread filling a bounded queue). Both stop their threads when the consumer stops iterating, and
re-raise a worker's exception in the consumer."""
from __future__ import annotations

import collections
import os
import queue
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterator

AUTOTUNE = -1


def workers(num_parallel_calls) -> int:
    """Threads for ``num_parallel_calls`` (AUTOTUNE: one per core)."""
    if num_parallel_calls is None:
        return 1
    if num_parallel_calls == AUTOTUNE:
        return max(1, os.cpu_count() or 1)
    return max(1, int(num_parallel_calls))


def parallel_map(source: Iterator, fn: Callable, threads: int) -> Iterator:
    """``fn`` of every element of ``source``, computed ``threads`` at a time, yielded in source order."""
    if threads <= 1:
        for item in source:
            yield fn(item)
        return
    pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="keraslite-map")
    pending = collections.deque()
    try:
        for item in source:
            pending.append(pool.submit(fn, item))
            if len(pending) >= 2 * threads:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        for future in pending:
            future.cancel()
        pool.shutdown(wait=False)


_DONE = object()


class _Failure:
    __slots__ = ("error",)

    def __init__(self, error):
        self.error = error


def prefetch(source_factory: Callable[[], Iterator], size: int) -> Iterator:
    """Elements of ``source_factory()`` produced by a background thread up to ``size`` ahead of the consumer."""
    buffer: queue.Queue = queue.Queue(maxsize=max(1, size))
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                buffer.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce():
        try:
            for item in source_factory():
                if not put(item):
                    return
            put(_DONE)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            put(_Failure(exc))

    thread = threading.Thread(target=produce, name="keraslite-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item = buffer.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # let a blocked put() see the stop flag
            try:
                buffer.get_nowait()
            except queue.Empty:
                thread.join(0.05)


__all__ = ["AUTOTUNE", "workers", "parallel_map", "prefetch"]
