"""``keraslite.backend``: the few Keras backend functions tutorials call."""
from .autodiff.core import FLOATX
from .layers.base import clear_session as _clear_names


def clear_session():
    """Forget automatic layer names (the next Dense is ``dense`` again), as Keras does."""
    _clear_names()


def floatx():
    return FLOATX


def epsilon():
    return 1e-7


def backend():
    return "keraslite"


def image_data_format():
    return "channels_last"


__all__ = ["clear_session", "floatx", "epsilon", "backend", "image_data_format"]
