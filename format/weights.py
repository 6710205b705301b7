"""Weights: which arrays a layer expects (from ``layers.py``), reading them from the two HDF5 layouts Keras uses,
and checking every array's count and shape against its layer before anything uses it.

- Legacy layout (``model.save("m.h5")`` under ``model_weights``, or Keras 2 ``save_weights`` at the file root):
  ``layer_names`` lists the top-level layers; each layer's group lists its arrays in ``weight_names``, in Keras'
  order. A nested model's group holds all its arrays, trainable ones first.
- Keras 3 layout (``model.weights.h5`` in a ``.keras`` zip, or ``*.weights.h5``): arrays live at
  ``layers/<snake_case_class>[_n]/.../vars/<i>``; the path comes from walking the config, not from layer names.
"""
from __future__ import annotations

import re
from typing import Dict, List, Optional, Tuple

import h5py
import numpy as np

from ..errors import ModelFormatError
from . import h5io
from .layers import LAYERS
from .spec import LayerSpec, ModelSpec

Expected = Tuple[str, str, bool, Optional[Tuple]]  # (layer path, weight name, trainable, shape)


def expected_weights(layer: LayerSpec, trainable: bool = True) -> List[Expected]:
    """The weights ``layer`` owns, in the order Keras' legacy format stores them (trainable first for models)."""
    trainable = trainable and layer.config.get("trainable", True) if layer.model is None else trainable
    if layer.model is not None:
        inner = [w for l in layer.model.layers for w in expected_weights(l, trainable)]
        return [w for w in inner if w[2]] + [w for w in inner if not w[2]]
    return [(layer.name, name, trainable and t, shape) for name, t, shape in LAYERS[layer.class_name].weights(
        layer.config)]


def _place(layer: LayerSpec, expected: List[Expected], arrays: List[np.ndarray], label: str) -> None:
    """Check ``arrays`` against ``expected`` and store them on the leaf layers."""
    if len(arrays) != len(expected):
        names = [f"{p}/{n}" for p, n, _, _ in expected]
        raise ModelFormatError(f"{label}: layer {layer.name!r} ({layer.class_name}) expects {len(expected)} weight "
                               f"arrays {names}, the file has {len(arrays)}")
    by_leaf: Dict[str, List[Tuple[str, np.ndarray]]] = {}
    for (path, name, _, shape), value in zip(expected, arrays):
        if shape is not None and (len(shape) != value.ndim or any(
                e is not None and e != g for e, g in zip(shape, value.shape))):
            want = tuple("?" if e is None else e for e in shape)
            raise ModelFormatError(f"{label}: layer {path!r} weight {name!r} has shape {tuple(value.shape)}, "
                                   f"expected {want}")
        value = value.astype(np.float32) if value.dtype.kind == "f" and value.dtype != np.float32 else value
        by_leaf.setdefault(path, []).append((name, value))
    if layer.model is None:
        layer.weights = by_leaf.get(layer.name, [])
        return
    # Keras stores nested models' arrays trainable-first; each leaf keeps its own order.
    for path, weights in by_leaf.items():
        leaf = _nested_leaf(layer, path)
        order = [n for _, n, _, _ in expected_weights(leaf, True)]
        leaf.weights = sorted(weights, key=lambda w: order.index(w[0]))


def _nested_leaf(layer: LayerSpec, name: str) -> LayerSpec:
    for inner in layer.model.layers:
        if inner.model is not None:
            try:
                return _nested_leaf(inner, name)
            except KeyError:
                continue
        elif inner.name == name:
            return inner
    raise KeyError(name)


def _suffix(name: str) -> str:
    return name.rsplit("/", 1)[-1].split(":", 1)[0]


# Stored names that differ from ours for the same array (Keras 3 calls DepthwiseConv2D's array "kernel").
SAME_ARRAY = {"depthwise_kernel": {"kernel"}, "gamma": {"variable"}}  # LayerScale: Keras 3 names it "variable"


# Keras 1 named arrays "<layer>_W_1:0", "<layer>_b_1:0"; Keras' published VGG weight files still do.
KERAS1_NAME = re.compile(r".+_(W|b|gamma|beta|running_mean|running_std)(?:_\d+)?")
KERAS1_ROLE = {"W": "kernel", "b": "bias", "gamma": "gamma", "beta": "beta", "running_mean": "moving_mean",
               "running_std": "moving_variance"}


def _same_weight(expected: str, stored: str) -> bool:
    want, got = _suffix(expected), _suffix(stored)
    old = KERAS1_NAME.fullmatch(got)
    if old:
        got = KERAS1_ROLE[old.group(1)]
    if want in SAME_ARRAY and re.fullmatch(r"variable(_\d+)?", got):  # Keras 3 numbers unnamed variables
        got = "variable"
    return want == got or got in SAME_ARRAY.get(want, ())


