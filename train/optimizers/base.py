"""``Optimizer``: Keras 3's general optimizer (state in variables, shared clipping, weight decay, EMA, loss scaling
and gradient accumulation), with each built-in rule running as one fused in-place kernel per variable.

A step (``apply``) is: build on first use, drop ``None`` gradients (one warning), overwrite the variables flagged
``overwrite_with_gradient``, unscale by ``loss_scale_factor``, then either accumulate or (clip, decay, update),
update the EMA, apply constraints and count the iteration: the order of Keras 3's ``BaseOptimizer.apply``.
Built-in optimizers name a rule of ``kernels.RULES``, the slot lists in its argument order and the step's coefficients;
a user subclass that overrides ``update_step`` (Keras' custom-optimizer contract) runs it per variable instead.
"""
from __future__ import annotations

import re
import warnings
from typing import List, Optional

import numpy as np

from ...errors import KerasliteError
from ..autodiff.core import Tensor
from ..autodiff.variable import Variable
from . import compat, kernels, options, state
from . import learning_rate as _rate
from .learning_rate import LearningRateNotSettable  # noqa: F401 (re-exported)


class Optimizer:
    """Base class of every optimizer; subclass it with ``build`` and ``update_step`` as in Keras 3.

    Args:
        learning_rate: a float, a ``schedules.LearningRateSchedule`` or a callable without arguments.
        weight_decay: decoupled decay: each step ``w -= w * weight_decay * learning_rate`` before the update.
        clipnorm / clipvalue / global_clipnorm: gradient clipping (at most one of them).
        use_ema, ema_momentum, ema_overwrite_frequency: an exponential moving average of the weights.
        loss_scale_factor: gradients are divided by it (``scale_loss`` multiplies a loss by it).
        gradient_accumulation_steps: update every N steps with the mean of the N gradients.
        name: the optimizer's name (``adam``, ``adam_1``, ... by default).

    Example::

        opt = keraslite.optimizers.Adam(learning_rate=1e-3)
        opt.apply_gradients(zip(grads, model.trainable_variables))
    """

    _kernel: Optional[str] = None  # a rule of kernels.RULES, for optimizers whose update is fused

    # For lookup-table (IndexedSlices) gradients: which entry of a variable's fused state holds the average of
    # squared gradients (None: the rule has none), and ``_squared_factor()`` = b / a of its ``s = a*s + b*g**2``.
    _squared_slot = None
    _repeat_corrections = ()

    def _squared_factor(self):
        return 1.0

    def __init__(self, learning_rate, weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        compat.check_kwargs(type(self).__name__, kwargs)
        options.validate(use_ema, ema_momentum, ema_overwrite_frequency, gradient_accumulation_steps, clipnorm,
                         clipvalue, global_clipnorm)
        self.name = name if name is not None else _auto_name(type(self).__name__)
        self.weight_decay = weight_decay
        self.clipnorm, self.clipvalue, self.global_clipnorm = clipnorm, clipvalue, global_clipnorm
        self.use_ema, self.ema_momentum, self.ema_overwrite_frequency = use_ema, ema_momentum, ema_overwrite_frequency
        self.loss_scale_factor = loss_scale_factor
        self.gradient_accumulation_steps = gradient_accumulation_steps
        self.built = False
        self._variables: List[Variable] = []
        self._trainable_variables: List[Variable] = []
        self._trainable_variables_indices = {}
        self._ids = ()
        self._exclude_ids, self._exclude_pattern = set(), None
        self._use_numba = None  # None: kernels.use_numba decides at build; True/False force a form (tests, bench)
        self._ready = False
        self._numba_pending = False
        self._iterations = self._own_variable(np.array(0, np.int64), "iteration")
        self._learning_rate = None
        _rate.set_rate(self, learning_rate)

    # ------------------------------------------------------------------------------------ learning rate, steps
    @property
    def iterations(self):
        """The step counter (an int64 Variable; with gradient accumulation, the number of updates as a Tensor)."""
        if self.gradient_accumulation_steps:
            return Tensor(np.array(int(self._iterations._v) // self.gradient_accumulation_steps, np.int64))
        return self._iterations

    @property
    def learning_rate(self):
        """The learning rate now: the Variable for a float rate, else the schedule's value at this iteration."""
        if isinstance(self._learning_rate, Variable):
            return self._learning_rate
        return Tensor(np.asarray(self._current_lr(), np.float32))

    @learning_rate.setter
    def learning_rate(self, value):
        _rate.set_rate(self, value)

    lr = learning_rate  # tf.keras 2 spelling (``optimizer.lr``), which Keras 2 tutorials and callbacks still use

    def _current_lr(self) -> float:
        """The learning rate of the coming step as a float (float32-rounded, as Keras computes it)."""
        return _rate.current(self)

    def _local_step(self) -> int:
        """``iterations + 1`` for bias corrections (counts updates, not micro-steps, when accumulating)."""
        it = int(self._iterations._v)
        return (it // self.gradient_accumulation_steps if self.gradient_accumulation_steps else it) + 1

    def scale_loss(self, loss):
        """``loss * loss_scale_factor`` (the loss unchanged without a factor)."""
        return loss if self.loss_scale_factor is None else loss * self.loss_scale_factor

    # ------------------------------------------------------------------------------------ variables
    @property
    def variables(self) -> List[Variable]:
        """The state in Keras 3's order: ``iteration``, ``learning_rate`` (float rates), then what ``build`` made."""
        return self._variables[:]

    def _own_variable(self, value, name):
        variable = Variable(value, trainable=False, name=name)
        variable.path = f"{self.name}/{name}"
        self._variables.append(variable)
        return variable

    def _track_variable(self, variable):
        """Count ``variable`` in ``variables`` (for state made without ``add_variable``)."""
        if not any(variable is v for v in self._variables):
            self._variables.append(variable)

    def add_variable(self, shape, initializer="zeros", dtype=None, aggregation="none", layout=None, name=None):
        """A new optimizer variable of ``shape`` (zeros by default), tracked in ``variables``."""
        dtype = np.dtype(dtype or "float32")
        shape = tuple(int(d) for d in shape)
        if isinstance(initializer, str) and initializer == "zeros":
            value = np.zeros(shape, dtype)
        else:
            from .. import initializers

            value = np.asarray(initializers.get(initializer)(shape, dtype=dtype.name), dtype)
        return self._own_variable(value, name or "variable")

    def add_variable_from_reference(self, reference_variable, name=None, initializer="zeros"):
        """A variable shaped like ``reference_variable``, named ``<its path with _>_<name>`` as Keras does."""
        ref = getattr(reference_variable, "path", None) or str(reference_variable.name).replace(":", "_")
        return self.add_variable(reference_variable.shape, initializer, reference_variable.dtype,
                                 name=f"{ref.replace('/', '_')}_{name or 'var'}")

    def add_optimizer_variables(self, trainable_variables, name, initializer="zeros"):
        """One slot (or, for a list of names, one per name, interleaved per variable) for each variable.

        Variables flagged ``overwrite_with_gradient`` get ``None``, as in Keras.
        """
        names = [name] if isinstance(name, str) else list(name)
        inits = initializer if isinstance(initializer, (list, tuple)) else [initializer] * len(names)
        if len(inits) != len(names):
            raise KerasliteError(f"The number of provided names must match the number of provided initializers. "
                                 f"Received name={name!r}, initializer={initializer!r}")
        out = tuple([] for _ in names)
        for variable in trainable_variables:
            skip = getattr(variable, "overwrite_with_gradient", False)
            for slots, n, init in zip(out, names, inits):
                slots.append(None if skip else self.add_variable_from_reference(variable, n, init))
        return out[0] if isinstance(name, str) else out

    def build(self, variables):
        """Create the state for ``variables`` (EMA averages and accumulators here; subclasses add their slots)."""
        variables = list(variables)
        for v in variables:
            if not isinstance(v, Variable):
                raise KerasliteError(f"Optimizer '{self.name}' can only update keraslite Variables (e.g. a model's "
                                     f"`trainable_variables`); got {type(v).__name__}: {v!r:.100}")
        if self.use_ema:
            self._model_variables_moving_average = self.add_optimizer_variables(variables, "average")
        if self.gradient_accumulation_steps:
            self._accumulated_gradients = [self.add_variable_from_reference(v, "gradient_accumulator")
                                           for v in variables]
        self._trainable_variables = variables[:]
        self._trainable_variables_indices = {id(v): i for i, v in enumerate(variables)}
        self._ids = tuple(map(id, variables))
        self.built = True
        self._ready = False

    def _slots(self):
        """The per-variable slot lists a fused rule takes, in its argument order (``None`` lists: no slot)."""
        return []

    def _get_variable_index(self, variable) -> int:
        return self._trainable_variables_indices[id(variable)]

    def assign(self, variable, value):
        variable.assign(value)

    def assign_add(self, variable, value):
        variable.assign_add(value)

    def assign_sub(self, variable, value):
        variable.assign_sub(value)

    # ------------------------------------------------------------------------------------ applying gradients
    def apply_gradients(self, grads_and_vars):
        """Apply ``(gradient, variable)`` pairs; returns ``iterations`` (as tf.keras does)."""
        pairs = list(grads_and_vars)
        if pairs:
            grads, variables = zip(*pairs)
            self.apply(list(grads), list(variables))
        return self._iterations

    def apply(self, grads, trainable_variables=None):
        """One step: update ``trainable_variables`` (default: those of ``build``) with ``grads``.

        Gradients are numpy arrays or Tensors of the variables' shapes, or ``None`` to skip a variable.
        """
        if type(grads) is not list:
            grads = list(grads)
        if not grads:
            return
        indices = state.indices_for(self, grads, trainable_variables)
        if not self._ready or (self._numba_pending and kernels.numba_loaded()):
            state.prepare(self)
        pairs = state.gather(self, grads, indices)
        if self._repeat_corrections:
            state.correct_repeats(self)
        if (self.clipnorm is None and self.clipvalue is None and self.global_clipnorm is None
                and self.weight_decay is None and not self.use_ema and self.loss_scale_factor is None
                and not self.gradient_accumulation_steps and self._plain):
            self._update_batch(pairs, self._current_lr())  # the common step: no option is set
        else:
            self._apply_with_options(pairs)
        count = self._iterations._v
        count[()] = count.item() + 1  # item assignment: a 0-d in-place add costs a ufunc call

    def _apply_with_options(self, pairs):
        if self._has_overwrite:
            pairs = options.overwrite_with_gradient(self, pairs)
        if not pairs:
            return
        if self.loss_scale_factor is not None:
            pairs = [(i, g / np.asarray(self.loss_scale_factor, g.dtype)) for i, g in pairs]
        if self.gradient_accumulation_steps:
            options.accumulate_or_update(self, pairs)
        else:
            self._clip_decay_update(pairs)
        if self.use_ema:
            options.update_ema(self)
        state.finish(self, pairs)

    def _clip_decay_update(self, pairs):
        pairs = options.clip(self, pairs)
        lr = self._current_lr()
        if self.weight_decay is not None:
            options.decay(self, pairs, lr)
        self._update_batch(pairs, lr)

    def _update_batch(self, pairs, lr):
        """Run the update rule on each ``(index, flat gradient)``; ``lr`` is the step's learning rate."""
        if not self._fused:
            rate = self.learning_rate
            for i, g in pairs:
                variable = self._trainable_variables[i]
                self.update_step(Tensor(g.reshape(variable.shape)), variable, rate)
            return
        rule, states, dtype = self._rule, self._states, self._dtype
        if dtype is not None:  # the usual case: every variable has one dtype, so one coefficient array
            c = np.array(self._coefficients(lr), dtype)
            if self._packed is not None and self._packed.run(self, rule, pairs, c):
                return
            for i, g in pairs:
                rule(g, c, *states[i])
            return
        cache = {}
        for i, g in pairs:
            dt = states[i][0].dtype
            c = cache.get(dt)
            if c is None:
                c = cache[dt] = np.array(self._coefficients(lr), dt)
            rule(g, c, *states[i])

    def _coefficients(self, lr) -> tuple:
        """The rule's coefficients for one step (see ``kernels``), as Python numbers."""
        raise NotImplementedError

    def update_step(self, gradient, variable, learning_rate):
        """Update ``variable`` with ``gradient`` (override in a custom optimizer, as in Keras)."""
        if self._kernel is None:
            raise NotImplementedError(f"{type(self).__name__} must implement `update_step(gradient, variable, "
                                      "learning_rate)` (or name a fused rule in `_kernel`).")
        index = self._get_variable_index(variable)
        if not self._ready:
            state.prepare(self)
        (pair,) = state.gather(self, [gradient], [index])
        self._update_batch([pair], float(np.asarray(learning_rate)))

    def minimize(self, loss, var_list, tape=None):
        """Compute the gradients of ``loss`` (a callable, or a Tensor recorded on ``tape``) and apply them."""
        from ..autodiff.tape import GradientTape

        var_list = list(var_list() if callable(var_list) else var_list)
        if tape is None:
            if not callable(loss):
                raise KerasliteError("`tape` is required when a Tensor `loss` is passed to `minimize`; pass a "
                                     "callable loss or the GradientTape that recorded it.")
            with GradientTape() as tape:
                loss = loss()
        grads = tape.gradient(loss, var_list)
        return self.apply_gradients(zip(grads, var_list))

    # ------------------------------------------------------------------------------------ weight decay, EMA
    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        """Skip weight decay for ``var_list`` and for variables whose name contains one of ``var_names``.

        Keras documents this as "before build" but its check never fires; here, as there, a later call applies
        from the next step.
        """
        self._exclude_ids = {id(v) for v in var_list or []}
        self._exclude_pattern = re.compile("|".join(set(var_names))) if var_names else None
        self._ready = False

    def _use_weight_decay(self, variable) -> bool:
        if id(variable) in self._exclude_ids:
            return False
        return self._exclude_pattern is None or self._exclude_pattern.search(variable.name) is None

    def finalize_variable_values(self, var_list):
        """With EMA, overwrite ``var_list`` by its moving averages (``fit`` does this after the last epoch)."""
        if self.use_ema:
            options.overwrite_with_average(self, list(var_list))

    # ------------------------------------------------------------------------------------ saving
    def set_variables(self, values):
        """Set every optimizer variable from ``values`` (arrays in ``variables`` order), checking count and shapes."""
        state.set_all(self, list(values))

    def set_weights(self, weights):
        """Keras' name for ``set_variables`` (the optimizer must be built)."""
        if not self.built:
            raise KerasliteError("You are calling `set_weights()` on an optimizer that has not yet been built. Please "
                                 "call `optimizer.build(trainable_variables)` to create the optimizer weights before "
                                 "calling `set_weights()`.")
        self.set_variables(weights)

    def save_own_variables(self, store):
        """Write the state into ``store`` as ``store["0"], store["1"], ...`` (a ``.keras`` file's optimizer/vars)."""
        for i, variable in enumerate(self._variables):
            store[str(i)] = variable.numpy()

    def load_own_variables(self, store):
        """Read the state written by ``save_own_variables``; a count mismatch warns and loads nothing (as Keras)."""
        if len(store.keys()) != len(self._variables):
            msg = (f"Skipping variable loading for optimizer '{self.name}', because it has {len(self._variables)} "
                   f"variables whereas the saved optimizer has {len(store.keys())} variables. ")
            if len(self._variables) <= 2 and not self.built:
                msg += "This is likely because the optimizer has not been called/built yet."
            warnings.warn(msg, stacklevel=2)
            return
        self.set_variables([store[str(i)] for i in range(len(self._variables))])

    def get_config(self) -> dict:
        """The constructor arguments (Keras 3's keys), enough to rebuild the optimizer without its state."""
        return {"name": self.name, "learning_rate": _rate.config_value(self), "weight_decay": self.weight_decay,
                "clipnorm": self.clipnorm, "global_clipnorm": self.global_clipnorm, "clipvalue": self.clipvalue,
                "use_ema": self.use_ema, "ema_momentum": self.ema_momentum,
                "ema_overwrite_frequency": self.ema_overwrite_frequency, "loss_scale_factor": self.loss_scale_factor,
                "gradient_accumulation_steps": self.gradient_accumulation_steps}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """``cls(**config)``; a schedule dict is deserialized, and Keras 2 files' keys are read as Keras 3 does.

        tf.keras 2 configs carry ``jit_compile``/``is_legacy_optimizer`` (dropped) and, from Keras < 2.3, ``lr``
        (read as ``learning_rate``).
        """
        return cls(**compat.read_config(config, custom_objects))

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def _auto_name(cls_name):
    from ..layers.base import snake_case, unique_name

    return unique_name(snake_case(cls_name))


__all__ = ["Optimizer"]
