"""Numba kernels for the per-step gate arithmetic of the recurrent cells (float32), and the cells that use them.

Per time step the numpy cells make 5-10 small ufunc calls around the recurrent GEMM; these kernels do the same
arithmetic in one pass over the batch (the GEMMs stay with numpy's BLAS), so a step is one GEMM and one kernel
call each way. Activations are the runtime's own row kernel (tanh its clamped rational approximation,
|error| < 4e-7, sigmoid ``0.5 * tanh(x / 2) + 0.5``), so training and serving compute the same numbers. Used
only for float32 and the activations in ``CODES``; anything else (float64 gradient checks included) runs the
numpy cells. Kernels compile on first use and are cached on disk; without Numba ``cell_class`` returns None.
"""
from __future__ import annotations

import threading

import numpy as np

from .recurrent_cells import GRUCell, LSTMCell, SimpleRNNCell

CODES = {"linear": 0, "tanh": 1, "sigmoid": 2, "hard_sigmoid": 3, "hard_sigmoid_keras2": 4, "relu": 5}
_state = {}
_lock = threading.Lock()
_activate = None  # the runtime's jitted activation of a row (same codes), bound by _compile


def _simple_fwd(z, xw, t, act, out, h):
    n, u = z.shape
    for b in range(n):
        ob, xb, zb, hb = out[t, b], xw[t, b], z[b], h[t + 1, b]
        for j in range(u):
            ob[j] = zb[j] + xb[j]
        _activate(ob, act)
        for j in range(u):
            hb[j] = ob[j]


def _d(y, code):
    """d act / dz at output ``y``: every coded activation's derivative reads from its output. Inlined, the branch
    on the loop-invariant code is hoisted out of the loops, which then vectorise."""
    if code == 1:
        return np.float32(1.0) - y * y
    if code == 2:
        return y * (np.float32(1.0) - y)
    if code == 0:
        return np.float32(1.0)
    if code == 5:
        return np.float32(1.0) if y > np.float32(0.0) else np.float32(0.0)
    slope = np.float32(1 / 6) if code == 3 else np.float32(0.2)
    return slope if np.float32(0.0) < y < np.float32(1.0) else np.float32(0.0)


def _simple_back(dh, d_out, out, act, dz):
    n, u = dz.shape
    for b in range(n):
        hb, ob, yb, r = dh[b], d_out[b], out[b], dz[b]
        for j in range(u):
            r[j] = (hb[j] + ob[j]) * _d(yb[j], act)


def _lstm_fwd(z, xw, t, act, ract, gate, tanh_c, h, c):
    """LSTM step ``t`` for every row (``z`` = h[t] @ U); gates in the internal order (i, f, o, c~)."""
    n, g = z.shape
    u = g // 4
    for b in range(n):
        a, zb, xb = gate[t, b], z[b], xw[t, b]
        for j in range(g):
            a[j] = zb[j] + xb[j]
        _activate(a[:3 * u], ract)
        _activate(a[3 * u:], act)
        tc, cp, cn, hn = tanh_c[t, b], c[t, b], c[t + 1, b], h[t + 1, b]
        for j in range(u):
            cn[j] = a[u + j] * cp[j] + a[j] * a[3 * u + j]
        for j in range(u):
            tc[j] = cn[j]
        _activate(tc, act)
        for j in range(u):
            hn[j] = a[2 * u + j] * tc[j]


def _lstm_back(dh, d_out, dc, gate, tanh_c, c_prev, act, ract, dz, dc_prev):
    """One LSTM step backwards: gradients of the four pre-activations and of the previous cell state. Short
    loops over a few rows each, so every one vectorises."""
    n, u = dh.shape
    g = np.empty(u, np.float32)
    dcc = np.empty(u, np.float32)
    for b in range(n):
        a, tc, r = gate[b], tanh_c[b], dz[b]
        hb, ob, cb, cp, dcb = dh[b], d_out[b], dc[b], c_prev[b], dc_prev[b]
        for j in range(u):
            g[j] = hb[j] + ob[j]
        for j in range(u):
            dcc[j] = g[j] * a[2 * u + j] * _d(tc[j], act) + cb[j]
        for j in range(u):
            r[j] = dcc[j] * a[3 * u + j] * _d(a[j], ract)
        for j in range(u):
            r[u + j] = dcc[j] * cp[j] * _d(a[u + j], ract)
        for j in range(u):
            r[2 * u + j] = g[j] * tc[j] * _d(a[2 * u + j], ract)
        for j in range(u):
            r[3 * u + j] = dcc[j] * a[j] * _d(a[3 * u + j], act)
        for j in range(u):
            dcb[j] = dcc[j] * a[u + j]


