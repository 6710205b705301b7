"""Functional models: a graph of layer calls from ``Input``s to outputs, run in dependency order.

The layer order (``model.layers``) is Keras': by depth from the outputs (deepest first), ties broken by the order
a walk back from the outputs first reaches each layer. Files record layers in this order and tf_keras matches
weights to layers by position, so keraslite writes what Keras would.
"""
from __future__ import annotations

from typing import Dict, List

import numpy as np

from ...errors import InputError, KerasliteError
from ..autodiff import Tensor
from ..layers.input_layer import InputLayer
from ..layers.keras_tensor import KerasTensor, flatten
from .model import Model


def _inputs_list(inputs) -> List[KerasTensor]:
    flat = flatten(inputs)
    for t in flat:
        if not isinstance(t, KerasTensor):
            raise KerasliteError(f"All `inputs` values must be KerasTensors (from keraslite.Input). Received: "
                                 f"{t!r:.100}")
    return flat


def map_graph(inputs: List[KerasTensor], outputs: List[KerasTensor]):
    """``(nodes in execution order, layers in Keras' order)`` of the graph between ``inputs`` and ``outputs``."""
    finished, in_progress, post_order, discovery = set(), set(), [], {}
    input_ids = {id(t) for t in inputs}

    def visit(tensor):
        history = tensor._keras_history
        if history is None:
            raise KerasliteError(f"{tensor!r} was not produced by a keraslite layer: functional model outputs must "
                                 "come from layers called on Input tensors")
        layer, index, _ = history
        node = layer._inbound_nodes[index]
        if id(node) in finished:
            return
        if not node.is_input and id(tensor) in input_ids:
            finished.add(id(node))
            return
        if id(node) in in_progress:
            raise KerasliteError(f"Tensor {tensor!r} from layer '{layer.name}' is part of a cycle.")
        discovery.setdefault(id(layer), (len(discovery), layer))
        in_progress.add(id(node))
        if not node.is_input:
            for t in node.input_tensors:
                visit(t)
        finished.add(id(node))
        in_progress.discard(id(node))
        post_order.append(node)

    for t in outputs:
        visit(t)
    in_graph = {id(n) for n in post_order}
    node_depth: Dict[int, int] = {}
    layer_depth: Dict[int, int] = {}
    for node in reversed(post_order):
        depth = max(node_depth.setdefault(id(node), 0), layer_depth.get(id(node.layer), 0))
        layer_depth[id(node.layer)] = depth
        node_depth[id(node)] = depth
        for parent in node.parent_nodes:
            if id(parent) in in_graph:
                node_depth[id(parent)] = max(depth + 1, node_depth.get(id(parent), 0))
    for t in inputs:  # unused inputs still belong to the model
        layer = t._keras_history.layer
        if id(layer) not in layer_depth:
            layer_depth[id(layer)] = 0
            discovery[id(layer)] = (-1, layer)
            post_order.insert(0, layer._inbound_nodes[t._keras_history.node_index])
            node_depth[id(post_order[0])] = 0
    layers = sorted((l for _, l in discovery.values()), key=lambda l: (-layer_depth[id(l)], discovery[id(l)][0]))
    nodes = sorted(post_order, key=lambda n: -node_depth[id(n)])
    available = {id(t) for t in inputs}
    for node in nodes:
        for t in node.input_tensors:
            if id(t) not in available:
                raise KerasliteError(f"Graph disconnected: cannot find parent for tensor {t!r} at layer "
                                     f"'{node.layer.name}'. Every model input must be listed in `inputs`.")
        available.update(id(t) for t in node.output_tensors)
    names = [l.name for l in layers]
    for name in names:
        if names.count(name) > 1:
            raise KerasliteError(f'The name "{name}" is used {names.count(name)} times in the model. All layer '
                                 "names should be unique.")
    return [n for n in nodes if not isinstance(n.layer, InputLayer)], layers


