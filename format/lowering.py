"""Rewrites that let a model be written for a Keras version that lacks some of its parts, computing the same numbers:

- TF ops (``TFOpLambda``) become built-in layers where one is exact: ``x + c`` / ``x * c`` Rescaling, ``x * y``
  Multiply, ``tf.nn.relu6`` ReLU(6), ``tf.reshape`` Reshape, ``tf.reduce_mean`` over the spatial axes
  GlobalAveragePooling, ... (tf_keras cannot read Keras 3 operations and Keras 3 cannot read TFOpLambda or its
  own operations from an .h5);
- activations one version lacks become layers both have: ``hard_silu`` (Keras 3 only), Keras 3's and Keras 2's
  ``hard_sigmoid`` (one name, two functions);
- layer names with ``/`` (Keras 3 refuses them) get ``_`` instead;
- nested models called inside a functional model are inlined (the two versions number their calls differently in
  .h5 configs); shared layers stay shared.

``prepare(spec, dialect, container)`` returns the rewritten spec and one note per kind of rewrite; whatever cannot
be rewritten raises ModelFormatError naming the layer and the dialect that keeps it.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple

from ..errors import ModelFormatError
from .dialect import canonical_layer_config
from .order import keras_order
from .ranks import tensor_ranks
from .spec import LayerSpec, ModelSpec, TensorRef
from .tfops import TENSOR

KERAS2_ONLY = ("hard_sigmoid_keras2",)
KERAS3_ONLY = ("hard_silu", "hard_sigmoid")
SCALARS = (int, float)


class Rewriter:
    """Builds the new layer list; ``emit`` adds a built-in layer called once per call of the layer it replaces."""

    def __init__(self, spec: ModelSpec):
        self.spec = spec
        self.names = {l.name for l in spec.layers}
        self.layers: List[LayerSpec] = []
        self.redirect: Dict[str, str] = {}  # layer whose outputs now come from another layer
        self.internal: set = set()  # layers finishing a split activation: they keep reading the original layer

    def unique(self, base: str) -> str:
        name, k = base, 1
        while name in self.names:
            name, k = f"{base}_{k}", k + 1
        self.names.add(name)
        return name

    def emit(self, name: str, cls: str, raw: dict, calls: List[List[TensorRef]], dtype: str) -> str:
        config = canonical_layer_config(cls, {**raw, "dtype": dtype}, "keras3", f"layer {name!r}")
        self.layers.append(LayerSpec(name, cls, config, [], [list(c) for c in calls]))
        return name


def _rescale(scale: float, offset: float = 0.0) -> Tuple[str, dict]:
    return "Rescaling", {"scale": float(scale), "offset": float(offset)}


def _chain(rw: Rewriter, final: str, steps: List[Tuple[str, dict]], calls, dtype: str) -> None:
    """``steps`` applied in order to each call's input; the last one is named ``final``."""
    current = calls
    for i, (cls, raw) in enumerate(steps):
        name = final if i == len(steps) - 1 else rw.unique(f"{final}_{cls.lower()}")
        rw.emit(name, cls, raw, current, dtype)
        current = [[TensorRef(name, k, 0)] for k in range(len(calls))]


def _activation_steps(name: str) -> Optional[List[Tuple[str, dict]]]:
    """Built-in layers computing an activation one Keras version lacks (the gate only, for hard_silu)."""
    if name in ("hard_silu", "hard_sigmoid"):  # relu6(x + 3) / 6
        return [_rescale(1.0, 3.0), ("ReLU", {"max_value": 6.0}), _rescale(1.0 / 6.0)]
    if name == "hard_sigmoid_keras2":  # clip(0.2x + 0.5, 0, 1)
        return [_rescale(0.2, 0.5), ("ReLU", {"max_value": 1.0})]
    return None


