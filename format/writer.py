"""ModelSpec -> Keras files. Every write goes to a temporary file beside the target, is fsynced, then replaces
the target (``atomic.atomic_write``): an error or a crash mid-write leaves the old file as it was.

Dialects:
- ``portable`` (default): the Keras 2 ``.h5`` envelope with only the config keys that both tf_keras 2.x and
  Keras 3 accept, so both ``load_model`` it and predict the same numbers.
- ``keras2``: the same envelope for tf_keras only (needed for Keras 2's ``hard_sigmoid``, which Keras 3 lacks).
- ``keras3``: for Keras 3 only (Keras 3 dtype policies and names, e.g. its own ``hard_sigmoid``).
"""
from __future__ import annotations

import json
import os
from typing import Any, Dict, List

import h5py
import numpy as np

from ..errors import ModelFormatError
from .atomic import atomic_write
from .graph import model_config
from .lowering import prepare
from .spec import LayerSpec, ModelSpec
from .weights import expected_weights

DIALECTS = ("portable", "keras2", "keras3")
KERAS_VERSION = {"portable": "2.21.0", "keras2": "2.21.0", "keras3": "3.12.0"}
ATTR_LIMIT = 64512  # HDF5 object-header limit Keras respects by chunking long name lists
# Optimizer config keys both tf_keras 2.x's and Keras 3's optimizers accept.
OPTIMIZER_KEYS = ("name", "learning_rate", "weight_decay", "clipnorm", "global_clipnorm", "clipvalue", "use_ema",
                  "ema_momentum", "ema_overwrite_frequency", "beta_1", "beta_2", "epsilon", "amsgrad", "momentum",
                  "nesterov", "rho", "centered", "initial_accumulator_value", "beta_2_decay", "epsilon_1",
                  "epsilon_2", "learning_rate_power", "l1_regularization_strength", "l2_regularization_strength",
                  "l2_shrinkage_regularization_strength", "beta")


def _check_dialect(dialect: str) -> None:
    if dialect not in DIALECTS:
        raise ModelFormatError(f"unknown dialect {dialect!r}; expected one of {', '.join(DIALECTS)}")


def portable_blockers(spec: ModelSpec) -> List[str]:
    """Why ``spec`` cannot be one .h5 that both tf_keras 2.x and Keras 3 load the same way (empty when it can)."""
    reasons = []
    nested = {l.name for l in spec.layers if l.model is not None}
    if spec.kind == "Functional" and any(r.layer in nested for l in spec.layers for c in l.inbound for r in c) \
            or any(r.layer in nested for r in spec.outputs):
        reasons.append(f"nested models {sorted(nested)} are used as layers of a Functional model, and tf_keras and "
                       "Keras 3 number their calls differently in .h5 configs")
    for layer in spec.layers:
        axis = layer.config.get("axis")
        if layer.class_name in ("LayerNormalization", "BatchNormalization") and isinstance(axis, list):
            reasons.append(f"layer {layer.name!r} normalizes over axis={axis}, which Keras 3 drops when it loads "
                           ".h5 configs")
        if layer.model is not None:
            reasons += portable_blockers(layer.model)
    return reasons


def _check_portable(spec: ModelSpec, path: str) -> None:
    reasons = portable_blockers(spec)
    if reasons:
        raise ModelFormatError(f"{path}: cannot write one file both Keras versions load: {'; '.join(reasons)}. "
                               "Write dialect='keras2' for tf_keras, or a .keras file (or dialect='keras3') for "
                               "Keras 3")


def write(spec: ModelSpec, path: str, dialect: str = "portable") -> List[str]:
    """Write ``spec`` to ``path``; the extension picks the form.

    Args:
        spec: the model.
        path: ``.h5``/``.hdf5`` (whole model: architecture, weights, training config), ``.json`` or ``.yaml``
            (architecture only; write the weights with ``write_weights``).
        dialect: ``portable`` (loads in tf_keras 2.x and Keras 3), ``keras2`` or ``keras3``.
    Returns:
        One note per rewrite made so the target Keras can load the file (TF ops written as built-in layers,
        nested models inlined, ...; see ``lowering.py``); empty when the model was written as it is.

    Example::

        write(read("old_keras2.h5"), "new.h5")
    """
    _check_dialect(dialect)
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    if path.lower().endswith(".weights.h5"):
        return write_weights(spec, path, dialect)
    if ext in (".h5", ".hdf5"):
        spec, notes = prepare(spec, dialect, "h5")
        if dialect == "portable":
            _check_portable(spec, path)
        config = model_config(spec, dialect)
        with atomic_write(path) as tmp:
            with h5py.File(tmp, "w") as f:
                f.attrs["keras_version"] = KERAS_VERSION[dialect].encode()
                f.attrs["backend"] = b"tensorflow"
                f.attrs["model_config"] = json.dumps(config).encode()
                if spec.training_config:
                    f.attrs["training_config"] = json.dumps(training_config(spec.training_config, dialect)).encode()
                _write_legacy(f.create_group("model_weights"), spec, dialect)
                if spec.training_config and spec.optimizer_weights:
                    write_optimizer_legacy(f, spec.optimizer_weights, dialect)
        return notes
    if ext == ".keras":
        if dialect == "keras2":
            raise ModelFormatError(f"{path}: .keras files are Keras 3 only; write a .h5 for Keras 2")
        from .keras_zip import write_keras_zip

        spec, notes = prepare(spec, "keras3", "keras")
        with atomic_write(path) as tmp:
            write_keras_zip(spec, tmp)
        return notes
    if ext in (".json", ".yaml", ".yml"):
        spec, notes = prepare(spec, dialect, "json")
        if dialect == "portable":
            _check_portable(spec, path)
        text = to_json(spec, dialect) if ext == ".json" else to_yaml(spec, dialect)
        with atomic_write(path) as tmp:
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.write(text)
        return notes
    raise ModelFormatError(f"{path}: cannot write {ext or 'a file without extension'!r}; expected .h5, .keras, "
                           ".json, .yaml, or .weights.h5 with write_weights")


