"""Model configs (Sequential / Functional / Model, Keras 2 or Keras 3 dialect) -> ModelSpec graphs, and back."""
from __future__ import annotations

from typing import Any, Dict, List, Optional

from ..errors import ModelFormatError, UnsupportedLayerError
from . import keras3_masks, tfops, tfops_write
from .dialect import canonical_layer_config, check_entry, check_object, dialect_layer_config, dtype_name, \
    is_model_class
from .layers import REFUSED, canonical_class
from .spec import LayerSpec, ModelSpec, TensorRef

MAX_DEPTH = 16


def parse_model(obj: Any, dialect: str, label: str, depth: int = 0) -> ModelSpec:
    """A serialized model ``{"class_name", "config"}`` as a ModelSpec without weights."""
    if depth > MAX_DEPTH:
        raise ModelFormatError(f"{label}: models nested more than {MAX_DEPTH} deep")
    if not isinstance(obj, dict) or "class_name" not in obj:
        raise ModelFormatError(f"{label}: expected a model config with 'class_name' and 'config', got "
                               f"{type(obj).__name__}")
    check_object({k: v for k, v in obj.items() if k != "config"}, label)
    cls = obj["class_name"]
    config = obj.get("config")
    if cls == "Sequential":
        return _sequential(config, dialect, label, depth)
    if cls in ("Functional", "Model"):
        return _functional(config, dialect, label, depth)
    raise ModelFormatError(f"{label}: top-level class {cls!r} is not a model; expected Sequential, Functional "
                           "or Model")


def _layer(entry: Any, dialect: str, label: str, depth: int) -> LayerSpec:
    if not isinstance(entry, dict) or not isinstance(entry.get("class_name"), str):
        raise ModelFormatError(f"{label}: each layer must be an object with 'class_name', got {entry!r:.120}")
    raw = entry.get("config")
    if not isinstance(raw, (dict, list)):
        raise ModelFormatError(f"{label}: layer {entry.get('name')!r} has no config object")
    name = entry.get("name") or (raw.get("name") if isinstance(raw, dict) else None)
    if not isinstance(name, str) or not name:
        raise ModelFormatError(f"{label}: a {entry['class_name']} layer has no name")
    where = f"{label}: layer {name!r} ({entry['class_name']})"
    cls = canonical_class(entry["class_name"])
    if cls in REFUSED:
        raise UnsupportedLayerError(f"{where}: {cls} is refused: {REFUSED[cls]}")
    if cls in tfops.OP_LAYER_CLASSES or tfops.is_keras3_op(entry, dialect):
        raise UnsupportedLayerError(f"{where}: a TensorFlow/Keras op outside a functional model is not supported")
    check_entry(entry, cls, where)
    if is_model_class(cls):
        inner = parse_model({"class_name": cls, "config": raw}, dialect, where, depth + 1)
        return LayerSpec(name, "Functional" if cls == "Model" else cls, {}, [], [], inner)
    return LayerSpec(name, cls, canonical_layer_config(cls, raw, dialect, where))


def _op_layer(entry: Any, dialect: str, label: str):
    """A TFOpLambda/SlicingOpLambda (Keras 2) or ``keras.src.ops`` operation (Keras 3) entry as a canonical
    ``TFOpLambda`` LayerSpec with its one call, or None for any other entry."""
    if not isinstance(entry, dict) or not isinstance(entry.get("config"), dict):
        return None
    keras2 = canonical_class(str(entry.get("class_name"))) in tfops.OP_LAYER_CLASSES
    if not keras2 and not tfops.is_keras3_op(entry, dialect):
        return None
    raw = entry["config"]
    name = entry.get("name") or raw.get("name")
    if not isinstance(name, str) or not name:
        raise ModelFormatError(f"{label}: a {entry.get('class_name')} entry has no name")
    where = f"{label}: layer {name!r} ({entry.get('class_name')})"
    check_object({k: v for k, v in entry.items() if k not in ("module", "registered_name")}, where)
    to_ref = lambda history: _ref(history, where)  # noqa: E731
    if keras2:
        config, calls = tfops.read_keras2(raw.get("function"), entry.get("inbound_nodes"), where, to_ref)
    else:
        config, calls = tfops.read_keras3(tfops.op_for_keras3(entry, where), entry, where, to_ref)
    config = {"trainable": bool(raw.get("trainable", True)), "dtype": dtype_name(raw.get("dtype"), where), **config}
    return LayerSpec(name, "TFOpLambda", config, [], calls)


