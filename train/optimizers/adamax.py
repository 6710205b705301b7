"""``Adamax`` (Adam with the infinity norm), as Keras 3's."""
from __future__ import annotations

from .base import Optimizer


class Adamax(Optimizer):
    """``m += (g - m) * (1 - beta_1)``; ``u = max(beta_2 * u, |g|)``; ``w -= lr * m / ((1 - beta_1**t) *
    (u + epsilon))``.

    Args:
        learning_rate: float or schedule (default 0.001).
        beta_1, beta_2: decay rates of the moment and of the norm (0.9, 0.999).
        epsilon: added to ``u`` (1e-7).
        **kwargs: the base options (``clipnorm``, ``weight_decay``, ``use_ema``, ..., ``name``).

    Example::

        opt = Adamax(learning_rate=2e-3)
    """

    _kernel = "adamax"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._m, self._u = self.add_optimizer_variables(var_list, ["momentum", "norm"])

    def _slots(self):
        return [self._m, self._u]

    def _coefficients(self, lr):
        return lr, self._local_step(), self.beta_1, 1 - self.beta_1, self.beta_2, self.epsilon

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon})
        return config


__all__ = ["Adamax"]
