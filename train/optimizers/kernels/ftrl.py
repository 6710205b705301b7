"""FTRL-proximal."""
from __future__ import annotations

import numpy as np

from .scratch import scratch as _scratch


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


RULES = {"ftrl": (_ftrl_loop, _ftrl_np)}

__all__ = ["RULES"]
