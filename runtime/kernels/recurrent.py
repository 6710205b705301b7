"""Recurrences of SimpleRNN, LSTM and GRU: one Numba call runs every time step (numpy per-step loop without it).

The input projection ``x @ kernel + bias`` for all steps is one BLAS GEMM done by the caller; these kernels only do
the sequential part (``h @ recurrent_kernel`` and the gates), updating ``h`` (and ``c``) in place and writing every
step's ``h`` into ``seq``. Every inner loop is branch-free arithmetic over a contiguous row so LLVM vectorises it:
tanh is a clamped rational approximation (|error| < 4e-7) and sigmoid is ``0.5 * tanh(x / 2) + 0.5``, because
``math.tanh``/``math.exp`` are scalar libm calls that dominate the step time.
"""
import numpy as np

from .._jit import njit
from .activations import get as _np_activation

# Activation codes understood by the jitted kernels.
CODES = {"linear": 0, "tanh": 1, "sigmoid": 2, "hard_sigmoid": 3, "hard_sigmoid_keras2": 4, "relu": 5}

_CLIP = np.float32(7.90531110763549805)  # tanh(x) rounds to +-1 in float32 beyond this


def _tanh(v):
    """tanh by a clamped odd rational function of degree 13/6 (|error| < 4e-7 over all floats)."""
    v = min(max(v, -_CLIP), _CLIP)
    x2 = v * v
    p = np.float32(-2.76076847742355e-16)
    p = p * x2 + np.float32(2.00018790482477e-13)
    p = p * x2 + np.float32(-8.60467152213735e-11)
    p = p * x2 + np.float32(5.12229709037114e-08)
    p = p * x2 + np.float32(1.48572235717979e-05)
    p = p * x2 + np.float32(6.37261928875436e-04)
    p = p * x2 + np.float32(4.89352455891786e-03)
    q = np.float32(1.19825839466702e-06)
    q = q * x2 + np.float32(1.18534705686654e-04)
    q = q * x2 + np.float32(2.26843463243900e-03)
    q = q * x2 + np.float32(4.89352518554385e-03)
    return v * p / q


def _activate(z, code):
    """``z`` (1-D) through activation ``code`` in place; the branch is outside the loops, indices start at 0."""
    hi = z.shape[0]
    if code == 1:
        for j in range(hi):
            z[j] = _tanh_j(z[j])
    elif code == 2:
        for j in range(hi):
            z[j] = np.float32(0.5) * _tanh_j(np.float32(0.5) * z[j]) + np.float32(0.5)
    elif code == 3:
        for j in range(hi):
            z[j] = min(max(z[j] + np.float32(3.0), np.float32(0.0)), np.float32(6.0)) / np.float32(6.0)
    elif code == 4:
        for j in range(hi):
            z[j] = min(max(np.float32(0.2) * z[j] + np.float32(0.5), np.float32(0.0)), np.float32(1.0))
    elif code == 5:
        for j in range(hi):
            z[j] = max(z[j], np.float32(0.0))


def _matvec_acc(z, hb, U, width):
    """``z[:width] += hb @ U[:, :width]``, four rows of ``U`` per pass over ``z`` (contiguous axis innermost)."""
    u = hb.shape[0]
    k = 0
    while k + 4 <= u:
        h0, h1, h2, h3 = hb[k], hb[k + 1], hb[k + 2], hb[k + 3]
        r0, r1, r2, r3 = U[k], U[k + 1], U[k + 2], U[k + 3]
        for j in range(width):
            z[j] += h0 * r0[j] + h1 * r1[j] + h2 * r2[j] + h3 * r3[j]
        k += 4
    while k < u:
        hk = hb[k]
        row = U[k]
        for j in range(width):
            z[j] += hk * row[j]
        k += 1


def _simple(xw, U, act, h, seq):
    n, steps, u = xw.shape
    z = np.empty(u, np.float32)
    for b in range(n):
        hb = h[b]
        for t in range(steps):
            z[:] = xw[b, t]
            _matvec_acc_j(z, hb, U, u)
            _activate_j(z[:u], act)
            hb[:] = z
            seq[b, t] = z


