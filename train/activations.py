"""``keraslite.activations``: Keras' activation functions on tensors, and ``get``/``serialize`` by name.

``softmax`` and ``sigmoid`` remember their input on the output (``_keras_logits``), so a cross-entropy computed
on their output works from the logits, exactly as Keras does.
"""
from __future__ import annotations

from ..errors import KerasliteError
from .autodiff import Tensor, elementwise as E


def _logits_kept(out, x):
    out._keras_logits = x
    return out


def linear(x):
    return x


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """max(x, 0), or the general Keras form: x above ``threshold`` (else 0), capped at ``max_value``, with
    ``negative_slope * (x - threshold)`` below the threshold."""
    if negative_slope == 0.0 and max_value is None and threshold == 0.0:
        return E.relu(x)
    if max_value is None and threshold == 0.0:
        return E.leaky_relu(x, negative_slope=negative_slope)
    if threshold != 0.0:
        out = E.multiply(x, E.greater(x, threshold))
    elif max_value == 6:
        out, max_value = E.relu6(x), None
    else:
        out = E.relu(x)
    if max_value is not None:
        out = E.clip(out, 0.0, float(max_value))
    if negative_slope != 0.0:
        below = E.relu(E.add(E.negative(x), threshold)) if threshold != 0.0 else E.relu(E.negative(x))
        out = E.subtract(out, E.multiply(below, negative_slope))
    return out


def relu6(x):
    return E.relu6(x)


def sigmoid(x):
    return _logits_kept(E.sigmoid(x), x)


def softmax(x, axis=-1):
    return _logits_kept(E.softmax(x, axis=axis), x)


def log_softmax(x, axis=-1):
    return E.log_softmax(x, axis=axis)


def tanh(x):
    return E.tanh(x)


def softplus(x):
    return E.softplus(x)


def softsign(x):
    return E.softsign(x)


def elu(x, alpha=1.0):
    return E.elu(x, alpha=alpha)


def selu(x):
    return E.selu(x)


def exponential(x):
    return E.exp(x)


def silu(x):
    return E.silu(x)


def gelu(x, approximate=False):
    return E.gelu(x, approximate=approximate)


def leaky_relu(x, negative_slope=0.2):
    return E.leaky_relu(x, negative_slope=negative_slope)


def mish(x):
    return E.mish(x)


def hard_sigmoid(x):
    """Keras 3's ``relu6(x + 3) / 6``."""
    return E.hard_sigmoid(x)


def hard_sigmoid_keras2(x):
    """Keras 2's ``clip(0.2 x + 0.5, 0, 1)`` (what ``hard_sigmoid`` means in a Keras 2 file)."""
    return E.hard_sigmoid_keras2(x)


def hard_silu(x):
    return E.hard_silu(x)


swish = silu
hard_swish = hard_silu
ACTIVATIONS = {"linear": linear, "relu": relu, "relu6": relu6, "sigmoid": sigmoid, "softmax": softmax,
               "log_softmax": log_softmax, "tanh": tanh, "softplus": softplus, "softsign": softsign, "elu": elu,
               "selu": selu, "exponential": exponential, "swish": swish, "silu": silu, "gelu": gelu,
               "leaky_relu": leaky_relu, "mish": mish, "hard_sigmoid": hard_sigmoid,
               "hard_sigmoid_keras2": hard_sigmoid_keras2, "hard_silu": hard_silu, "hard_swish": hard_swish}
# The names files carry for each function (format/ writes "swish" for silu).
_CANONICAL = {silu: "swish", hard_silu: "hard_silu"}


def get(identifier):
    """An activation function from a name, None (linear) or a callable."""
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        fn = ACTIVATIONS.get(identifier)
        if fn is None:
            raise KerasliteError(f"Could not interpret activation function identifier: {identifier!r}. Known "
                                 f"activations: {', '.join(sorted(a for a in ACTIVATIONS if a != 'hard_sigmoid_keras2'))}")
        return fn
    if isinstance(identifier, dict):
        return get(identifier.get("config", {}).get("name") if identifier.get("class_name") == "function"
                   else identifier.get("class_name"))
    if callable(identifier):
        return identifier
    raise KerasliteError(f"Could not interpret activation function identifier: {identifier!r}")


def serialize(fn) -> str:
    """The name of a built-in activation; a user function cannot be saved (loading never runs code)."""
    if fn in _CANONICAL:
        return _CANONICAL[fn]
    for name, known in ACTIVATIONS.items():
        if known is fn:
            return name
    if isinstance(fn, type) or hasattr(fn, "get_config"):
        raise KerasliteError(f"activation {fn!r} is not a built-in activation; use a layer for it")
    raise KerasliteError(f"activation {getattr(fn, '__name__', fn)!r} is a Python function, which model files "
                         "cannot hold (loading never runs code). Use a built-in activation name, or an "
                         "Activation/ReLU/... layer")


__all__ = list(ACTIVATIONS) + ["get", "serialize", "Tensor"]
