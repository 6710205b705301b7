"""The per-step plumbing of ``Optimizer.apply``: which variables a call refers to, gradients as flat arrays of the
variables' dtype, cached flat views of the variables and slots the fused rules write into, constraints, and
setting the whole state back (loading a saved optimizer).

Views are made once after ``build`` (Variable.assign writes into the existing buffer, so they stay valid); a
variable whose buffer was replaced behind the optimizer's back is noticed by identity and re-viewed.
"""
from __future__ import annotations

import warnings

import numpy as np

from ...errors import KerasliteError
from ..autodiff.core import Tensor
from ..autodiff.sparse import IndexedSlices
from . import kernels, packed


def indices_for(opt, grads, trainable_variables):
    """Indices into ``opt._trainable_variables`` for this call (None: all, in build order); builds if needed."""
    if trainable_variables is None:
        if not opt.built:
            raise KerasliteError("When passing `grads` without `variables`, the optimizer must already be built on "
                                 "a list of variables. Call `optimizer.build(trainable_variables)` first.")
        if len(grads) != len(opt._trainable_variables):
            raise KerasliteError(f"When passing `grads` as a list of gradient tensors, the gradients must match the "
                                 f"variables the optimizer was built with one-to-one. Received a list of {len(grads)} "
                                 f"gradients, but the optimizer is tracking {len(opt._trainable_variables)} "
                                 "trainable variables.")
        return None
    variables = trainable_variables if isinstance(trainable_variables, (list, tuple)) else list(trainable_variables)
    if len(variables) != len(grads):
        raise KerasliteError(f"Received {len(grads)} gradients for {len(variables)} variables; pass one gradient "
                             "(or None) per variable.")
    if not opt.built:
        opt.build(list(variables))
    if tuple(map(id, variables)) == opt._ids:  # the usual call: the built variables, in build order
        return None
    table = opt._trainable_variables_indices
    out = []
    for v in variables:
        i = table.get(id(v))
        if i is None:
            raise KerasliteError(f"Unknown variable: {v!r}. This optimizer can only be called for the variables it "
                                 "was originally built with. When working with a new set of variables, you should "
                                 "recreate a new optimizer instance.")
        out.append(i)
    return out


def prepare(opt):
    """Cache flat views of the built variables and slots, and pick the rule (after ``build``)."""
    variables = opt._trainable_variables
    opt._states = None
    opt._bases = [None] * len(variables)
    opt._flats = [None] * len(variables)
    opt._shapes = [None] * len(variables)
    opt._dtypes = [None] * len(variables)
    for i in range(len(variables)):
        _view(opt, i)
    dtypes = {v.dtype for v in variables}
    opt._dtype = dtypes.pop() if len(dtypes) == 1 else None
    opt._decays = [opt.weight_decay is not None and opt._use_weight_decay(v) for v in variables]
    opt._constrained = [i for i, v in enumerate(variables) if getattr(v, "constraint", None) is not None]
    opt._has_overwrite = any(getattr(v, "overwrite_with_gradient", False) for v in variables)
    opt._plain = not (opt._has_overwrite or opt._constrained)
    from .base import Optimizer

    opt._fused = opt._kernel is not None and type(opt).update_step is Optimizer.update_step
    parameters = sum(v._v.size for v in variables)
    opt._numba = bool(opt._use_numba) if opt._use_numba is not None else kernels.use_numba(parameters, opt._kernel)
    # on numpy only because Numba was not loaded yet: switch once something else has imported it
    opt._numba_pending = opt._use_numba is None and not opt._numba
    opt._rule = kernels.get(opt._kernel, opt._numba) if opt._fused else None
    slot_lists = opt._slots()
    opt._packed = packed.make(opt, slot_lists, parameters)  # before the views: packing moves the slots
    empty = {}
    opt._states = []
    for i, v in enumerate(variables):
        row = [opt._flats[i]]
        for slots in slot_lists:
            slot = slots[i] if slots else None
            row.append(slot._v.reshape(-1) if slot is not None else empty.setdefault(v.dtype, np.empty(0, v.dtype)))
        opt._states.append(tuple(row))
    opt._ready = True


def _view(opt, i):
    """(Re)make the flat view of variable ``i``'s buffer."""
    variable = opt._trainable_variables[i]
    if not variable._v.flags.c_contiguous:  # never made by keraslite itself; the fused rules need one block
        variable._v = np.ascontiguousarray(variable._v)
    opt._bases[i] = variable._v
    opt._flats[i] = variable._v.reshape(-1)
    opt._shapes[i], opt._dtypes[i] = variable._v.shape, variable._v.dtype
    states = getattr(opt, "_states", None)
    if states is not None and i < len(states):
        states[i] = (opt._flats[i],) + states[i][1:]


