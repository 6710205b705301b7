"""``keraslite.regularizers``: L1, L2, L1L2 (and their names); a regularizer maps a weight to a scalar penalty
that the model adds to the loss, as Keras does."""
from __future__ import annotations

from ..errors import KerasliteError
from ._resolve import resolve, serialize  # noqa: F401
from .autodiff import elementwise as E, reduce as R


class Regularizer:
    """Base class: ``__call__(x) -> scalar tensor`` and ``get_config``."""

    def __call__(self, x):
        return 0.0

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class L1L2(Regularizer):
    def __init__(self, l1=0.0, l2=0.0):
        self.l1, self.l2 = float(l1), float(l2)

    def __call__(self, x):
        total = None
        if self.l1:
            total = E.multiply(R.sum_(E.absolute(x)), self.l1)
        if self.l2:
            part = E.multiply(R.sum_(E.square(x)), self.l2)
            total = part if total is None else E.add(total, part)
        return total if total is not None else E.multiply(R.sum_(x), 0.0)

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    def __init__(self, l1=0.01):
        super().__init__(l1=l1)

    def get_config(self):
        return {"l1": self.l1}


class L2(L1L2):
    def __init__(self, l2=0.01):
        super().__init__(l2=l2)

    def get_config(self):
        return {"l2": self.l2}


def l1_l2(l1=0.01, l2=0.01):
    """L1 and L2 penalties (Keras' ``l1_l2`` defaults both to 0.01)."""
    return L1L2(l1=l1, l2=l2)


l1, l2 = L1, L2
CLASSES = {"L1": L1, "L2": L2, "L1L2": L1L2}
NAMES = {"l1": L1, "l2": L2, "l1_l2": lambda: L1L2(0.01, 0.01), "l1l2": lambda: L1L2(0.01, 0.01)}


def get(identifier):
    """A regularizer from a name, a config dict, a class, an object or a callable (None stays None)."""
    return resolve(identifier, "regularizer", CLASSES, NAMES, Regularizer)



__all__ = ["Regularizer", "L1", "L2", "L1L2", "l1", "l2", "l1_l2", "get", "serialize"]
