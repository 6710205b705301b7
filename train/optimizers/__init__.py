"""Interim optimizers (SGD, Adam) until the full package lands; same API."""
import numpy as np

from ...errors import KerasliteError
from ..autodiff import Variable


class Optimizer:
    def __init__(self, learning_rate=0.01, name=None, **kwargs):
        self._learning_rate = float(learning_rate)
        self.name = name or type(self).__name__.lower()
        self.iterations = Variable(np.int64(0), trainable=False, name="iteration")
        self.built = False

    @property
    def learning_rate(self):
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        self._learning_rate = float(value)

    def apply_gradients(self, grads_and_vars):
        grads, variables = zip(*grads_and_vars)
        self.apply(list(grads), list(variables))

    def apply(self, grads, variables):
        if not self.built:
            self.build(variables)
        lr = np.float32(self._learning_rate)
        for i, (g, v) in enumerate(zip(grads, variables)):
            if g is not None:
                self.update_step(np.asarray(g._v if hasattr(g, "_v") else g, v.dtype), v, lr, i)
        self.iterations.assign(self.iterations._v + 1)

    def build(self, variables):
        self.built = True

    def get_config(self):
        return {"name": self.name, "learning_rate": self._learning_rate}

    @property
    def variables(self):
        return [self.iterations]


class SGD(Optimizer):
    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.momentum = momentum

    def build(self, variables):
        self.m = [np.zeros(v.shape, v.dtype) for v in variables]
        self.built = True

    def update_step(self, g, v, lr, i):
        if self.momentum:
            self.m[i] = self.momentum * self.m[i] - lr * g
            v._v += self.m[i]
        else:
            v._v -= lr * g


class Adam(Optimizer):
    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.b1, self.b2, self.eps = beta_1, beta_2, epsilon

    def build(self, variables):
        self.m = [np.zeros(v.shape, v.dtype) for v in variables]
        self.v = [np.zeros(v.shape, v.dtype) for v in variables]
        self.built = True

    def update_step(self, g, var, lr, i):
        t = float(self.iterations._v) + 1
        alpha = lr * np.sqrt(1 - self.b2 ** t) / (1 - self.b1 ** t)
        self.m[i] += (g - self.m[i]) * (1 - self.b1)
        self.v[i] += (g * g - self.v[i]) * (1 - self.b2)
        var._v -= (self.m[i] * alpha) / (np.sqrt(self.v[i]) + self.eps)


class RMSprop(SGD):
    pass


def get(identifier):
    if isinstance(identifier, Optimizer):
        return identifier
    table = {"sgd": SGD, "adam": Adam, "rmsprop": RMSprop}
    if isinstance(identifier, dict):
        return table[identifier["class_name"].lower()](**identifier.get("config", {}))
    if isinstance(identifier, str) and identifier.lower() in table:
        return table[identifier.lower()]()
    raise KerasliteError(f"Could not interpret optimizer identifier: {identifier!r}")
