"""Numba kernels for the per-step gate arithmetic of the recurrent cells (float32), and the cells that use them.

Per time step the numpy cells make 5-10 small ufunc calls around the recurrent GEMM; these kernels do the same
arithmetic in one pass over the batch (the GEMMs stay with numpy's BLAS), so a step is one GEMM and one kernel
call each way. tanh is the runtime's clamped rational approximation (|error| < 4e-7) and sigmoid is
``0.5 * tanh(x / 2) + 0.5``, the form the runtime uses, so training and serving agree. Used only for float32 and
the activations below; anything else (float64 gradient checks included) runs the numpy cells. Kernels compile
on first use and are cached on disk; without Numba ``cell_class`` returns None.
"""
from __future__ import annotations

import numpy as np

from .recurrent_cells import GRUCell, LSTMCell, SimpleRNNCell

CODES = {"linear": 0, "tanh": 1, "sigmoid": 2, "hard_sigmoid": 3, "hard_sigmoid_keras2": 4, "relu": 5}
_state = {}
_tanh = None  # the runtime's jitted tanh, bound by _compile before any kernel compiles


def _activate(v, code):
    """``v`` (1-D) through activation ``code``, in place; the branch is outside the loops so they vectorise."""
    n = v.shape[0]
    if code == 1:
        for j in range(n):
            v[j] = _tanh(v[j])
    elif code == 2:
        for j in range(n):
            v[j] = np.float32(0.5) * _tanh(np.float32(0.5) * v[j]) + np.float32(0.5)
    elif code == 3:
        for j in range(n):
            v[j] = min(max(v[j] * np.float32(1 / 6) + np.float32(0.5), np.float32(0.0)), np.float32(1.0))
    elif code == 4:
        for j in range(n):
            v[j] = min(max(v[j] * np.float32(0.2) + np.float32(0.5), np.float32(0.0)), np.float32(1.0))
    elif code == 5:
        for j in range(n):
            v[j] = max(v[j], np.float32(0.0))


def _simple_fwd(z, xw, act, out, h_out):
    n, u = z.shape
    for b in range(n):
        ob = out[b]
        for j in range(u):
            ob[j] = z[b, j] + xw[b, j]
        _activate(ob, act)
        for j in range(u):
            h_out[b, j] = ob[j]


def _derive(y, out, code):
    """d act / dz of each output ``y`` (1-D) into ``out``: every coded activation's derivative reads from y."""
    n = y.shape[0]
    if code == 0:
        for j in range(n):
            out[j] = np.float32(1.0)
    elif code == 1:
        for j in range(n):
            out[j] = np.float32(1.0) - y[j] * y[j]
    elif code == 2:
        for j in range(n):
            out[j] = y[j] * (np.float32(1.0) - y[j])
    elif code == 3 or code == 4:
        slope = np.float32(1 / 6) if code == 3 else np.float32(0.2)
        for j in range(n):
            out[j] = slope if np.float32(0.0) < y[j] < np.float32(1.0) else np.float32(0.0)
    else:
        for j in range(n):
            out[j] = np.float32(1.0) if y[j] > np.float32(0.0) else np.float32(0.0)


def _simple_back(dh, d_out, out, act, dz):
    n, u = dz.shape
    d = np.empty(u, np.float32)
    for b in range(n):
        _derive(out[b], d, act)
        for j in range(u):
            dz[b, j] = (dh[b, j] + d_out[b, j]) * d[j]


def _lstm_fwd(z, xw, c_prev, act, ract, gate, tanh_c, h_out, c_out):
    """One LSTM step for every row; gates in the internal order (i, f, o, c~)."""
    n, g = z.shape
    u = g // 4
    for b in range(n):
        a = gate[b]
        for j in range(g):
            a[j] = z[b, j] + xw[b, j]
        _activate(a[:3 * u], ract)
        _activate(a[3 * u:], act)
        tc = tanh_c[b]
        for j in range(u):
            c = a[u + j] * c_prev[b, j] + a[j] * a[3 * u + j]
            c_out[b, j] = c
            tc[j] = c
        _activate(tc, act)
        for j in range(u):
            h_out[b, j] = a[2 * u + j] * tc[j]


def _lstm_back(dh, d_out, dc, gate, tanh_c, c_prev, act, ract, dz, dc_prev):
    """One LSTM step backwards: gradients of the four pre-activations and of the previous cell state."""
    n, u = dh.shape
    d = np.empty(4 * u, np.float32)
    dt = np.empty(u, np.float32)
    for b in range(n):
        a, tc, r = gate[b], tanh_c[b], dz[b]
        _derive(a[:3 * u], d[:3 * u], ract)
        _derive(a[3 * u:], d[3 * u:], act)
        _derive(tc, dt, act)
        for j in range(u):
            g = dh[b, j] + d_out[b, j]
            dcc = g * a[2 * u + j] * dt[j] + dc[b, j]
            r[j] = dcc * a[3 * u + j] * d[j]
            r[u + j] = dcc * c_prev[b, j] * d[u + j]
            r[2 * u + j] = g * tc[j] * d[2 * u + j]
            r[3 * u + j] = dcc * a[j] * d[3 * u + j]
            dc_prev[b, j] = dcc * a[u + j]


