"""Elementwise primitives and their VJPs, one entry each: arithmetic, math functions, comparisons, activations.

Each VJP line reads ``d(output)/d(input) * g``; ``unbroadcast`` sums a gradient back to a broadcast input's shape.
Gradients at kinks follow TensorFlow (relu'(0) = 0, |x|'(0) = 0, max picks the first argument on ties).
"""
from __future__ import annotations

import math

import numpy as np

from .core import primitive, shape_of, unbroadcast

SELU_ALPHA = 1.6732632423543772
SELU_SCALE = 1.0507009873554805


def _u(g, x):
    return unbroadcast(g, shape_of(x))


def _f(x, value):
    """``value`` as a scalar of ``x``'s float dtype (keeps float32 math float32)."""
    dtype = np.result_type(x) if np.result_type(x).kind == "f" else np.float32
    return dtype.type(value)


# ---------------------------------------------------------------------------------------------- arithmetic
add = primitive("add", np.add, lambda g, a, x, y: _u(g, x), lambda g, a, x, y: _u(g, y))
subtract = primitive("subtract", np.subtract, lambda g, a, x, y: _u(g, x), lambda g, a, x, y: _u(-g, y))
multiply = primitive("multiply", np.multiply, lambda g, a, x, y: _u(g * y, x), lambda g, a, x, y: _u(g * x, y))
divide = primitive("divide", np.true_divide, lambda g, a, x, y: _u(g / y, x),
                   lambda g, a, x, y: _u(-g * a / y, y))
negative = primitive("negative", np.negative, lambda g, a, x: -g)
square = primitive("square", np.square, lambda g, a, x: g * (x + x))
sqrt = primitive("sqrt", np.sqrt, lambda g, a, x: g / (a + a))
rsqrt = primitive("rsqrt", lambda x: 1.0 / np.sqrt(x), lambda g, a, x: g * _f(x, -0.5) * a / x)
exp = primitive("exp", np.exp, lambda g, a, x: g * a)
expm1 = primitive("expm1", np.expm1, lambda g, a, x: g * (a + 1))
log = primitive("log", np.log, lambda g, a, x: g / x)
log1p = primitive("log1p", np.log1p, lambda g, a, x: g / (x + 1))
absolute = primitive("abs", np.abs, lambda g, a, x: g * np.sign(x))
reciprocal = primitive("reciprocal", lambda x: 1.0 / x, lambda g, a, x: -g * a * a)


def _power_dx(g, a, x, y):
    return _u(g * y * np.power(x, y - 1), x)


def _power_dy(g, a, x, y):
    safe = np.where(x > 0, x, 1)
    return _u(g * a * np.log(safe), y)


power = primitive("power", np.power, _power_dx, _power_dy)


def _pick(first):
    def vjp(g, a, x, y):
        mask = (x >= y) if first else (x < y)  # ties go to the first argument
        return _u(np.where(mask, g, 0).astype(g.dtype, copy=False), x if first else y)
    return vjp


def _pick_min(first):
    def vjp(g, a, x, y):
        mask = (x <= y) if first else (x > y)
        return _u(np.where(mask, g, 0).astype(g.dtype, copy=False), x if first else y)
    return vjp


maximum = primitive("maximum", np.maximum, _pick(True), _pick(False))
minimum = primitive("minimum", np.minimum, _pick_min(True), _pick_min(False))


def _clip_fwd(x, lo, hi):
    return np.clip(x, lo, hi)


clip = primitive("clip", _clip_fwd, lambda g, a, x, lo, hi: g * ((x >= lo) & (x <= hi)))
where = primitive("where", np.where, None,
                  lambda g, a, c, x, y: _u(np.where(c, g, 0).astype(g.dtype, copy=False), x),
                  lambda g, a, c, x, y: _u(np.where(c, 0, g).astype(g.dtype, copy=False), y))
cast = primitive("cast", lambda x, dtype: np.asarray(x).astype(dtype),
                 lambda g, a, x, dtype: g.astype(np.result_type(x)) if np.result_type(x).kind == "f" else None)
sin = primitive("sin", np.sin, lambda g, a, x: g * np.cos(x))
cos = primitive("cos", np.cos, lambda g, a, x: -g * np.sin(x))
arctan = primitive("arctan", np.arctan, lambda g, a, x: g / (1 + x * x))


def erf_array(x):
    """erf: exact (math.erf) in float64, Abramowitz-Stegun 7.1.26 (|error| < 1.5e-7) otherwise."""
    x = np.asarray(x)
    if x.dtype == np.float64:
        return np.vectorize(math.erf, otypes=[np.float64])(x)
    from ...runtime.kernels.activations import _erf

    return _erf(x).astype(x.dtype, copy=False)


erf = primitive("erf", erf_array, lambda g, a, x: g * _f(x, 2 / math.sqrt(math.pi)) * np.exp(-x * x))


# Not differentiable (integer or boolean results)
def _nodiff(name, fn):
    return primitive(name, fn)


equal = _nodiff("equal", np.equal)
not_equal = _nodiff("not_equal", np.not_equal)
less = _nodiff("less", np.less)
less_equal = _nodiff("less_equal", np.less_equal)
greater = _nodiff("greater", np.greater)
greater_equal = _nodiff("greater_equal", np.greater_equal)
logical_and = _nodiff("logical_and", np.logical_and)
logical_or = _nodiff("logical_or", np.logical_or)
logical_not = _nodiff("logical_not", np.logical_not)
sign = _nodiff("sign", np.sign)
floor = _nodiff("floor", np.floor)
ceil = _nodiff("ceil", np.ceil)
round_ = _nodiff("round", np.round)
floor_divide = _nodiff("floor_divide", np.floor_divide)
mod = primitive("mod", np.mod, lambda g, a, x, y: _u(g, x), lambda g, a, x, y: _u(-g * np.floor_divide(x, y), y))
isnan = _nodiff("isnan", np.isnan)
isfinite = _nodiff("isfinite", np.isfinite)

