"""``Layer``: the Keras 3 layer contract on keraslite tensors.

A layer is ``__init__`` (validate, store), ``build(input_shape)`` (``add_weight``), ``call(inputs, training=None)``
(plain ops), ``compute_output_shape`` and ``get_config``. ``__call__`` does the rest, as Keras does: converts array
inputs, builds on first use, resolves ``training`` (explicit argument, else the enclosing layer's, else the
call signature's default), passes and propagates masks, records activity-regularizer losses, and, when called on
symbolic ``KerasTensor``s (the functional API), records a graph node instead of computing.
"""
from __future__ import annotations

import inspect
import threading
from typing import Any, Dict, List, Optional

import numpy as np

from ...errors import KerasliteError
from ...format.weights import snake_case  # Keras' to_snake_case: BatchNormalization -> batch_normalization
from .. import constraints, initializers, regularizers
from ..autodiff import Tensor, Variable
from ..autodiff.core import FLOATX
from .keras_tensor import KerasTensor, SymbolicNode, any_symbolic, flatten, map_structure

_context = threading.local()
_names: Dict[str, int] = {}
_names_lock = threading.Lock()

BASE_KWARGS = ("trainable", "name", "dtype", "autocast", "input_dim", "input_shape", "batch_input_shape",
               "batch_size", "input_length", "weights", "activity_regularizer")


def unique_name(base: str) -> str:
    """``base``, then ``base_1``, ``base_2``, ... for this session (``clear_session`` starts again)."""
    with _names_lock:
        count = _names.get(base, 0)
        _names[base] = count + 1
    return base if count == 0 else f"{base}_{count}"


def clear_session() -> None:
    """Reset automatic layer names (as ``keras.backend.clear_session()``)."""
    with _names_lock:
        _names.clear()


def call_training() -> Optional[bool]:
    """The ``training`` value of the innermost layer call in progress on this thread (None outside calls)."""
    stack = getattr(_context, "training", None)
    return stack[-1] if stack else None


