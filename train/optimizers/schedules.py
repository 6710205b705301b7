"""``keraslite.optimizers.schedules``: learning rates that change with the optimizer step, as Keras 3's.

A schedule is called with the step (an int, an array of steps, or a Tensor) and returns the rate as a float32
Tensor, computed in float32 in the order Keras writes it, so an optimizer reads the same numbers as Keras' does.

Example::

    schedule = ExponentialDecay(initial_learning_rate=0.1, decay_steps=1000, decay_rate=0.96)
    optimizer = keraslite.optimizers.SGD(learning_rate=schedule)
    float(schedule(2000))  # 0.09216
"""
from __future__ import annotations

import math

import numpy as np

from ...errors import KerasliteError
from ..autodiff.core import Tensor

F32 = np.float32


def _steps(step):
    """The step(s) as a float32 array."""
    return np.asarray(step._v if isinstance(step, Tensor) else step).astype(F32)


def _check_positive(name, value):
    if value <= 0:
        raise KerasliteError(f"Argument `{name}` must be > 0. Received: {name}={value}")


class LearningRateSchedule:
    """Base class: subclasses implement ``__call__(step)`` and ``get_config()``; ``from_config`` is ``cls(**c)``."""

    def __call__(self, step):
        raise NotImplementedError(f"Learning rate schedule '{type(self).__name__}' must override "
                                  "`__call__(self, step)`.")

    def get_config(self):
        raise NotImplementedError(f"Learning rate schedule '{type(self).__name__}' must override `get_config()` in "
                                  "order to be serializable.")

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class _Builtin(LearningRateSchedule):
    """A schedule computed by ``_value(float32 steps)``."""

    def __call__(self, step):
        return Tensor(np.asarray(self._value(_steps(step)), F32))


class _TimeDecay(_Builtin):
    """The arguments and ``step / decay_steps`` ratio shared by exponential and inverse-time decay."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name=None):
        self.initial_learning_rate, self.decay_steps, self.decay_rate = initial_learning_rate, decay_steps, decay_rate
        self.staircase, self.name = staircase, name or type(self).__name__
        _check_positive("decay_steps", decay_steps)

    def _ratio(self, step):
        p = step / F32(self.decay_steps)
        return np.floor(p) if self.staircase else p

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate, "staircase": self.staircase, "name": self.name}


class ExponentialDecay(_TimeDecay):
    """``initial_learning_rate * decay_rate ** (step / decay_steps)`` (integer division with ``staircase``)."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name="ExponentialDecay"):
        super().__init__(initial_learning_rate, decay_steps, decay_rate, staircase, name)

    def _value(self, step):
        return F32(self.initial_learning_rate) * np.power(F32(self.decay_rate), self._ratio(step))


class PiecewiseConstantDecay(_Builtin):
    """``values[0]`` while ``step <= boundaries[0]``, ``values[1]`` up to ``boundaries[1]``, ... ``values[-1]``."""

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        if len(boundaries) != len(values) - 1:
            raise KerasliteError(f"The length of boundaries should be 1 less than the length of values. Received: "
                                 f"boundaries={boundaries} of length {len(boundaries)}, and values={values} of "
                                 f"length {len(values)}.")
        self.boundaries, self.values, self.name = boundaries, values, name

    def __call__(self, step):
        raw = np.asarray(step._v if isinstance(step, Tensor) else step)
        return Tensor(np.asarray(self._compare(raw), F32))

    def _value(self, step):
        return self._compare(step)

    def _compare(self, step):
        # the boundaries take the step's dtype (an integer step truncates float boundaries, as Keras casts them)
        bounds = [np.asarray(b).astype(step.dtype) for b in self.boundaries]
        values = [F32(v) for v in self.values]
        out = (step <= bounds[0]).astype(F32) * values[0] + (step > bounds[-1]).astype(F32) * values[-1]
        for low, high, value in zip(bounds[:-1], bounds[1:], values[1:-1]):
            out = out + ((step > low) & (step <= high)).astype(F32) * value
        return out

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class PolynomialDecay(_Builtin):
    """From ``initial_learning_rate`` to ``end_learning_rate`` along ``(1 - step / decay_steps) ** power``."""

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001, power=1.0, cycle=False,
                 name="PolynomialDecay"):
        self.initial_learning_rate, self.decay_steps = initial_learning_rate, decay_steps
        self.end_learning_rate, self.power, self.cycle, self.name = end_learning_rate, power, cycle, name
        _check_positive("decay_steps", decay_steps)

    def _value(self, step):
        lr0, end = F32(self.initial_learning_rate), F32(self.end_learning_rate)
        decay_steps = F32(self.decay_steps)
        if self.cycle:
            decay_steps = decay_steps * np.where(step == 0, F32(1), np.ceil(step / F32(self.decay_steps)))
        else:
            step = np.minimum(step, decay_steps)
        p = step / decay_steps
        return (lr0 - end) * np.power(F32(1) - p, F32(self.power)) + end

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "end_learning_rate": self.end_learning_rate, "power": self.power, "cycle": self.cycle,
                "name": self.name}


