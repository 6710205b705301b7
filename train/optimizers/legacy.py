"""``optimizers.legacy.*``: the tf.keras 2 spellings old tutorials use, on Keras 3's update rules.

Keras 3 raises ImportError for these names; tf.keras 2.11+ kept them for its old optimizer classes. Here each is the
modern optimizer that also takes the old arguments: ``lr`` (with tf.keras' deprecation warning) and ``decay``
(tf.keras' time decay: the step uses ``learning_rate / (1 + decay * iterations)``). Update rules, variables and
their order are Keras 3's (the old RMSprop and Adagrad put epsilon outside the square root; these do not).

Example::

    opt = keraslite.optimizers.legacy.Adam(lr=0.001, decay=1e-6)
"""
from __future__ import annotations

import warnings

import numpy as np

from ...errors import KerasliteError
from . import adadelta, adagrad, adam, adamax, ftrl, nadam, rmsprop, sgd
from .base import Optimizer


def _legacy(modern):
    """A subclass of ``modern`` with the same name that accepts ``lr`` and ``decay``."""

    def __init__(self, *args, lr=None, decay=0.0, **kwargs):
        if lr is not None:
            warnings.warn("The `lr` argument is deprecated, use `learning_rate` instead.", stacklevel=2)
            kwargs["learning_rate"] = lr
        if isinstance(kwargs.get("learning_rate"), (int, np.integer)) and not isinstance(kwargs["learning_rate"],
                                                                                          bool):
            kwargs["learning_rate"] = float(kwargs["learning_rate"])  # tf.keras 2 took any number
        if decay is None or decay < 0.0:
            raise KerasliteError(f"decay cannot be less than 0. Received: decay={decay}.")
        modern.__init__(self, *args, **kwargs)
        self.decay = float(decay)

    def _current_lr(self):
        lr = modern._current_lr(self)
        if not self.decay:
            return lr
        f32 = np.float32
        return float(f32(lr) / (f32(1.0) + f32(self.decay) * f32(int(self._iterations._v))))

    def get_config(self):
        config = modern.get_config(self)
        if self.decay:
            config["decay"] = self.decay
        return config

    doc = f"tf.keras 2's ``legacy.{modern.__name__}``: ``{modern.__name__}`` that also accepts ``lr`` and ``decay``."
    namespace = {"__init__": __init__, "_current_lr": _current_lr, "get_config": get_config, "__doc__": doc,
                 "__module__": __name__}
    return type(modern.__name__, (modern,), namespace)


SGD = _legacy(sgd.SGD)
RMSprop = _legacy(rmsprop.RMSprop)
Adam = _legacy(adam.Adam)
Adagrad = _legacy(adagrad.Adagrad)
Adadelta = _legacy(adadelta.Adadelta)
Adamax = _legacy(adamax.Adamax)
Nadam = _legacy(nadam.Nadam)
Ftrl = _legacy(ftrl.Ftrl)

__all__ = ["Optimizer", "SGD", "RMSprop", "Adam", "Adagrad", "Adadelta", "Adamax", "Nadam", "Ftrl"]
