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
and 100 MiB); ``KERASLITE_DISABLE_NUMBA=1`` always gives the numpy forms.
"""
from __future__ import annotations

import os
import sys
import threading

import numpy as np

_local = threading.local()
NUMBA_MIN_PARAMETERS = 65536  # below this, importing Numba (~0.7 s, ~100 MiB) costs more than its kernels save


def _scratch(size, dtype, count=1):
    """``count`` temporary flat arrays of ``size`` (grow-only buffer per thread and dtype), for the numpy forms."""
    views = getattr(_local, "views", None)
    if views is None:
        views = _local.views = {}
        _local.buffers = {}
    key = (dtype.char, size, count)
    out = views.get(key)
    if out is None:
        buf = _local.buffers.get(dtype.char)
        if buf is None or buf.shape[1] < size:
            buf = _local.buffers[dtype.char] = np.empty((3, max(size, 1024)), dtype)
            views.clear()  # views of the old buffer stay valid but keep it alive; drop them
        out = views[key] = [buf[i, :size] for i in range(count)]
    return out


# ------------------------------------------------------------------------------------------------ SGD
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


# ------------------------------------------------------------------------------------------------ RMSprop
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


# ------------------------------------------------------------------------------------------------ Adam family
def _moments_np(g, m, v, one_minus_b1, one_minus_b2, t):
    """Adam's moments in place: ``m += (g - m) * (1 - b1)``, ``v += (g*g - v) * (1 - b2)`` (``t``: scratch)."""
    np.subtract(g, m, out=t)
    t *= one_minus_b1
    m += t
    np.square(g, out=t)
    t -= v
    t *= one_minus_b2
    v += t


def _adam_loop(g, c, w, m, v, vhat):
    lr, t, b1, b2, one_minus_b1, one_minus_b2, eps, amsgrad = c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7] != 0
    one = c.dtype.type(1)
    alpha = lr * np.sqrt(one - b2 ** t) / (one - b1 ** t)
    if amsgrad:
        for i in range(w.shape[0]):
            gi = g[i]
            m[i] = m[i] + (gi - m[i]) * one_minus_b1
            v[i] = v[i] + (gi * gi - v[i]) * one_minus_b2
            vhat[i] = max(vhat[i], v[i])
            w[i] = w[i] - (m[i] * alpha) / (np.sqrt(vhat[i]) + eps)
    else:
        for i in range(w.shape[0]):
            gi = g[i]
            m[i] = m[i] + (gi - m[i]) * one_minus_b1
            v[i] = v[i] + (gi * gi - v[i]) * one_minus_b2
            w[i] = w[i] - (m[i] * alpha) / (np.sqrt(v[i]) + eps)


def _adam_np(g, c, w, m, v, vhat):
    lr, t, b1, b2, one_minus_b1, one_minus_b2, eps, amsgrad = c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7] != 0
    one = c.dtype.type(1)
    alpha = lr * np.sqrt(one - b2 ** t) / (one - b1 ** t)
    (t,) = _scratch(w.shape[0], w.dtype)
    _moments_np(g, m, v, one_minus_b1, one_minus_b2, t)
    if amsgrad:
        np.maximum(vhat, v, out=vhat)
        v = vhat
    np.sqrt(v, out=t)
    t += eps
    np.divide(m, t, out=t)  # (m * alpha) / d, with alpha applied after: equal within one rounding
    t *= alpha
    w -= t


def _adamax_loop(g, c, w, m, u):
    lr, t, b1, one_minus_b1, b2, eps = c[0], c[1], c[2], c[3], c[4], c[5]
    bias_correction = c.dtype.type(1) - b1 ** t
    for i in range(w.shape[0]):
        gi = g[i]
        m[i] = m[i] + (gi - m[i]) * one_minus_b1
        u[i] = max(b2 * u[i], abs(gi))
        w[i] = w[i] - (lr * m[i]) / (bias_correction * (u[i] + eps))


def _adamax_np(g, c, w, m, u):
    lr, t, b1, one_minus_b1, b2, eps = c[0], c[1], c[2], c[3], c[4], c[5]
    bias_correction = c.dtype.type(1) - b1 ** t
    (t,) = _scratch(w.shape[0], w.dtype)
    np.subtract(g, m, out=t)
    t *= one_minus_b1
    m += t
    u *= b2
    np.abs(g, out=t)
    np.maximum(u, t, out=u)
    np.add(u, eps, out=t)
    t *= bias_correction
    np.divide(m, t, out=t)
    t *= lr
    w -= t


def _nadam_loop(g, c, w, m, v):
    lr, t, b1, b2, eps, prod = c[0], c[1], c[2], c[3], c[4], c[5]
    one, half, decay = c.dtype.type(1), c.dtype.type(0.5), c.dtype.type(0.96)
    u_t = b1 * (one - half * decay ** t)
    u_next = b1 * (one - half * decay ** (t + one))
    one_minus_b1, one_minus_b2, one_minus_u = one - b1, one - b2, one - u_t
    one_minus_prod, one_minus_prod_next, one_minus_b2_power = one - prod, one - prod * u_next, one - b2 ** t
    for i in range(w.shape[0]):
        gi = g[i]
        m[i] = m[i] + (gi - m[i]) * one_minus_b1
        v[i] = v[i] + (gi * gi - v[i]) * one_minus_b2
        m_hat = (u_next * m[i]) / one_minus_prod_next + (one_minus_u * gi) / one_minus_prod
        v_hat = v[i] / one_minus_b2_power
        w[i] = w[i] - (m_hat * lr) / (np.sqrt(v_hat) + eps)


