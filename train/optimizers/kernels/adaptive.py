"""Per-coordinate step sizes from squared-gradient averages: RMSprop, Adagrad, Adadelta."""
from __future__ import annotations

import numpy as np

from .scratch import scratch as _scratch


def _rmsprop_loop(g, c, w, v, mo, avg):
    lr, rho, one_minus_rho, momentum, eps, centered, use_momentum = c[0], c[1], c[2], c[3], c[4], c[5] != 0, c[6] != 0
    for i in range(w.shape[0]):
        gi = g[i]
        v[i] = rho * v[i] + one_minus_rho * (gi * gi)
        if centered:
            avg[i] = rho * avg[i] + one_minus_rho * gi
            denominator = v[i] - avg[i] * avg[i] + eps
        else:
            denominator = v[i] + eps
        increment = (lr * gi) / np.sqrt(denominator)
        if use_momentum:
            mo[i] = momentum * mo[i] + increment
            w[i] = w[i] - mo[i]
        else:
            w[i] = w[i] - increment


def _rmsprop_np(g, c, w, v, mo, avg):
    lr, rho, one_minus_rho, momentum, eps, centered, use_momentum = c[0], c[1], c[2], c[3], c[4], c[5] != 0, c[6] != 0
    t, u = _scratch(w.shape[0], w.dtype, 2)
    v *= rho
    np.square(g, out=t)
    t *= one_minus_rho
    v += t
    if centered:
        avg *= rho
        np.multiply(g, one_minus_rho, out=t)
        avg += t
        np.square(avg, out=u)
        np.subtract(v, u, out=u)
        u += eps
    else:
        np.add(v, eps, out=u)
    np.sqrt(u, out=u)
    np.multiply(g, lr, out=t)
    t /= u
    if use_momentum:
        mo *= momentum
        mo += t
        w -= mo
    else:
        w -= t


def _adagrad_loop(g, c, w, acc):
    lr, eps = c[0], c[1]
    for i in range(w.shape[0]):
        gi = g[i]
        acc[i] = acc[i] + gi * gi
        w[i] = w[i] - (lr * gi) / np.sqrt(acc[i] + eps)


def _adagrad_np(g, c, w, acc):
    lr, eps = c[0], c[1]
    t, u = _scratch(w.shape[0], w.dtype, 2)
    np.square(g, out=t)
    acc += t
    np.add(acc, eps, out=u)
    np.sqrt(u, out=u)
    np.multiply(g, lr, out=t)
    t /= u
    w -= t


def _adadelta_loop(g, c, w, acc_grad, acc_delta):
    lr, rho, one_minus_rho, eps = c[0], c[1], c[2], c[3]
    for i in range(w.shape[0]):
        gi = g[i]
        acc_grad[i] = rho * acc_grad[i] + one_minus_rho * (gi * gi)
        delta = -((np.sqrt(acc_delta[i] + eps) * gi) / np.sqrt(acc_grad[i] + eps))
        acc_delta[i] = rho * acc_delta[i] + one_minus_rho * (delta * delta)
        w[i] = w[i] + lr * delta


def _adadelta_np(g, c, w, acc_grad, acc_delta):
    lr, rho, one_minus_rho, eps = c[0], c[1], c[2], c[3]
    t, d = _scratch(w.shape[0], w.dtype, 2)
    acc_grad *= rho
    np.square(g, out=t)
    t *= one_minus_rho
    acc_grad += t
    np.add(acc_delta, eps, out=d)
    np.sqrt(d, out=d)
    d *= g
    np.add(acc_grad, eps, out=t)
    np.sqrt(t, out=t)
    d /= t
    np.negative(d, out=d)
    acc_delta *= rho
    np.square(d, out=t)
    t *= one_minus_rho
    acc_delta += t
    d *= lr
    w += d


RULES = {"rmsprop": (_rmsprop_loop, _rmsprop_np), "adagrad": (_adagrad_loop, _adagrad_np),
         "adadelta": (_adadelta_loop, _adadelta_np)}

__all__ = ["RULES"]