def _lower_activation(rw: Rewriter, layer: LayerSpec, missing) -> bool:
    """Split off an activation the target lacks; True when ``layer`` was handled."""
    act = layer.config.get("activation")
    if act not in missing:
        return False
    dtype = layer.config.get("dtype", "float32")
    if layer.class_name == "Activation":
        source, final = layer.inbound, layer.name
    else:  # the layer itself stays, linear; its outputs come from the new activation layers
        rw.layers.append(LayerSpec(layer.name, layer.class_name, {**layer.config, "activation": "linear"},
                                   layer.weights, layer.inbound))
        final = rw.unique(f"{layer.name}_{act}")
        rw.redirect[layer.name] = final
        source = [[TensorRef(layer.name, k, 0)] for k in range(len(layer.inbound))]
    start = len(rw.layers)
    steps = _activation_steps(act)
    if act != "hard_silu":
        _chain(rw, final, steps, source, dtype)
    else:
        gate = rw.unique(f"{final}_gate")
        _chain(rw, gate, steps, source, dtype)
        rw.emit(final, "Multiply", {}, [[call[0], TensorRef(gate, k, 0)] for k, call in enumerate(source)], dtype)
    if layer.class_name != "Activation":
        rw.internal.update(l.name for l in rw.layers[start:])
    return True


def _lower_op(rw: Rewriter, layer: LayerSpec, ranks) -> Optional[str]:
    """Replace one TFOpLambda by built-in layers; the reason when no exact replacement exists."""
    name, args = layer.config["function"], layer.config["arguments"]
    call = layer.inbound[0]
    dtype = layer.config.get("dtype", "float32")

    def emit(cls, raw, inputs=None):
        rw.emit(layer.name, cls, raw, [inputs if inputs is not None else call[:1]], dtype)

    if name in ("math.add", "math.subtract", "math.multiply", "math.truediv", "math.maximum", "math.minimum"):
        x, y = args["x"], args["y"]
        tensors = [v for v in (x, y) if isinstance(v, dict)]
        if len(tensors) == 2:
            rs = {ranks.get((r.layer, r.node, r.tensor)) for r in call}
            merge = {"math.add": "Add", "math.subtract": "Subtract", "math.multiply": "Multiply",
                     "math.maximum": "Maximum", "math.minimum": "Minimum"}.get(name)
            if merge is None or None in rs or len(rs) != 1:
                return "a division of two tensors" if merge is None else "operands of unknown or different ranks"
            emit(merge, {}, [call[x[TENSOR]], call[y[TENSOR]]])
            return None
        c, tensor_first = (y, True) if isinstance(x, dict) else (x, False)
        if not isinstance(c, SCALARS) or isinstance(c, bool):
            return "a constant that is not a single number"
        step = {("math.add", True): _rescale(1.0, c), ("math.add", False): _rescale(1.0, c),
                ("math.subtract", True): _rescale(1.0, -c), ("math.subtract", False): _rescale(-1.0, c),
                ("math.multiply", True): _rescale(c), ("math.multiply", False): _rescale(c)}.get((name, tensor_first))
        if name == "math.truediv" and tensor_first and c != 0:
            step = _rescale(1.0 / c)
        if name == "math.maximum" and c == 0:
            step = ("ReLU", {})
        if step is None:
            return f"{name} with the constant {c!r}"
        emit(*step)
        return None
    simple = {"math.negative": _rescale(-1.0), "nn.relu": ("ReLU", {}), "nn.relu6": ("ReLU", {"max_value": 6.0}),
              "math.sigmoid": ("Activation", {"activation": "sigmoid"}),
              "math.tanh": ("Activation", {"activation": "tanh"}),
              "math.exp": ("Activation", {"activation": "exponential"})}
    if name in simple:
        emit(*simple[name])
    elif name == "nn.silu" and args["beta"] == 1.0:
        emit("Activation", {"activation": "swish"})
    elif name == "math.square":
        emit("Multiply", {}, [call[0], call[0]])
    elif name == "nn.softmax":
        emit("Softmax", {"axis": int(args["axis"])})
    elif name == "reshape":
        emit("Reshape", {"target_shape": [int(v) for v in args["shape"][1:]]})
    elif name == "transpose":
        emit("Permute", {"dims": [int(v) for v in args["perm"][1:]]})
    elif name == "concat":
        rs = {ranks.get((r.layer, r.node, r.tensor)) for r in call}
        if None in rs or len(rs) != 1:
            return "inputs of unknown or different ranks"
        emit("Concatenate", {"axis": int(args["axis"])}, list(call))
    elif name in ("math.reduce_mean", "math.reduce_max"):
        rank = ranks.get((call[0].layer, call[0].node, call[0].tensor))
        axis = args["axis"]
        axes = sorted({a % rank for a in ([axis] if isinstance(axis, int) else axis)}) if rank else None
        if rank not in (3, 4) or axes != list(range(1, rank - 1)):
            return "a reduction over other than the spatial axes"
        pool = ("GlobalAveragePooling" if name == "math.reduce_mean" else "GlobalMaxPooling") + f"{rank - 2}D"
        emit(pool, {"keepdims": bool(args["keepdims"])})
    else:
        return f"{name}, which no built-in layer computes"
    return None


