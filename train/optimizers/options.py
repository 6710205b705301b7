"""The options every optimizer shares (Keras 3's base-class arguments): clipping, decoupled weight decay, EMA of the
weights, gradient accumulation and variables overwritten by their gradient. Each works on the ``(index, flat
gradient)`` pairs of one ``Optimizer.apply`` step, in the float32 arithmetic Keras uses.
"""
from __future__ import annotations

import numpy as np

from ...errors import KerasliteError
from . import kernels


def validate(use_ema, ema_momentum, ema_overwrite_frequency, gradient_accumulation_steps, clipnorm, clipvalue,
             global_clipnorm):
    """Keras 3's argument checks of the base optimizer."""
    if gradient_accumulation_steps and not gradient_accumulation_steps >= 2:
        raise KerasliteError("`gradient_accumulation_steps` must be an integer >= 2. Received: "
                             f"gradient_accumulation_steps={gradient_accumulation_steps}")
    if use_ema:
        if ema_momentum > 1 or ema_momentum < 0:
            raise KerasliteError(f"`ema_momentum` must be in the range [0, 1]. Received: ema_momentum={ema_momentum}")
        if ema_overwrite_frequency and (not isinstance(ema_overwrite_frequency, int) or ema_overwrite_frequency < 1):
            raise KerasliteError("`ema_overwrite_frequency` must be an integer >= 1 or None. Received: "
                                 f"ema_overwrite_frequency={ema_overwrite_frequency}")
    if sum(a is not None for a in (clipnorm, clipvalue, global_clipnorm)) > 1:
        raise KerasliteError(f"Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. Received: "
                             f"clipnorm={clipnorm}, clipvalue={clipvalue}, global_clipnorm={global_clipnorm}")


def _flat(opt, i):
    """The flat view of trainable variable ``i`` (re-made if its buffer was replaced)."""
    if opt._trainable_variables[i]._v is not opt._bases[i]:
        from .state import _view

        _view(opt, i)
    return opt._flats[i]


def clip(opt, pairs):
    """Gradients after ``clipnorm`` (per gradient), ``global_clipnorm`` or ``clipvalue`` (new arrays if clipped)."""
    if opt.clipnorm and opt.clipnorm > 0:
        out = []
        for i, g in pairs:
            c = g.dtype.type(opt.clipnorm)
            norm = np.sqrt(np.dot(g, g))
            out.append((i, g if norm <= c else (g * c) / np.maximum(norm, c)))
        return out
    if opt.global_clipnorm and opt.global_clipnorm > 0:
        dt = pairs[0][1].dtype.type
        c = dt(opt.global_clipnorm)
        norm = np.sqrt(dt(sum(np.dot(g, g) for _, g in pairs)))
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = c * np.minimum(dt(1) / norm, dt(1) / c) + (norm - norm)  # NaN for a non-finite norm, as Keras
        return pairs if scale == 1 else [(i, g * g.dtype.type(scale)) for i, g in pairs]
    if opt.clipvalue and opt.clipvalue > 0:
        return [(i, np.clip(g, -g.dtype.type(opt.clipvalue), g.dtype.type(opt.clipvalue))) for i, g in pairs]
    return pairs


def decay(opt, pairs, lr):
    """``w -= w * weight_decay * lr`` for the variables not excluded from weight decay."""
    rule, decays = kernels.get("decay", opt._numba), opt._decays
    for i, _ in pairs:
        if decays[i]:
            w = _flat(opt, i)
            rule(w, np.array([opt.weight_decay, lr], w.dtype))


def accumulate_or_update(opt, pairs):
    """Add the gradients to the accumulators, or (every N-th step) update with their mean and reset them."""
    accs = _accumulator_flats(opt)
    steps = opt.gradient_accumulation_steps
    if (int(opt._iterations._v) + 1) % steps:
        for i, g in pairs:
            accs[i] += g
        return
    mean = []
    for i, g in pairs:
        a = accs[i]
        a += g
        a /= a.dtype.type(steps)
        mean.append((i, a))
    opt._clip_decay_update(mean)
    for a in accs:
        a[...] = 0


def _accumulator_flats(opt):
    flats = getattr(opt, "_acc_flats", None)
    if flats is None or len(flats) != len(opt._accumulated_gradients):
        flats = opt._acc_flats = [a._v.reshape(-1) for a in opt._accumulated_gradients]
    return flats


def update_ema(opt):
    """``average = m * average + (1 - m) * w`` for every variable (``m`` = 0 on the first update)."""
    it = int(np.asarray(opt.iterations))
    rule = kernels.get("ema", opt._numba)
    averages = opt._model_variables_moving_average
    for i in range(len(opt._trainable_variables)):
        average = averages[i]
        if average is None:
            continue
        w = _flat(opt, i)
        dt = w.dtype.type
        momentum = dt(opt.ema_momentum) if it != 0 else dt(0)
        rule(average._v.reshape(-1), w, np.array([momentum, dt(1) - momentum], w.dtype))
    if opt.ema_overwrite_frequency and (it + 1) % opt.ema_overwrite_frequency == 0:
        overwrite_with_average(opt, opt._trainable_variables)


def overwrite_with_average(opt, var_list):
    """Copy the moving averages into ``var_list`` (the variables the optimizer was built with)."""
    averages = opt._model_variables_moving_average
    if len(var_list) != len(averages):
        raise KerasliteError(f"The length of model variables ({len(var_list)}) to override does not match the "
                             f"length of model variables stored in the optimizer ({len(averages)}). Please check if "
                             "the optimizer was called on your model.")
    for variable, average in zip(var_list, averages):
        if average is not None:
            variable.assign(average._v)


def overwrite_with_gradient(opt, pairs):
    """Variables flagged ``overwrite_with_gradient`` take their gradient as value (the max over an accumulation
    window); the other pairs are returned for the normal update."""
    keep = []
    for i, g in pairs:
        variable = opt._trainable_variables[i]
        if not getattr(variable, "overwrite_with_gradient", False):
            keep.append((i, g))
            continue
        if not opt.gradient_accumulation_steps:
            np.copyto(variable._v, g.reshape(variable.shape))
            continue
        acc = _accumulator_flats(opt)[i]
        if (int(opt._iterations._v) + 1) % opt.gradient_accumulation_steps == 0:
            np.copyto(variable._v, np.maximum(g, acc).reshape(variable.shape))
            acc[...] = 0
        else:
            np.maximum(g, acc, out=acc)
    return keep


__all__ = ["validate", "clip", "decay", "accumulate_or_update", "update_ema", "overwrite_with_average",
           "overwrite_with_gradient"]