def _sequential(config: Any, dialect: str, label: str, depth: int) -> ModelSpec:
    if isinstance(config, list):  # Keras 2.0-2.2 stored the layer list directly
        config = {"name": "sequential", "layers": config}
    if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
        raise ModelFormatError(f"{label}: Sequential config must hold a 'layers' list")
    name = str(config.get("name") or "sequential")
    entries = config["layers"]
    layers = [_layer(e, dialect, f"{label}", depth) for e in entries]
    if not layers or layers[0].class_name != "InputLayer":
        first_raw = entries[0].get("config", {}) if entries and isinstance(entries[0], dict) else {}
        shape = first_raw.get("batch_input_shape") or first_raw.get("batch_shape") if isinstance(
            first_raw, dict) else None
        if shape is None and isinstance(config.get("build_input_shape"), list):
            shape = config["build_input_shape"]
        first_name = layers[0].name if layers else name
        dtype = layers[0].config.get("dtype", "float32") if layers and layers[0].model is None else "float32"
        batch_shape = list(shape) if shape is not None else None
        input_config = {"trainable": True, "dtype": dtype, "batch_shape": batch_shape, "sparse": False}
        if batch_shape is not None:
            input_config = canonical_layer_config("InputLayer", input_config, dialect, label)
        layers.insert(0, LayerSpec(f"{first_name}_input", "InputLayer", input_config))
    _check_unique(layers, label)
    for prev, layer in zip(layers, layers[1:]):
        if layer.class_name == "InputLayer":
            raise ModelFormatError(f"{label}: InputLayer {layer.name!r} in the middle of a Sequential model")
        layer.inbound = [[TensorRef(prev.name)]]
    return ModelSpec(name, layers, [TensorRef(layers[0].name)], [TensorRef(layers[-1].name)], kind="Sequential")


def _refs(value: Any, label: str) -> List[TensorRef]:
    """Tensor references in a Keras 2 ``[name, node, tensor]`` list or a Keras 3 ``__keras_tensor__`` tree."""
    out: List[TensorRef] = []
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            history = (value.get("config") or {}).get("keras_history")
            out.append(_ref(history, label))
        return out
    if isinstance(value, (list, tuple)):
        if len(value) >= 3 and isinstance(value[0], str) and all(isinstance(v, int) for v in value[1:3]):
            return [_ref(value, label)]
        for item in value:
            out.extend(_refs(item, label))
    return out


def _ref(history: Any, label: str) -> TensorRef:
    if not (isinstance(history, (list, tuple)) and len(history) >= 3 and isinstance(history[0], str)
            and all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 1 << 20 for v in history[1:3])):
        raise ModelFormatError(f"{label}: bad tensor reference {history!r:.120}; expected [layer, node, tensor]")
    return TensorRef(history[0], history[1], history[2])


def _call(node: Any, label: str, mask: Optional[list] = None) -> List[TensorRef]:
    """The input tensors of one call; a Keras 3 ``mask`` keyword tensor is appended to ``mask`` (it is checked
    against keraslite's own mask derivation later, see keras3_masks.py)."""
    if isinstance(node, dict):  # Keras 3: {"args": [...], "kwargs": {...}}
        refs = _refs(node.get("args", []), label)
        kwargs = dict(node.get("kwargs") or {})
        mask_refs = _refs(kwargs.pop("mask", None), label)
        if _refs(kwargs, label) or any(_refs(v, label) for v in kwargs.values()) or len(mask_refs) > 1 or (
                mask_refs and mask is None):
            raise ModelFormatError(f"{label}: tensors passed as keyword arguments (initial_state, several masks, "
                                   "...) are not supported")
        if mask is not None:
            mask.append(mask_refs[0] if mask_refs else None)
        return refs
    if isinstance(node, list):  # Keras 2: [[name, node, tensor, kwargs], ...]
        refs = []
        for item in node:
            refs.append(_ref(item, label))
            if isinstance(item, list) and len(item) > 3 and isinstance(item[3], dict) and _refs(
                    list(item[3].values()), label):
                raise ModelFormatError(f"{label}: tensors passed as keyword arguments are not supported")
        return refs
    raise ModelFormatError(f"{label}: inbound node must be a list or an object, got {node!r:.120}")