def _sparse(opt, i, slices):
    """A lookup table's gradient as the dense sum per row; where a row was read more than once, note how far
    Keras' row-by-row squares (``g1**2 + g2**2``) are from the square of the sum, for ``correct_repeats``."""
    dense = slices.to_dense()
    if opt._squared_slot is not None and slices.has_repeats():
        if not isinstance(opt._repeat_corrections, list):
            opt._repeat_corrections = []
        opt._repeat_corrections.append((i, (slices.squared_sum() - np.square(dense)).reshape(-1)))
    return dense


def correct_repeats(opt):
    """Shift each squared-gradient average so the fused rule's ``s = a*s + b*g**2`` yields Keras' sparse result:
    ``s' = s + delta * b / a`` (``opt._squared_factor()`` gives ``b / a``)."""
    factor = opt._squared_factor()
    for i, delta in opt._repeat_corrections:
        slot = opt._states[i][opt._squared_slot]
        slot += (delta * factor).astype(slot.dtype, copy=False)
    opt._repeat_corrections = []


def gather(opt, grads, indices):
    """``[(index, flat gradient)]`` for the non-None gradients, cast to each variable's dtype; warns on None."""
    variables, bases, shapes, dtypes = opt._trainable_variables, opt._bases, opt._shapes, opt._dtypes
    pairs, missing = [], None
    k = -1
    for g in grads:
        k += 1
        i = k if indices is None else indices[k]
        if g is None:
            missing = missing or []
            missing.append(i)
            continue
        a = g._v if isinstance(g, Tensor) else g
        if isinstance(a, IndexedSlices):
            a = _sparse(opt, i, a)
        if type(a) is not np.ndarray:
            a = np.asarray(a)
        if variables[i]._v is not bases[i]:
            _view(opt, i)
        if a.shape != shapes[i]:
            a = _reshaped(a, variables[i])
        if a.dtype is not dtypes[i] or not a.flags.c_contiguous:
            a = np.ascontiguousarray(a, dtype=dtypes[i])
        pairs.append((i, a if a.ndim == 1 else a.reshape(-1)))
    if missing:
        names = [getattr(variables[i], "path", variables[i].name) for i in missing]
        if not pairs:
            raise KerasliteError(f"No gradients provided for any variable (all of {names} got None).")
        warnings.warn(f"Gradients do not exist for variables {names} when minimizing the loss. If using "
                      "`model.compile()`, did you forget to provide a `loss` argument?", stacklevel=4)
    return pairs


def _reshaped(a, variable):
    """A gradient of another shape: fine when only size-1 axes differ, else an error naming the variable."""
    if a.size == variable._v.size and tuple(d for d in a.shape if d != 1) == tuple(
            d for d in variable.shape if d != 1):
        return a.reshape(variable.shape)
    raise KerasliteError(f"The gradient for variable {getattr(variable, 'path', variable.name)!r} has shape "
                         f"{tuple(a.shape)}, but the variable has shape {tuple(variable.shape)}; gradients must have "
                         "their variable's shape.")


def finish(opt, pairs):
    """Apply the variables' constraints after the update, as Keras 3's optimizer does."""
    if opt._constrained:
        updated = {i for i, _ in pairs}
        for i in opt._constrained:
            if i in updated:
                variable = opt._trainable_variables[i]
                variable.assign(variable.constraint(variable))


def set_all(opt, values):
    """Assign every optimizer variable from ``values`` (in ``opt.variables`` order), after checking them all."""
    variables = opt._variables
    if len(values) != len(variables):
        hint = (" The optimizer is not built yet: call `optimizer.build(model.trainable_variables)` first."
                if not opt.built else "")
        raise KerasliteError(f"Optimizer '{opt.name}' has {len(variables)} variables "
                             f"({[v.name for v in variables]}), but {len(values)} values were given.{hint}")
    arrays = []
    for k, (variable, value) in enumerate(zip(variables, values)):
        a = np.asarray(value._v if isinstance(value, Tensor) else value)
        if a.shape != variable._v.shape:
            raise KerasliteError(f"Optimizer '{opt.name}': value {k} for variable {variable.path!r} has shape "
                                 f"{tuple(a.shape)}, expected {tuple(variable._v.shape)}.")
        arrays.append(a)
    for variable, a in zip(variables, arrays):
        np.copyto(variable._v, a, casting="unsafe")


__all__ = ["indices_for", "prepare", "gather", "finish", "set_all"]