class Functional(Model):
    """``Model(inputs, outputs)``: inputs and outputs may be one KerasTensor, a list, or a dict."""

    def __init__(self, inputs, outputs, name=None, trainable=True, **kwargs):
        super().__init__(name=name, trainable=trainable, **kwargs)
        self._init_graph(inputs, outputs)

    def _init_graph(self, inputs, outputs):
        if isinstance(inputs, dict):
            self._input_keys = list(inputs)
        else:
            self._input_keys = None
        self._input_struct = inputs
        self._output_struct = outputs
        self._model_inputs = _inputs_list(inputs)
        self._model_outputs = [t for t in flatten(outputs)]
        for t in self._model_outputs:
            if not isinstance(t, KerasTensor):
                raise KerasliteError(f"All `outputs` values must be KerasTensors. Received: {t!r:.100}")
        self._nodes, self._layers = map_graph(self._model_inputs, self._model_outputs)
        self.built = True

    # -- structure
    @property
    def layers(self):
        return list(self._layers)

    def _sublayers(self):
        return list(self._layers)

    @property
    def inputs(self):
        return list(self._model_inputs)

    @property
    def outputs(self):
        return list(self._model_outputs)

    @property
    def input(self):
        """The model's input KerasTensor(s), in the structure given to ``Model(inputs, ...)``."""
        return self._input_struct

    @property
    def output(self):
        return self._output_struct

    @property
    def input_names(self):
        return [t._keras_history.layer.name for t in self._model_inputs]

    @property
    def output_names(self):
        return [t._keras_history.layer.name for t in self._model_outputs]

    @property
    def input_shape(self):
        shapes = [t.shape for t in self._model_inputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self):
        shapes = [t.shape for t in self._model_outputs]
        return shapes[0] if len(shapes) == 1 else shapes

    def _output_structure(self, values: List):
        struct = self._output_struct
        if isinstance(struct, dict):
            return dict(zip(struct.keys(), values))
        if isinstance(struct, (list, tuple)):
            return list(values) if isinstance(struct, list) else tuple(values)
        return values[0]

    # -- running
    def _flat_inputs(self, inputs) -> List:
        expected = self._model_inputs
        if isinstance(inputs, dict):
            keys = self._input_keys or [t._keras_history.layer.name for t in expected]
            missing = [k for k in keys if k not in inputs]
            if missing:
                raise InputError(f"model {self.name!r}: missing input(s) {missing}; expected keys {keys}, got "
                                 f"{sorted(inputs)}")
            return [inputs[k] for k in keys]
        flat = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        if len(flat) != len(expected):
            raise InputError(f"Layer \"{self.name}\" expects {len(expected)} input(s), but it received "
                             f"{len(flat)} input tensors. Inputs expected: {[t.shape for t in expected]}")
        return flat

    def call(self, inputs, training=None, mask=None):
        flat = self._flat_inputs(inputs)
        values: Dict[int, object] = {}
        for i, (kt, value) in enumerate(zip(self._model_inputs, flat)):
            value = self._check_input(i, kt, value)
            values[id(kt)] = value
        for node in self._nodes:
            args = _fill(node.args, values)
            kwargs = _fill(node.kwargs, values)
            if training is not None and "training" not in node.kwargs and node.layer._call_takes_training:
                kwargs["training"] = training
            out = node.layer(*args, **kwargs)
            for kt, v in zip(node.output_tensors, flatten(out)):
                values[id(kt)] = v
        return self._output_structure([values[id(t)] for t in self._model_outputs])

    def _check_input(self, index, kt, value):
        if not isinstance(value, Tensor):
            arr = np.asarray(value)
            value = Tensor(arr.astype("float32") if arr.dtype == np.float64 else arr)
        value = adjust_rank(value, kt.shape)
        shape = value.shape
        if len(shape) != len(kt.shape) or any(e is not None and e != g for e, g in zip(kt.shape, shape)):
            raise InputError(f"Input {index} of layer \"{self.name}\" is incompatible with the layer: expected "
                             f"shape={kt.shape}, found shape={tuple(shape)}")
        if kt.dtype.startswith("float") and value.dtype.kind == "f" and str(value.dtype) != kt.dtype:
            from ..autodiff import elementwise

            value = elementwise.cast(value, kt.dtype)
        return value

    def compute_output_shape(self, input_shape):
        outs = [t.shape for t in self._model_outputs]
        return outs[0] if len(outs) == 1 else outs

    def get_config(self):
        from .saving import functional_config

        return functional_config(self)


def adjust_rank(x, expected):
    """Keras 3's one-axis leniency: add a trailing axis of 1 the input lacks, or drop one it has extra."""
    from ..autodiff import shape as S

    if x.ndim == len(expected) - 1 and expected[-1] == 1:
        return S.expand_dims(x, -1)
    if x.ndim == len(expected) + 1 and x.shape[-1] == 1:
        return S.squeeze(x, -1)
    return x


def _fill(structure, values):
    """``structure`` with each KerasTensor replaced by its computed value."""
    if isinstance(structure, KerasTensor):
        return values[id(structure)]
    if isinstance(structure, dict):
        return {k: _fill(v, values) for k, v in structure.items()}
    if isinstance(structure, (list, tuple)):
        return type(structure)(_fill(v, values) for v in structure)
    return structure


__all__ = ["Functional", "map_graph"]