def _gru_after_fwd(z, xw, t, h, bias_h, act, ract, gate, side):
    """Reset-after GRU step ``t`` (``z`` = h[t] @ U): writes (z, r, h~), h U_h + b_h and the new h."""
    n, g = z.shape
    u = g // 3
    for b in range(n):
        a, s, zb, xb, hp, hn = gate[t, b], side[t, b], z[b], xw[t, b], h[t, b], h[t + 1, b]
        for j in range(2 * u):
            a[j] = zb[j] + xb[j]
        _activate(a[:2 * u], ract)
        for j in range(u):
            s[j] = zb[2 * u + j] + bias_h[j]
        for j in range(u):
            a[2 * u + j] = xb[2 * u + j] + a[u + j] * s[j]
        _activate(a[2 * u:], act)
        for j in range(u):
            hn[j] = a[2 * u + j] + a[j] * (hp[j] - a[2 * u + j])


def _gru_shared_back(g, a, hp, r, db, act, ract):
    """Both GRU forms backwards, one row: the z and candidate pre-activations, and h' -> h directly."""
    u = g.shape[0]
    for j in range(u):
        r[j] = g[j] * (hp[j] - a[2 * u + j]) * _d(a[j], ract)
    for j in range(u):
        r[2 * u + j] = g[j] * (np.float32(1.0) - a[j]) * _d(a[2 * u + j], act)
    for j in range(u):
        db[j] = g[j] * a[j]


def _gru_after_back(dh, d_out, gate, side, h_prev, act, ract, dz, dm, direct):
    n, u = dh.shape
    g = np.empty(u, np.float32)
    for b in range(n):
        a, r, m, sb = gate[b], dz[b], dm[b], side[b]
        hb, ob = dh[b], d_out[b]
        for j in range(u):
            g[j] = hb[j] + ob[j]
        _gru_shared_back(g, a, h_prev[b], r, direct[b], act, ract)
        for j in range(u):
            r[u + j] = r[2 * u + j] * sb[j] * _d(a[u + j], ract)
        for j in range(2 * u):
            m[j] = r[j]
        for j in range(u):
            m[2 * u + j] = r[2 * u + j] * a[u + j]


def _gru_before_gates(z, xw, t, h, ract, gate, side):
    """Reset-before GRU step ``t``, first half: z and r from h @ U_zr, then r * h for the candidate's product."""
    n, g2 = z.shape
    u = g2 // 2
    for b in range(n):
        a, zb, xb, hp, sb = gate[t, b], z[b], xw[t, b], h[t, b], side[t, b]
        for j in range(2 * u):
            a[j] = zb[j] + xb[j]
        _activate(a[:2 * u], ract)
        for j in range(u):
            sb[j] = a[u + j] * hp[j]


def _gru_before_new(zh, xw, t, h, act, gate):
    """Second half: h~ from (r * h) @ U_h, then the new h."""
    n, u = zh.shape
    for b in range(n):
        a, zb, xb, hp, hn = gate[t, b], zh[b], xw[t, b], h[t, b], h[t + 1, b]
        for j in range(u):
            a[2 * u + j] = zb[j] + xb[2 * u + j]
        _activate(a[2 * u:], act)
        for j in range(u):
            hn[j] = a[2 * u + j] + a[j] * (hp[j] - a[2 * u + j])


def _gru_before_back(dh, d_out, gate, h_prev, act, ract, dz, dr, direct):
    """Reset-before GRU backwards, first half: z and candidate pre-activations (r's factor kept in ``dr``)."""
    n, u = dh.shape
    g = np.empty(u, np.float32)
    for b in range(n):
        a, hp, rb = gate[b], h_prev[b], dr[b]
        hb, ob = dh[b], d_out[b]
        for j in range(u):
            g[j] = hb[j] + ob[j]
        _gru_shared_back(g, a, hp, dz[b], direct[b], act, ract)
        for j in range(u):
            rb[j] = hp[j] * _d(a[u + j], ract)


def _gru_before_back_r(drh, dr, gate, dz, direct):
    """Second half, once d(r * h) is known: r's pre-activation and the direct path to the previous h."""
    n, u = drh.shape
    for b in range(n):
        hb, rb, a, r, db = drh[b], dr[b], gate[b], dz[b], direct[b]
        for j in range(u):
            r[u + j] = hb[j] * rb[j]
        for j in range(u):
            db[j] += hb[j] * a[u + j]


def _compile():
    from ...runtime._jit import njit, numba_module

    if numba_module() is None:
        return None
    from ...runtime.kernels import recurrent as runtime_recurrent

    g = globals()
    g["_activate"] = runtime_recurrent._activate_j  # what serving computes, inlined
    g["_d"] = njit(_d, fastmath=True, inline=True)
    g["_gru_shared_back"] = njit(_gru_shared_back, fastmath=True, inline=True)
    names = ("_simple_fwd", "_simple_back", "_lstm_fwd", "_lstm_back", "_gru_after_fwd", "_gru_after_back",
             "_gru_before_gates", "_gru_before_new", "_gru_before_back", "_gru_before_back_r")
    return {name: njit(g[name], fastmath=True) for name in names}


