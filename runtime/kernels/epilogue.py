"""Bias + relu/relu6 over a GEMM output in one jitted pass; used only by plans that have loaded Numba already."""
import numpy as np

from .._jit import njit

CODES = {"linear": 0, "relu": 1, "relu6": 2}


def _bias_act(y, bias, act):
    """``y`` (rows, F) += ``bias`` (F,), then activation ``act`` (CODES), in place."""
    rows, f = y.shape
    for i in range(rows):
        r = y[i]
        if act == 0:
            for j in range(f):
                r[j] += bias[j]
        elif act == 1:
            for j in range(f):
                r[j] = max(r[j] + bias[j], np.float32(0.0))
        else:
            for j in range(f):
                r[j] = min(max(r[j] + bias[j], np.float32(0.0)), np.float32(6.0))


bias_act = njit(_bias_act, fastmath=True)
