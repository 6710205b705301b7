"""Writing the canonical TFOpLambda LayerSpecs of ``tfops.py`` back: TFOpLambda/SlicingOpLambda entries for tf_keras,
``keras.src.ops`` operation entries for Keras 3."""
from __future__ import annotations

from typing import Any, List

from ..errors import ModelFormatError
from .tfops import OPS, TENSOR


def _substitute(value: Any, refs: List, tensor) -> Any:
    """``value`` with every ``{"__tensor__": i}`` replaced by ``tensor(refs[i])``."""
    if isinstance(value, dict) and TENSOR in value:
        return tensor(refs[value[TENSOR]])
    if isinstance(value, list):
        return [_substitute(v, refs, tensor) for v in value]
    return value


def keras2_entry(name: str, config: dict, refs: List, with_nodes: bool) -> dict:
    """A TFOpLambda / SlicingOpLambda layer entry as tf_keras writes it (one call, kwargs in the node)."""
    op = OPS[config["function"]]
    args = config["arguments"]
    first, rest = op.names[0], op.names[1:]
    kwargs = {p: _substitute(args[p], refs, lambda r: [r.layer, r.node, r.tensor]) for p in rest}
    value = args[first]
    if isinstance(value, dict) and TENSOR in value:
        r = refs[value[TENSOR]]
        node: Any = [r.layer, r.node, r.tensor, kwargs]
    elif isinstance(value, list) and value and all(isinstance(v, dict) and TENSOR in v for v in value):
        node = [[refs[v[TENSOR]].layer, refs[v[TENSOR]].node, refs[v[TENSOR]].tensor, kwargs] for v in value]
    else:
        node = ["_CONSTANT_VALUE", -1, value, kwargs]
    cls = "SlicingOpLambda" if config["function"] == "__operators__.getitem" else "TFOpLambda"
    entry = {"class_name": cls, "config": {"name": name, "trainable": config.get("trainable", True),
                                           "dtype": config.get("dtype", "float32"), "function": op.tf_names[0]}}
    if with_nodes:
        entry["name"] = name
        entry["inbound_nodes"] = [node]
    return entry


def _keras3_slice(item: Any) -> Any:
    return {"class_name": "__slice__", "config": dict(item)} if isinstance(item, dict) else item


def keras3_entry(name: str, config: dict, refs: List) -> dict:
    """A Keras 3 operation entry (module, class, config, one ``{"args", "kwargs"}`` node)."""
    op = OPS[config["function"]]
    args = config["arguments"]
    k3_config = {"name": name}
    for key, param in op.keras3_config.items():
        k3_config[key] = args[param]

    def tensor(r):
        return {"class_name": "__keras_tensor__", "config": {"shape": [], "dtype": "float32",  # replaced on load
                                                             "keras_history": [r.layer, r.node, r.tensor]}}

    call = []
    for param in [p for p in op.names if p not in op.keras3_config.values()]:
        value = args[param]
        if param == "slice_spec":
            value = [_keras3_slice(v) for v in value]
        elif param == "beta":
            if value != 1.0:
                raise ModelFormatError(f"layer {name!r}: tf.nn.silu with beta={value!r} has no Keras 3 operation; "
                                       "write this model with dialect='keras2'")
            continue  # Keras 3's Silu takes no beta
        call.append(_substitute(value, refs, tensor))
    cls = op.keras3[0]
    return {"module": op.keras3_module, "class_name": cls, "config": k3_config, "registered_name": cls,
            "name": name, "inbound_nodes": [{"args": call, "kwargs": {}}]}
