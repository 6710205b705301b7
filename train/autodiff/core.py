"""Tensors, primitives and the recording that makes gradients possible.

A primitive is a forward function on numpy arrays plus its vector-Jacobian product (VJP). ``apply`` runs the
forward; when a ``GradientTape`` is recording and an input is being tracked (a trainable Variable, a watched
tensor, or the output of a recorded op) it appends a ``Node`` to every recording tape. ``GradientTape.gradient``
(tape.py) walks those nodes backwards once.

VJPs come in two forms. ``vjps`` is one function per input, ``f(g, ans, *args, **params) -> gradient`` (called
only for inputs that need one: the calculus reads one line per input). ``joint`` is one function
``f(g, ans, needs, *args, **params) -> tuple`` for fused primitives whose inputs share work (Dense with its
activation, convolutions, cross-entropies). ``ans`` is what the forward returned: the output array, a tuple of
outputs (``n_out > 1``), or ``(output, residuals)`` when the primitive ``saves`` intermediate results. While a step is being traced
(trace.py), ``apply`` also reports every call to the active ``Recorder``.
"""
from __future__ import annotations

import threading
import weakref
from typing import Callable, Optional, Sequence, Tuple

import numpy as np

FLOATX = "float32"
_local = threading.local()


def recording_tapes() -> list:
    """The tapes recording on this thread, innermost last."""
    tapes = getattr(_local, "tapes", None)
    if tapes is None:
        tapes = _local.tapes = []
    return tapes


class Tensor:
    """An immutable n-d array produced by keraslite ops (what ``keras.ops`` return).

    ``numpy()`` gives the numpy array; ``shape``, ``dtype``, ``ndim`` and Python operators work as in Keras.
    """

    __slots__ = ("_v", "_node", "_keras_mask", "_keras_logits", "__weakref__")
    __array_priority__ = 100

    def __init__(self, value, dtype=None):
        self._v = value if isinstance(value, np.ndarray) and dtype is None else as_array(value, dtype)
        self._node = None
        self._keras_mask = None
        self._keras_logits = None

    # -- array protocol
    @property
    def shape(self) -> Tuple[int, ...]:
        return self._v.shape

    @property
    def dtype(self):
        return self._v.dtype

    @property
    def ndim(self) -> int:
        return self._v.ndim

    @property
    def size(self) -> int:
        return self._v.size

    def numpy(self) -> np.ndarray:
        """The value as a numpy array (a copy for variables, which change in place)."""
        return self._v

    def __array__(self, dtype=None, copy=None):
        return self._v if dtype is None else self._v.astype(dtype)

    def __len__(self) -> int:
        if not self._v.ndim:
            raise TypeError("len() of a scalar tensor")
        return self._v.shape[0]

    def __float__(self):
        return float(self._v)

    def __int__(self):
        return int(self._v)

    def __index__(self):
        return int(self._v)

    def __bool__(self):
        return bool(self._v)

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __repr__(self):
        value = self._v.item() if self._v.ndim == 0 else repr(self._v)
        return f"<Tensor: shape={self.shape}, dtype={self.dtype}, numpy={value}>"

    def __str__(self):
        return f"Tensor({self._v}, shape={self.shape}, dtype={self.dtype})"

    def __format__(self, spec):
        return format(self.numpy() if self.ndim else self.numpy().item(), spec)

    def __hash__(self):
        return id(self)

    # Operators are bound in ``ops_binding`` (elementwise.py and shape.py) once the primitives exist.


def as_array(value, dtype=None) -> np.ndarray:
    """``value`` (Tensor, array, number, nested list) as a numpy array; Python floats become float32."""
    if isinstance(value, Tensor):
        value = value._v
    if dtype is not None:
        return np.asarray(value, dtype=np.dtype(dtype))
    if isinstance(value, np.ndarray):
        return value
    arr = np.asarray(value)
    if arr.dtype == np.float64 and not isinstance(value, np.generic):
        arr = arr.astype(FLOATX)  # Python floats and lists of them: Keras' floatx
    elif arr.dtype == np.int64 and not isinstance(value, np.generic):
        arr = arr.astype(np.int32)  # as TensorFlow does for Python ints
    return arr