def _lower_app_layer(rw: Rewriter, layer: LayerSpec, ranks) -> Optional[str]:
    """LayerScale as a 1x1 DepthwiseConv2D holding gamma; CustomScaleLayer as Rescaling + Add (both exact)."""
    dtype = layer.config.get("dtype", "float32")
    if layer.class_name == "CustomScaleLayer":
        scaled = rw.unique(f"{layer.name}_scaled")
        rw.emit(scaled, "Rescaling", {"scale": float(layer.config["scale"])}, [c[1:2] for c in layer.inbound], dtype)
        rw.emit(layer.name, "Add", {}, [[c[0], TensorRef(scaled, k, 0)] for k, c in enumerate(layer.inbound)],
                dtype)
        return None
    if any(ranks.get((c[0].layer, c[0].node, c[0].tensor)) != 4 for c in layer.inbound):
        return "a LayerScale on other than 4-D (image) tensors"
    gamma = layer.weight_dict["gamma"]
    rw.emit(layer.name, "DepthwiseConv2D", {"kernel_size": [1, 1], "use_bias": False}, layer.inbound, dtype)
    rw.layers[-1].weights = [("depthwise_kernel", gamma.reshape(1, 1, -1, 1))]
    return None


def _rename_slashes(spec: ModelSpec) -> Tuple[ModelSpec, bool]:
    """Layer names with ``/`` (Keras 3 refuses them) with ``_`` instead, made unique."""
    bad = [l.name for l in spec.layers if "/" in l.name]
    if not bad:
        return spec, False
    taken = {l.name for l in spec.layers if "/" not in l.name}
    new: Dict[str, str] = {}
    for name in bad:
        base, k = name.replace("/", "_"), 1
        cand = base
        while cand in taken:
            cand, k = f"{base}_{k}", k + 1
        taken.add(cand)
        new[name] = cand
    return _renamed(spec, new), True


def _renamed(spec: ModelSpec, new: Dict[str, str]) -> ModelSpec:
    def ref(r: TensorRef) -> TensorRef:
        return TensorRef(new.get(r.layer, r.layer), r.node, r.tensor)

    layers = [LayerSpec(new.get(l.name, l.name), l.class_name, l.config, l.weights,
                        [[ref(r) for r in call] for call in l.inbound], l.model) for l in spec.layers]
    return spec.replace(layers=layers, inputs=[ref(r) for r in spec.inputs], outputs=[ref(r) for r in spec.outputs])


def inline_nested(spec: ModelSpec) -> ModelSpec:
    """Every nested model's layers in the outer graph (its own names kept where unique, else ``outer_inner``)."""
    flat = spec.flatten()
    counts: Dict[str, int] = {}
    for layer in flat.layers:
        short = layer.name.rsplit("/", 1)[-1]
        counts[short] = counts.get(short, 0) + 1
    new = {l.name: (l.name.rsplit("/", 1)[-1] if counts[l.name.rsplit("/", 1)[-1]] == 1 else l.name.replace("/", "_"))
           for l in flat.layers if "/" in l.name}
    return _renamed(flat, new).replace(kind="Functional")


def _nested_in_functional(spec: ModelSpec) -> bool:
    return spec.kind == "Functional" and any(l.model is not None for l in spec.layers)


