"""``Adam`` (with AMSGrad) and ``AdamW`` (Adam with decoupled weight decay), as Keras 3's."""
from __future__ import annotations

from ...errors import KerasliteError
from .base import Optimizer


class Adam(Optimizer):
    """Adam: ``m += (g - m) * (1 - beta_1)``, ``v += (g*g - v) * (1 - beta_2)``,
    ``w -= lr * sqrt(1 - beta_2**t) / (1 - beta_1**t) * m / (sqrt(v) + epsilon)``.

    Args:
        learning_rate: float or schedule (default 0.001).
        beta_1, beta_2: decay rates of the first and second moments (0.9, 0.999).
        epsilon: added to ``sqrt(v)`` (1e-7, Keras' "epsilon hat").
        amsgrad: use the running maximum of ``v`` (default False).
        **kwargs: the base options (``clipnorm``, ``weight_decay``, ``use_ema``, ..., ``name``).

    Example::

        model.compile(optimizer=Adam(learning_rate=3e-4), loss="mse")
    """

    _kernel = "adam"
    _squared_slot = 2  # fused state entry of the squared-gradient average (sparse gradients, see base)

    def _squared_factor(self):
        return (1.0 - self.beta_2) / self.beta_2

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1, self.beta_2, self.epsilon, self.amsgrad = beta_1, beta_2, epsilon, amsgrad

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._momentums, self._velocities = self.add_optimizer_variables(var_list, ["momentum", "velocity"])
        if self.amsgrad:
            self._velocity_hats = self.add_optimizer_variables(var_list, "velocity_hat")

    def _slots(self):
        return [self._momentums, self._velocities, self._velocity_hats if self.amsgrad else None]

    def _coefficients(self, lr):
        return (lr, self._local_step(), self.beta_1, self.beta_2, 1 - self.beta_1, 1 - self.beta_2, self.epsilon,
                bool(self.amsgrad))

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                       "amsgrad": self.amsgrad})
        return config


class AdamW(Adam):
    """Adam with decoupled weight decay: ``w -= w * weight_decay * lr`` before each Adam step.

    Args:
        weight_decay: required float (default 0.004); the rest as ``Adam``.

    Example::

        opt = AdamW(learning_rate=1e-3, weight_decay=1e-2)
        opt.exclude_from_weight_decay(var_names=["bias"])
    """

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, **kwargs):
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
                         amsgrad=amsgrad, weight_decay=weight_decay, **kwargs)
        if self.weight_decay is None:
            raise KerasliteError("Argument `weight_decay` must be a float. Received: weight_decay=None")


__all__ = ["Adam", "AdamW"]
