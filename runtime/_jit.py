"""Numba, imported only when a plan needs a jitted kernel; a numpy fallback with one warning when it is missing.

Threading choice: every kernel is serial (no ``parallel=True``), so Numba never starts a thread pool of its own.
That is safe for concurrent ``predict`` calls from many threads (Numba's workqueue layer is not) and under
gunicorn's fork (no OpenMP/TBB pool exists in the parent to be inherited half-initialised). Parallelism comes from
serving several requests at once, and GEMMs go to numpy's BLAS.
"""
import importlib.util
import os
import threading
import warnings

_lock = threading.Lock()
_state = {"checked": False, "numba": None, "warned": False}


def numba_module():
    """The numba module, or None when it cannot be imported (warns once per process)."""
    if _state["checked"]:
        return _state["numba"]
    with _lock:
        if not _state["checked"]:
            module = None
            if os.environ.get("KERASLITE_DISABLE_NUMBA") != "1":
                try:
                    import numba as module  # noqa: F811
                except Exception:  # a broken or absent wheel: run on numpy instead
                    module = None
            _state["numba"] = module
            _state["checked"] = True
            if module is None:
                warn_no_numba()
    return _state["numba"]


def numba_loaded() -> bool:
    """Whether a plan in this process has already imported Numba (never imports it)."""
    return _state["checked"] and _state["numba"] is not None


def numba_installed() -> bool:
    """Whether numba looks importable, without importing it (cheap)."""
    if os.environ.get("KERASLITE_DISABLE_NUMBA") == "1":
        return False
    try:
        return importlib.util.find_spec("numba") is not None
    except (ImportError, ValueError):
        return False


def warn_no_numba():
    """Warn, once per process, that kernels run on plain numpy."""
    if not _state["warned"]:
        _state["warned"] = True
        warnings.warn("keraslite.runtime: numba is not importable; running on numpy kernels (slower). "
                      "Install numba (`pip install numba`) for full speed.", RuntimeWarning, stacklevel=3)


def njit(fn, fastmath=False, inline=False):
    """``numba.njit(cache=True, nogil=True, error_model="numpy")`` of ``fn``, or None without numba.

    ``error_model="numpy"`` drops the division-by-zero checks that stop LLVM from vectorising loops with divisions;
    ``fastmath`` and ``inline="always"`` on request.
    """
    numba = numba_module()
    if numba is None:
        return None
    if inline:
        return numba.njit(cache=True, inline="always", fastmath=fastmath, error_model="numpy")(fn)
    return numba.njit(cache=True, nogil=True, fastmath=fastmath, error_model="numpy")(fn)