def prepare(spec: ModelSpec, dialect: str, container: str) -> Tuple[ModelSpec, List[str]]:
    """``spec`` rewritten so ``dialect`` in a ``container`` (h5, json, keras) file can hold it, its layers in the
    order Keras will number them (``order.py``); with one note per kind of rewrite."""
    spec, notes = _rewrite(spec, dialect, container)
    return keras_order(spec), notes


def _rewrite(spec: ModelSpec, dialect: str, container: str) -> Tuple[ModelSpec, List[str]]:
    notes: List[str] = []
    keras3_reads = dialect in ("portable", "keras3")
    if dialect == "portable" and _nested_in_functional(spec):
        spec = inline_nested(spec)
        notes.append("nested models were inlined into the outer graph (shared layers stay shared): the structure "
                     "was flattened")
    if keras3_reads:
        spec, renamed = _rename_slashes(spec)
        if renamed:
            notes.append("layer names with '/' (which Keras 3 refuses) were written with '_'")
    missing = KERAS3_ONLY if dialect == "keras2" else KERAS2_ONLY if dialect == "keras3" else \
        KERAS2_ONLY + KERAS3_ONLY
    lower_ops = dialect == "portable" or (dialect == "keras3" and container == "h5")
    # Keras finds its applications' own layer classes only through a .keras file's modules (and tf_keras its
    # registered Custom>CustomScaleLayer); elsewhere they are written as the built-in layers that compute them.
    keeps_apps = container == "keras" or (dialect == "keras3" and container == "json")
    app_lowered = () if keeps_apps else ("LayerScale",) if dialect == "keras2" else ("LayerScale", "CustomScaleLayer")
    if not lower_ops and not app_lowered and not any(l.config.get("activation") in missing for l in spec.layers):
        return spec, notes
    ranks = tensor_ranks(spec)
    rw = Rewriter(spec)
    changed = {"ops": False, "activations": False, "apps": False}
    for layer in spec.layers:
        if layer.class_name in app_lowered:
            why = _lower_app_layer(rw, layer, ranks)
            if why is not None:
                raise ModelFormatError(f"layer {layer.name!r} ({layer.class_name}): {why} has no built-in layer "
                                       f"equivalent in a {dialect} {container} file; write a .keras file")
            changed["apps"] = True
            continue
        if lower_ops and layer.class_name == "TFOpLambda":
            why = _lower_op(rw, layer, ranks)
            if why is not None:
                keep = "dialect='keras2' (.h5) for tf_keras or a .keras file for Keras 3" if dialect == "portable" \
                    else "a .keras file"
                raise ModelFormatError(f"layer {layer.name!r} (TF op {layer.config['function']}): {why} has no "
                                       f"built-in layer equivalent in a {dialect} {container} file; write {keep}")
            changed["ops"] = True
        elif _lower_activation(rw, layer, missing):
            changed["activations"] = True
        else:
            rw.layers.append(layer)
    if changed["ops"]:
        notes.append("tensor operations (TF ops, keras.ops) were written as the built-in layers that compute them "
                     "(Rescaling, Multiply, ReLU, ...)")
    if changed["apps"]:
        notes.append("Keras applications' own layers (LayerScale, CustomScaleLayer) were written as the built-in "
                     "layers that compute them")
    if changed["activations"]:
        notes.append("activations the target Keras lacks (hard_silu, hard_sigmoid) were written as built-in layers")
    out = spec.replace(layers=rw.layers)
    if rw.redirect:
        out = _redirected(out, rw.redirect, rw.internal)
    return out, notes


def _redirected(spec: ModelSpec, redirect: Dict[str, str], internal: set) -> ModelSpec:
    """References to a split layer's outputs now point at the layer that finishes its activation."""
    def ref(r: TensorRef, consumer: str) -> TensorRef:
        target = redirect.get(r.layer)
        if target is None or consumer in internal:
            return r
        return TensorRef(target, r.node, r.tensor)

    layers = [LayerSpec(l.name, l.class_name, l.config, l.weights, [[ref(r, l.name) for r in c] for c in l.inbound],
                        l.model) for l in spec.layers]
    return spec.replace(layers=layers, outputs=[ref(r, "") for r in spec.outputs])
