"""The per-step arithmetic of SimpleRNN, LSTM and GRU cells, forward and backward, on numpy.

A cell object lives for one layer call: ``step(t, xw, states)`` reads the states of step ``t`` (each state is
one (T + 1, N, units) array), writes the candidates of step ``t + 1`` and keeps what the backward pass needs;
``prepare_backward`` turns those into per-step factors for all steps at once (a few vectorised passes), so
``back(t, d_states, d_out)`` (the gradients reaching the new states, and the output's own when it is the new h)
is a handful of small products plus the recurrent GEMM. The driver (recurrent.py) owns the time loop, masking
and the input projection. Gate columns are Keras' except for LSTM, which runs internally as (i, f, o, c) so its
three sigmoid gates are one contiguous block (``lstm_perm``).
"""
from __future__ import annotations

import numpy as np

from .recurrent_parts import Recurrence, per_gate


def _pre(shape, dtype, wanted):
    """Storage for pre-activations, only when an activation's derivative needs them."""
    return np.empty(shape, dtype) if wanted else None


class SimpleRNNCell:
    """``h' = act(x W + b + h U)``."""

    n_states, gates = 1, 1

    def __init__(self, steps, batch, units, dtype, recurrent_kernel, recurrent_dropout, acts, bias_h=None):
        self.act = acts[0]
        self.rec = Recurrence(recurrent_kernel, recurrent_dropout, 1)
        self.out = np.empty((steps, batch, units), dtype)
        self.pre = _pre((steps, batch, units), dtype, self.act.needs_input)
        self.z = np.empty((batch, units), dtype)

    def step(self, t, xw, states):
        z = self.z
        self.rec.forward(states[0][t], z)
        z += xw[t]
        if self.pre is not None:
            self.pre[t] = z
        self.act(z, self.out[t])
        np.copyto(states[0][t + 1], self.out[t])

    def prepare_backward(self, states):
        self.factor = self.act.deriv(self.out, self.pre)
        self.dz = np.empty_like(self.out)

    def back(self, t, dnew, d_out=None):
        dh = dnew[0] if d_out is None else dnew[0] + d_out
        np.multiply(dh, self.factor[t], out=self.dz[t])
        return [self.rec.backward(self.dz[t])]

    def recurrent_grads(self, states):
        return self.rec.kernel_grad(states[0][:-1], self.dz), None


def lstm_perm(units):
    """Internal column order (i, f, o, c) as indices into Keras' (i, f, c, o)."""
    u = units
    return np.concatenate([np.arange(0, 2 * u), np.arange(3 * u, 4 * u), np.arange(2 * u, 3 * u)])


class LSTMCell:
    """``c' = f c + i act(.)``, ``h' = o act(c')`` with gates i, f, o by ``recurrent_activation``."""

    n_states, gates = 2, 4
    GATE_ORDER = (0, 1, 3, 2)  # internal gate k is Keras gate GATE_ORDER[k]

    def __init__(self, steps, batch, units, dtype, recurrent_kernel, recurrent_dropout, acts, bias_h=None):
        self.act, self.ract = acts
        self.u = units
        self.rec = Recurrence(recurrent_kernel, recurrent_dropout, 4)
        self.gate = np.empty((steps, batch, 4 * units), dtype)       # i, f, o, c~ after their activations
        self.tanh_c = np.empty((steps, batch, units), dtype)        # act(c')
        self.pre = _pre((steps, batch, 4 * units), dtype, self.act.needs_input or self.ract.needs_input)
        self.c_new = _pre((steps, batch, units), dtype, self.act.needs_input)
        self.z = np.empty((batch, 4 * units), dtype)
        self.tmp = np.empty((batch, units), dtype)

    def step(self, t, xw, states):
        u, z, a = self.u, self.z, self.gate[t]
        h, c = states[0][t], states[1][t]
        h2, c2 = states[0][t + 1], states[1][t + 1]
        self.rec.forward(h, z)
        z += xw[t]
        if self.pre is not None:
            self.pre[t] = z
        self.ract(z[:, :3 * u], a[:, :3 * u])
        self.act(z[:, 3 * u:], a[:, 3 * u:])
        np.multiply(a[:, u:2 * u], c, out=c2)
        np.multiply(a[:, :u], a[:, 3 * u:], out=self.tmp)
        c2 += self.tmp
        if self.c_new is not None:
            self.c_new[t] = c2
        self.act(c2, self.tanh_c[t])
        np.multiply(a[:, 2 * u:3 * u], self.tanh_c[t], out=h2)

    def prepare_backward(self, states):
        u, a, pre = self.u, self.gate, self.pre
        k = np.empty_like(a)
        k[..., :3 * u] = self.ract.deriv(a[..., :3 * u], None if pre is None else pre[..., :3 * u])
        k[..., 3 * u:] = self.act.deriv(a[..., 3 * u:], None if pre is None else pre[..., 3 * u:])
        k[..., :u] *= a[..., 3 * u:]            # dc' -> d(i pre-activation): c~ i'
        k[..., u:2 * u] *= states[1][:-1]       # dc' -> d(f pre-activation): c f'
        k[..., 2 * u:3 * u] *= self.tanh_c      # dh' -> d(o pre-activation): act(c') o'
        k[..., 3 * u:] *= a[..., :u]            # dc' -> d(c~ pre-activation): i c~'
        self.factor = k
        self.dh_to_dc = a[..., 2 * u:3 * u] * self.act.deriv(self.tanh_c, self.c_new)
        self.dz = np.empty_like(a)

    def back(self, t, dnew, d_out=None):
        u = self.u
        dh, dc = dnew
        if d_out is not None:
            dh = dh + d_out
        n = dh.shape[0]
        dcc = dh * self.dh_to_dc[t]
        dcc += dc
        dz4 = self.dz[t].reshape(n, 4, u)
        k4 = self.factor[t].reshape(n, 4, u)
        np.multiply(k4, dcc[:, None, :], out=dz4)
        np.multiply(k4[:, 2], dh, out=dz4[:, 2])
        return [self.rec.backward(self.dz[t]), dcc * self.gate[t][:, u:2 * u]]

    def recurrent_grads(self, states):
        return self.rec.kernel_grad(states[0][:-1], self.dz), None


