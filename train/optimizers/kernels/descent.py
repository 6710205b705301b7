"""Gradient descent rules: SGD, momentum (Nesterov), and the base options' decoupled weight decay and EMA."""
from __future__ import annotations

import numpy as np

from .scratch import scratch as _scratch


def _sgd_loop(g, c, w):
    lr = c[0]
    for i in range(w.shape[0]):
        w[i] = w[i] - g[i] * lr


def _sgd_np(g, c, w):
    lr = c[0]
    (t,) = _scratch(w.shape[0], w.dtype)
    np.multiply(g, lr, out=t)
    w -= t


def _momentum_loop(g, c, w, m):
    lr, momentum, nesterov = c[0], c[1], c[2] != 0
    if nesterov:
        for i in range(w.shape[0]):
            m[i] = m[i] * momentum - g[i] * lr
            w[i] = w[i] + (m[i] * momentum - g[i] * lr)
    else:
        for i in range(w.shape[0]):
            m[i] = m[i] * momentum - g[i] * lr
            w[i] = w[i] + m[i]


def _momentum_np(g, c, w, m):
    lr, momentum, nesterov = c[0], c[1], c[2] != 0
    t, u = _scratch(w.shape[0], w.dtype, 2)
    np.multiply(g, lr, out=t)
    m *= momentum
    m -= t
    if nesterov:
        np.multiply(m, momentum, out=u)
        u -= t
        w += u
    else:
        w += m


def _decay_loop(w, c):
    wd, lr = c[0], c[1]
    for i in range(w.shape[0]):
        w[i] = w[i] - w[i] * wd * lr


def _decay_np(w, c):
    wd, lr = c[0], c[1]
    (t,) = _scratch(w.shape[0], w.dtype)
    np.multiply(w, wd, out=t)
    t *= lr
    w -= t


def _ema_loop(average, w, c):
    momentum, one_minus_momentum = c[0], c[1]
    for i in range(w.shape[0]):
        average[i] = momentum * average[i] + one_minus_momentum * w[i]


def _ema_np(average, w, c):
    momentum, one_minus_momentum = c[0], c[1]
    (t,) = _scratch(w.shape[0], w.dtype)
    average *= momentum
    np.multiply(w, one_minus_momentum, out=t)
    average += t


RULES = {"sgd": (_sgd_loop, _sgd_np), "momentum": (_momentum_loop, _momentum_np), "decay": (_decay_loop, _decay_np),
         "ema": (_ema_loop, _ema_np)}

__all__ = ["RULES"]