def _lstm_cell(z, hb, cb, tc, act, ract):
    """One row of an LSTM step given the pre-activations ``z`` (4u): updates ``cb`` and ``hb`` in place."""
    u = hb.shape[0]
    _activate_j(z[0:2 * u], ract)
    _activate_j(z[2 * u:3 * u], act)
    _activate_j(z[3 * u:4 * u], ract)
    for j in range(u):
        cj = z[u + j] * cb[j] + z[j] * z[2 * u + j]
        cb[j] = cj
        tc[j] = cj
    _activate_j(tc, act)
    for j in range(u):
        hb[j] = z[3 * u + j] * tc[j]


def _lstm(xw, U, act, ract, h, c, seq):
    n, steps, g = xw.shape
    z = np.empty(g, np.float32)
    tc = np.empty(g // 4, np.float32)
    for b in range(n):
        hb, cb = h[b], c[b]
        for t in range(steps):
            z[:] = xw[b, t]
            _matvec_acc_j(z, hb, U, g)
            _lstm_cell_j(z, hb, cb, tc, act, ract)
            seq[b, t] = hb


def _lstm_step(z, xw, t, act, ract, h, c, seq):
    """Step ``t`` for every row, ``z`` = h @ U already computed (by BLAS): adds ``xw[:, t]``, runs the gates."""
    n, g = z.shape
    tc = np.empty(g // 4, np.float32)
    for b in range(n):
        zb, xb = z[b], xw[b, t]
        for j in range(g):
            zb[j] += xb[j]
        _lstm_cell_j(zb, h[b], c[b], tc, act, ract)
        seq[b, t] = h[b]


def lstm_blas(xw, U, act, ract, h, c, seq):
    """LSTM recurrence for larger batches: per step one BLAS GEMM ``h @ U`` and one jitted gate pass."""
    z = np.empty((xw.shape[0], xw.shape[2]), np.float32)
    for t in range(xw.shape[1]):
        np.dot(h, U, out=z)
        lstm_step_jit(z, xw, t, act, ract, h, c, seq)


def _gru(xw, U, rbias, act, ract, reset_after, h, seq):
    n, steps, g = xw.shape
    u = g // 3
    hz = np.empty(g, np.float32)
    rh = np.empty(u, np.float32)
    zr = np.empty(2 * u, np.float32)
    cand = np.empty(u, np.float32)
    width = g if reset_after else 2 * u
    for b in range(n):
        hb = h[b]
        for t in range(steps):
            x = xw[b, t]
            hz[:] = rbias
            _matvec_acc_j(hz, hb, U, width)
            for j in range(2 * u):
                zr[j] = x[j] + hz[j]
            _activate_j(zr[0:2 * u], ract)
            if reset_after:
                for j in range(u):
                    cand[j] = x[2 * u + j] + zr[u + j] * hz[2 * u + j]
            else:
                for k in range(u):
                    rh[k] = zr[u + k] * hb[k]
                for j in range(u):
                    cand[j] = x[2 * u + j]
                for k in range(u):
                    rk = rh[k]
                    row = U[k]
                    for j in range(u):
                        cand[j] += rk * row[2 * u + j]
            _activate_j(cand[:u], act)
            for j in range(u):
                hb[j] = zr[j] * hb[j] + (np.float32(1.0) - zr[j]) * cand[j]
            seq[b, t] = hb


_tanh_j = njit(_tanh, fastmath=True, inline=True)
if _tanh_j is not None:
    _activate_j = njit(_activate, fastmath=True, inline=True)
    _matvec_acc_j = njit(_matvec_acc, fastmath=True, inline=True)
    simple_jit = njit(_simple, fastmath=True)
    _lstm_cell_j = njit(_lstm_cell, fastmath=True, inline=True)
    lstm_jit = njit(_lstm, fastmath=True)
    lstm_step_jit = njit(_lstm_step, fastmath=True)
    gru_jit = njit(_gru, fastmath=True)
else:
    simple_jit = lstm_jit = lstm_step_jit = gru_jit = None


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
