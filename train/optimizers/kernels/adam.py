"""The Adam family (Adam/AMSGrad, Adamax, Nadam) and Lion."""
from __future__ import annotations

import numpy as np

from .scratch import scratch as _scratch


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


def _adam_coefficients(c):
    """``(alpha, 1 - b1, 1 - b2, eps, amsgrad)`` of one step: alpha is the bias-corrected step size, in c's dtype."""
    lr, t, b1, b2, one_minus_b1, one_minus_b2, eps, amsgrad = c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7] != 0
    one = c.dtype.type(1)
    return lr * np.sqrt(one - b2 ** t) / (one - b1 ** t), one_minus_b1, one_minus_b2, eps, amsgrad


def _adam_np(g, c, w, m, v, vhat):
    alpha, one_minus_b1, one_minus_b2, eps, amsgrad = _adam_coefficients(c)
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


def compiled_adam(lib):
    """Adam on the runtime's compiled kernels (``runtime/csrc/update.h``, the loop above in C) for float32
    variables; other dtypes take the numpy form. The step size comes from ``_adam_coefficients`` as in ``_adam_np``."""

    last = [(None, None)]  # (the step's coefficient array, shared by its variables; its floats), swapped whole

    def rule(g, c, w, m, v, vhat):
        if w.dtype != np.float32 or g.dtype != np.float32:
            return _adam_np(g, c, w, m, v, vhat)
        entry = last[0]
        if entry[0] is not c:  # numpy scalar arithmetic costs ~10 us: once per step, not once per variable
            alpha, one_minus_b1, one_minus_b2, eps, amsgrad = _adam_coefficients(c)
            entry = last[0] = c, (float(alpha), float(one_minus_b1), float(one_minus_b2), float(eps), bool(amsgrad))
        alpha, one_minus_b1, one_minus_b2, eps, amsgrad = entry[1]
        lib.adam(g, w, m, v, vhat if amsgrad else None, alpha, one_minus_b1, one_minus_b2, eps)

    rule.__name__ = rule.__qualname__ = "_adam_compiled"
    return rule


COMPILED = {"adam": compiled_adam}  # rule name -> factory of its compiled-kernel form

RULES = {"adam": (_adam_loop, _adam_np), "adamax": (_adamax_loop, _adamax_np), "nadam": (_nadam_loop, _nadam_np),
         "lion": (_lion_loop, _lion_np)}

__all__ = ["RULES", "COMPILED"]
