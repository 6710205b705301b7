"""``Adadelta``, as Keras 3's."""
from __future__ import annotations

from .base import Optimizer


class Adadelta(Optimizer):
    """``E[g2] = rho E[g2] + (1-rho) g*g``; ``d = -sqrt(E[d2] + eps) / sqrt(E[g2] + eps) * g``;
    ``E[d2] = rho E[d2] + (1-rho) d*d``; ``w += lr * d``.

    Args:
        learning_rate: float or schedule (default 0.001; the paper's method is ``learning_rate=1.0``).
        rho: decay rate (0.95).
        epsilon: added under the square roots (1e-7).
        **kwargs: the base options (``clipnorm``, ``weight_decay``, ``use_ema``, ..., ``name``).

    Example::

        opt = Adadelta(learning_rate=1.0, rho=0.95)
    """

    _kernel = "adadelta"

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.rho, self.epsilon = rho, epsilon

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._accumulated_grads, self._accumulated_delta_vars = self.add_optimizer_variables(
            var_list, ["accumulated_grad", "accumulated_delta_var"])

    def _slots(self):
        return [self._accumulated_grads, self._accumulated_delta_vars]

    def _coefficients(self, lr):
        return lr, self.rho, 1 - self.rho, self.epsilon

    def get_config(self):
        config = super().get_config()
        config.update({"rho": self.rho, "epsilon": self.epsilon})
        return config


__all__ = ["Adadelta"]
