"""``Adagrad``, as Keras 3's (epsilon inside the square root)."""
from __future__ import annotations

from ..initializers import Constant
from .base import Optimizer


class Adagrad(Optimizer):
    """``acc += g*g``; ``w -= lr * g / sqrt(acc + epsilon)``.

    Args:
        learning_rate: float or schedule (default 0.001).
        initial_accumulator_value: starting value of ``acc`` (0.1).
        epsilon: added under the square root (1e-7).
        **kwargs: the base options (``clipnorm``, ``weight_decay``, ``use_ema``, ..., ``name``).

    Example::

        opt = Adagrad(learning_rate=0.01)
    """

    _kernel = "adagrad"
    _squared_slot = 1  # fused state entry of the squared-gradient average (sparse gradients, see base)

    def _squared_factor(self):
        return 1.0

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.initial_accumulator_value, self.epsilon = initial_accumulator_value, epsilon

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._accumulators = self.add_optimizer_variables(var_list, "accumulator",
                                                          initializer=Constant(self.initial_accumulator_value))

    def _slots(self):
        return [self._accumulators]

    def _coefficients(self, lr):
        return lr, self.epsilon

    def get_config(self):
        config = super().get_config()
        config.update({"initial_accumulator_value": self.initial_accumulator_value, "epsilon": self.epsilon})
        return config


__all__ = ["Adagrad"]