def _kernels():
    with _lock:  # Bidirectional runs its two directions on two threads
        if "k" not in _state:
            _state["k"] = _compile()
    return _state["k"]


class _Jit:
    """Mixin: the kernels take activation codes and derive from the saved outputs as they go, so the numpy
    cells' per-sequence factors (``prepare_backward``) are not needed."""

    k = None

    def __init__(self, steps, batch, units, dtype, recurrent_kernel, recurrent_dropout, acts, *args, **kwargs):
        super().__init__(steps, batch, units, dtype, recurrent_kernel, recurrent_dropout, acts, *args, **kwargs)
        self.codes = tuple(CODES[a.name] for a in acts)
        self.zero = np.zeros((batch, units), np.float32)

    def prepare_backward(self, states):
        self.states = states
        self.dz = np.empty((self.gate if hasattr(self, "gate") else self.out).shape, np.float32)


class JitSimpleRNN(_Jit, SimpleRNNCell):
    def step(self, t, xw, states):
        self.rec.forward(states[0][t], self.z)
        self.k["_simple_fwd"](self.z, xw, t, self.codes[0], self.out, states[0])

    def back(self, t, dnew, d_out=None):
        self.k["_simple_back"](dnew[0], self.zero if d_out is None else d_out, self.out[t], self.codes[0],
                               self.dz[t])
        return [self.rec.backward(self.dz[t])]


class JitLSTM(_Jit, LSTMCell):
    def step(self, t, xw, states):
        self.rec.forward(states[0][t], self.z)
        self.k["_lstm_fwd"](self.z, xw, t, self.codes[0], self.codes[1], self.gate, self.tanh_c, states[0], states[1])

    def back(self, t, dnew, d_out=None):
        dh, dc = dnew
        dc_prev = np.empty_like(dh)
        self.k["_lstm_back"](dh, self.zero if d_out is None else d_out, dc, self.gate[t], self.tanh_c[t],
                             self.states[1][t], self.codes[0], self.codes[1], self.dz[t], dc_prev)
        return [self.rec.backward(self.dz[t]), dc_prev]


class JitGRU(_Jit, GRUCell):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.bias_h is None:
            self.bias_h = np.zeros(self.u, np.float32)
        if not self.reset_after:
            self.zh = np.empty((self.z.shape[0], self.u), np.float32)

    def prepare_backward(self, states):
        super().prepare_backward(states)
        self.dm = np.empty_like(self.dz) if self.reset_after else None
        self.dr = np.empty_like(self.zero)

    def step(self, t, xw, states):
        h = states[0]
        self.rec.forward(h[t], self.z)
        act, ract = self.codes
        if self.reset_after:
            self.k["_gru_after_fwd"](self.z, xw, t, h, self.bias_h, act, ract, self.gate, self.side)
            return
        self.k["_gru_before_gates"](self.z, xw, t, h, ract, self.gate, self.side)
        self.rec_h.forward(self.side[t], self.zh)
        self.k["_gru_before_new"](self.zh, xw, t, h, act, self.gate)

    def back(self, t, dnew, d_out=None):
        dh, d_out = dnew[0], self.zero if d_out is None else d_out
        act, ract = self.codes
        direct = np.empty_like(dh)
        h_prev = self.states[0][t]
        if self.reset_after:
            self.k["_gru_after_back"](dh, d_out, self.gate[t], self.side[t], h_prev, act, ract, self.dz[t],
                                      self.dm[t], direct)
            return [self.rec.backward(self.dm[t]) + direct]
        dz = self.dz[t]
        self.k["_gru_before_back"](dh, d_out, self.gate[t], h_prev, act, ract, dz, self.dr, direct)
        drh = self.rec_h.backward(dz[:, 2 * self.u:])
        self.k["_gru_before_back_r"](drh, self.dr, self.gate[t], dz, direct)
        return [self.rec.backward(dz[:, :2 * self.u]) + direct]


_JIT = {"simple_rnn": JitSimpleRNN, "lstm": JitLSTM, "gru": JitGRU}


def cell_class(kind, dtype, activations):
    """The Numba cell for ``kind`` when it applies (float32, activations with a kernel code), else None."""
    if np.dtype(dtype) != np.float32 or any(a not in CODES for a in activations):
        return None
    kernels = _kernels()
    if kernels is None:
        return None
    cls = _JIT[kind]
    cls.k = kernels
    return cls


__all__ = ["cell_class", "CODES"]
