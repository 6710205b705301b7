"""``Lion`` (evolved sign momentum), as Keras 3's."""
from __future__ import annotations

from ...errors import KerasliteError
from .base import Optimizer


class Lion(Optimizer):
    """``w -= lr * sign(beta_1 * m + (1 - beta_1) * g)``; then ``m = beta_2 * m + (1 - beta_2) * g``.

    Args:
        learning_rate: float or schedule (default 0.001).
        beta_1: interpolation of the update direction, in (0, 1] (0.9).
        beta_2: decay rate of the momentum (0.99).
        **kwargs: the base options (``clipnorm``, ``weight_decay``, ``use_ema``, ..., ``name``).

    Example::

        opt = Lion(learning_rate=1e-4, weight_decay=1e-2)
    """

    _kernel = "lion"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.99, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1, self.beta_2 = beta_1, beta_2
        if beta_1 <= 0 or beta_1 > 1:
            raise KerasliteError("Argument `beta_1` must be in the [0, 1] range. Otherwise, the optimizer "
                                 f"degenerates to SignSGD. Received: beta_1={beta_1}.")

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._momentums = self.add_optimizer_variables(var_list, "momentum")

    def _slots(self):
        return [self._momentums]

    def _coefficients(self, lr):
        return lr, self.beta_1, self.beta_2

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2})
        return config


__all__ = ["Lion"]
