"""Recurrent cells whose whole sequence runs in one compiled call each way (runtime/csrc/rnn_train.h).

The Numba cells (recurrent_kernels.py) still cross Python twice per step (the recurrent GEMM, then the gate
kernel), about 20 us a step for a batch of 64; here the forward pass over every step is one call and the backward
pass through time another, with the GIL released; a Bidirectional layer's two directions are two jobs of one call,
run at once on the compiled kernels' pool (or one after the other when no core is free: no Python threads waiting
for the GIL). The arrays are the numpy cells' (the same gates, states and side sequences), so
``recurrent_grads`` and the driver's weight gradients are unchanged. Used for float32, the activations in
``ACTIVATIONS`` and no recurrent dropout, when the compiled kernels are built and enabled (``KERASLITE_NATIVE``).
"""
from __future__ import annotations

import threading

import numpy as np

from .native import act_code, lib as _lib
from .recurrent_cells import GRUCell, LSTMCell, SimpleRNNCell

# the activations rnn_train.h's cells apply (by the compiled kernels' codes, ``runtime.native.ACT``)
ACTIVATIONS = ("linear", "relu", "tanh", "sigmoid", "hard_sigmoid", "hard_sigmoid_keras2")


class _Pool:
    """Float32 buffers handed back after a call's last backward pass, for the next call of the same shapes (a
    training loop repeats them every batch). A fresh array of a few MiB costs a page fault every 4 KiB when it is
    first written, because the allocator returns freed blocks that large to the system: for an LSTM(32) over 64 x 50
    steps that was ~2 ms of a 6 ms training step."""

    LIMIT = 64 << 20  # bytes kept at most; past it the pool starts over

    def __init__(self):
        self._free, self._bytes, self._lock = {}, 0, threading.Lock()

    def take(self, shape):
        shape = tuple(shape)
        with self._lock:
            free = self._free.get(shape)
            if free:
                a = free.pop()
                self._bytes -= a.nbytes
                return a
        return np.empty(shape, np.float32)

    def give(self, arrays):
        with self._lock:
            for a in arrays:
                if a is None or a.base is not None or a.dtype != np.float32 or not a.flags.c_contiguous:
                    continue
                if self._bytes + a.nbytes > self.LIMIT:
                    self._free, self._bytes = {}, 0
                self._free.setdefault(a.shape, []).append(a)
                self._bytes += a.nbytes


POOL = _Pool()


def _f32(a):
    return np.ascontiguousarray(a, dtype=np.float32)


class _Native:
    """Mixin over a numpy cell: ``forward_job`` and ``backward_job`` replace the driver's per-step loops."""

    kind_code = 0
    BUFFERS = ()  # the per-call sequences the cell allocates, taken from and given back to the pool

    def __init__(self, steps, batch, units, dtype, recurrent_kernel, recurrent_dropout, acts, *args, **kwargs):
        super().__init__(steps, batch, units, dtype, recurrent_kernel, recurrent_dropout, acts, *args, **kwargs)
        self.u_kernel = _f32(recurrent_kernel)
        for name in self.BUFFERS:  # the numpy cell's (untouched, so never faulted in) swapped for pooled ones
            setattr(self, name, POOL.take(getattr(self, name).shape))
        self.codes = (act_code(acts[0].name), act_code(acts[1].name) if len(acts) > 1 else 0)

    def _gates(self):
        return self.gate

    def _aux(self):
        return None

    def _bias_h(self):
        return None

    def forward_job(self, xw, states, mask, zero_output, in_bias=None):
        """The compiled call's arguments for every step forwards from ``xw + in_bias`` (``run_jobs`` runs it);
        afterwards ``outputs`` holds the masked outputs (T, N, units), or None when nothing is masked."""
        steps, n, units = states[0].shape[0] - 1, states[0].shape[1], states[0].shape[2]
        m = None if mask is None else np.ascontiguousarray(mask, dtype=bool).view(np.uint8)
        self.outputs = None if m is None else np.empty((steps, n, units), np.float32)
        self._mask = m
        return (self.kind_code, *self.codes, int(bool(zero_output)), _f32(xw), self.u_kernel, self._bias_h(), m,
                states[0], states[1] if len(states) > 1 else None, self._gates(), self._aux(), self.outputs,
                None if in_bias is None else _f32(in_bias))

    def prepare_backward(self, states):
        self.states = states

    def backward_job(self, ds, d_seq, d_last, zero_output):
        """The compiled call's arguments for every step backwards from the final states' gradients ``ds``;
        afterwards ``d_states`` holds the initial states' gradients, ``dz`` (and ``dm``) are left for the weight
        gradients and their sums (``dbias``, ``drbias``) for the biases'."""
        states = self.states
        gates = self._gates()
        dh = np.array(ds[0], np.float32)  # a copy: written in place
        dc = np.array(ds[1], np.float32) if len(ds) > 1 else None
        self.d_states = [dh] if dc is None else [dh, dc]
        self.dz = POOL.take(gates.shape)
        self.dm = POOL.take(gates.shape) if self.kind_code == 2 else None
        self.dbias = np.empty(gates.shape[-1], np.float32)
        self.drbias = np.empty(gates.shape[-1], np.float32) if self.kind_code == 2 else None
        return (self.kind_code, *self.codes, int(bool(zero_output)), self.u_kernel, self._mask, states[0],
                states[1] if len(states) > 1 else None, gates, self._aux(), None if d_seq is None else _f32(d_seq),
                None if d_last is None else _f32(d_last), dh, dc, self.dz, self.dm, self.dbias, self.drbias)

    def release(self, arrays=()):
        """Hand this call's buffers (and ``arrays``, no longer referenced) to the next call; the cell is done."""
        POOL.give([getattr(self, name) for name in self.BUFFERS + ("dz", "dm")] + list(arrays))
        for name in self.BUFFERS + ("dz", "dm", "states"):
            setattr(self, name, None)


class NativeSimpleRNN(_Native, SimpleRNNCell):
    kind_code = 0
    BUFFERS = ("out",)

    def _gates(self):
        return self.out


class NativeLSTM(_Native, LSTMCell):
    kind_code = 1
    BUFFERS = ("gate", "tanh_c")

    def _aux(self):
        return self.tanh_c


class NativeGRU(_Native, GRUCell):
    BUFFERS = ("gate", "side")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind_code = 2 if self.reset_after else 3
        self._bias = None if self.bias_h is None else _f32(self.bias_h)

    def _aux(self):
        return self.side

    def _bias_h(self):
        return self._bias

    def recurrent_grads(self, states):
        if self.reset_after:  # the recurrent bias's gradient summed by the kernel
            return self.rec.kernel_grad(states[0][:-1], self.dm), self.drbias
        return super().recurrent_grads(states)


_CELLS = {"simple_rnn": NativeSimpleRNN, "lstm": NativeLSTM, "gru": NativeGRU}


def run_jobs(backward, jobs):
    """Run compiled forward (``backward`` False) or backward jobs, several (a Bidirectional layer's sides) at
    once on the compiled kernels' threads when a core is free."""
    _lib().rnn_train(int(bool(backward)), list(jobs))


def native_cell(kind, dtype, activations, recurrent_dropout):
    """The compiled cell class for ``kind`` when it applies, else None (then the Numba or numpy cells run)."""
    wanted = np.dtype(dtype) == np.float32 and recurrent_dropout is None and all(a in ACTIVATIONS for a in activations)
    return _CELLS[kind] if wanted and _lib() is not None else None


__all__ = ["native_cell", "run_jobs", "ACTIVATIONS", "POOL"]
