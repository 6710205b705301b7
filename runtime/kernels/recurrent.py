"""Recurrences of SimpleRNN, LSTM and GRU: one Numba call runs every time step (numpy per-step loop without it).

The input projection ``x @ kernel + bias`` for all steps is one BLAS GEMM done by the caller; these kernels only do
the sequential part (``h @ recurrent_kernel`` and the gates), updating ``h`` (and ``c``) in place and writing every
step's ``h`` into ``seq``.
"""
import math

import numpy as np

from .._jit import numba_module
from .activations import get as _np_activation

# Activation codes understood by the jitted kernels.
CODES = {"linear": 0, "tanh": 1, "sigmoid": 2, "hard_sigmoid": 3, "hard_sigmoid_keras2": 4, "relu": 5}


def _act(v, code):
    if code == 1:
        return math.tanh(v)
    if code == 2:
        return 1.0 / (1.0 + math.exp(-v))
    if code == 3:
        return min(max(v + 3.0, 0.0), 6.0) / 6.0
    if code == 4:
        return min(max(0.2 * v + 0.5, 0.0), 1.0)
    if code == 5:
        return max(v, 0.0)
    return v


def _simple(xw, U, act, h, seq):
    n, steps, u = xw.shape
    z = np.empty(u, np.float32)
    for b in range(n):
        for t in range(steps):
            z[:] = xw[b, t]
            for k in range(u):
                hk = h[b, k]
                for j in range(u):
                    z[j] += hk * U[k, j]
            for j in range(u):
                h[b, j] = _act_j(z[j], act)
            seq[b, t] = h[b]


def _lstm(xw, U, act, ract, h, c, seq):
    n, steps, g = xw.shape
    u = g // 4
    z = np.empty(g, np.float32)
    for b in range(n):
        for t in range(steps):
            z[:] = xw[b, t]
            for k in range(u):
                hk = h[b, k]
                for j in range(g):
                    z[j] += hk * U[k, j]
            for j in range(u):
                i = _act_j(z[j], ract)
                f = _act_j(z[u + j], ract)
                cand = _act_j(z[2 * u + j], act)
                o = _act_j(z[3 * u + j], ract)
                c[b, j] = f * c[b, j] + i * cand
                h[b, j] = o * _act_j(c[b, j], act)
            seq[b, t] = h[b]


def _gru(xw, U, rbias, act, ract, reset_after, h, seq):
    n, steps, g = xw.shape
    u = g // 3
    hz = np.empty(g, np.float32)
    rh = np.empty(u, np.float32)
    r = np.empty(u, np.float32)
    for b in range(n):
        for t in range(steps):
            x = xw[b, t]
            width = g if reset_after else 2 * u
            hz[:] = rbias
            for k in range(u):
                hk = h[b, k]
                for j in range(width):
                    hz[j] += hk * U[k, j]
            for j in range(u):
                r[j] = _act_j(x[u + j] + hz[u + j], ract)
            if not reset_after:
                for k in range(u):
                    rh[k] = r[k] * h[b, k]
                for j in range(2 * u, g):
                    hz[j] = rbias[j]
                for k in range(u):
                    rk = rh[k]
                    for j in range(2 * u, g):
                        hz[j] += rk * U[k, j]
            for j in range(u):
                zj = _act_j(x[j] + hz[j], ract)
                if reset_after:
                    cand = _act_j(x[2 * u + j] + r[j] * hz[2 * u + j], act)
                else:
                    cand = _act_j(x[2 * u + j] + hz[2 * u + j], act)
                h[b, j] = zj * h[b, j] + (1.0 - zj) * cand
            seq[b, t] = h[b]


_numba = numba_module()
if _numba is not None:
    _act_j = _numba.njit(cache=True, inline="always")(_act)
    simple_jit = _numba.njit(cache=True, nogil=True)(_simple)
    lstm_jit = _numba.njit(cache=True, nogil=True)(_lstm)
    gru_jit = _numba.njit(cache=True, nogil=True)(_gru)
else:
    simple_jit = lstm_jit = gru_jit = None


def simple_numpy(xw, U, act, h, seq):
    """SimpleRNN recurrence on numpy; ``act`` is an activation name."""
    f = _np_activation(act)
    for t in range(xw.shape[1]):
        h[:] = f(xw[:, t] + h @ U)
        seq[:, t] = h


def lstm_numpy(xw, U, act, ract, h, c, seq):
    """LSTM recurrence on numpy; activations by name."""
    fa, fr = _np_activation(act), _np_activation(ract)
    u = h.shape[1]
    for t in range(xw.shape[1]):
        z = xw[:, t] + h @ U
        i, f, o = fr(z[:, :u]), fr(z[:, u:2 * u]), fr(z[:, 3 * u:])
        c[:] = f * c + i * fa(z[:, 2 * u:3 * u])
        h[:] = o * fa(c)
        seq[:, t] = h


def gru_numpy(xw, U, rbias, act, ract, reset_after, h, seq):
    """GRU recurrence on numpy; activations by name."""
    fa, fr = _np_activation(act), _np_activation(ract)
    u = h.shape[1]
    for t in range(xw.shape[1]):
        x = xw[:, t]
        if reset_after:
            hz = h @ U + rbias
            z, r = fr(x[:, :u] + hz[:, :u]), fr(x[:, u:2 * u] + hz[:, u:2 * u])
            cand = fa(x[:, 2 * u:] + r * hz[:, 2 * u:])
        else:
            hz = h @ U[:, :2 * u]
            z, r = fr(x[:, :u] + hz[:, :u]), fr(x[:, u:2 * u] + hz[:, u:2 * u])
            cand = fa(x[:, 2 * u:] + (r * h) @ U[:, 2 * u:])
        h[:] = z * h + (1.0 - z) * cand
        seq[:, t] = h