class Node:
    """One recorded call of a primitive: what the backward pass needs to send gradients to its inputs."""

    __slots__ = ("prim", "args", "params", "ans", "parents", "outs")

    def __init__(self, prim, args, params, ans, parents, outs):
        self.prim = prim
        self.args = args          # the forward's arguments (arrays and plain values)
        self.params = params      # keyword parameters of the forward
        self.ans = ans            # what the forward returned
        self.parents = parents    # [(position, Tensor)] of the inputs that need a gradient
        # weak references to the output Tensor (or a tuple of them): the output holds its node, and a strong
        # reference back would make a cycle that keeps every step's activations alive until the cyclic garbage
        # collector runs (it counts objects, not bytes: VGG19's step grew by ~150 MB a step). An output nobody
        # holds has no consumer on the tape, so it can have no gradient.
        self.outs = outs


class Primitive:
    """A named forward function with its VJP; calling it applies it to Tensors, arrays or numbers."""

    __slots__ = ("name", "fwd", "vjps", "joint", "n_out", "saves")

    def __init__(self, name: str, fwd: Callable, vjps: Sequence[Optional[Callable]] = (),
                 joint: Optional[Callable] = None, n_out: int = 1, saves: bool = False):
        self.name, self.fwd, self.vjps, self.joint = name, fwd, tuple(vjps), joint
        self.n_out, self.saves = n_out, saves

    def __call__(self, *args, **params):
        return apply(self, args, params)

    def __repr__(self):
        return f"<primitive {self.name}>"


def _tracked(x, tapes) -> bool:
    if x._node is not None:
        return True
    for tape in tapes:
        if tape._tracks(x):
            return True
    return False


def _wrap(array) -> Tensor:
    """A Tensor around a fresh forward result (skips __init__'s conversion checks)."""
    t = _new(Tensor)
    t._v = array if type(array) is np.ndarray else np.asarray(array)  # reductions can return numpy scalars
    t._node = t._keras_mask = t._keras_logits = None
    return t


_new = object.__new__
_ref = weakref.ref


def apply(prim: Primitive, args, params):
    """Run ``prim`` on ``args`` and, when a tape records and an input is tracked, record the call."""
    vals = [a._v if isinstance(a, Tensor) else a for a in args]
    recorder = getattr(_local, "recorder", None)
    if recorder is None:
        ans = prim.fwd(*vals, **params)
    else:  # tracing a step (trace.py): primitives called inside this forward are part of it, not recorded
        _local.recorder = None
        try:
            ans = prim.fwd(*vals, **params)
        finally:
            _local.recorder = recorder
    if prim.n_out == 1:
        outs = _wrap(ans[0] if prim.saves else ans)
    else:
        outs = tuple(_wrap(a) for a in (ans[0] if prim.saves else ans))
    if recorder is not None:
        recorder.record(prim, args, params, outs)
    tapes = getattr(_local, "tapes", None)
    if not tapes or (not prim.vjps and prim.joint is None):  # nothing records, or nothing to differentiate
        return outs
    if len(tapes) == 1:
        active = tapes if tapes[0]._recording else None
    else:
        active = [t for t in tapes if t._recording] or None
    if active is None:
        return outs
    parents = None
    for i, a in enumerate(args):
        if isinstance(a, Tensor) and (a._node is not None or _tracked(a, active)):
            if parents is None:
                parents = []
            parents.append((i, a))
    if parents is None:
        return outs
    if prim.n_out == 1:
        node = Node(prim, vals, params, ans, parents, _ref(outs))
        outs._node = node
    else:
        node = Node(prim, vals, params, ans, parents, tuple(_ref(o) for o in outs))
        for o in outs:
            o._node = node
    for tape in active:
        tape._nodes.append(node)
    return outs


def primitive(name: str, fwd: Callable, *vjps: Optional[Callable], joint: Optional[Callable] = None,
              n_out: int = 1, saves: bool = False) -> Primitive:
    """Define a primitive; see the module docstring for the two VJP forms."""
    return Primitive(name, fwd, vjps, joint, n_out, saves)


def unbroadcast(g: np.ndarray, shape: Tuple[int, ...]) -> np.ndarray:
    """Sum ``g`` down to ``shape`` (the VJP of numpy broadcasting)."""
    if g.shape == shape:
        return g
    extra = g.ndim - len(shape)
    if extra > 0:
        g = g.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, s in enumerate(shape) if s == 1 and g.shape[i] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g.reshape(shape)


def shape_of(x) -> Tuple[int, ...]:
    """Shape of an array, Tensor or Python number."""
    return np.shape(x._v if isinstance(x, Tensor) else x)


__all__ = ["Tensor", "Primitive", "Node", "apply", "primitive", "unbroadcast", "as_array", "recording_tapes",
           "FLOATX"]