def _gru_after_fwd(z, xw, h, bias_h, act, ract, gate, side, h_out):
    """One reset-after GRU step: ``z`` holds h @ U; writes (z, r, h~), h U_h + b_h and the new h."""
    n, g = z.shape
    u = g // 3
    for b in range(n):
        a, s = gate[b], side[b]
        for j in range(2 * u):
            a[j] = z[b, j] + xw[b, j]
        _activate(a[:2 * u], ract)
        for j in range(u):
            s[j] = z[b, 2 * u + j] + bias_h[j]
            a[2 * u + j] = xw[b, 2 * u + j] + a[u + j] * s[j]
        _activate(a[2 * u:], act)
        for j in range(u):
            hh = a[2 * u + j]
            h_out[b, j] = hh + a[j] * (h[b, j] - hh)


def _gru_after_back(dh, d_out, gate, side, h_prev, act, ract, dz, dm, direct):
    n, u = dh.shape
    d = np.empty(3 * u, np.float32)
    for b in range(n):
        a, r, m = gate[b], dz[b], dm[b]
        _derive(a[:2 * u], d[:2 * u], ract)
        _derive(a[2 * u:], d[2 * u:], act)
        for j in range(u):
            g = dh[b, j] + d_out[b, j]
            hh = a[2 * u + j]
            dzz = g * (h_prev[b, j] - hh) * d[j]
            dah = g * (np.float32(1.0) - a[j]) * d[2 * u + j]
            dzr = dah * side[b, j] * d[u + j]
            r[j] = dzz
            r[u + j] = dzr
            r[2 * u + j] = dah
            m[j] = dzz
            m[u + j] = dzr
            m[2 * u + j] = dah * a[u + j]
            direct[b, j] = g * a[j]


def _gru_before_gates(z, xw, h, ract, gate, side):
    """Reset-before GRU, first half: z and r from h @ U_zr, then r * h for the candidate's product."""
    n, g2 = z.shape
    u = g2 // 2
    for b in range(n):
        a = gate[b]
        for j in range(2 * u):
            a[j] = z[b, j] + xw[b, j]
        _activate(a[:2 * u], ract)
        for j in range(u):
            side[b, j] = a[u + j] * h[b, j]


def _gru_before_new(zh, xw, h, act, gate, h_out):
    """Reset-before GRU, second half: h~ from (r * h) @ U_h, then the new h."""
    n, u = zh.shape
    for b in range(n):
        a = gate[b]
        for j in range(u):
            a[2 * u + j] = zh[b, j] + xw[b, 2 * u + j]
        _activate(a[2 * u:], act)
        for j in range(u):
            hh = a[2 * u + j]
            h_out[b, j] = hh + a[j] * (h[b, j] - hh)


def _gru_before_back(dh, d_out, gate, h_prev, act, ract, dz, dr, direct):
    """Reset-before GRU backwards, first half: z and candidate pre-activations (r's factor kept in ``dr``)."""
    n, u = dh.shape
    d = np.empty(3 * u, np.float32)
    for b in range(n):
        a, r = gate[b], dz[b]
        _derive(a[:2 * u], d[:2 * u], ract)
        _derive(a[2 * u:], d[2 * u:], act)
        for j in range(u):
            g = dh[b, j] + d_out[b, j]
            hh = a[2 * u + j]
            r[j] = g * (h_prev[b, j] - hh) * d[j]
            r[2 * u + j] = g * (np.float32(1.0) - a[j]) * d[2 * u + j]
            direct[b, j] = g * a[j]
            dr[b, j] = h_prev[b, j] * d[u + j]


def _gru_before_back_r(drh, dr, gate, dz, direct):
    """Second half, once d(r * h) is known: r's pre-activation and the direct path to the previous h."""
    n, u = drh.shape
    for b in range(n):
        for j in range(u):
            dz[b, u + j] = drh[b, j] * dr[b, j]
            direct[b, j] += drh[b, j] * gate[b, u + j]


def _compile():
    from ...runtime._jit import njit, numba_module

    if numba_module() is None:
        return None
    from ...runtime.kernels import recurrent as runtime_recurrent

    g = globals()
    g["_tanh"] = runtime_recurrent._tanh_j  # the runtime's approximation, inlined
    g["_activate"] = njit(_activate, fastmath=True, inline=True)
    g["_derive"] = njit(_derive, fastmath=True, inline=True)
    names = ("_simple_fwd", "_simple_back", "_lstm_fwd", "_lstm_back", "_gru_after_fwd", "_gru_after_back",
             "_gru_before_gates", "_gru_before_new", "_gru_before_back", "_gru_before_back_r")
    return {name: njit(g[name], fastmath=True) for name in names}


def _kernels():
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
    def step(self, t, xw, prev, new):
        self.rec.forward(prev[0], self.z)
        self.k["_simple_fwd"](self.z, xw, self.codes[0], self.out[t], new[0])

    def back(self, t, dnew, d_out=None):
        self.k["_simple_back"](dnew[0], self.zero if d_out is None else d_out, self.out[t], self.codes[0],
                               self.dz[t])
        return [self.rec.backward(self.dz[t])]


class JitLSTM(_Jit, LSTMCell):
    def step(self, t, xw, prev, new):
        self.rec.forward(prev[0], self.z)
        self.k["_lstm_fwd"](self.z, xw, prev[1], self.codes[0], self.codes[1], self.gate[t], self.tanh_c[t],
                            new[0], new[1])

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

    def step(self, t, xw, prev, new):
        h = prev[0]
        self.rec.forward(h, self.z)
        act, ract = self.codes
        if self.reset_after:
            self.k["_gru_after_fwd"](self.z, xw, h, self.bias_h, act, ract, self.gate[t], self.side[t], new[0])
            return
        self.k["_gru_before_gates"](self.z, xw, h, ract, self.gate[t], self.side[t])
        self.rec_h.forward(self.side[t], self.zh)
        self.k["_gru_before_new"](self.zh, xw, h, act, self.gate[t], new[0])

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
