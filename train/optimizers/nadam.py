"""``Nadam`` (Adam with Nesterov momentum and Dozat's momentum schedule), as Keras 3's."""
from __future__ import annotations

import numpy as np

from .base import Optimizer


class Nadam(Optimizer):
    """Adam's moments with a Nesterov look-ahead: ``u_t = beta_1 * (1 - 0.5 * 0.96**t)``, a running product
    ``prod(u_1..u_t)`` kept as an optimizer variable, and ``m_hat = u_{t+1} m / (1 - prod_{t+1}) + (1 - u_t) g /
    (1 - prod_t)``; ``w -= lr * m_hat / (sqrt(v / (1 - beta_2**t)) + epsilon)``.

    Args:
        learning_rate: float or schedule (default 0.001).
        beta_1, beta_2: decay rates of the first and second moments (0.9, 0.999).
        epsilon: added to the square root (1e-7).
        **kwargs: the base options (``clipnorm``, ``weight_decay``, ``use_ema``, ..., ``name``).

    Example::

        opt = Nadam(learning_rate=2e-3)
    """

    _kernel = "nadam"
    _squared_slot = 2  # fused state entry of the squared-gradient average (sparse gradients, see base)

    def _squared_factor(self):
        return (1.0 - self.beta_2) / self.beta_2

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon

    def build(self, var_list):
        if self.built:
            return
        var_list = list(var_list)
        dtype = var_list[0].dtype if var_list else np.float32
        super().build(var_list)
        self._momentums, self._velocities = self.add_optimizer_variables(var_list, ["momentum", "velocity"])
        # made outside build's slot helpers in Keras, so it is named plainly "variable"
        self._u_product = self._own_variable(np.array(1.0, dtype), "variable")

    def _slots(self):
        return [self._momentums, self._velocities]

    def _update_batch(self, pairs, lr):
        # the running product advances once per update, before the variables are updated
        u = self._u_product._v
        dt = u.dtype.type
        t = dt(self._local_step())
        u[...] = u * dt(self.beta_1) * (dt(1.0) - dt(0.5) * np.power(dt(0.96), t))
        super()._update_batch(pairs, lr)

    def _coefficients(self, lr):
        return lr, self._local_step(), self.beta_1, self.beta_2, self.epsilon, float(self._u_product._v)

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon})
        return config


__all__ = ["Nadam"]