class GRUCell:
    """``h' = z h + (1 - z) act(.)``, gates z, r; the reset gate applied after (``reset_after``) or before the
    recurrent product of the candidate."""

    n_states, gates = 1, 3

    def __init__(self, steps, batch, units, dtype, recurrent_kernel, recurrent_dropout, acts, bias_h=None,
                 reset_after=True):
        self.act, self.ract = acts
        self.u, self.reset_after, self.bias_h = units, reset_after, bias_h
        u = units
        rdp = per_gate(recurrent_dropout, 3)
        if reset_after:
            self.rec = Recurrence(recurrent_kernel, rdp, 3)
            self.z = np.empty((batch, 3 * u), dtype)
        else:
            shared = rdp is None or rdp.shape[0] == 1
            self.rec = Recurrence(recurrent_kernel[:, :2 * u], rdp if shared else rdp[:2], 2)
            self.rec_h = Recurrence(recurrent_kernel[:, 2 * u:], rdp if shared else rdp[2:], 1)
            self.z = np.empty((batch, 2 * u), dtype)
        self.gate = np.empty((steps, batch, 3 * u), dtype)          # z, r, h~ after their activations
        self.side = np.empty((steps, batch, u), dtype)               # reset_after: h U_h + b_h; else r * h
        self.pre = _pre((steps, batch, 3 * u), dtype, self.act.needs_input or self.ract.needs_input)
        self.tmp = np.empty((batch, u), dtype)

    def step(self, t, xw, states):
        u, z, a, tmp = self.u, self.z, self.gate[t], self.tmp
        h, xw = states[0][t], xw[t]
        self.rec.forward(h, z)
        if self.reset_after:
            if self.bias_h is not None:
                np.add(z[:, 2 * u:], self.bias_h, out=self.side[t])
            else:
                np.copyto(self.side[t], z[:, 2 * u:])
        zr = z[:, :2 * u]
        zr += xw[:, :2 * u]
        self.ract(zr, a[:, :2 * u])
        if self.reset_after:
            np.multiply(a[:, u:2 * u], self.side[t], out=tmp)
        else:
            np.multiply(a[:, u:2 * u], h, out=self.side[t])
            self.rec_h.forward(self.side[t], tmp)
        tmp += xw[:, 2 * u:]
        if self.pre is not None:
            self.pre[t, :, :2 * u] = zr
            self.pre[t, :, 2 * u:] = tmp
        self.act(tmp, a[:, 2 * u:])
        np.subtract(h, a[:, 2 * u:], out=tmp)
        tmp *= a[:, :u]
        np.add(a[:, 2 * u:], tmp, out=states[0][t + 1])

    def prepare_backward(self, states):
        u, a, pre = self.u, self.gate, self.pre
        h_prev = states[0][:-1]
        k = np.empty_like(a)
        k[..., :2 * u] = self.ract.deriv(a[..., :2 * u], None if pre is None else pre[..., :2 * u])
        k[..., 2 * u:] = self.act.deriv(a[..., 2 * u:], None if pre is None else pre[..., 2 * u:])
        k[..., :u] *= h_prev - a[..., 2 * u:]                            # dh' -> d(z pre-activation)
        k[..., u:2 * u] *= self.side if self.reset_after else h_prev      # d(h~ pre) -> d(r pre), before U or after
        k[..., 2 * u:] *= 1 - a[..., :u]                                 # dh' -> d(h~ pre-activation)
        self.factor = k
        self.dz = np.empty_like(a)
        self.dm = np.empty_like(a) if self.reset_after else None

    def back(self, t, dnew, d_out=None):
        u, dz, k = self.u, self.dz[t], self.factor[t]
        dh = dnew[0] if d_out is None else dnew[0] + d_out
        np.multiply(dh, k[:, :u], out=dz[:, :u])
        np.multiply(dh, k[:, 2 * u:], out=dz[:, 2 * u:])
        if self.reset_after:
            np.multiply(dz[:, 2 * u:], k[:, u:2 * u], out=dz[:, u:2 * u])
            dm = self.dm[t]
            np.copyto(dm, dz)
            dm[:, 2 * u:] *= self.gate[t][:, u:2 * u]
            dprev = self.rec.backward(dm)
        else:
            drh = self.rec_h.backward(dz[:, 2 * u:])
            np.multiply(drh, k[:, u:2 * u], out=dz[:, u:2 * u])
            dprev = self.rec.backward(dz[:, :2 * u])
            dprev += drh * self.gate[t][:, u:2 * u]
        dprev += dh * self.gate[t][:, :u]
        return [dprev]

    def recurrent_grads(self, states):
        h_prev = states[0][:-1]
        if self.reset_after:
            return self.rec.kernel_grad(h_prev, self.dm), self.dm.sum(axis=(0, 1))
        return np.concatenate([self.rec.kernel_grad(h_prev, self.dz[..., :2 * self.u]),
                               self.rec_h.kernel_grad(self.side, self.dz[..., 2 * self.u:])], axis=1), None


CELLS = {"simple_rnn": SimpleRNNCell, "lstm": LSTMCell, "gru": GRUCell}

__all__ = ["SimpleRNNCell", "LSTMCell", "GRUCell", "CELLS", "lstm_perm"]
