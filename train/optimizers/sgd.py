"""``SGD``: gradient descent, with optional (Nesterov) momentum, as Keras 3's."""
from __future__ import annotations

from ...errors import KerasliteError
from .base import Optimizer


class SGD(Optimizer):
    """``w -= learning_rate * g``; with ``momentum``: ``m = momentum * m - learning_rate * g; w += m``
    (``w += momentum * m - learning_rate * g`` with ``nesterov``).

    Args:
        learning_rate: float or schedule (default 0.01).
        momentum: float in [0, 1] (default 0.0).
        nesterov: whether to use Nesterov momentum (default False).
        **kwargs: the base options (``clipnorm``, ``weight_decay``, ``use_ema``, ..., ``name``).

    Example::

        opt = SGD(learning_rate=0.1, momentum=0.9)
    """

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        if not isinstance(momentum, float) or momentum < 0 or momentum > 1:
            raise KerasliteError(f"`momentum` must be a float between [0, 1]. Received: momentum={momentum!r}")
        self.momentum = momentum
        self.nesterov = nesterov

    @property
    def _kernel(self):
        return "momentum" if self.momentum != 0 else "sgd"

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self.momentums = self.add_optimizer_variables(variables, "momentum") if self.momentum != 0 else []

    def _slots(self):
        return [self.momentums] if self.momentum != 0 else []

    def _coefficients(self, lr):
        return (lr, self.momentum, bool(self.nesterov)) if self.momentum != 0 else (lr,)

    def get_config(self):
        config = super().get_config()
        config.update({"momentum": self.momentum, "nesterov": self.nesterov})
        return config


__all__ = ["SGD"]