def _io_refs(value: Any, label: str, key: str) -> List[TensorRef]:
    if isinstance(value, dict):  # Keras 3 may store {"name": [layer, node, tensor]} for dict inputs
        value = list(value.values())
    if not isinstance(value, list) or not value:
        raise ModelFormatError(f"{label}: {key} must be a non-empty list, got {value!r:.120}")
    if isinstance(value[0], str):  # a single, unwrapped [name, node, tensor]
        value = [value]
    return [_ref(v, f"{label}: {key}") for v in value]


def _functional(config: Any, dialect: str, label: str, depth: int) -> ModelSpec:
    if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
        raise ModelFormatError(f"{label}: Functional config must hold a 'layers' list")
    layers = []
    masks = keras3_masks.MaskOps()
    for entry in config["layers"]:
        if dialect == "keras3" and keras3_masks.is_mask_op(entry):
            masks.add_op(entry, label, lambda v: _refs(v, label))
            continue
        op = _op_layer(entry, dialect, label)
        if op is not None:
            layers.append(op)
            continue
        layer = _layer(entry, dialect, label, depth)
        nodes = entry.get("inbound_nodes") or []
        if not isinstance(nodes, list):
            raise ModelFormatError(f"{label}: layer {layer.name!r}: inbound_nodes must be a list")
        given: list = []
        layer.inbound = [_call(n, f"{label}: layer {layer.name!r}", given) for n in nodes]
        masks.uses.update({(layer.name, k): ref for k, ref in enumerate(given) if ref is not None})
        if layer.class_name == "InputLayer":
            layer.inbound = []
        layers.append(layer)
    _check_unique(layers, label)
    spec = ModelSpec(str(config.get("name") or "model"), layers,
                     _io_refs(config.get("input_layers"), label, "input_layers"),
                     _io_refs(config.get("output_layers"), label, "output_layers"), kind="Functional")
    if dialect == "keras2":
        _shift_nested_nodes(spec, -1, label)
    _check_graph(spec, label)
    keras3_masks.absorb(spec, masks, label)
    return spec


def _owns_first_node(layer: LayerSpec) -> bool:
    """Keras 2 counts a built nested model's own construction as its call 0; outer calls start at 1."""
    return layer.model is not None and layer.model.input_layers[0].config.get("batch_shape") is not None


def _shift_nested_nodes(spec: ModelSpec, delta: int, label: str) -> None:
    """Move references to built nested models between Keras 2's numbering (+1) and ours."""
    owners = {l.name for l in spec.layers if _owns_first_node(l)}
    if not owners:
        return

    def shift(ref: TensorRef) -> TensorRef:
        if ref.layer not in owners:
            return ref
        if ref.node + delta < 0:
            raise ModelFormatError(f"{label}: reference to call {ref.node} of nested model {ref.layer!r}; Keras 2 "
                                   "numbers a nested model's calls from 1")
        return TensorRef(ref.layer, ref.node + delta, ref.tensor)

    for layer in spec.layers:
        layer.inbound = [[shift(r) for r in call] for call in layer.inbound]
    spec.outputs = [shift(r) for r in spec.outputs]


def _check_unique(layers: List[LayerSpec], label: str) -> None:
    seen = set()
    for layer in layers:
        if layer.name in seen:
            raise ModelFormatError(f"{label}: two layers are named {layer.name!r}")
        seen.add(layer.name)


