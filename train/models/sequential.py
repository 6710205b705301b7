"""``Sequential``: a plain stack of layers, each called on the previous one's output."""
from __future__ import annotations

from ...errors import KerasliteError
from ..layers.base import Layer
from ..layers.input_layer import InputLayer
from ..layers.keras_tensor import KerasTensor
from .functional import adjust_rank
from .model import Model


class Sequential(Model):
    """``Sequential([Dense(64, activation="relu", input_shape=(784,)), Dense(10)])`` or built with ``add``.

    The first layer's ``input_shape``/``input_dim``/``batch_input_shape`` (or a leading ``Input``) builds the model
    at once, so ``summary()`` works before any data is seen; otherwise it builds on its first call.
    """

    def __init__(self, layers=None, trainable=True, name=None):
        super().__init__(trainable=trainable, name=name)
        self._layers = []
        self._input_layer = None
        self._output_shape = None
        for layer in layers or []:
            self.add(layer, rebuild=False)
        self._maybe_rebuild()

    @property
    def layers(self):
        return list(self._layers)

    def _sublayers(self):
        return list(self._layers)

    def add(self, layer, rebuild=True):
        """Append a layer (or an ``Input``, which sets the input shape)."""
        if isinstance(layer, KerasTensor):
            origin = layer._keras_history.layer if layer._keras_history else None
            if not isinstance(origin, InputLayer):
                raise KerasliteError("Sequential.add accepts layers and Input tensors; this KerasTensor is the "
                                     "output of a layer. Use the functional API (Model(inputs, outputs)) instead")
            layer = origin
        if isinstance(layer, InputLayer):
            if self._layers or self._input_layer is not None:
                raise KerasliteError("Sequential model: an Input/InputLayer can only be the first element")
            self._input_layer = layer
            if rebuild:
                self._maybe_rebuild()
            return
        if not isinstance(layer, Layer):
            raise KerasliteError(f"Only instances of `keraslite.layers.Layer` can be added to a Sequential model. "
                                 f"Received: {layer!r:.100} (of type {type(layer).__name__})")
        if any(l.name == layer.name for l in self._layers):
            raise KerasliteError(f"All layers added to a Sequential model should have unique names. Name "
                                 f"{layer.name!r} is already the name of a layer in this model. Update the `name` "
                                 "argument to pass a unique name.")
        if not self._layers and self._input_layer is None and layer._batch_input_shape is not None:
            self._input_layer = InputLayer(batch_shape=layer._batch_input_shape,
                                           dtype=getattr(layer, "input_dtype", None) or layer.dtype)
        self._layers.append(layer)
        self.built = False
        if rebuild:
            self._maybe_rebuild()

    def pop(self, rebuild=True):
        """Remove and return the last layer."""
        if not self._layers:
            raise KerasliteError("There are no layers in the model.")
        layer = self._layers.pop()
        self.built = False
        if rebuild:
            self._maybe_rebuild()
        return layer

    def _maybe_rebuild(self):
        if self._input_layer is not None and self._layers:
            self.build(self._input_layer.batch_shape)

    def build(self, input_shape=None):
        """Build every layer for ``input_shape`` (batch dimension included) by a symbolic pass."""
        if input_shape is None:
            raise KerasliteError("Sequential.build needs an input_shape, e.g. model.build((None, 784))")
        input_shape = tuple(input_shape)
        if self._input_layer is None or self._input_layer.batch_shape != input_shape:
            # a first layer that reads strings (TextVectorization, StringLookup) makes a string input
            dtype = getattr(self._layers[0], "input_dtype", None) if self._layers else None
            self._input_layer = InputLayer(batch_shape=input_shape, dtype=dtype)
        x = self._input_layer.output_tensor
        for layer in self._layers:
            x = layer(x)
        self._output_shape = x.shape
        self._output_tensor = x
        self.built = True

    def _maybe_build(self, shapes):
        if not self.built:
            if not isinstance(shapes, tuple):
                raise KerasliteError("Sequential models take a single input tensor")
            self.build((None,) + tuple(shapes[1:]))

    def call(self, inputs, training=None, mask=None):
        x = inputs
        if hasattr(x, "shape") and self._input_layer is not None:
            x = adjust_rank(x, self._input_layer.batch_shape)
            self._check_call_input(x)
        for layer in self._layers:
            kwargs = {"training": training} if layer._call_takes_training else {}
            x = layer(x, **kwargs)
        return x

    @property
    def input_shape(self):
        if self._input_layer is None:
            raise AttributeError(f"Sequential model {self.name!r} has no defined input shape yet")
        return self._input_layer.batch_shape

    @property
    def output_shape(self):
        if self._output_shape is None:
            raise AttributeError(f"Sequential model {self.name!r} is not built yet")
        return self._output_shape

    @property
    def inputs(self):
        return [self._input_layer.output_tensor] if self._input_layer is not None else None

    @property
    def outputs(self):
        return [self._output_tensor] if self.built else None

    @property
    def input_names(self):
        return [self._input_layer.name] if self._input_layer is not None else []

    @property
    def output_names(self):
        return [self._layers[-1].name] if self._layers else []

    def compute_output_shape(self, input_shape):
        if not self.built:
            self.build(input_shape)
        return (input_shape[0],) + tuple(self._output_shape[1:])

    def _check_call_input(self, x):
        shape = self._input_layer.batch_shape if self._input_layer is not None else None
        if shape is not None and (len(x.shape) != len(shape) or any(
                e is not None and e != g for e, g in zip(shape, x.shape))):
            from ...errors import InputError

            raise InputError(f"Input 0 of layer \"{self.name}\" is incompatible with the layer: expected "
                             f"shape={shape}, found shape={tuple(x.shape)}")


__all__ = ["Sequential"]
