"""An optimizer's learning rate: a float kept in a ``learning_rate`` Variable (as Keras 3 does, so it is saved with
the state and callbacks can set it), a schedule evaluated at the current iteration, or a callable."""
from __future__ import annotations

import numpy as np

from ...errors import KerasliteError
from ..autodiff.core import Tensor
from ..autodiff.variable import Variable
from . import schedules


class LearningRateNotSettable(KerasliteError, TypeError):
    """Setting a float learning rate on an optimizer built with a schedule (a TypeError in Keras)."""


def is_dynamic(value) -> bool:
    """A schedule or a callable (anything but a fixed number)."""
    return isinstance(value, schedules.LearningRateSchedule) or (callable(value) and not isinstance(value, Tensor))


def set_rate(opt, value):
    """Keras 3's setter: a schedule/callable replaces the rate (dropping the Variable from the state); a number
    is assigned to the Variable, or starts one when the optimizer is made."""
    old = opt._learning_rate
    if is_dynamic(value):
        opt._learning_rate = value
        if isinstance(old, Variable):
            opt._variables = [v for v in opt._variables if v is not old]
        return
    if isinstance(old, Variable):
        old.assign(np.asarray(_float_value(value), old.dtype))
        return
    if old is not None:
        raise LearningRateNotSettable(
            "This optimizer was created with a `LearningRateSchedule` object as its `learning_rate` constructor "
            "argument, hence its learning rate is not settable. If you need the learning rate to be settable, you "
            "should instantiate the optimizer with a float `learning_rate` argument.")
    if not isinstance(value, (float, np.floating)) or isinstance(value, bool):
        hint = f" Use learning_rate={float(value)!r}." if isinstance(value, (int, np.integer)) else ""
        raise KerasliteError("Argument `learning_rate` should be float, or an instance of LearningRateSchedule, or a "
                             "callable (that takes in the current iteration value and returns the corresponding "
                             f"learning rate value). Received instead: learning_rate={value!r}." + hint)
    opt._learning_rate = opt._own_variable(np.array(value, np.float32), "learning_rate")


def current(opt) -> float:
    """The rate of the coming step as a float (float32-rounded, as Keras computes it)."""
    lr = opt._learning_rate
    if isinstance(lr, Variable):
        return float(lr._v)
    if isinstance(lr, schedules.LearningRateSchedule):
        return float(np.asarray(lr(int(opt._iterations._v)), np.float32))
    return float(np.asarray(lr(), np.float32))


def config_value(opt):
    """What ``get_config`` stores: the float, the serialized schedule, or a callable's current value (a function
    cannot be stored safely, and keraslite never loads code from files)."""
    lr = opt._learning_rate
    if isinstance(lr, Variable):
        return float(lr._v)
    if isinstance(lr, schedules.LearningRateSchedule):
        return schedules.serialize(lr)
    return current(opt)


def _float_value(value) -> float:
    if isinstance(value, Tensor):
        value = value._v
    try:
        return float(np.asarray(value))
    except (TypeError, ValueError):
        raise KerasliteError(f"Cannot set the learning rate to {value!r}: expected a float, a LearningRateSchedule "
                             "or a callable.") from None


__all__ = ["LearningRateNotSettable", "set_rate", "current", "config_value", "is_dynamic"]
