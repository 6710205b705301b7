"""The compiled kernels (``keraslite.runtime._ckernels``, built from ``runtime/csrc`` at install time when a C
compiler is present), their thread count, and weight packing.

Why C and not only Numba: the compiled module loads in a millisecond and a few hundred KiB, where importing Numba
costs ~0.5 s and ~90 MiB per process, and its GEMM keeps the weights packed from load time on (BLAS re-packs them
on every call, which dominates small-batch convolutions). The build is optional: without a compiler, or with
``KERASLITE_NATIVE=0``, plans use the Numba kernels, then numpy; a build that is missing or does not load is
logged once (logger ``keraslite.runtime``), never raised.

Threads: ``KERASLITE_NUM_THREADS``, else ``OMP_NUM_THREADS`` / ``OPENBLAS_NUM_THREADS`` (what ``keraslite serve``
sets per worker), else the CPUs this process may run on. ``KERASLITE_ISA`` (``avx512``, ``avx2``, ``base``) pins
the kernel variant, for tests and benchmarks.
"""
import logging
import math
import os
import threading

import numpy as np

log = logging.getLogger("keraslite.runtime")

# Activation codes of the compiled epilogues (runtime/csrc/kl.h).
ACT = {"linear": 0, "relu": 1, "relu6": 2, "tanh": 3, "sigmoid": 4, "hard_sigmoid": 5, "hard_sigmoid_keras2": 6,
       "swish": 7, "silu": 7, "hard_swish": 8, "hard_silu": 8, "softsign": 9}

_lock = threading.Lock()
_state = {}


def _env_threads():
    for var in ("KERASLITE_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        value = os.environ.get(var, "").strip()
        if value.isdigit() and int(value) > 0:
            return int(value)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _load():
    """The compiled module with its ISA and threads set, or None with the reason logged once (never raises)."""
    if os.environ.get("KERASLITE_NATIVE", "1") == "0":
        return None
    try:
        from . import _ckernels as module
    except Exception as exc:  # not built (no compiler at install), or a broken build: Numba / numpy instead
        log.warning("keraslite.runtime: compiled kernels unavailable (%s: %s); using the Numba / numpy kernels, "
                    "same results, slower (reinstall with a C compiler present to get them)", type(exc).__name__, exc)
        return None
    isa = os.environ.get("KERASLITE_ISA")
    if isa and not module._select_isa(isa):  # do not run a variant other than the one asked for
        log.warning("keraslite.runtime: KERASLITE_ISA=%s is not available on this CPU or build (best: %s); using "
                    "the Numba / numpy kernels", isa, module.isa())
        return None
    module.set_threads(_env_threads())
    return module


def lib():
    """The compiled kernel module, or None (not built, disabled by ``KERASLITE_NATIVE=0``, or failed to load)."""
    if "lib" in _state:
        return _state["lib"]
    with _lock:
        if "lib" not in _state:
            _state["lib"] = _load()
    return _state["lib"]


def set_num_threads(n):
    """Threads each compiled kernel may use (1 = serial)."""
    module = lib()
    if module is not None:
        module.set_threads(int(n))


def pack(w, groups=1):
    """``w`` (..., groups*F), its leading axes flattened as the K rows (any strides: a flipped or transposed view
    is read in place), as the compiled GEMM's panels: per group, NR columns at a time over the K rows, zero-padded
    to whole panels. Compiled (one pass, on the kernels' threads) for float32; ``pack_numpy`` is the same layout in
    numpy, the reference. Training packs its kernels with it on every call (they change every step)."""
    module = lib()
    if w.dtype != np.float32:
        w = w.astype(np.float32)
    f = w.shape[-1] // groups
    panels = -(-f // module.nr())
    out = np.empty(groups * panels * math.prod(w.shape[:-1]) * module.nr(), np.float32)
    module.pack(w, out, groups)
    return out


def pack_numpy(w, groups=1):
    """``pack`` in numpy (the reference of the compiled one; the layout is the current ISA's)."""
    nr = lib().nr()
    f = w.shape[-1] // groups
    panels = -(-f // nr)
    out = (np.empty if f % nr == 0 else np.zeros)((groups, panels) + w.shape[:-1] + (nr,), np.float32)
    for g in range(groups):
        for p in range(panels):
            lo = g * f + p * nr
            hi = min(lo + nr, (g + 1) * f)
            out[g, p, ..., :hi - lo] = w[..., lo:hi]
    return out.reshape(-1)


def act_code(name):
    """The epilogue code of activation ``name``, or None when the kernels do not have it."""
    return ACT.get(name)
