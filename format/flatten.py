"""Inline nested models (a model used as a layer) so consumers walk one flat graph of leaf layers."""
from __future__ import annotations

from typing import Dict, List, Tuple

from .spec import LayerSpec, ModelSpec, TensorRef


def flatten(spec: ModelSpec) -> ModelSpec:
    """A copy of ``spec`` with every nested model's layers inlined and named ``outer/inner``."""
    if not any(layer.model is not None for layer in spec.layers):
        return spec
    nested: Dict[str, Tuple[LayerSpec, ModelSpec]] = {
        layer.name: (layer, flatten(layer.model)) for layer in spec.layers if layer.model is not None
    }
    calls: Dict[str, int] = {}  # inner flat layer name -> calls per call of its nested model
    for outer, inner in nested.values():
        for layer in inner.layers:
            calls[f"{outer.name}/{layer.name}"] = len(layer.inbound)

    def resolve(ref: TensorRef) -> TensorRef:
        """An outer-level reference, rewritten to the leaf tensor it stands for."""
        if ref.layer not in nested:
            return ref
        outer, inner = nested[ref.layer]
        return inner_ref(inner.outputs[ref.tensor], outer, inner, ref.node)

    def inner_ref(ref: TensorRef, outer: LayerSpec, inner: ModelSpec, call: int) -> TensorRef:
        """A reference inside ``inner``, as seen during call number ``call`` of the nested model."""
        input_names = [r.layer for r in inner.inputs]
        if ref.layer in input_names:
            return resolve(outer.inbound[call][input_names.index(ref.layer)])
        name = f"{outer.name}/{ref.layer}"
        return TensorRef(name, call * calls[name] + ref.node, ref.tensor)

    layers: List[LayerSpec] = []
    for layer in spec.layers:
        if layer.name not in nested:
            layers.append(LayerSpec(layer.name, layer.class_name, layer.config, layer.weights,
                                    [[resolve(r) for r in call] for call in layer.inbound]))
            continue
        outer, inner = nested[layer.name]
        input_names = {r.layer for r in inner.inputs}
        for leaf in inner.layers:
            if leaf.name in input_names:
                continue
            inbound = [[inner_ref(r, outer, inner, k) for r in call]
                       for k in range(len(outer.inbound)) for call in leaf.inbound]
            layers.append(LayerSpec(f"{outer.name}/{leaf.name}", leaf.class_name, leaf.config, leaf.weights, inbound))
    return spec.replace(layers=layers, outputs=[resolve(r) for r in spec.outputs])
