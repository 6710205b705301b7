"""Models <-> ModelSpec, and through ``keraslite.format`` to every Keras file form.

``to_spec`` describes a Sequential or Functional model (layers with canonical configs, weights, the call graph,
the training config and optimizer state); ``from_spec`` builds the trainable model back from any ModelSpec, so
every file keraslite reads (Keras 2 or 3, from real Keras or from keraslite) loads as a model that trains.
Only ``format/`` opens files.
"""
from __future__ import annotations

import os
from typing import Dict, List, Optional

import numpy as np

from ... import format as fmt
from ...errors import KerasliteError, ModelFormatError, UnsupportedLayerError
from ...format.dialect import canonical_layer_config
from ...format.layers import LAYERS as FORMAT_LAYERS
from ...format.spec import LayerSpec, ModelSpec, TensorRef
from .. import layers as layers_module
from ..layers.input_layer import Input, InputLayer


# ------------------------------------------------------------------------------------------- model -> spec
def _model_kind(model):
    from .functional import Functional
    from .sequential import Sequential

    if isinstance(model, Sequential):
        return "Sequential"
    if isinstance(model, Functional):
        return "Functional"
    raise KerasliteError(f"model {model.name!r} is a subclassed Model ({type(model).__name__}): its architecture is "
                         "Python code, which a model file cannot hold (as in Keras). Save its weights with "
                         "model.save_weights('w.weights.h5') and rebuild it in code, or build it with Sequential/"
                         "the functional API")


def layer_spec(layer, inbound) -> LayerSpec:
    """One layer as a LayerSpec (a nested model keeps its own ModelSpec)."""
    from .model import Model

    if isinstance(layer, Model):
        inner = to_spec(layer, with_training=False)
        return LayerSpec(layer.name, inner.kind, {}, [], inbound, inner)
    cls = type(layer).__name__
    if cls not in FORMAT_LAYERS:
        raise UnsupportedLayerError(f"layer {layer.name!r} ({cls}) is not a built-in Keras layer keraslite can "
                                    f"write to a model file; built-in layers: {', '.join(sorted(FORMAT_LAYERS))}. "
                                    "Save the weights with save_weights() instead")
    raw = layer.get_config()
    if hasattr(layer, "_spec_config"):  # state a file keeps beside the config (a lookup's vocabulary)
        raw = {**raw, **layer._spec_config()}
    config = canonical_layer_config(cls, raw, "keras3", f"layer {layer.name!r}")
    expected = [n for n, _, _ in FORMAT_LAYERS[cls].weights(config)]
    own = {name: v.numpy() for name, v in _named_weights(layer)}
    missing = [n for n in expected if n not in own]
    if missing:
        raise KerasliteError(f"layer {layer.name!r} ({cls}) has no weight(s) {missing}; is it built? (it has "
                             f"{sorted(own)})")
    return LayerSpec(layer.name, cls, config, [(n, own[n]) for n in expected], inbound)


def _named_weights(layer):
    """``(name in the file, variable)`` for a layer's weights: the variable names, unless the layer names them
    itself (Bidirectional: ``forward/kernel``, ...)."""
    named = getattr(layer, "named_weights", None)
    return named() if named is not None else [(v.name, v) for v in layer.weights]


def to_spec(model, with_training=True) -> ModelSpec:
    """``model`` (Sequential or Functional, built) as a ModelSpec."""
    kind = _model_kind(model)
    if not model.built:
        raise KerasliteError(f"model {model.name!r} is not built: call it on data, fit it, or give the first layer "
                             "an input_shape before saving")
    if kind == "Sequential":
        spec = _sequential_spec(model)
    else:
        spec = _functional_spec(model)
    if with_training and getattr(model, "compiled", False):
        spec.training_config = training_config(model)
        spec.optimizer_weights = optimizer_state(model)
    return spec


def _sequential_spec(model) -> ModelSpec:
    first = model._input_layer
    input_spec = LayerSpec(first.name, "InputLayer",
                           canonical_layer_config("InputLayer", first.get_config(), "keras3", "input"))
    specs, prev = [input_spec], first.name
    for layer in model.layers:
        specs.append(layer_spec(layer, [[TensorRef(prev)]]))
        prev = layer.name
    return ModelSpec(model.name, specs, [TensorRef(first.name)], [TensorRef(prev)], kind="Sequential")


