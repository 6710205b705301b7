"""``RMSprop``, as Keras 3's (epsilon inside the square root; plain momentum; optional centering)."""
from __future__ import annotations

from .base import Optimizer


class RMSprop(Optimizer):
    """``v = rho * v + (1 - rho) * g*g``; ``w -= lr * g / sqrt(v + epsilon)`` (``v - avg**2 + epsilon`` when
    ``centered``, ``avg`` the moving mean of ``g``); with ``momentum``, the step goes through ``m = momentum * m +
    step``.

    Args:
        learning_rate: float or schedule (default 0.001).
        rho: discounting factor of the squared gradients (0.9).
        momentum: momentum (0.0: none).
        epsilon: added under the square root (1e-7).
        centered: normalise by the estimated variance (default False).
        **kwargs: the base options (``clipnorm``, ``weight_decay``, ``use_ema``, ..., ``name``).

    Example::

        opt = RMSprop(learning_rate=1e-3, rho=0.9)
    """

    _kernel = "rmsprop"
    _squared_slot = 1  # fused state entry of the squared-gradient average (sparse gradients, see base)

    def _squared_factor(self):
        return (1.0 - self.rho) / self.rho

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.rho, self.momentum, self.epsilon, self.centered = rho, momentum, epsilon, centered

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._velocities = self.add_optimizer_variables(var_list, "velocity")
        self._momentums = self.add_optimizer_variables(var_list, "momentum") if self.momentum > 0 else []
        self._average_gradients = (self.add_optimizer_variables(var_list, "average_gradient")
                                   if self.centered else [])

    def _slots(self):
        return [self._velocities, self._momentums, self._average_gradients]

    def _coefficients(self, lr):
        return lr, self.rho, 1 - self.rho, self.momentum, self.epsilon, bool(self.centered), self.momentum > 0

    def get_config(self):
        config = super().get_config()
        config.update({"rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon,
                       "centered": self.centered})
        return config


__all__ = ["RMSprop"]