class InverseTimeDecay(_TimeDecay):
    """``initial_learning_rate / (1 + decay_rate * step / decay_steps)`` (floored ratio with ``staircase``)."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name="InverseTimeDecay"):
        super().__init__(initial_learning_rate, decay_steps, decay_rate, staircase, name)

    def _value(self, step):
        return F32(self.initial_learning_rate) / (F32(1) + F32(self.decay_rate) * self._ratio(step))


def _cosine(fraction, alpha):
    """``(1 - alpha) * 0.5 * (1 + cos(pi * fraction)) + alpha`` in float32."""
    cosine = F32(0.5) * (F32(1) + np.cos(F32(math.pi) * fraction))
    return F32(1 - alpha) * cosine + F32(alpha)


class CosineDecay(_Builtin):
    """Cosine decay over ``decay_steps`` to ``alpha`` times the start, after an optional linear warmup."""

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay", warmup_target=None,
                 warmup_steps=0):
        self.initial_learning_rate, self.decay_steps, self.alpha, self.name = (initial_learning_rate, decay_steps,
                                                                               alpha, name)
        self.warmup_target, self.warmup_steps = warmup_target, warmup_steps
        _check_positive("decay_steps", decay_steps)

    def _value(self, step):
        lr0, decay_steps = F32(self.initial_learning_rate), F32(self.decay_steps)
        if self.warmup_target is None:
            return lr0 * _cosine(np.minimum(step, decay_steps) / decay_steps, self.alpha)
        target, warmup = F32(self.warmup_target), F32(self.warmup_steps)
        step = np.minimum(step, decay_steps + warmup)
        with np.errstate(divide="ignore", invalid="ignore"):  # warmup_steps=0: the warmup branch is never taken
            warming = (target - lr0) * (step / warmup) + lr0
        decayed = target * _cosine((step - warmup) / decay_steps, self.alpha)
        return np.where(step < warmup, warming, decayed)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "alpha": self.alpha, "name": self.name, "warmup_target": self.warmup_target,
                "warmup_steps": self.warmup_steps}


class CosineDecayRestarts(_Builtin):
    """Cosine decay with warm restarts (SGDR): periods grow by ``t_mul``, restart rates shrink by ``m_mul``."""

    def __init__(self, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0, alpha=0.0, name="SGDRDecay"):
        self.initial_learning_rate, self.first_decay_steps = initial_learning_rate, first_decay_steps
        self._t_mul, self._m_mul, self.alpha, self.name = t_mul, m_mul, alpha, name
        _check_positive("first_decay_steps", first_decay_steps)

    def _value(self, step):
        alpha, t_mul, m_mul = F32(self.alpha), F32(self._t_mul), F32(self._m_mul)
        fraction = step / F32(self.first_decay_steps)
        if t_mul == 1:
            restart = np.floor(fraction)
            fraction = fraction - restart
        else:
            restart = np.floor(np.log(F32(1) - fraction * (F32(1) - t_mul)) / np.log(t_mul))
            done = (F32(1) - np.power(t_mul, restart)) / (F32(1) - t_mul)
            fraction = (fraction - done) / np.power(t_mul, restart)
        cosine = F32(0.5) * np.power(m_mul, restart) * (F32(1) + np.cos(F32(math.pi) * fraction))
        return F32(self.initial_learning_rate) * ((F32(1) - alpha) * cosine + alpha)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "first_decay_steps": self.first_decay_steps,
                "t_mul": self._t_mul, "m_mul": self._m_mul, "alpha": self.alpha, "name": self.name}


CLASSES = {c.__name__: c for c in (ExponentialDecay, PiecewiseConstantDecay, PolynomialDecay, InverseTimeDecay,
                                   CosineDecay, CosineDecayRestarts)}


def serialize(schedule) -> dict:
    """Keras 3's form: ``{"module", "class_name", "config", "registered_name"}``."""
    cls = type(schedule)
    builtin = CLASSES.get(cls.__name__) is cls
    return {"module": "keras.optimizers.schedules" if builtin else cls.__module__, "class_name": cls.__name__,
            "config": schedule.get_config(), "registered_name": None if builtin else cls.__name__}


def deserialize(config, custom_objects=None):
    """A schedule from ``serialize``'s dict (or Keras 2's ``{"class_name", "config"}``)."""
    if not isinstance(config, dict) or not isinstance(config.get("class_name"), str):
        raise KerasliteError(f"Could not interpret learning rate schedule config: {config!r:.200}; expected a dict "
                             "with 'class_name' and 'config'.")
    name = config["class_name"]
    cls = (custom_objects or {}).get(name) or CLASSES.get(name)
    if cls is None:
        raise KerasliteError(f"Unknown learning rate schedule {name!r}. Known: {', '.join(sorted(CLASSES))} (pass "
                             "custom schedules in `custom_objects`).")
    return cls.from_config(dict(config.get("config") or {}))


def get(identifier):
    """A schedule from a schedule object, a callable (kept as is), a config dict, or None."""
    if identifier is None or isinstance(identifier, LearningRateSchedule) or callable(identifier):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    raise KerasliteError(f"Could not interpret learning rate schedule identifier: {identifier!r:.200}. Expected a "
                         f"LearningRateSchedule, a config dict or a callable; known classes: {', '.join(CLASSES)}.")


__all__ = list(CLASSES) + ["LearningRateSchedule", "serialize", "deserialize", "get"]