def _check_graph(spec: ModelSpec, label: str) -> None:
    """Every reference names an existing call, inputs are InputLayers, and the graph has no cycle."""
    by_name: Dict[str, LayerSpec] = {l.name: l for l in spec.layers}

    def check(ref: TensorRef, where: str) -> None:
        layer = by_name.get(ref.layer)
        if layer is None:
            raise ModelFormatError(f"{label}: {where} refers to unknown layer {ref.layer!r}")
        calls = 1 if layer.class_name == "InputLayer" else len(layer.inbound)
        if ref.node >= calls:
            raise ModelFormatError(f"{label}: {where} refers to call {ref.node} of {ref.layer!r}, which has "
                                   f"{calls} call(s)")

    for layer in spec.layers:
        for call in layer.inbound:
            if not call:
                raise ModelFormatError(f"{label}: layer {layer.name!r} is called with no input")
            for ref in call:
                check(ref, f"layer {layer.name!r}")
    for ref in spec.inputs:
        check(ref, "input_layers")
        if by_name[ref.layer].class_name != "InputLayer":
            raise ModelFormatError(f"{label}: model input {ref.layer!r} is not an InputLayer")
    for ref in spec.outputs:
        check(ref, "output_layers")
    state: Dict[str, int] = {}

    def visit(name: str) -> None:  # iterative DFS would be longer; depth is bounded by the layer count
        stack = [(name, iter([r.layer for call in by_name[name].inbound for r in call]))]
        state[name] = 1
        while stack:
            current, children = stack[-1]
            nxt = next(children, None)
            if nxt is None:
                state[current] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                raise ModelFormatError(f"{label}: the layer graph has a cycle through {nxt!r}")
            elif nxt not in state:
                state[nxt] = 1
                stack.append((nxt, iter([r.layer for call in by_name[nxt].inbound for r in call])))

    for layer in spec.layers:
        if layer.name not in state:
            visit(layer.name)


# ---------------------------------------------------------------------------------------------------- writing


def model_config(spec: ModelSpec, dialect: str) -> Dict[str, Any]:
    """``{"class_name", "config"}`` for ``spec`` in ``dialect`` (portable and keras2 use Keras 2 node lists)."""
    if spec.kind == "Sequential" and _is_linear(spec) and not any(l.class_name == "TFOpLambda" for l in spec.layers):
        entries = [_layer_entry(l, dialect, with_nodes=False) for l in spec.layers if not _synthetic_input(l, spec)]
        return {"class_name": "Sequential", "config": {"name": spec.name, "layers": entries}}
    if dialect != "keras3":
        spec = _copy_graph(spec)
        _shift_nested_nodes(spec, +1, spec.name)
    entries = [_layer_entry(l, dialect, with_nodes=True) for l in spec.layers]
    as_list = lambda refs: [[r.layer, r.node, r.tensor] for r in refs]  # noqa: E731
    return {"class_name": "Functional", "config": {"name": spec.name, "layers": entries,
                                                   "input_layers": as_list(spec.inputs),
                                                   "output_layers": as_list(spec.outputs)}}


def _copy_graph(spec: ModelSpec) -> ModelSpec:
    """A copy whose layers' ``inbound`` lists can be rewritten without touching ``spec``."""
    layers = [LayerSpec(l.name, l.class_name, l.config, l.weights, [list(c) for c in l.inbound], l.model)
              for l in spec.layers]
    return spec.replace(layers=layers, outputs=list(spec.outputs))


def _synthetic_input(layer: LayerSpec, spec: ModelSpec) -> bool:
    """A nested Sequential whose input shape comes from its caller has an InputLayer without a shape."""
    return layer.class_name == "InputLayer" and layer.config.get("batch_shape") is None


def _is_linear(spec: ModelSpec) -> bool:
    return all(len(l.inbound) == 1 and len(l.inbound[0]) == 1 for l in spec.layers[1:])


def _layer_entry(layer: LayerSpec, dialect: str, with_nodes: bool) -> Dict[str, Any]:
    if layer.class_name == "TFOpLambda":  # one call, its arguments written into the node
        if dialect == "keras3":
            return tfops_write.keras3_entry(layer.name, layer.config, layer.inbound[0])
        return tfops_write.keras2_entry(layer.name, layer.config, layer.inbound[0], with_nodes)
    if layer.model is not None:
        inner = model_config(layer.model, dialect)
        entry = {"class_name": inner["class_name"], "config": {**inner["config"], "name": layer.name}}
    else:
        # tf_keras finds its registered CustomScaleLayer by the registered name (it writes that as the class)
        cls = "Custom>CustomScaleLayer" if layer.class_name == "CustomScaleLayer" and dialect == "keras2" else \
            layer.class_name
        entry = {"class_name": cls,
                 "config": dialect_layer_config(layer.class_name, layer.name, layer.config, dialect,
                                                f"layer {layer.name!r}")}
    if with_nodes:
        entry["name"] = layer.name
        entry["inbound_nodes"] = [[[r.layer, r.node, r.tensor, {}] for r in call] for call in layer.inbound]
    return entry