class Layer:
    """Base class of every keraslite layer; subclass it as in Keras.

    Example::

        class SimpleDense(keraslite.layers.Layer):
            def __init__(self, units=32, **kwargs):
                super().__init__(**kwargs)
                self.units = units

            def build(self, input_shape):
                self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="random_normal")
                self.b = self.add_weight(shape=(self.units,), initializer="zeros")

            def call(self, inputs):
                return keraslite.ops.matmul(inputs, self.w) + self.b
    """

    def __init__(self, *, activity_regularizer=None, trainable=True, dtype=None, autocast=True, name=None,
                 **kwargs):
        input_dim = kwargs.pop("input_dim", None)
        input_shape = kwargs.pop("input_shape", None)
        batch_input_shape = kwargs.pop("batch_input_shape", None)
        batch_size = kwargs.pop("batch_size", None)
        input_length = kwargs.pop("input_length", None)
        initial_weights = kwargs.pop("weights", None)
        if kwargs:
            raise KerasliteError(f"Unrecognized keyword arguments passed to {type(self).__name__}: {kwargs}")
        object.__setattr__(self, "_tracking", False)
        self.name = name if name is not None else unique_name(snake_case(type(self).__name__))
        if not isinstance(self.name, str) or "/" in self.name:
            raise KerasliteError(f"Argument `name` must be a string without '/'. Received: name={self.name!r}")
        self._trainable = bool(trainable)
        self.dtype = _dtype_name(dtype)
        self.autocast = autocast
        self.built = False
        self.supports_masking = False
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self._trainable_variables: List[Variable] = []
        self._non_trainable_variables: List[Variable] = []
        self._call_losses: List[Tensor] = []
        self._inbound_nodes: List[SymbolicNode] = []
        self._build_shapes = None
        self._initial_weights = initial_weights
        shape = None
        if batch_input_shape is not None:
            shape = tuple(batch_input_shape)
        elif input_shape is not None:
            shape = (batch_size, *tuple(input_shape))
        elif input_dim is not None:
            shape = (batch_size, input_dim) if input_length is None else (batch_size, input_length)
        elif input_length is not None:
            shape = (batch_size, input_length)
        self._batch_input_shape = shape
        sig = inspect.signature(self.call).parameters
        self._call_takes_training = "training" in sig
        self._call_takes_mask = "mask" in sig
        self._training_default = sig["training"].default if self._call_takes_training else None
        object.__setattr__(self, "_tracking", True)

    # -------------------------------------------------------------------------------- attribute tracking
    def __setattr__(self, name, value):
        if getattr(self, "_tracking", False):
            if name == "trainable":
                type(self).trainable.fset(self, value)
                return
            if not name.startswith("_") and isinstance(value, (Layer, Variable, list, tuple, dict)):
                self.__dict__.setdefault("_tracked_names", {})[name] = None
        object.__setattr__(self, name, value)

    def _tracked_values(self):
        names = self.__dict__.get("_tracked_names")
        if not names:
            return []
        d = self.__dict__
        return [d[n] for n in names if n in d]

    def _sublayers(self) -> List["Layer"]:
        """Layers assigned as attributes (directly, or in lists, tuples and dicts), in assignment order."""
        out: List[Layer] = []
        seen = set()
        for value in self._tracked_values():
            for item in _tracked_items(value):
                if isinstance(item, Layer) and id(item) not in seen and item is not self:
                    seen.add(id(item))
                    out.append(item)
        return out

    def _attribute_variables(self) -> List[Variable]:
        """Variables assigned directly as attributes (a subclass's ``self.w = Variable(...)``)."""
        values = self._tracked_values()
        if not values:
            return []
        own = {id(v) for v in self._trainable_variables + self._non_trainable_variables}
        return [v for value in values for v in _tracked_items(value) if isinstance(v, Variable) and id(v) not in own]

    # -------------------------------------------------------------------------------- weights
    def add_weight(self, *args, shape=None, initializer=None, dtype=None, trainable=True, autocast=True,
                   regularizer=None, constraint=None, aggregation="none", overwrite_with_gradient=False, name=None):
        """Create a weight Variable owned by this layer (Keras' ``add_weight``)."""
        if args:
            if isinstance(args[0], str):
                raise KerasliteError(f"`name` must be passed as a keyword argument. Received: "
                                     f"add_weight('{args[0]}', ...). Use: add_weight(shape=..., name='{args[0]}').")
            shape = args[0]
            initializer = args[1] if len(args) > 1 else initializer
            dtype = args[2] if len(args) > 2 else dtype
        shape = () if shape is None else tuple(int(d) if d is not None else d for d in shape)
        if any(d is None or d < 0 for d in shape):
            raise KerasliteError(f"layer {self.name!r}: add_weight shape must be fully defined, got {shape}")
        dtype = _dtype_name(dtype) if dtype is not None else self.dtype
        if initializer is None:
            initializer = "glorot_uniform" if "float" in dtype else "zeros"
        init = initializers.get(initializer)
        # a weight made while the layer is frozen starts frozen; it sits in the trainable list, so unfreezing the
        # layer makes it trainable again
        variable = Variable(np.asarray(init(shape, dtype=dtype), dtype=dtype), trainable=trainable and self._trainable,
                            name=name or "variable")
        variable.path = f"{self.name}/{variable.name}"
        variable.regularizer = regularizers.get(regularizer)
        variable.constraint = constraints.get(constraint)
        variable.overwrite_with_gradient = overwrite_with_gradient
        (self._trainable_variables if trainable else self._non_trainable_variables).append(variable)
        return variable

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        value = bool(value)
        object.__setattr__(self, "_trainable", value)
        for v in self._trainable_variables:
            v.trainable = value
        for layer in self._sublayers():
            layer.trainable = value

    @property
    def weights(self) -> List[Variable]:
        """Own weights (trainable first, then non-trainable), then the sub-layers', without duplicates."""
        out, seen = [], set()
        for v in self._trainable_variables + self._non_trainable_variables + self._attribute_variables():
            if id(v) not in seen:
                seen.add(id(v))
                out.append(v)
        for layer in self._sublayers():
            for v in layer.weights:
                if id(v) not in seen:
                    seen.add(id(v))
                    out.append(v)
        return out

    variables = weights

    @property
    def trainable_weights(self) -> List[Variable]:
        return [v for v in self.weights if v.trainable] if self.trainable else []

    @property
    def non_trainable_weights(self) -> List[Variable]:
        return [v for v in self.weights if not v.trainable] if self.trainable else self.weights

    trainable_variables = trainable_weights
    non_trainable_variables = non_trainable_weights

    def get_weights(self) -> List[np.ndarray]:
        """The weights as numpy arrays (copies), in ``weights`` order."""
        return [v.numpy() for v in self.weights]

    def set_weights(self, weights) -> None:
        """Set every weight from a list of arrays; count and shapes are checked first."""
        params = self.weights
        weights = list(weights)
        if len(weights) != len(params):
            raise KerasliteError(
                f"You called `set_weights(weights)` on layer '{self.name}' with a weight list of length "
                f"{len(weights)}, but the layer was expecting {len(params)} weights "
                f"({[v.path for v in params]}).")
        for v, w in zip(params, weights):
            w = np.asarray(w)
            if w.shape != v.shape:
                raise KerasliteError(f"Layer {self.name} weight shape {v.shape} is not compatible with provided "
                                     f"weight shape {w.shape} (weight {v.path!r}).")
        for v, w in zip(params, weights):
            v.assign(w)

    def count_params(self) -> int:
        """Number of scalars in the weights (the layer must be built)."""
        if not self.built:
            raise KerasliteError(f"You tried to call `count_params` on layer '{self.name}', but the layer isn't "
                                 "built. You can build it manually via: `layer.build(input_shape)`.")
        return int(sum(np.prod(v.shape) for v in self.weights))

    # -------------------------------------------------------------------------------- losses
    def add_loss(self, loss) -> None:
        """Add a loss tensor computed in ``call`` (collected by the model for this forward pass)."""
        self._call_losses.append(loss)
        _context.losses_added = True

    @property
    def losses(self) -> List[Tensor]:
        """Losses added during the last call, plus the weight regularization penalties, sub-layers included."""
        out = list(self._call_losses)
        for v in self._trainable_variables + self._non_trainable_variables:
            if v.regularizer is not None:
                out.append(v.regularizer(v))
        for layer in self._sublayers():
            out.extend(layer.losses)
        return out

    def _clear_losses(self) -> None:
        self._call_losses = []
        for layer in self._sublayers():
            layer._clear_losses()

    # -------------------------------------------------------------------------------- building and calling
    def build(self, input_shape) -> None:
        """Create the weights; the default creates none."""
        self.built = True

    def call(self, inputs, *args, **kwargs):
        raise NotImplementedError(f"layer {type(self).__name__} must implement call()")

    def compute_output_shape(self, input_shape):
        """Output shape for an input shape; by default found by running ``call`` on a small batch of zeros."""
        return None  # marker: __call__ probes the layer instead

    def compute_mask(self, inputs, mask=None):
        """The mask of the outputs: the input mask for layers that support masking, else None."""
        return mask if self.supports_masking else None

    def _maybe_build(self, shapes) -> None:
        if self.built:
            return
        self._build_shapes = shapes
        self.build(shapes)
        self.built = True
        if self._initial_weights is not None:
            self.set_weights(self._initial_weights)
            self._initial_weights = None

    def __call__(self, *args, **kwargs):
        if len(args) == 1 and (type(args[0]) is np.ndarray or isinstance(args[0], Tensor)) and (
                not kwargs or kwargs.keys() == {"training"}):
            first = self._convert_input(args[0])  # the common case, without walking structures
            args = (first,)
            if not self.built:
                self._maybe_build(tuple(first.shape))
            previous_mask = getattr(first, "_keras_mask", None)  # a layer's _convert_input may keep an array
        else:
            if any_symbolic(args, kwargs):
                return self._symbolic_call(args, kwargs)
            args = tuple(map_structure(self._convert_input, a) for a in args)
            first = args[0] if args else kwargs.get("inputs")
            if not self.built:
                self._maybe_build(map_structure(lambda t: tuple(t.shape), first))
            previous_mask = map_structure(lambda t: getattr(t, "_keras_mask", None), first)
            if not any(m is not None for m in flatten(previous_mask)):
                previous_mask = None
        training = kwargs.get("training") if self._call_takes_training else kwargs.pop("training", None)
        stack = getattr(_context, "training", None)
        if stack is None:
            stack = _context.training = []
        if training is None:
            training = stack[-1] if stack else None
            if training is None and self._call_takes_training:
                training = self._training_default
        if self._call_takes_training:
            kwargs["training"] = training
        if previous_mask is not None and self._call_takes_mask and kwargs.get("mask") is None:
            kwargs["mask"] = previous_mask
        stack.append(training)
        if len(stack) == 1 and getattr(_context, "losses_added", False):
            self._clear_losses()  # a new outermost call replaces the losses the previous one added
            _context.losses_added = False
        try:
            outputs = self.call(*args, **kwargs)
        finally:
            stack.pop()
        if self.activity_regularizer is not None:
            for out in flatten(outputs):
                penalty = self.activity_regularizer(out)
                if out.ndim > 0:
                    penalty = penalty / np.float32(out.shape[0])
                self.add_loss(penalty)
        mask = kwargs.get("mask", previous_mask)
        if mask is not None or type(self).compute_mask is not Layer.compute_mask:  # no mask in, none out (base)
            self._set_mask(first, outputs, mask)
        return outputs

    def _set_mask(self, inputs, outputs, mask) -> None:
        out_mask = self.compute_mask(inputs, mask)
        if out_mask is None:
            return
        outs, masks = flatten(outputs), flatten(out_mask) if isinstance(out_mask, (list, tuple)) else [out_mask]
        for out, m in zip(outs, masks if len(masks) == len(outs) else masks * len(outs)):
            if isinstance(out, Tensor):
                out._keras_mask = m

    def _convert_input(self, x):
        if isinstance(x, Tensor):
            kind = x._v.dtype.kind
            if kind == "f" and self.autocast and x._v.dtype != self.dtype and "float" in self.dtype:
                mask = x._keras_mask
                from ..autodiff import elementwise

                x = elementwise.cast(x, self.dtype)
                x._keras_mask = mask
            return x
        if isinstance(x, (np.ndarray, list, tuple, float, int, np.generic)):
            arr = np.asarray(x)
            if arr.dtype.kind == "f" and self.autocast and "float" in self.dtype:
                arr = arr.astype(self.dtype, copy=False)
            elif arr.dtype == np.float64:
                arr = arr.astype(FLOATX)
            return Tensor(arr)
        return x

    def _symbolic_call(self, args, kwargs):
        from .probe import symbolic_outputs

        outputs = symbolic_outputs(self, args, kwargs)
        SymbolicNode(self, args, kwargs, outputs)
        return outputs

    # -------------------------------------------------------------------------------- config
    def get_config(self) -> Dict[str, Any]:
        """The constructor arguments that rebuild this layer (``from_config(get_config())``)."""
        config = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype}
        if self._batch_input_shape is not None:
            config["batch_input_shape"] = list(self._batch_input_shape)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    # -------------------------------------------------------------------------------- introspection
    def _node_shapes(self, attr):
        if not self._inbound_nodes:
            raise AttributeError(f"The layer {self.name} has never been called and thus has no defined {attr}.")
        tensors = [getattr(node, attr) for node in self._inbound_nodes]
        if len({repr(t) for t in tensors}) > 1 and attr.endswith("shape"):
            raise AttributeError(f"The layer {self.name} has multiple inbound nodes with different {attr}s.")
        return tensors[0]

    @property
    def input(self):
        tensors = self._node_shapes("input_tensors")
        return tensors[0] if len(tensors) == 1 else tensors  # one tensor, as Keras gives it

    @property
    def output(self):
        tensors = self._node_shapes("output_tensors")
        return tensors[0] if len(tensors) == 1 else tensors

    @property
    def input_shape(self):
        return map_structure(lambda t: t.shape, self.input)

    @property
    def output_shape(self):
        return map_structure(lambda t: t.shape, self.output)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def _tracked_items(value):
    if isinstance(value, (Layer, Variable)):
        return [value]
    if isinstance(value, (list, tuple)):
        return [v for item in value for v in _tracked_items(item)]
    if isinstance(value, dict):
        return [v for item in value.values() for v in _tracked_items(item)]
    return []


def _dtype_name(dtype) -> str:
    if dtype is None:
        return FLOATX
    if isinstance(dtype, dict):
        dtype = (dtype.get("config") or {}).get("name", FLOATX)
    name = getattr(dtype, "name", dtype)
    if name in ("string", "str", "object"):
        return "string"  # string inputs (TextVectorization, StringLookup) as in Keras
    name = str(np.dtype(name)) if name not in ("mixed_float16", "mixed_bfloat16") else FLOATX
    return name


__all__ = ["Layer", "KerasTensor", "unique_name", "clear_session", "call_training", "snake_case"]
