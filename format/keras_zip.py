"""Writing the Keras 3 ``.keras`` zip: ``config.json``, ``metadata.json`` and ``model.weights.h5``."""
from __future__ import annotations

import datetime
import json
import os
import tempfile
import zipfile

from . import writer
from .graph import model_config
from .keras3_store import write_keras3_weights
from .layers import APPLICATION_LAYERS, canonical_class
from .spec import ModelSpec
from .vocabulary import split_assets, write_variables

KERAS3_VERSION = "3.12.0"
KERAS2_ONLY_OPTIMIZER_KEYS = ("jit_compile", "is_legacy_optimizer", "decay")  # Keras 3 optimizers reject them


def _compile_config(config):
    """The legacy training_config as the ``compile_config`` Keras 3 restores ``compile`` from."""
    if not config:
        return None
    training_config = writer.training_config(config, "keras3")
    optimizer = training_config.get("optimizer_config")
    if isinstance(optimizer, dict):
        name = str(optimizer.get("class_name", "")).split(">")[-1]  # tf_keras writes "Custom>Adam"
        config = {k: v for k, v in (optimizer.get("config") or {}).items() if k not in KERAS2_ONLY_OPTIMIZER_KEYS}
        optimizer = {"module": "keras.optimizers", "class_name": name, "config": {**config, "name": name},
                     "registered_name": None}
    return {"optimizer": optimizer, "loss": _with_module(training_config.get("loss"), "keras.losses"),
            "loss_weights": training_config.get("loss_weights"),
            "metrics": _with_module(training_config.get("metrics"), "keras.metrics"),
            "weighted_metrics": _with_module(training_config.get("weighted_metrics"), "keras.metrics"),
            "run_eagerly": False,
            "steps_per_execution": 1, "jit_compile": False}


def _with_module(value, module: str):
    """Loss and metric objects (``{"class_name", "config"}``) with the module Keras 3 finds them in."""
    if isinstance(value, list):
        return [_with_module(v, module) for v in value]
    if isinstance(value, dict) and "class_name" in value:
        return {"module": module, "registered_name": None, **value}
    if isinstance(value, dict):
        return {k: _with_module(v, module) for k, v in value.items()}
    return value


def _module(class_name: str, keras2: bool = False) -> dict:
    """The ``module``/``registered_name`` pair Keras 3 needs to find a built-in class in a ``.keras`` config."""
    cls = canonical_class(class_name)
    if cls in APPLICATION_LAYERS:  # defined in Keras' applications, found there by module (Keras 3's, tf_keras')
        modules, registered = APPLICATION_LAYERS[cls]
        return {"module": modules[int(keras2)], "registered_name": registered[-1] if keras2 else registered[0]}
    if class_name == "Functional":
        return {"module": "keras.src.models.functional", "registered_name": "Functional"}
    return {"module": "keras" if class_name == "Sequential" else "keras.layers", "registered_name": None}


def with_modules(entry: dict, keras2: bool = False) -> dict:
    """A serialized layer or model (and every layer inside it) with its module recorded (tf_keras' modules for
    the applications' own layers when ``keras2``)."""
    config = dict(entry["config"])
    if isinstance(config.get("layers"), list):
        config["layers"] = [with_modules(layer, keras2) for layer in config["layers"]]
    for key in ("layer", "backward_layer"):  # Bidirectional's wrapped RNNs
        if isinstance(config.get(key), dict) and "class_name" in config[key]:
            config[key] = with_modules(config[key], keras2)
    return {**_module(entry["class_name"], keras2), **entry, "config": config}


def write_keras_zip(spec: ModelSpec, tmp: str) -> None:
    """Write ``spec`` as a ``.keras`` archive at ``tmp`` (the caller moves it into place atomically)."""
    spec, assets, variables = split_assets(spec)  # vocabularies go to assets/, idf weights to the weights file
    top = with_modules(model_config(spec, "keras3"))
    compile_config = _compile_config(spec.training_config)
    if compile_config:
        top["compile_config"] = compile_config
    metadata = {"keras_version": KERAS3_VERSION,
                "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")}
    folder = os.path.dirname(os.path.abspath(tmp))
    with tempfile.NamedTemporaryFile(dir=folder, suffix=".weights.h5", delete=False) as fh:
        weights_tmp = fh.name
    try:
        write_keras3_weights(spec, weights_tmp, optimizer=True)
        if variables:
            write_variables(weights_tmp, variables)
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("metadata.json", json.dumps(metadata))
            zf.writestr("config.json", json.dumps(top))
            zf.write(weights_tmp, "model.weights.h5", compress_type=zipfile.ZIP_STORED)
            for name, data in assets.items():
                zf.writestr(name, data)
    finally:
        os.remove(weights_tmp)
