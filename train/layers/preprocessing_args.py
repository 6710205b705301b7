"""Helpers shared by the preprocessing layers: Keras' string-argument check and the batches ``adapt`` reads."""
from __future__ import annotations

import numpy as np

from ...errors import KerasliteError
from ..autodiff import Tensor


def check_choice(value, allowed, caller, arg, allow_none=False, allow_callables=False):
    """Keras' ``validate_string_arg``: the same message for a value outside ``allowed``."""
    if value is None and allow_none or callable(value) and allow_callables or (
            isinstance(value, str) and value in allowed):
        return
    raise KerasliteError(f"Unknown value for `{arg}` argument of {caller}. Allowed values are: {allowed}. "
                         f"Received: {arg}={value}")


def adapt_batches(data, steps=None):
    """The batches ``adapt`` learns from: one array for array/list data, else each batch of an iterable
    (a keraslite Dataset, a generator), up to ``steps``."""
    if isinstance(data, (list, tuple, np.ndarray, Tensor)):
        arr = data._v if isinstance(data, Tensor) else np.asarray(data, dtype=object if isinstance(
            data, (list, tuple)) else None)
        if arr.ndim == 1:
            arr = arr[:, None]
        yield arr
        return
    if not hasattr(data, "__iter__"):
        raise KerasliteError(f"adapt() expects an array, a list, a Dataset or an iterable of batches; got "
                             f"{type(data).__name__}")
    for i, batch in enumerate(data):
        if steps is not None and i >= steps:
            return
        if isinstance(batch, tuple):
            raise KerasliteError("adapt() received batches of (inputs, labels); adapt on the inputs only, e.g. "
                                 "layer.adapt(dataset.map(lambda x, y: x))")
        yield batch._v if isinstance(batch, Tensor) else batch


def salt_pair(salt, owner: str, tuple_words: str = "a tuple of 2 integers"):
    """Keras' ``salt``: a pair of integers kept as a list (one integer is used twice); None stays None."""
    if salt is None:
        return None
    if isinstance(salt, (tuple, list)) and len(salt) == 2:
        return list(salt)
    if isinstance(salt, int):
        return [salt, salt]
    raise KerasliteError(f"The `salt` argument for `{owner}` can only be {tuple_words}, or a single integer. "
                         f"Received: salt={salt}.")


__all__ = ["check_choice", "adapt_batches", "salt_pair"]
