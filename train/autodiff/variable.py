"""``Variable``: a named, mutable tensor (weights, optimizer state), as ``keras.Variable`` / ``tf.Variable``.

A Variable is a Tensor whose value can be replaced with ``assign``/``assign_add``/``assign_sub`` (also on a slice:
``v[0, 0].assign(3.0)``). Every op accepts it; a ``GradientTape`` tracks trainable variables it sees.
Assignments write into the existing buffer, so arrays handed to kernels stay valid and no memory is reallocated.
"""
from __future__ import annotations

import itertools
import weakref

import numpy as np

from ...errors import KerasliteError
from .core import FLOATX, Tensor, _local, as_array

_uid = itertools.count()


class Variable(Tensor):
    """A mutable tensor.

    Args:
        initializer: the initial value (array, number, Tensor), or an initializer (name, object or callable)
            called with ``shape`` and ``dtype``.
        shape: required when ``initializer`` is an initializer.
        dtype: defaults to the value's float dtype as float32 (Keras' floatx) or its integer dtype.
        trainable: whether optimizers and tapes see it (default True).
        name: a name; defaults to ``variable``.

    Example::

        v = keraslite.Variable([[1.0, 2.0], [3.0, 4.0]])
        v.assign_add(ops.ones((2, 2)))
        v[0, 0].assign(3.0)
    """

    __slots__ = ("name", "trainable", "path", "_is_variable", "_uid", "constraint", "regularizer", "aggregation",
                 "overwrite_with_gradient")

    def __init__(self, initializer=None, shape=None, dtype=None, trainable=True, autocast=True,
                 aggregation="none", synchronization="auto", name=None, initial_value=None, **kwargs):
        if initializer is None and initial_value is not None:
            initializer = initial_value
        if initializer is None:
            raise KerasliteError("Variable needs an initial value or an initializer; e.g. Variable([0.0, 1.0]) or "
                                 "Variable('zeros', shape=(2,))")
        value = _initial_value(initializer, shape, dtype)
        super().__init__(value)
        self.name = name or "variable"
        self.path = self.name
        self.trainable = bool(trainable)
        self._is_variable = True
        self._uid = next(_uid)
        self.constraint = kwargs.get("constraint")
        self.regularizer = None
        self.aggregation = aggregation
        self.overwrite_with_gradient = False

    @property
    def value(self) -> Tensor:
        """The current value as a Tensor (a snapshot: later assignments do not change it)."""
        return Tensor(self._v.copy())

    def numpy(self) -> np.ndarray:
        return self._v.copy()

    def assign(self, value):
        """Replace the value; the shape must match."""
        array = as_array(value)
        if array.shape != self._v.shape:
            raise KerasliteError(
                "The shape of the target variable and the shape of the target value in `variable.assign(value)` "
                f"must match. variable.shape={self._v.shape}, Received: value.shape={array.shape}. "
                f"Target variable: {self!r}")
        recorder = getattr(_local, "recorder", None)
        if recorder is not None:
            recorder.fail("a variable assigned during the step")  # a replay would skip the assignment
        np.copyto(self._v, array, casting="unsafe")
        return self

    def assign_add(self, delta):
        """Add ``delta`` (broadcast to the variable's shape) in place."""
        return self.assign(self._v + as_array(delta))

    def assign_sub(self, delta):
        """Subtract ``delta`` (broadcast to the variable's shape) in place."""
        return self.assign(self._v - as_array(delta))

    def __getitem__(self, index):
        return _Slice(self, index)

    def __repr__(self):
        return f"<Variable path={self.path}, shape={self.shape}, dtype={self.dtype}, value={self._v!r}>"

    def __hash__(self):
        return id(self)


class _Slice(Tensor):
    """``variable[index]``: the sliced value, which can also be assigned back into the variable."""

    __slots__ = ("_var", "_index")

    def __init__(self, var: Variable, index):
        from .shape import getitem  # the differentiable slice of the variable's value

        taken = getitem(var, index)
        super().__init__(taken._v)
        self._var, self._index = var, index
        # This slice, not the temporary ``taken``, is what consumers hold and the tape keys gradients by.
        node = self._node = taken._node
        if node is not None:
            node.outs = weakref.ref(self)
        recorder = getattr(_local, "recorder", None)
        if recorder is not None:
            recorder.alias(self, taken)

    def assign(self, value):
        """Write ``value`` into the slice of the variable."""
        target = self._var._v[self._index]
        array = as_array(value)
        try:
            np.broadcast_to(array, np.shape(target))
        except ValueError:
            raise KerasliteError(f"cannot assign a value of shape {array.shape} to a slice of shape "
                                 f"{np.shape(target)} of {self._var.path!r}") from None
        recorder = getattr(_local, "recorder", None)
        if recorder is not None:
            recorder.fail("a variable slice assigned during the step")
        self._var._v[self._index] = array
        self._v = self._var._v[self._index]
        return self._var

    def assign_add(self, delta):
        return self.assign(self._var._v[self._index] + as_array(delta))

    def assign_sub(self, delta):
        return self.assign(self._var._v[self._index] - as_array(delta))


def _initial_value(initializer, shape, dtype) -> np.ndarray:
    if isinstance(initializer, (str, dict)) or (callable(initializer) and not isinstance(initializer, Tensor)):
        if shape is None:
            raise KerasliteError("Variable with an initializer needs a shape, e.g. Variable('zeros', shape=(3,))")
        from .. import initializers

        init = initializers.get(initializer)
        return as_array(init(tuple(shape), dtype=dtype or FLOATX), dtype or FLOATX).copy()
    value = np.array(as_array(initializer, dtype), copy=True)
    if shape is not None and tuple(shape) != value.shape:
        raise KerasliteError(f"Variable: initial value has shape {value.shape}, but shape={tuple(shape)} was given")
    return value


__all__ = ["Variable"]
