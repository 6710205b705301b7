"""Activation functions on float32 arrays (numpy, vectorised); ``inplace`` variants overwrite their argument."""
import numpy as np

from .. import _jit

SELU_ALPHA = 1.6732632423543772
SELU_SCALE = 1.0507009873554805


def _erf(x):
    """erf by Abramowitz-Stegun 7.1.26 (|error| < 1.5e-7), vectorised; numpy has no erf."""
    s = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return s * (1.0 - poly * np.exp(-a * a))


def _softmax(x, axis=-1):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def _log_softmax(x, axis=-1):
    z = x - np.max(x, axis=axis, keepdims=True)
    return z - np.log(np.sum(np.exp(z), axis=axis, keepdims=True))


def _sigmoid(x):
    # 1 / (1 + exp(-x)) with -x capped at 88 so exp never overflows float32 (sigmoid(-88) ~ 6e-39 is already 0).
    out = np.maximum(x, np.float32(-88.0) if x.dtype == np.float32 else -88.0)
    np.negative(out, out=out)
    np.exp(out, out=out)
    out += 1
    return np.reciprocal(out, out=out)


def _elu(x, alpha=1.0):
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


FUNCTIONS = {
    "linear": lambda x: x,
    "relu": lambda x: np.maximum(x, 0),
    "relu6": lambda x: np.clip(x, 0, 6),
    "sigmoid": _sigmoid,
    "hard_sigmoid": lambda x: np.clip(x + 3.0, 0, 6) / 6.0,
    "hard_sigmoid_keras2": lambda x: np.clip(0.2 * x + 0.5, 0, 1),
    "hard_silu": lambda x: x * (np.clip(x + 3.0, 0, 6) / 6.0),
    "tanh": np.tanh,
    "softmax": _softmax,
    "log_softmax": _log_softmax,
    "softplus": lambda x: np.logaddexp(0, x),
    "softsign": lambda x: x / (1.0 + np.abs(x)),
    "elu": _elu,
    "selu": lambda x: SELU_SCALE * _elu(x, SELU_ALPHA),
    "exponential": np.exp,
    "swish": lambda x: x * _sigmoid(x),
    "silu": lambda x: x * _sigmoid(x),
    "gelu": lambda x: 0.5 * x * (1.0 + _erf(x * np.float32(0.7071067811865476))),
    "gelu_approximate": lambda x: 0.5 * x * (1.0 + np.tanh(0.7978845608028654 * (x + 0.044715 * x ** 3))),
    "leaky_relu": lambda x: np.where(x >= 0, x, 0.2 * x),
    "mish": lambda x: x * np.tanh(np.logaddexp(0, x)),
}


# numpy's maximum/minimum/add with a scalar or a broadcast row run a slow strided loop (3-5x slower than with a
# same-shape operand), so the in-place epilogues below work on flat chunks against same-size constant arrays.
_CHUNK = 1 << 14  # floats per pass: a chunk stays in L1/L2 across bias, max and min
_ZEROS = np.zeros(_CHUNK, np.float32)
_SIXES = np.full(_CHUNK, 6.0, np.float32)
for _a in (_ZEROS, _SIXES):
    _a.flags.writeable = False


def _clamp_(flat, lo, hi):
    """``flat`` (1-D, at most _CHUNK long) clamped in place to ``[0, inf)`` (lo) and ``(-inf, 6]`` (hi)."""
    n = flat.shape[0]
    if lo:
        np.maximum(flat, _ZEROS[:n], out=flat)
    if hi:
        np.minimum(flat, _SIXES[:n], out=flat)


def epilogue(bias, name):
    """``fn(y) -> y``: ``y += bias`` then activation ``name``, in place, chunk by chunk (``bias`` may be None).

    ``y`` must be a C-contiguous float32 array whose last axis has ``len(bias)`` entries.
    """
    clamp = {"relu": (True, False), "relu6": (True, True)}.get(name)
    act = None if clamp is not None or name == "linear" else get(name, inplace=True)
    if bias is None and act is None and clamp is None:
        return FUNCTIONS["linear"]
    reps = max(1, _CHUNK // bias.shape[0]) if bias is not None else 0
    tile = np.tile(bias, reps) if bias is not None else None
    step = tile.shape[0] if tile is not None else _CHUNK
    lo, hi = clamp or (False, False)
    code = {"linear": 0, "relu": 1, "relu6": 2}.get(name)
    jit_bias = bias if bias is not None else (np.zeros(0, np.float32) if code is not None else None)
    jitted = []  # the Numba kernel once this process has Numba loaded (a plan needed it); never imports it

    def run(y):
        if not y.flags.c_contiguous:
            y = np.ascontiguousarray(y)
        if code is not None and y.dtype == np.float32 and y.size >= 4096:
            if not jitted and _jit.numba_loaded():
                from .epilogue import bias_act

                jitted.append(bias_act)
            if jitted and jitted[0] is not None:
                f = y.shape[-1] if y.ndim else 1
                b = jit_bias if jit_bias.shape[0] else np.zeros(f, np.float32)
                jitted[0](y.reshape(-1, f), b, code)
                return y
        flat = y.reshape(-1)
        for i in range(0, flat.shape[0], step):
            seg = flat[i:i + step]
            if tile is not None:
                np.add(seg, tile[:seg.shape[0]], out=seg)
            if clamp is not None:
                _clamp_(seg, lo, hi)
        return y if act is None else act(y)
    return run


def _relu_(x):
    if x.size <= _CHUNK and x.flags.c_contiguous:
        _clamp_(x.reshape(-1), True, False)
        return x
    return np.maximum(x, 0, out=x)


def _relu6_(x):
    if x.size <= _CHUNK and x.flags.c_contiguous:
        _clamp_(x.reshape(-1), True, True)
        return x
    return np.clip(x, 0, 6, out=x)


def _tanh_(x):
    return np.tanh(x, out=x)


def _softmax_(x):
    """Softmax over the last axis, in place (array methods: np.max/np.sum wrappers cost a few us each)."""
    np.subtract(x, x.max(axis=-1, keepdims=True), out=x)
    np.exp(x, out=x)
    return np.divide(x, x.sum(axis=-1, keepdims=True), out=x)


def _sigmoid_(x):
    np.maximum(x, np.float32(-88.0), out=x)
    np.negative(x, out=x)
    np.exp(x, out=x)
    x += 1
    return np.reciprocal(x, out=x)


INPLACE = {"linear": lambda x: x, "relu": _relu_, "relu6": _relu6_, "tanh": _tanh_, "softmax": _softmax_,
           "sigmoid": _sigmoid_}


def get(name, inplace=False):
    """The function for activation ``name`` (float32 in, float32 out); raises KeyError when unknown."""
    if inplace and name in INPLACE:
        return INPLACE[name]
    fn = FUNCTIONS[name]
    if name == "linear":
        return fn

    def run(x, fn=fn):
        return np.asarray(fn(x), dtype=np.float32)
    return run