def _nadam_np(g, c, w, m, v):
    lr, t, b1, b2, eps, prod = c[0], c[1], c[2], c[3], c[4], c[5]
    one, half, decay = c.dtype.type(1), c.dtype.type(0.5), c.dtype.type(0.96)
    u_t = b1 * (one - half * decay ** t)
    u_next = b1 * (one - half * decay ** (t + one))
    one_minus_b1, one_minus_b2, one_minus_u = one - b1, one - b2, one - u_t
    one_minus_prod, one_minus_prod_next, one_minus_b2_power = one - prod, one - prod * u_next, one - b2 ** t
    t, s = _scratch(w.shape[0], w.dtype, 2)
    _moments_np(g, m, v, one_minus_b1, one_minus_b2, t)
    np.multiply(m, u_next, out=t)
    t /= one_minus_prod_next
    np.multiply(g, one_minus_u, out=s)
    s /= one_minus_prod
    t += s
    np.divide(v, one_minus_b2_power, out=s)
    np.sqrt(s, out=s)
    s += eps
    t *= lr
    t /= s
    w -= t


# ------------------------------------------------------------------------------------------------ the others
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


def _ftrl_loop(g, c, w, accum, linear):
    lr, neg_power, l1, l2, beta, two_shrinkage = c[0], c[1], c[2], c[3], c[4], c[5]
    two = c.dtype.type(2)
    l2_total = two * (l2 + beta / (two * lr))
    for i in range(w.shape[0]):
        gi = g[i]
        wi = w[i]
        new_accum = accum[i] + gi * gi
        grad_to_use = gi + two_shrinkage * wi
        p_new = new_accum ** neg_power
        linear[i] = linear[i] + (grad_to_use - ((p_new - accum[i] ** neg_power) / lr) * wi)
        quadratic = p_new / lr + l2_total
        clipped = min(max(linear[i], -l1), l1)
        w[i] = (clipped - linear[i]) / quadratic
        accum[i] = new_accum


def _ftrl_np(g, c, w, accum, linear):
    lr, neg_power, l1, l2, beta, two_shrinkage = c[0], c[1], c[2], c[3], c[4], c[5]
    two = c.dtype.type(2)
    l2_total = two * (l2 + beta / (two * lr))
    new_accum, p_new, t = _scratch(w.shape[0], w.dtype, 3)
    np.square(g, out=new_accum)
    new_accum += accum
    np.power(new_accum, neg_power, out=p_new)
    np.power(accum, neg_power, out=t)
    np.subtract(p_new, t, out=t)
    t /= lr
    t *= w
    np.multiply(w, two_shrinkage, out=accum)  # accum is rewritten below; reuse it as scratch
    accum += g
    accum -= t
    linear += accum
    np.divide(p_new, lr, out=p_new)
    p_new += l2_total
    np.clip(linear, -l1, l1, out=t)
    t -= linear
    np.divide(t, p_new, out=w)
    accum[...] = new_accum


def _lion_loop(g, c, w, m):
    lr, b1, b2 = c[0], c[1], c[2]
    one_minus_b1, one_minus_b2 = c.dtype.type(1) - b1, c.dtype.type(1) - b2  # in float32, as Keras casts first
    for i in range(w.shape[0]):
        gi = g[i]
        w[i] = w[i] - lr * np.sign(m[i] * b1 + gi * one_minus_b1)
        m[i] = m[i] * b2 + gi * one_minus_b2


def _lion_np(g, c, w, m):
    lr, b1, b2 = c[0], c[1], c[2]
    one_minus_b1, one_minus_b2 = c.dtype.type(1) - b1, c.dtype.type(1) - b2  # in float32, as Keras casts first
    t, u = _scratch(w.shape[0], w.dtype, 2)
    np.multiply(m, b1, out=t)
    np.multiply(g, one_minus_b1, out=u)
    t += u
    np.sign(t, out=t)
    t *= lr
    w -= t
    m *= b2
    np.multiply(g, one_minus_b2, out=u)
    m += u


# ------------------------------------------------------------------------------------------------ base options
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


RULES = {
    "sgd": (_sgd_loop, _sgd_np),
    "momentum": (_momentum_loop, _momentum_np),
    "rmsprop": (_rmsprop_loop, _rmsprop_np),
    "adam": (_adam_loop, _adam_np),
    "adamax": (_adamax_loop, _adamax_np),
    "nadam": (_nadam_loop, _nadam_np),
    "adagrad": (_adagrad_loop, _adagrad_np),
    "adadelta": (_adadelta_loop, _adadelta_np),
    "ftrl": (_ftrl_loop, _ftrl_np),
    "lion": (_lion_loop, _lion_np),
    "decay": (_decay_loop, _decay_np),
    "ema": (_ema_loop, _ema_np),
}
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
                from ...runtime import _jit  # imported here: keraslite.runtime is not needed for the numpy forms

                fn = _compiled[name] = _jit.njit(loop) or fallback
    return fn


def numba_available() -> bool:
    """Whether the loops can run compiled (imports Numba unless ``KERASLITE_DISABLE_NUMBA=1``)."""
    from ...runtime import _jit

    return _jit.numba_module() is not None


def numba_loaded() -> bool:
    """Whether Numba is already imported in this process (then using it costs nothing more); never imports it."""
    return "numba" in sys.modules and os.environ.get("KERASLITE_DISABLE_NUMBA") != "1"


def use_numba(parameters: int) -> bool:
    """The default choice for an optimizer over ``parameters`` numbers: Numba when it is already loaded, or when
    the model is large enough that the compiled loops repay importing it."""
    return numba_loaded() or (parameters >= NUMBA_MIN_PARAMETERS and numba_available())


__all__ = ["RULES", "get", "numba_available", "numba_loaded", "use_numba", "NUMBA_MIN_PARAMETERS"]