def to_json(spec: ModelSpec, dialect: str = "portable") -> str:
    """The architecture as Keras' ``model.to_json()`` gives it (loadable with ``model_from_json``)."""
    _check_dialect(dialect)
    from .keras_zip import with_modules

    spec, _ = prepare(spec, dialect, "json")
    # Keras 3 finds classes by the module recorded beside them; tf_keras writes (and ignores) the same keys.
    return json.dumps({**with_modules(model_config(spec, dialect), dialect == "keras2"), "keras_version": KERAS_VERSION[dialect],
                       "backend": "tensorflow"})


def to_yaml(spec: ModelSpec, dialect: str = "portable") -> str:
    """The architecture as YAML (the same document as ``to_json``)."""
    import yaml

    return yaml.safe_dump(json.loads(to_json(spec, dialect)), sort_keys=False)


def write_weights(spec: ModelSpec, path: str, dialect: str = "portable") -> None:
    """Write only the weights, in the legacy layout ``load_weights("x.h5")`` reads in tf_keras and Keras 3.

    Keras 3 reads any file named ``*.weights.h5`` as its own layout, which tf_keras cannot read: such a name is
    written in Keras 3's layout and needs ``dialect="keras3"``. The model is rewritten as ``write`` rewrites it
    for the same dialect (``lowering.py``), so write the architecture with that dialect too.
    """
    _check_dialect(dialect)
    path = os.fspath(path)
    spec, _ = prepare(spec, dialect, "json")  # the same rewrite as the architecture file written beside it
    if path.lower().endswith(".weights.h5"):
        if dialect != "keras3":
            raise ModelFormatError(f"{path}: Keras 3 reads '*.weights.h5' files in its own layout, which Keras 2 "
                                   "cannot read; name the file e.g. 'model_weights.h5' for a portable weights file, "
                                   "or pass dialect='keras3'")
        from .keras3_store import write_keras3_weights

        with atomic_write(path) as tmp:
            write_keras3_weights(spec, tmp)
        return
    with atomic_write(path) as tmp:
        with h5py.File(tmp, "w") as f:
            _write_legacy(f, spec, dialect)


def write_optimizer_legacy(f: h5py.Group, state, dialect: str = "portable") -> None:
    """The optimizer's variables under ``optimizer_weights``, named and ordered as ``weight_names`` lists them.

    Keras 3 cannot continue training a model loaded from a legacy ``.h5`` at all, while tf_keras resumes from
    this group by position; so the portable and keras2 dialects write tf_keras' layout: Keras 3's state without its
    ``learning_rate`` variable (tf_keras keeps it in the config) and without Nadam's momentum product.
    """
    if dialect != "keras3":
        state = [(n, a) for n, a in state if not (n.endswith("/learning_rate") or n.endswith("nadam/variable"))]
    group = f.create_group("optimizer_weights")
    _names_attr(group, "weight_names", [name for name, _ in state])
    for name, array in state:
        group.create_dataset(name, data=np.asarray(array))


def _names_attr(obj: Any, key: str, names: List[str]) -> None:
    """A list of names as Keras writes it: bytes, chunked as key0, key1, ... when over the header limit."""
    data = np.array([n.encode("utf-8") for n in names], dtype="S") if names else np.zeros((0,), dtype="S1")
    chunks = 1
    while data.nbytes > ATTR_LIMIT * chunks:
        chunks += 1
    if chunks == 1:
        obj.attrs[key] = data
    else:
        for i, part in enumerate(np.array_split(data, chunks)):
            obj.attrs[f"{key}{i}"] = part


def _leaf_weights(layer: LayerSpec) -> Dict[str, Dict[str, np.ndarray]]:
    """``{leaf name: {weight name: array}}`` under ``layer`` (itself when it is a leaf)."""
    if layer.model is None:
        return {layer.name: dict(layer.weights)}
    out: Dict[str, Dict[str, np.ndarray]] = {}
    for inner in layer.model.layers:
        out.update(_leaf_weights(inner))
    return out