def read_legacy(spec: ModelSpec, group: h5py.Group, label: str) -> None:
    """Fill ``spec``'s weights from a legacy ``model_weights`` group (or a Keras 2 weights-only file root)."""
    names = h5io.name_list(group, "layer_names", label)
    if names is None:
        raise ModelFormatError(f"{label}: no 'layer_names' attribute; expected Keras' legacy weight layout")
    with_weights = [l for l in spec.layers if expected_weights(l)]
    stored = {}
    for name in names:
        g = h5io.child(group, name, label)
        weight_names = h5io.name_list(g, "weight_names", label) or []
        if weight_names:
            stored[name] = (g, weight_names)
    missing = [l.name for l in with_weights if l.name not in stored]
    if missing or len(stored) != len(with_weights):
        # Keras itself matches by position; names differ only in hand-edited files, so fall back to position.
        if len(stored) != len(with_weights):
            raise ModelFormatError(f"{label}: the model has {len(with_weights)} layers with weights "
                                   f"{[l.name for l in with_weights]}, the file stores weights for {len(stored)} "
                                   f"{list(stored)}")
        pairs = list(zip(with_weights, stored.values()))
    else:
        pairs = [(l, stored[l.name]) for l in with_weights]
    for layer, (g, weight_names) in pairs:
        expected = expected_weights(layer)
        arrays = [h5io.array(g, wn, label) for wn in weight_names]
        for (path, name, _, _), wn in zip(expected, weight_names):
            if not _same_weight(name, wn):
                raise ModelFormatError(f"{label}: layer {layer.name!r} stores {wn!r} where {path}/{name} was "
                                       "expected; the weights do not belong to this architecture")
        _place(layer, expected, arrays, label)


def snake_case(class_name: str) -> str:
    """Keras 3's path name for a class: ``BatchNormalization`` -> ``batch_normalization``."""
    name = re.sub(r"\W+", "", class_name)
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def keras3_paths(spec: ModelSpec, prefix: str = "") -> List[Tuple[LayerSpec, str]]:
    """``(leaf or Bidirectional layer, store path)`` for every layer of ``spec`` in Keras 3's weights file."""
    used: Dict[str, int] = {}
    out: List[Tuple[LayerSpec, str]] = []
    for layer in spec.layers:
        cls = "Functional" if layer.model is not None and layer.model.kind != "Sequential" else (
            "Sequential" if layer.model is not None else layer.class_name)
        base = snake_case(cls)
        used[base] = used.get(base, -1) + 1
        path = f"{prefix}layers/{base}" + (f"_{used[base]}" if used[base] else "")
        if layer.model is not None:
            out.extend(keras3_paths(layer.model, path + "/"))
        else:
            out.append((layer, path))
    return out


def _keras3_var_paths(layer: LayerSpec, path: str) -> List[str]:
    """Store paths of ``layer``'s arrays, in its weight order."""
    count = len(LAYERS[layer.class_name].weights(layer.config))
    if layer.class_name in ("SimpleRNN", "LSTM", "GRU"):
        return [f"{path}/cell/vars/{i}" for i in range(count)]
    if layer.class_name == "Bidirectional":
        out = []
        for side, key in (("forward_layer", "layer"), ("backward_layer", "backward_layer")):
            sub = layer.config.get(key) or layer.config["layer"]
            n = len(LAYERS[sub["class_name"]].weights(sub["config"]))
            out += [f"{path}/{side}/cell/vars/{i}" for i in range(n)]
        return out
    return [f"{path}/vars/{i}" for i in range(count)]


def read_keras3(spec: ModelSpec, root: h5py.Group, label: str) -> None:
    """Fill ``spec``'s weights from a Keras 3 weights store (``model.weights.h5``)."""
    for layer, path in keras3_paths(spec):
        expected = expected_weights(layer)
        if not expected:
            continue
        arrays = [h5io.array(root, p, label) for p in _keras3_var_paths(layer, path)]
        _place(layer, expected, arrays, label)


def check_complete(spec: ModelSpec, label: str) -> None:
    """Every layer that needs weights has them (an architecture file alone is not a usable model)."""
    for layer in spec.layers:
        if layer.model is not None:
            check_complete(layer.model, label)
        elif len(layer.weights) != len(expected_weights(layer)):
            raise ModelFormatError(f"{label}: layer {layer.name!r} has no weights; pass the weights file "
                                   "(read('arch.json', weights='model.weights.h5'))")


MAX_OPTIMIZER_VARIABLES = 1 << 20


def read_optimizer_legacy(f: h5py.Group, label: str):
    """``[(name, array)]`` from an ``.h5``'s ``optimizer_weights`` group (its ``weight_names`` order), or None."""
    if not h5io.has(f, "optimizer_weights", label):
        return None
    group = h5io.child(f, "optimizer_weights", label)
    names = h5io.name_list(group, "weight_names", label) or []
    return [(name, h5io.array(group, name, label)) for name in names] or None


def read_optimizer_keras3(f: h5py.Group, label: str):
    """``[(path, array)]`` from a Keras 3 weights store's ``optimizer/vars/<i>``, or None."""
    if not h5io.has(f, "optimizer", label):
        return None
    group = h5io.child(f, "optimizer", label)
    if not h5io.has(group, "vars", label):
        return None
    out = []
    while len(out) < MAX_OPTIMIZER_VARIABLES and h5io.has(h5io.child(group, "vars", label), str(len(out)), label):
        out.append((f"optimizer/vars/{len(out)}", h5io.array(group, f"vars/{len(out)}", label)))
    return out or None