def _functional_spec(model) -> ModelSpec:
    in_graph = {id(n) for n in model._nodes}
    in_graph.update(id(t._keras_history.layer._inbound_nodes[t._keras_history.node_index])
                    for t in model._model_inputs)

    def ref(tensor) -> TensorRef:
        layer, index, tensor_index = tensor._keras_history
        nodes = [n for n in layer._inbound_nodes if id(n) in in_graph]
        return TensorRef(layer.name, nodes.index(layer._inbound_nodes[index]), tensor_index)

    specs = []
    for layer in model.layers:
        if isinstance(layer, InputLayer):
            specs.append(LayerSpec(layer.name, "InputLayer",
                                   canonical_layer_config("InputLayer", layer.get_config(), "keras3", "input")))
            continue
        calls = [[ref(t) for t in node.input_tensors] for node in layer._inbound_nodes if id(node) in in_graph]
        specs.append(layer_spec(layer, calls))
    return ModelSpec(model.name, specs, [ref(t) for t in model._model_inputs],
                     [ref(t) for t in model._model_outputs], kind="Functional")


def training_config(model) -> Optional[Dict]:
    """The compile arguments as Keras stores them (``training_config``), or None when they cannot be named."""
    from .. import losses as losses_module
    from .. import optimizers as optimizers_module

    args = model._compile_args

    def named(value, serialize):
        if value is None:
            return None
        if isinstance(value, str):
            return value
        if isinstance(value, dict):
            return {k: named(v, serialize) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [named(v, serialize) for v in value]
        return serialize(value)

    try:
        loss = named(args.get("loss"), losses_module.serialize)
        metrics = named(args.get("metrics"), _metric_name)
        weighted = named(args.get("weighted_metrics"), _metric_name)
    except KerasliteError:
        return None  # a Python-function loss or metric: the file keeps the model, not the compile call
    opt = model.optimizer
    return {"optimizer_config": {"class_name": type(opt).__name__, "config": _plain(opt.get_config())},
            "loss": loss, "metrics": metrics, "weighted_metrics": weighted, "loss_weights": args.get("loss_weights")}


def _metric_name(metric):
    from .. import metrics as metrics_module

    if isinstance(metric, metrics_module.Metric):
        return {"class_name": type(metric).__name__, "config": _plain(metric.get_config())}
    name = getattr(metric, "__name__", None)
    if name:
        return name
    raise KerasliteError(f"metric {metric!r} cannot be saved by name")


def _plain(config):
    """A config with numpy scalars and schedules turned into JSON values."""
    out = {}
    for k, v in config.items():
        if isinstance(v, np.generic):
            v = v.item()
        elif hasattr(v, "get_config"):
            v = {"class_name": type(v).__name__, "config": _plain(v.get_config())}
        out[k] = v
    return out


def optimizer_state(model) -> Optional[List]:
    """``[(name, array)]`` of the optimizer's variables, or None before it has been built."""
    opt = model.optimizer
    if opt is None or not getattr(opt, "built", False):
        return None
    return [(getattr(v, "path", None) or v.name, v.numpy()) for v in opt.variables]


# ------------------------------------------------------------------------------------------- spec -> model
def from_spec(spec: ModelSpec, custom_objects=None, compile=True):
    """A trainable keraslite model from a ModelSpec (weights set; compiled when the spec has a training config)."""
    model = _build(spec, custom_objects or {})
    _assign_weights(model, spec)
    if compile and spec.training_config:
        compile_from_config(model, spec.training_config, custom_objects or {})
        state = getattr(spec, "optimizer_weights", None)
        if state:
            restore_optimizer(model, state)
    return model


def _layer_from_spec(ls: LayerSpec, custom_objects):
    if ls.model is not None:
        return _build(ls.model.replace(name=ls.name), custom_objects)
    cls = custom_objects.get(ls.class_name) or getattr(layers_module, "LAYERS", {}).get(ls.class_name)
    if cls is None:
        raise UnsupportedLayerError(f"layer {ls.name!r}: class {ls.class_name!r} has no trainable keraslite layer "
                                    f"yet; trainable classes: {', '.join(sorted(layers_module.LAYERS))}")
    config = {k: v for k, v in ls.config.items()}
    return cls.from_config({**config, "name": ls.name})


def _build(spec: ModelSpec, custom_objects):
    from .functional import Functional
    from .sequential import Sequential

    if spec.kind == "Sequential":
        first = spec.layers[0]
        model = Sequential(name=spec.name)
        if first.class_name == "InputLayer" and first.config.get("batch_shape") is not None:
            model.add(InputLayer(batch_shape=first.config["batch_shape"], dtype=first.config.get("dtype"),
                                 name=first.name), rebuild=False)
        for ls in spec.layers[1:]:
            model.add(_layer_from_spec(ls, custom_objects), rebuild=False)
        model._maybe_rebuild()
        return model
    tensors: Dict[tuple, object] = {}
    built = {}
    for ls in spec.layers:
        if ls.class_name == "InputLayer":
            t = Input(batch_shape=ls.config["batch_shape"], dtype=ls.config.get("dtype"), name=ls.name)
            tensors[(ls.name, 0, 0)] = t
            built[ls.name] = t._keras_history.layer
        else:
            built[ls.name] = _layer_from_spec(ls, custom_objects)
    pending = [(ls, k) for ls in spec.layers if ls.class_name != "InputLayer" for k in range(len(ls.inbound))]
    while pending:
        progress = []
        for ls, k in pending:
            refs = ls.inbound[k]
            if all((r.layer, r.node, r.tensor) in tensors for r in refs):
                args = [tensors[(r.layer, r.node, r.tensor)] for r in refs]
                out = built[ls.name](args if len(args) > 1 or _takes_list(built[ls.name]) else args[0])
                outs = out if isinstance(out, (list, tuple)) else [out]
                for i, o in enumerate(outs):
                    tensors[(ls.name, k, i)] = o
                progress.append((ls, k))
        if not progress:
            raise ModelFormatError(f"model {spec.name!r}: the layer graph cannot be rebuilt (calls waiting for "
                                   f"inputs that never come: {[ls.name for ls, _ in pending][:10]})")
        pending = [p for p in pending if p not in progress]
    inputs = [tensors[(r.layer, r.node, r.tensor)] for r in spec.inputs]
    outputs = [tensors[(r.layer, r.node, r.tensor)] for r in spec.outputs]
    return Functional(inputs if len(inputs) > 1 else inputs[0], outputs if len(outputs) > 1 else outputs[0],
                      name=spec.name)


def _takes_list(layer):
    from ..layers.merge import Merge
    from ..layers.tensor_ops import CustomScaleLayer

    return isinstance(layer, (Merge, CustomScaleLayer))


def _assign_weights(model, spec: ModelSpec):
    by_name = {ls.name: ls for ls in spec.layers}
    for layer in model.layers:
        ls = by_name.get(layer.name)
        if ls is None:
            continue
        if ls.model is not None:
            _assign_weights(layer, ls.model)
            continue
        if not ls.weights:
            continue
        own = dict(_named_weights(layer))
        for name, array in ls.weights:
            var = own.get(name)
            if var is None:
                raise ModelFormatError(f"layer {layer.name!r} has no weight {name!r} (it has {sorted(own)})")
            if tuple(var.shape) != tuple(np.shape(array)):
                raise ModelFormatError(f"layer {layer.name!r} weight {name!r} has shape {tuple(var.shape)}, the "
                                       f"file holds {tuple(np.shape(array))}")
            var.assign(array)


def compile_from_config(model, config, custom_objects):
    """``model.compile`` from a stored training config (optimizer, loss, metrics, loss weights)."""
    from .. import optimizers as optimizers_module

    opt = config.get("optimizer_config")
    optimizer = "rmsprop"
    if isinstance(opt, dict):
        name = str(opt.get("class_name", "")).split(">")[-1]
        optimizer = optimizers_module.get({"class_name": name, "config": {
            k: v for k, v in (opt.get("config") or {}).items() if k not in ("name", "is_legacy_optimizer", "decay",
                                                                             "jit_compile")}})
    from .. import losses as losses_module
    from .. import metrics as metrics_module

    model.compile(optimizer=optimizer, loss=_objects(config.get("loss"), custom_objects, losses_module.get),
                  metrics=_objects(config.get("metrics"), custom_objects, metrics_module.get),
                  weighted_metrics=_objects(config.get("weighted_metrics"), custom_objects, metrics_module.get),
                  loss_weights=config.get("loss_weights"))


def _objects(value, custom_objects, get):
    """Names stay names (compile resolves them per output); serialized objects become objects."""
    if isinstance(value, str):
        return custom_objects.get(value, value)
    if isinstance(value, list):
        return [_objects(v, custom_objects, get) for v in value]
    if isinstance(value, dict) and "class_name" in value:
        cls = custom_objects.get(value["class_name"])
        config = {k: v for k, v in value.get("config", {}).items()}
        return cls(**config) if cls is not None else get({"class_name": value["class_name"], "config": config})
    if isinstance(value, dict):
        return {k: _objects(v, custom_objects, get) for k, v in value.items()}
    return value


def restore_optimizer(model, state):
    """Build the optimizer for the model's trainable variables and load its saved variables.

    A tf_keras-layout state (what ``.h5`` files hold, see ``format.writer.write_optimizer_legacy``) lacks Keras 3's
    ``learning_rate`` variable and Nadam's running momentum product; both are restored from what they are
    determined by (the compiled learning rate; beta_1 and the step count).
    """
    opt = model.optimizer
    opt.build(model.trainable_variables)
    variables = opt.variables
    arrays = [a for _, a in state]
    if len(arrays) < len(variables):
        arrays = _fill_legacy_gaps(opt, variables, arrays)
    if len(arrays) != len(variables):
        import warnings

        warnings.warn(f"the saved optimizer state has {len(arrays)} variables, the optimizer has {len(variables)}; "
                      "the optimizer starts fresh", stacklevel=3)
        return
    setter = getattr(opt, "set_variables", None)
    if setter is not None:
        setter(arrays)
        return
    for v, a in zip(variables, arrays):
        v.assign(np.asarray(a).reshape(v.shape))


def _fill_legacy_gaps(opt, variables, arrays):
    derived = [i for i, v in enumerate(variables) if _legacy_derived(v)]
    if len(arrays) + len(derived) != len(variables):
        return arrays
    out = list(arrays)
    for i in derived:
        out.insert(i, None)
    iterations = int(np.asarray(out[0]))
    for i in derived:
        v = variables[i]
        if v.name.endswith("learning_rate") or v.path.endswith("/learning_rate"):
            out[i] = v.numpy()
        else:  # Nadam's prod(u_1..u_t), u_t = beta_1 * (1 - 0.5 * 0.96**t), in float32 as the update computes it
            f = np.float32
            u = f(1.0)
            for t in range(1, iterations + 1):
                u = u * f(opt.beta_1) * (f(1.0) - f(0.5) * np.power(f(0.96), f(t)))
            out[i] = np.asarray(u, v.dtype)
    return out


def _legacy_derived(variable):
    path = getattr(variable, "path", variable.name)
    return path.endswith("/learning_rate") or path == "nadam/variable" or path.endswith("/nadam/variable")


# ------------------------------------------------------------------------------------------- user API
def save_model(model, filepath, overwrite=True, **kwargs):
    path = os.fspath(filepath)
    if not overwrite and os.path.exists(path):
        raise KerasliteError(f"{path} exists and overwrite=False")
    ext = os.path.splitext(path)[1].lower()
    if ext not in (".h5", ".hdf5", ".keras"):
        raise KerasliteError(f"Invalid filepath extension for saving {path!r}. Please add either a `.keras` "
                             "extension for the native Keras format (recommended) or a `.h5` extension. Use "
                             "`model.export(filepath)` if you want to export a SavedModel for use with TFLite/"
                             "TFServing/etc.")
    spec = to_spec(model)
    dialect = kwargs.get("dialect", "portable" if ext != ".keras" else "keras3")
    try:
        fmt.write(spec, path, dialect=dialect)
    except ModelFormatError as exc:
        if dialect != "portable" or "dialect" in kwargs:
            raise
        import warnings

        # keraslite's default .h5 loads in both Keras versions; when this model cannot be such a file (a tensor
        # operation no layer computes, Keras 2's hard_sigmoid, ...), write the tf_keras form, which every .h5
        # reader of TF ops understands, rather than fail the save, and say so.
        try:
            fmt.write(spec, path, dialect="keras2")
        except ModelFormatError:
            raise exc from None
        warnings.warn(f"{path}: written for tf_keras (and keraslite) only, not Keras 3: {exc}. Save to .keras for "
                      "Keras 3", stacklevel=3)


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """A compiled, trainable model from any Keras model file keraslite reads (``.h5``, ``.keras``)."""
    return from_spec(fmt.read(filepath), custom_objects, compile)


def save_weights(model, filepath, overwrite=True, **kwargs):
    path = os.fspath(filepath)
    if not overwrite and os.path.exists(path):
        raise KerasliteError(f"{path} exists and overwrite=False")
    spec = to_spec(model, with_training=False)
    if path.lower().endswith(".weights.h5"):
        fmt.write_weights(spec, path, dialect="keras3")
    elif path.lower().endswith((".h5", ".hdf5")):
        fmt.write_weights(spec, path)
    else:
        raise KerasliteError(f"The filename must end in `.weights.h5` (or `.h5` for the legacy layout). "
                             f"Received: filepath={path}")


def load_weights(model, filepath, skip_mismatch=False, **kwargs):
    path = os.fspath(filepath)
    spec = to_spec(model, with_training=False)
    if path.lower().endswith(".keras"):
        source = fmt.read(path)
        _copy_weights(spec, source, path)
    else:
        fmt.load_weights(spec, path)
    _assign_weights(model, spec)


def _copy_weights(target: ModelSpec, source: ModelSpec, path):
    src = [l for l in source.flatten().layers if l.weights]
    dst = [l for l in target.flatten().layers if l.weights]
    if len(src) != len(dst):
        raise ModelFormatError(f"{path}: holds weights for {len(src)} layers, the model has {len(dst)} layers with "
                               "weights")
    by_leaf = {l.name: l for l in dst}
    for s, d in zip(src, dst):
        d = by_leaf.get(s.name, d)
        if [tuple(a.shape) for _, a in s.weights] != [tuple(a.shape) for _, a in d.weights]:
            raise ModelFormatError(f"{path}: layer {s.name!r} weight shapes {[a.shape for _, a in s.weights]} do not "
                                   f"match the model's {[a.shape for _, a in d.weights]}")
        d.weights = list(s.weights)
    # the flattened copies share LayerSpec objects with nested specs only by value; write back leaf by leaf
    _write_back(target, {l.name: l.weights for l in dst})


def _write_back(spec: ModelSpec, weights, prefix=""):
    for layer in spec.layers:
        if layer.model is not None:
            _write_back(layer.model, weights, f"{prefix}{layer.name}/")
        elif f"{prefix}{layer.name}" in weights:
            layer.weights = weights[f"{prefix}{layer.name}"]


def to_json(model, **kwargs):
    return fmt.to_json(to_spec(model, with_training=False))


def to_yaml(model, **kwargs):
    return fmt.to_yaml(to_spec(model, with_training=False))


def model_from_json(json_string, custom_objects=None):
    """An untrained model from ``to_json()`` output (load weights with ``load_weights``)."""
    from ...format.reader import parse_architecture

    return _build(parse_architecture(json_string, "json"), custom_objects or {})


def model_from_yaml(yaml_string, custom_objects=None):
    """An untrained model from ``to_yaml()`` output (read with ``yaml.safe_load``)."""
    from ...format.reader import parse_architecture

    return _build(parse_architecture(yaml_string, "yaml"), custom_objects or {})


def model_from_config(config, custom_objects=None):
    """A model from ``{"class_name", "config"}`` (what ``get_config`` and JSON files hold)."""
    import json

    from ...format.reader import parse_architecture

    return _build(parse_architecture(json.dumps(config), "json"), custom_objects or {})


def model_config(model):
    """``get_config()`` of a Sequential/Functional model: Keras 3's config dict."""
    from ...format.graph import model_config as graph_config

    return graph_config(to_spec(model, with_training=False), "keras3")["config"]


functional_config = model_config


def clone_model(model, input_tensors=None, clone_function=None):
    """A new model with the same architecture and freshly initialized weights (as ``keras.models.clone_model``)."""
    if input_tensors is not None or clone_function is not None:
        raise KerasliteError("clone_model: input_tensors and clone_function are not supported")
    return _build(to_spec(model, with_training=False), {})


__all__ = ["to_spec", "from_spec", "save_model", "load_model", "save_weights", "load_weights", "to_json",
           "to_yaml", "model_from_json", "model_from_yaml", "model_from_config", "clone_model", "model_config"]
