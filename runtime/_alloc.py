"""Keep freed array memory in the process (glibc only), like onnxruntime's arena, so predict does not page-fault.

Every layer allocates its output; with glibc's defaults, blocks above the (dynamic) mmap threshold come from fresh
``mmap`` pages and go back to the OS when freed, so each predict pays a page fault per 4 KiB touched (costly on VMs,
up to a third of a small CNN's latency). ``tune()`` raises the mmap and trim thresholds once per process so those
blocks are recycled from the heap instead. Training needs it as much: a fit calls ``tune()`` when it starts (the
MNIST convnet of bench/train.py took ~5,000 page faults and 10-14 ms of kernel time in a 17 ms step without it).
Set ``KERASLITE_MALLOC_TUNE=0`` to leave the allocator alone; a user's own glibc malloc settings
(``MALLOC_MMAP_THRESHOLD_``, ``MALLOC_TRIM_THRESHOLD_``, malloc tunables in ``GLIBC_TUNABLES``) are left alone too.
"""
import ctypes
import os
import sys
import threading

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD = 32 << 20  # glibc's maximum on 64-bit
TRIM_THRESHOLD = 256 << 20  # keep up to this much freed memory at the top of the heap
_done = []
_lock = threading.Lock()


def _user_tuned() -> bool:
    return bool(os.environ.get("MALLOC_MMAP_THRESHOLD_") or os.environ.get("MALLOC_TRIM_THRESHOLD_")
                or "glibc.malloc." in os.environ.get("GLIBC_TUNABLES", ""))


def tune() -> bool:
    """Apply the thresholds once; True when glibc accepted them."""
    if _done:
        return _done[0]
    with _lock:
        if not _done:
            ok = False
            if (sys.platform.startswith("linux") and os.environ.get("KERASLITE_MALLOC_TUNE", "1") != "0"
                    and not _user_tuned()):
                try:
                    libc = ctypes.CDLL(None)  # the running process: its libc symbols
                    ok = bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
                        libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
                except (OSError, AttributeError):  # not glibc (musl, ...): nothing to tune
                    ok = False
            _done.append(ok)
    return _done[0]
