"""ModelSpec: the neutral, in-memory description of a Keras model that every keraslite package speaks.

Only ``keraslite.format`` builds a ModelSpec from a file or writes one back. The runtime, the ONNX exporter and the
training API consume it and never see a Keras dialect: configs are canonical (one key set per class, defaults
filled, dtype a plain string, activations by name), weights are numpy arrays in Keras' order under their short Keras
names (``kernel``, ``bias``, ``gamma``, ...), and the graph is explicit even for a Sequential model.

A model used as a layer (a Sequential inside a Functional model, an augmentation block inside a Sequential) is a
LayerSpec whose ``model`` holds the inner ModelSpec. ``flatten(spec)`` inlines every nested model so consumers can
walk one flat graph.

Example::

    spec = keraslite.format.read("model.h5")
    for layer in spec.flatten().layers:
        print(layer.name, layer.class_name, [w.shape for _, w in layer.weights])
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Optional, Tuple

import numpy as np


@dataclass(frozen=True)
class TensorRef:
    """One output tensor of one call of a layer: ``layer`` name, call index ``node``, output index ``tensor``."""

    layer: str
    node: int = 0
    tensor: int = 0


@dataclass
class LayerSpec:
    """One layer: canonical ``class_name`` and ``config``, ``weights`` in Keras' order, and its calls.

    ``inbound`` has one entry per call of the layer (a shared layer has several); each entry lists the input tensors
    of that call, in order (one for most layers, several for merge layers). An InputLayer has no calls.
    ``model`` is set only for a nested Sequential/Functional model used as a layer; its weights live on its layers.
    ``mask`` is set only on the flat graphs ``format.masking.explicit_masks`` makes for the runtime and exporters:
    ``{"kind": "ids" | "values", "value": v}`` says each call's last input is the tensor the Keras mask comes from
    (``ids != 0`` of an Embedding(mask_zero=True), or ``any(x != mask_value, -1)`` of a Masking layer's input).
    """

    name: str
    class_name: str
    config: Dict = field(default_factory=dict)
    weights: List[Tuple[str, np.ndarray]] = field(default_factory=list)
    inbound: List[List[TensorRef]] = field(default_factory=list)
    model: Optional["ModelSpec"] = None
    mask: Optional[Dict] = None

    @property
    def weight_dict(self) -> Dict[str, np.ndarray]:
        """Weights by short name (``kernel``, ``bias``, ...)."""
        return dict(self.weights)


@dataclass
class ModelSpec:
    """A whole model: its layers (InputLayers included), graph inputs and outputs, and where it came from.

    ``kind`` is ``"Sequential"`` or ``"Functional"`` (what a writer emits); the graph is explicit in both cases.
    ``source`` records the file it came from: ``{"path", "format", "keras_version", "backend", "dialect"}``.
    ``training_config`` is the dict Keras stores when a model was compiled, or None.
    ``optimizer_weights`` is the optimizer's state ``[(name, array)]`` in the optimizer's own variable order
    (iterations first), or None; files keep it so training can resume.
    """

    name: str
    layers: List[LayerSpec]
    inputs: List[TensorRef]
    outputs: List[TensorRef]
    kind: str = "Functional"
    training_config: Optional[Dict] = None
    source: Dict = field(default_factory=dict)
    optimizer_weights: Optional[List[Tuple[str, np.ndarray]]] = None

    def layer(self, name: str) -> LayerSpec:
        """The layer called ``name``; raises KeyError listing the names when there is none."""
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(f"no layer named {name!r}; layers: {[l.name for l in self.layers]}")

    @property
    def input_layers(self) -> List[LayerSpec]:
        """The InputLayer of each graph input, in model order."""
        return [self.layer(ref.layer) for ref in self.inputs]

    def iter_weights(self) -> Iterator[Tuple[str, str, np.ndarray]]:
        """``(layer path, weight name, array)`` for every weight, nested models included, in Keras' order."""
        for layer in self.layers:
            if layer.model is not None:
                for path, wname, arr in layer.model.iter_weights():
                    yield f"{layer.name}/{path}", wname, arr
            else:
                for wname, arr in layer.weights:
                    yield layer.name, wname, arr

    def flatten(self) -> "ModelSpec":
        """This model with every nested model inlined: only leaf layers, inner names prefixed ``outer/inner``.

        A nested model called k times contributes k calls of each of its layers; its InputLayers disappear and the
        tensors fed to it take their place.
        """
        from .flatten import flatten

        return flatten(self)

    def replace(self, **changes) -> "ModelSpec":
        """A shallow copy with some fields changed."""
        return dataclasses.replace(self, **changes)


__all__ = ["TensorRef", "LayerSpec", "ModelSpec"]
