"""``Model``: a Layer that trains (``compile``/``fit``/``evaluate``/``predict`` from the Trainer) and saves.

``Model(inputs, outputs)`` builds a Functional model; subclassing ``Model`` with ``__init__`` and ``call`` gives a
subclassed model whose layers are found through its attributes, as in Keras.
"""
from __future__ import annotations

from ...errors import KerasliteError
from ..layers.base import Layer
from .trainer import Trainer


class Model(Trainer, Layer):
    """A trainable, saveable model: ``Model(inputs, outputs)``, ``Sequential([...])`` or a subclass."""

    def __new__(cls, *args, **kwargs):
        if cls is Model and (len(args) >= 2 or "inputs" in kwargs or "outputs" in kwargs):
            from .functional import Functional

            return Functional.__new__(Functional)
        return super().__new__(cls)

    def __init__(self, *args, **kwargs):
        if args or {"inputs", "outputs"} & set(kwargs):
            # Model(inputs, outputs) itself became a Functional in __new__; this is a subclass passing a graph up.
            raise KerasliteError(f"{type(self).__name__}: a subclassed Model cannot pass inputs/outputs to "
                                 "Model.__init__ in keraslite; build the graph with keraslite.Model(inputs, "
                                 "outputs), or write call() in the subclass")
        trainable = kwargs.pop("trainable", True)
        name = kwargs.pop("name", None)
        Layer.__init__(self, trainable=trainable, name=name, **kwargs)
        Trainer.__init__(self)

    @property
    def layers(self):
        """The layers this model is made of (a subclassed model's: its layer attributes, in assignment order)."""
        return self._sublayers()

    def get_layer(self, name=None, index=None):
        """A layer by name or by index in ``layers``."""
        if index is not None and name is not None:
            raise KerasliteError(f"Provide only a layer name or a layer index. Received: index={index}, name={name}.")
        if index is not None:
            if len(self.layers) <= index:
                raise KerasliteError(f"Was asked to retrieve layer at index {index} but model only has "
                                     f"{len(self.layers)} layers.")
            return self.layers[index]
        if name is not None:
            for layer in self.layers:
                if layer.name == name:
                    return layer
            raise KerasliteError(f"No such layer: {name}. Existing layers are: {[l.name for l in self.layers]}.")
        raise KerasliteError("Provide either a layer name or layer index at `get_layer`.")

    def build(self, input_shape=None):
        """Build a subclassed model by calling it once on zeros of ``input_shape`` (batch dimension 1 if None)."""
        if self.built:
            return
        if input_shape is None:
            raise KerasliteError(f"model {self.name!r}: build() needs an input_shape, e.g. model.build((None, 784))")
        import numpy as np

        from ..autodiff import Tensor

        def zeros(shape):
            return Tensor(np.zeros(tuple(1 if d is None else d for d in shape), "float32"))

        sample = [zeros(s) for s in input_shape] if isinstance(input_shape, list) and input_shape and isinstance(
            input_shape[0], (list, tuple)) else zeros(input_shape)
        self.built = True
        self(sample, training=False)

    def _maybe_build(self, shapes):
        if not self.built:
            self.built = True
            Layer.build(self, shapes)

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False, show_trainable=False,
                layer_range=None):
        """Print the layer table Keras prints (Layer (type), Output Shape, Param #, totals)."""
        from .summary import print_summary

        print_summary(self, line_length=line_length, positions=positions, print_fn=print_fn,
                      expand_nested=expand_nested, show_trainable=show_trainable)

    # -- saving (format/ does the files; see saving.py)
    def save(self, filepath, overwrite=True, **kwargs):
        """Save architecture, weights and training config: ``.keras``, or ``.h5`` (both Keras versions load it)."""
        from .saving import save_model

        save_model(self, filepath, overwrite=overwrite, **kwargs)

    def save_weights(self, filepath, overwrite=True, **kwargs):
        """Save the weights only: ``*.weights.h5`` (Keras 3 layout) or another ``.h5`` name (legacy layout)."""
        from .saving import save_weights

        save_weights(self, filepath, overwrite=overwrite, **kwargs)

    def load_weights(self, filepath, skip_mismatch=False, **kwargs):
        """Load weights saved by ``save_weights`` or ``save`` (a full-model file works too), checking shapes."""
        from .saving import load_weights

        load_weights(self, filepath, skip_mismatch=skip_mismatch, **kwargs)

    def to_json(self, **kwargs):
        """The architecture as Keras' JSON (``models.model_from_json`` reads it back)."""
        from .saving import to_json

        return to_json(self, **kwargs)

    def to_yaml(self, **kwargs):
        """The architecture as YAML (``models.model_from_yaml``)."""
        from .saving import to_yaml

        return to_yaml(self, **kwargs)

    def to_spec(self):
        """This model as a ``keraslite.format.ModelSpec`` (what every file writer and the runtime take)."""
        from .saving import to_spec

        return to_spec(self)

    def get_config(self):
        from .saving import model_config

        return model_config(self)


__all__ = ["Model"]