# ---------------------------------------------------------------------------------------------- activations


def sigmoid_array(x):
    """1 / (1 + exp(-x)) without overflow warnings (exp's argument capped where the result is already 0)."""
    z = np.exp(-np.maximum(x, _f(x, -80.0)))
    z += 1
    return np.reciprocal(z, out=z)


def _gelu_fwd(x, approximate):
    if approximate:
        c = _f(x, math.sqrt(2 / math.pi))
        return _f(x, 0.5) * x * (1 + np.tanh(c * (x + _f(x, 0.044715) * x ** 3)))
    return _f(x, 0.5) * x * (1 + erf_array(x * _f(x, 1 / math.sqrt(2))))


def _gelu_vjp(g, a, x, approximate):
    if approximate:
        c = _f(x, math.sqrt(2 / math.pi))
        inner = c * (x + _f(x, 0.044715) * x ** 3)
        t = np.tanh(inner)
        d = _f(x, 0.5) * (1 + t) + _f(x, 0.5) * x * (1 - t * t) * c * (1 + _f(x, 3 * 0.044715) * x * x)
        return g * d
    cdf = _f(x, 0.5) * (1 + erf_array(x * _f(x, 1 / math.sqrt(2))))
    pdf = np.exp(-_f(x, 0.5) * x * x) * _f(x, 1 / math.sqrt(2 * math.pi))
    return g * (cdf + x * pdf)


def _elu_fwd(x, alpha):
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0))).astype(np.result_type(x), copy=False)


def _softplus(x):
    return np.logaddexp(_f(x, 0), x)


relu = primitive("relu", lambda x: np.maximum(x, 0), lambda g, a, x: g * (x > 0))
relu6 = primitive("relu6", lambda x: np.clip(x, 0, 6), lambda g, a, x: g * ((x > 0) & (x < 6)))
leaky_relu = primitive("leaky_relu", lambda x, negative_slope: np.where(x > 0, x, negative_slope * x),
                       lambda g, a, x, negative_slope: np.where(x > 0, g, negative_slope * g))
sigmoid = primitive("sigmoid", sigmoid_array, lambda g, a, x: g * a * (1 - a))
tanh = primitive("tanh", np.tanh, lambda g, a, x: g * (1 - a * a))
softplus = primitive("softplus", _softplus, lambda g, a, x: g * sigmoid_array(x))
softsign = primitive("softsign", lambda x: x / (1 + np.abs(x)), lambda g, a, x: g / np.square(1 + np.abs(x)))
elu = primitive("elu", _elu_fwd, lambda g, a, x, alpha: np.where(x > 0, g, g * (a + alpha)))
selu = primitive("selu", lambda x: _f(x, SELU_SCALE) * _elu_fwd(x, _f(x, SELU_ALPHA)),
                 lambda g, a, x: g * np.where(x > 0, _f(x, SELU_SCALE), a + _f(x, SELU_SCALE * SELU_ALPHA)))
silu = primitive("silu", lambda x: x * sigmoid_array(x),
                 lambda g, a, x: g * (lambda s: s * (1 + x * (1 - s)))(sigmoid_array(x)))
gelu = primitive("gelu", _gelu_fwd, _gelu_vjp)
hard_sigmoid = primitive("hard_sigmoid", lambda x: np.clip(x * _f(x, 1 / 6) + _f(x, 0.5), 0, 1),
                         lambda g, a, x: g * ((x > -3) & (x < 3)) * _f(x, 1 / 6))
hard_sigmoid_keras2 = primitive("hard_sigmoid_keras2", lambda x: np.clip(x * _f(x, 0.2) + _f(x, 0.5), 0, 1),
                                lambda g, a, x: g * ((x > -2.5) & (x < 2.5)) * _f(x, 0.2))
hard_silu = primitive("hard_silu", lambda x: x * np.clip(x * _f(x, 1 / 6) + _f(x, 0.5), 0, 1),
                      lambda g, a, x: g * np.where(x <= -3, 0, np.where(x >= 3, 1, x / 3 + _f(x, 0.5))))


def _mish_vjp(g, a, x):
    sp = _softplus(x)
    t = np.tanh(sp)
    return g * (t + x * (1 - t * t) * sigmoid_array(x))


mish = primitive("mish", lambda x: x * np.tanh(_softplus(x)), _mish_vjp)


def softmax_array(x, axis=-1):
    """Numerically stable softmax along ``axis`` (ndarray methods: numpy's np.max/np.sum wrappers cost more
    than the arithmetic on small batches)."""
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    e /= e.sum(axis=axis, keepdims=True)
    return e


def log_softmax_array(x, axis=-1):
    z = x - x.max(axis=axis, keepdims=True)
    z -= np.log(np.exp(z).sum(axis=axis, keepdims=True))
    return z


softmax = primitive("softmax", softmax_array,
                    lambda g, a, x, axis=-1: a * (g - (g * a).sum(axis=axis, keepdims=True)))
log_softmax = primitive("log_softmax", log_softmax_array,
                        lambda g, a, x, axis=-1: g - np.exp(a) * g.sum(axis=axis, keepdims=True))

__all__ = [name for name, value in list(globals().items()) if hasattr(value, "fwd")]
