"""Memory a worker keeps after a large request: hand it back to the system (glibc only; elsewhere nothing to do).

keraslite.runtime raises glibc's mmap and trim thresholds (runtime/_alloc.py) so repeated predicts reuse freed
memory instead of page-faulting. A server also meets rare large requests (a 25 MB body): their arrays would stay
in the heap of the request thread's malloc arena for good, since a thread arena's free top is only given back
above the trim threshold (256 MB there). ``serve_large_from_mmap`` lowers the mmap threshold to MMAP_THRESHOLD,
so blocks that large (a large request's body, its arrays and its answer) are mapped on their own and unmapped when
freed, and the trim threshold to TRIM_THRESHOLD; a small request's blocks still come from the heap. ``give_back_memory`` then releases what the heaps hold free.
Set KERASLITE_MALLOC_TUNE=0 to leave the allocator alone.
"""
from __future__ import annotations

import ctypes
import gc
import os
import sys

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD = 4 << 20
TRIM_THRESHOLD = 8 << 20  # free memory a heap may keep at its top (small requests churn far less)


def _libc():
    if not sys.platform.startswith("linux") or os.environ.get("KERASLITE_MALLOC_TUNE", "1") == "0":
        return None
    try:
        libc = ctypes.CDLL(None)
        return libc if hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt") else None
    except OSError:
        return None


def serve_large_from_mmap() -> bool:
    """Blocks of MMAP_THRESHOLD bytes or more get their own mapping; heaps keep at most TRIM_THRESHOLD free."""
    libc = _libc()
    return bool(libc and libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) and libc.mallopt(M_TRIM_THRESHOLD,
                                                                                       TRIM_THRESHOLD))


def give_back_memory() -> None:
    """After a large request: collect reference cycles (an environ, a traceback), then trim every malloc heap."""
    gc.collect()
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
