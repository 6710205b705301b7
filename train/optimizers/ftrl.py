"""``Ftrl`` (Follow The Regularized Leader), as Keras 3's."""
from __future__ import annotations

from ...errors import KerasliteError
from ..initializers import Constant
from .base import Optimizer

_NON_NEGATIVE = ("initial_accumulator_value", "l1_regularization_strength", "l2_regularization_strength",
                 "l2_shrinkage_regularization_strength")


class Ftrl(Optimizer):
    """FTRL-proximal with L1/L2 regularization and L2 shrinkage, for shallow wide models.

    Per element, with ``p = -learning_rate_power``: ``n' = n + g*g``; ``z += g + 2*l2_shrinkage*w - (n'**p -
    n**p) / lr * w``; ``w = (clip(z, -l1, l1) - z) / (n'**p / lr + 2 * (l2 + beta / (2 lr)))``; ``n = n'``.

    Args:
        learning_rate: float or schedule (default 0.001).
        learning_rate_power: <= 0 (-0.5).
        initial_accumulator_value: starting ``n``, >= 0 (0.1).
        l1_regularization_strength, l2_regularization_strength, l2_shrinkage_regularization_strength: >= 0 (0.0).
        beta: (0.0).
        **kwargs: the base options (``clipnorm``, ``weight_decay``, ``use_ema``, ..., ``name``).

    Example::

        opt = Ftrl(learning_rate=0.1, l1_regularization_strength=0.01)
    """

    _kernel = "ftrl"

    def __init__(self, learning_rate=0.001, learning_rate_power=-0.5, initial_accumulator_value=0.1,
                 l1_regularization_strength=0.0, l2_regularization_strength=0.0,
                 l2_shrinkage_regularization_strength=0.0, beta=0.0, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        values = dict(zip(_NON_NEGATIVE, (initial_accumulator_value, l1_regularization_strength,
                                          l2_regularization_strength, l2_shrinkage_regularization_strength)))
        for key, value in values.items():
            if value < 0.0:
                raise KerasliteError(f"`{key}` needs to be positive or zero. Received: {key}={value}.")
        if learning_rate_power > 0.0:
            raise KerasliteError(f"`learning_rate_power` needs to be negative or zero. Received: "
                                 f"learning_rate_power={learning_rate_power}.")
        self.learning_rate_power = learning_rate_power
        self.initial_accumulator_value = initial_accumulator_value
        self.l1_regularization_strength = l1_regularization_strength
        self.l2_regularization_strength = l2_regularization_strength
        self.l2_shrinkage_regularization_strength = l2_shrinkage_regularization_strength
        self.beta = beta

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._accumulators, self._linears = self.add_optimizer_variables(
            var_list, ["accumulator", "linear"], initializer=[Constant(self.initial_accumulator_value), "zeros"])

    def _slots(self):
        return [self._accumulators, self._linears]

    def _coefficients(self, lr):
        return (lr, -self.learning_rate_power, self.l1_regularization_strength, self.l2_regularization_strength,
                self.beta, 2 * self.l2_shrinkage_regularization_strength)

    def get_config(self):
        config = super().get_config()
        config.update({"learning_rate_power": self.learning_rate_power,
                       "initial_accumulator_value": self.initial_accumulator_value,
                       "l1_regularization_strength": self.l1_regularization_strength,
                       "l2_regularization_strength": self.l2_regularization_strength,
                       "l2_shrinkage_regularization_strength": self.l2_shrinkage_regularization_strength,
                       "beta": self.beta})
        return config


__all__ = ["Ftrl"]