def _write_legacy(group: h5py.Group, spec: ModelSpec, dialect: str) -> None:
    _names_attr(group, "layer_names", [l.name for l in spec.layers])
    group.attrs["backend"] = b"tensorflow"
    group.attrs["keras_version"] = KERAS_VERSION[dialect].encode()
    for layer in spec.layers:
        g = group.require_group(layer.name)  # a name with "/" ("Conv/BatchNorm") may already be a parent group
        values = _leaf_weights(layer)
        names = []
        for path, name, _, _ in expected_weights(layer):
            array = values.get(path, {}).get(name)
            if array is None:
                raise ModelFormatError(f"layer {path!r} has no weight {name!r}; cannot write an incomplete model")
            stored = f"{path}/{name}:0" if dialect != "keras3" else f"{path}/{name}"
            g.create_dataset(stored, data=np.asarray(array))
            names.append(stored)
        _names_attr(g, "weight_names", names)


# Short loss/metric names Keras 3 cannot resolve when it compiles a model from an .h5 (it can't even load its own
# file with loss="mse"); the full function names work in every version.
SHORT_NAMES = {"mse": "mean_squared_error", "mae": "mean_absolute_error", "mape": "mean_absolute_percentage_error",
               "msle": "mean_squared_logarithmic_error", "MSE": "mean_squared_error", "MAE": "mean_absolute_error",
               "MAPE": "mean_absolute_percentage_error", "MSLE": "mean_squared_logarithmic_error"}


def _long_names(obj: Any) -> Any:
    if isinstance(obj, str):
        return SHORT_NAMES.get(obj, obj)
    if isinstance(obj, list):
        return [_long_names(v) for v in obj]
    if isinstance(obj, dict) and "class_name" not in obj:
        return {k: _long_names(v) for k, v in obj.items()}
    return obj


def training_config(config: Dict[str, Any], dialect: str) -> Dict[str, Any]:
    """A training config the target Keras versions can compile from (optimizer keys intersected, objects bare)."""
    config = {**config, **{k: _long_names(_portable_metrics(config[k]))
                           for k in ("loss", "metrics", "weighted_metrics") if config.get(k) is not None}}
    if dialect == "keras3":
        return config
    out = _strip_modules(dict(config))
    opt = out.get("optimizer_config")
    if isinstance(opt, dict) and isinstance(opt.get("config"), dict):
        # tf_keras registers its (non-legacy) optimizers as "Custom>Name"; a bare name selects the legacy ones.
        name = str(opt.get("class_name", "")).split(">")[-1]
        # Keras 3 looks an optimizer up by its config "name" when the class name is not its own ("rm_sprop" fails).
        out["optimizer_config"] = {"class_name": f"Custom>{name}",
                                   "config": {**{k: v for k, v in opt["config"].items() if k in OPTIMIZER_KEYS},
                                              "name": name}}
    out.setdefault("loss_weights", None)
    out["loss"] = _keras2_losses(out.get("loss"))
    return out


# Loss constructor keys Keras 3 added that tf_keras's classes reject: dropped when they hold the default.
KERAS3_ONLY_LOSS_KEYS = {"SparseCategoricalCrossentropy": {"axis": -1}}


def _keras2_losses(loss: Any) -> Any:
    if isinstance(loss, list):
        return [_keras2_losses(v) for v in loss]
    if isinstance(loss, dict) and "class_name" not in loss:
        return {k: _keras2_losses(v) for k, v in loss.items()}
    if isinstance(loss, dict) and isinstance(loss.get("config"), dict):
        extra = KERAS3_ONLY_LOSS_KEYS.get(loss["class_name"], {})
        config = {k: v for k, v in loss["config"].items() if not (k in extra and v == extra[k])}
        return {**loss, "config": config}
    return loss


def _portable_metrics(metrics: Any) -> Any:
    """Metrics (and losses) as names where Keras 2 wrapped a function (``MeanMetricWrapper``), which Keras 3
    cannot rebuild."""
    if isinstance(metrics, dict) and metrics.get("class_name") == "MeanMetricWrapper":
        fn = (metrics.get("config") or {}).get("fn")
        return fn if isinstance(fn, str) else metrics
    if isinstance(metrics, list):
        flat = [_portable_metrics(m) for m in metrics]
        if len(flat) == 1 and isinstance(flat[0], list):  # one output: [[...]] -> [...]
            return flat[0]
        return flat
    if isinstance(metrics, dict) and all(isinstance(k, str) for k in metrics) and "class_name" not in metrics:
        return {k: _portable_metrics(v) for k, v in metrics.items()}
    return metrics


def _strip_modules(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _strip_modules(v) for k, v in obj.items() if k not in ("module", "registered_name")}
    if isinstance(obj, list):
        return [_strip_modules(v) for v in obj]
    return obj
