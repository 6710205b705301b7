"""Fused in-place update rules: one pass over a variable reads its gradient and slots and writes them back.

Each rule is a pair: a loop (compiled by Numba, one pass, no temporaries) and a numpy version that gives the same
numbers within float32 rounding. A rule is called ``rule(gradient, coefficients, variable, *slots)`` on flat,
C-contiguous arrays of one dtype. The coefficients (learning rate, step, hyperparameters, flags as 0/1) come packed
in one small array of that dtype: one array argument is cheaper for Numba's dispatcher than several scalars. What
depends on the step (bias corrections) is computed at the top of the rule in that dtype, as Keras computes it in
float32; constants Keras computes in Python (``1 - beta_1``) come precomputed. The arithmetic follows the order
Keras 3 writes it in.

``get(name, use_numba)`` hands out either form. Numba is imported only when an optimizer asks for it; by default
(``use_numba``) that is when Numba is already loaded or the model is big enough to repay the import (about 0.7 s
and 100 MiB); ``KERASLITE_DISABLE_NUMBA=1`` always gives the numpy forms. A rule with a form in the runtime's
compiled kernels (``COMPILED``: Adam) uses that one instead of Numba when they are built, so a large model's fit
does not import Numba for it (``KERASLITE_NATIVE=0`` turns that off).
"""
from __future__ import annotations

import os
import sys
import threading

from . import adam, adaptive, descent, ftrl

NUMBA_MIN_PARAMETERS = 65536  # below this, importing Numba (~0.7 s, ~100 MiB) costs more than its kernels save

RULES = {**descent.RULES, **adaptive.RULES, **adam.RULES, **ftrl.RULES}  # name -> (Numba loop, numpy form)
COMPILED = {**adam.COMPILED}  # name -> factory(compiled module) of the rule on the runtime's C kernels
_compiled = {}
_lock = threading.Lock()


def get(name: str, use_numba: bool = True):
    """The update rule ``name``: the Numba loop when Numba is importable and ``use_numba``, else the numpy form."""
    loop, fallback = RULES[name]
    if not use_numba:
        return fallback
    fn = _compiled.get(name)
    if fn is None:
        with _lock:
            fn = _compiled.get(name)
            if fn is None:
                native = _native() if name in COMPILED else None
                if native is not None:
                    fn = _compiled[name] = COMPILED[name](native)
                else:
                    from ....runtime import _jit  # imported here: keraslite.runtime is not needed for numpy forms

                    fn = _compiled[name] = _jit.njit(loop) or fallback
    return fn


def _native():
    """The runtime's compiled kernel module, or None (not built, or ``KERASLITE_NATIVE=0``)."""
    from ....runtime import native

    return native.lib()


def numba_available() -> bool:
    """Whether the loops can run compiled (imports Numba unless ``KERASLITE_DISABLE_NUMBA=1``)."""
    from ....runtime import _jit

    return _jit.numba_module() is not None


def numba_loaded() -> bool:
    """Whether Numba is already imported in this process (then using it costs nothing more); never imports it."""
    return "numba" in sys.modules and os.environ.get("KERASLITE_DISABLE_NUMBA") != "1"


def use_numba(parameters: int, name: str = None) -> bool:
    """The default choice for an optimizer over ``parameters`` numbers: the compiled loops when Numba is already
    loaded, or when the model is large enough that they repay importing it (rule ``name`` in ``COMPILED`` then
    runs on the runtime's C kernels, which cost no import, when those are built)."""
    if numba_loaded():
        return True
    if parameters < NUMBA_MIN_PARAMETERS:
        return False
    return (name in COMPILED and _native() is not None) or numba_available()


__all__ = ["RULES", "get", "numba_available", "numba_loaded", "use_numba", "NUMBA_MIN_PARAMETERS"]
