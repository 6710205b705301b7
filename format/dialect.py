"""Keras 2 / Keras 3 config dialects <-> canonical layer configs (one key set per class, see ``layers.py``).

Reading checks every object in a config against the allow-list: a ``module`` outside Keras, a custom
``registered_name``, a Lambda or a layer that loads other artifacts is refused before anything else looks at it.
"""
from __future__ import annotations

import copy
import math
from typing import Any, Dict, Optional

from ..errors import ModelFormatError, UnsupportedLayerError
from .layers import (ACTIVATION_ALIASES, ACTIVATIONS, APPLICATION_LAYERS, DATA_LAYERS, LAYERS, MODEL_CLASSES,
                     NO_TRAINABLE_KEY, REFUSE, REFUSED, REQUIRED, canonical_class, reversed_rnn, supported)
from .vocabulary import keras2_data_layer, normalize as normalize_data_layer

TUPLE_KEYS = ("kernel_size", "strides", "dilation_rate", "pool_size", "size", "output_padding")
RANK = {"1D": 1, "2D": 2}
MAX_DIM = 1 << 31
KERAS_MODULES = ("keras", "tf_keras")  # the module roots built-in objects are recorded under
KERAS3_ONLY_INITIALIZER_KEYS = ("input_axes", "output_axes")  # Keras 3.12+ initializers; tf_keras rejects them


def layer_rank(class_name: str) -> int:
    """Spatial rank of a conv/pool/padding layer from its name (``Conv2D`` -> 2)."""
    for marker, rank in RANK.items():
        if marker in class_name:
            return rank
    return 1


def _foreign(module: Any) -> bool:
    return module is not None and not (isinstance(module, str) and module.split(".")[0] in KERAS_MODULES)


def _plain_data(value: Any) -> bool:
    """JSON numbers, strings, booleans, nulls and lists of them: data that can name no code."""
    if isinstance(value, list):
        return all(_plain_data(v) for v in value)
    return value is None or isinstance(value, (bool, int, float, str))


def is_opaque(obj: Any) -> bool:
    """An initializer from a non-Keras module (``tf.constant_initializer``) that holds only plain data: kept as
    opaque data, never resolved (initializers do not run at inference)."""
    return (isinstance(obj, dict) and _foreign(obj.get("module")) and isinstance(obj.get("class_name"), str)
            and isinstance(obj.get("config", {}), dict) and all(_plain_data(v) for v in obj.get("config", {}).values())
            and obj.get("registered_name") in (None, obj.get("class_name")))


def check_object(obj: Any, where: str, key: str = "") -> None:
    """Refuse any serialized object in ``obj`` that is not a Keras built-in (custom module, registered name); an
    initializer from another module is allowed as opaque data when it holds nothing but plain data."""
    if isinstance(obj, dict):
        module = obj.get("module")
        if _foreign(module) and not (key.endswith("_initializer") and is_opaque(obj)):
            raise ModelFormatError(f"{where}: refers to module {module!r}; only built-in Keras objects are loaded "
                                   "(a file never imports code)")
        registered = obj.get("registered_name")
        if registered is not None and registered != obj.get("class_name"):
            raise ModelFormatError(f"{where}: custom object {registered!r} is not supported; only built-in Keras "
                                   "objects are loaded (a file never imports code)")
        if obj.get("class_name") in ("__lambda__", "function") or "function_type" in obj:
            raise ModelFormatError(f"{where}: holds a Python function; loading never runs code from a file")
        for k, value in obj.items():
            check_object(value, f"{where}.{k}", str(k))
    elif isinstance(obj, list):
        for value in obj:
            check_object(value, where)


def check_entry(entry: dict, class_name: str, where: str) -> None:
    """``check_object`` for one layer entry; the layer classes that ship inside Keras' applications (ConvNeXt's
    LayerScale, ...) are allowed under exactly their own module and registered name."""
    if class_name in APPLICATION_LAYERS:
        modules, registered = APPLICATION_LAYERS[class_name]
        module, reg = entry.get("module"), entry.get("registered_name")
        if module is not None and module not in modules:
            raise UnsupportedLayerError(f"{where}: a {class_name} from module {module!r} is not the one Keras' "
                                        f"applications ship (module {' or '.join(modules)}); custom layers are not "
                                        "loaded")
        if reg is not None and reg not in registered:
            raise UnsupportedLayerError(f"{where}: {class_name} registered as {reg!r} is not Keras' own (expected "
                                        f"{' or '.join(registered)}); custom layers are not loaded")
        entry = {k: v for k, v in entry.items() if k not in ("module", "registered_name")}
    check_object(entry, where)


def dtype_name(value: Any, where: str) -> str:
    """A dtype or DTypePolicy (string or dict) as a plain dtype string."""
    if value is None:
        return "float32"
    if isinstance(value, dict):
        value = (value.get("config") or {}).get("name", "float32")
    if not isinstance(value, str):
        raise ModelFormatError(f"{where}: dtype must be a string or a DTypePolicy, got {value!r}")
    return {"mixed_float16": "float32", "mixed_bfloat16": "float32"}.get(value, value)


def activation_name(value: Any, dialect: str, where: str) -> str:
    """An activation (name or serialized dict) as a canonical activation name."""
    if value is None:
        return "linear"
    if isinstance(value, dict):
        value = value.get("config", {}).get("name") if value.get("class_name") == "function" else \
            value.get("class_name", value.get("config", {}).get("name"))
    if not isinstance(value, str):
        raise UnsupportedLayerError(f"{where}: activation {value!r} is not a built-in activation name")
    name = ACTIVATION_ALIASES.get(value, value)
    if name == "hard_sigmoid" and dialect == "keras2":
        name = "hard_sigmoid_keras2"
    if name not in ACTIVATIONS:
        raise UnsupportedLayerError(f"{where}: activation {value!r} is not supported; supported: "
                                    f"{', '.join(a for a in ACTIVATIONS if a != 'hard_sigmoid_keras2')}")
    return name


def _int_tuple(value: Any, rank: int, key: str, where: str) -> list:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = [value] * rank
    if not isinstance(value, (list, tuple)) or len(value) != rank or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and float(v).is_integer() for v in value):
        raise ModelFormatError(f"{where}: {key} must be an int or {rank} ints, got {value!r}")
    out = [int(v) for v in value]
    if any(v < 0 or v > MAX_DIM for v in out):
        raise ModelFormatError(f"{where}: {key} out of range: {value!r}")
    return out


def _pairs(value: Any, rank: int, key: str, where: str):
    """ZeroPadding/Cropping amounts as ``[l, r]`` (1D) or ``[[t, b], [l, r]]`` (2D)."""
    if rank == 1:
        return _int_tuple(value, 2, key, where)
    if isinstance(value, (int, float)):
        value = [value, value]
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise ModelFormatError(f"{where}: {key} must be an int, 2 ints or 2 pairs, got {value!r}")
    return [_int_tuple(v, 2, key, where) for v in value]


def _positive_int(config: dict, key: str, where: str) -> None:
    value = config.get(key)
    if not (isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_DIM):
        raise ModelFormatError(f"{where}: {key} must be a positive int, got {value!r}")


def canonical_layer_config(class_name: str, raw: dict, dialect: str, where: str) -> dict:
    """The canonical config of one (non-model) layer: defaults filled, dialect differences removed."""
    if class_name in REFUSED:
        raise UnsupportedLayerError(f"{where}: {class_name} is refused: {REFUSED[class_name]}")
    if class_name not in LAYERS:
        raise UnsupportedLayerError(f"{where}: layer class {class_name!r} is not supported; supported classes: "
                                    f"{', '.join(supported())}")
    if not isinstance(raw, dict):
        raise ModelFormatError(f"{where}: config must be an object, got {type(raw).__name__}")
    raw = dict(raw)
    if class_name == "LeakyReLU" and "negative_slope" in raw:
        raw["alpha"] = raw.pop("negative_slope")
    if class_name == "InputLayer":
        shape = raw.get("batch_shape", raw.get("batch_input_shape"))
        if shape is None and raw.get("shape") is not None:
            shape = [raw.get("batch_size"), *raw["shape"]]
        raw["batch_shape"] = _shape(shape, where)
    for key, default in REFUSE.items():
        if raw.get(key, default) not in (default, None, False, 0):
            raise UnsupportedLayerError(f"{where}: {class_name} with {key}={raw[key]!r} is not supported")
    spec = LAYERS[class_name]
    config: Dict[str, Any] = {"trainable": bool(raw.get("trainable", True)),
                              "dtype": dtype_name(raw.get("dtype"), where)}
    for key, default in spec.keys.items():
        if key in raw and not (raw[key] is None and default is not None and default is not REQUIRED):
            config[key] = copy.deepcopy(raw[key])
        elif default is REQUIRED:
            raise ModelFormatError(f"{where}: {class_name} config is missing {key!r}")
        else:
            config[key] = copy.deepcopy(default)
    for key, allowed in spec.must:
        if config.get(key) not in allowed:
            raise UnsupportedLayerError(f"{where}: {class_name} with {key}={config.get(key)!r} is not supported "
                                        f"(supported: {', '.join(repr(a) for a in allowed)})")
    _normalize_values(class_name, config, dialect, where)
    return config


def _plain_object(obj: Any) -> Any:
    """A serialized initializer/regularizer/constraint as ``{"class_name", "config"}``, without Keras 3's module
    bookkeeping or its initializer-only keys, so both dialects read to the same canonical config."""
    if isinstance(obj, dict) and "class_name" in obj:
        config = {k: _plain_object(v) for k, v in (obj.get("config") or {}).items()
                  if k not in KERAS3_ONLY_INITIALIZER_KEYS}
        if is_opaque(obj):  # kept with its module, so a trainer knows it cannot run it
            return {"class_name": obj["class_name"], "config": config, "module": obj["module"]}
        return {"class_name": obj["class_name"], "config": config}
    return obj


OBJECT_SUFFIXES = ("_initializer", "_regularizer", "_constraint")


def _normalize_values(class_name: str, config: dict, dialect: str, where: str) -> None:
    rank = layer_rank(class_name)
    for key in config:
        if key.endswith(OBJECT_SUFFIXES):
            config[key] = _plain_object(config[key])
    for key in ("activation", "recurrent_activation"):
        if key in config:
            config[key] = activation_name(config[key], dialect, where)
    for key in ("units", "filters", "input_dim", "output_dim", "n", "depth_multiplier", "groups"):
        if key in config:
            _positive_int(config, key, where)
    for key in TUPLE_KEYS:
        if key in config and config[key] is not None:
            config[key] = _int_tuple(config[key], rank, key, where)
    if "kernel_size" in config:
        config["strides"] = config["strides"] or [1] * rank
        config["dilation_rate"] = config["dilation_rate"] or [1] * rank
    if "pool_size" in config:
        config["pool_size"] = config["pool_size"] or [2] * rank
        config["strides"] = config["strides"] or list(config["pool_size"])
    if class_name.startswith(("ZeroPadding", "Cropping")):
        key = "padding" if class_name.startswith("Zero") else "cropping"
        config[key] = _pairs(config[key], rank, key, where)
    elif "padding" in config:
        allowed = ("valid", "same", "causal") if class_name in ("Conv1D",) else ("valid", "same")
        padding = str(config["padding"]).lower()
        if padding not in allowed:
            raise UnsupportedLayerError(f"{where}: padding {config['padding']!r} is not supported; expected one of "
                                        f"{allowed}")
        config["padding"] = padding
    if config.get("data_format") not in (None, "channels_last", "channels_first"):
        raise ModelFormatError(f"{where}: data_format must be 'channels_last' or 'channels_first', got "
                               f"{config['data_format']!r}")
    if class_name in ("BatchNormalization", "LayerNormalization", "Softmax", "Concatenate", "Normalization"):
        axis = config["axis"]
        if isinstance(axis, (list, tuple)) and len(axis) == 1:
            axis = axis[0]
        if not (isinstance(axis, int) or (isinstance(axis, list) and all(isinstance(a, int) for a in axis))):
            raise ModelFormatError(f"{where}: axis must be an int or a list of ints, got {axis!r}")
        config["axis"] = axis
    for key in ("alpha", "max_value", "negative_slope", "threshold", "epsilon", "rate", "stddev"):
        value = config.get(key)
        if value is not None and class_name != "PReLU":
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
                raise ModelFormatError(f"{where}: {key} must be a finite number, got {value!r}")
            config[key] = float(value)
    if class_name == "Bidirectional":
        config["layer"] = _inner_layer(config["layer"], dialect, f"{where}.layer")
        if config["backward_layer"] is not None:
            config["backward_layer"] = _inner_layer(config["backward_layer"], dialect, f"{where}.backward_layer")
            if config["backward_layer"] == reversed_rnn(config["layer"]):
                config["backward_layer"] = None  # the one Keras derives itself: one canonical form for both
        if config["merge_mode"] not in ("concat", "sum", "mul", "ave", None):
            raise UnsupportedLayerError(f"{where}: merge_mode {config['merge_mode']!r} is not supported")
    if class_name in ("Reshape", "Permute"):
        key = "target_shape" if class_name == "Reshape" else "dims"
        value = config[key]
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, int) and v >= -1 for v in value):
            raise ModelFormatError(f"{where}: {key} must be a list of ints, got {value!r}")
        config[key] = list(value)
    if class_name in DATA_LAYERS:
        normalize_data_layer(class_name, config, where)


def _inner_layer(obj: Any, dialect: str, where: str) -> dict:
    if not isinstance(obj, dict) or "class_name" not in obj:
        raise ModelFormatError(f"{where}: expected a serialized layer, got {obj!r}")
    cls = canonical_class(obj["class_name"])
    if cls not in ("SimpleRNN", "LSTM", "GRU"):
        raise UnsupportedLayerError(f"{where}: Bidirectional around {cls} is not supported (SimpleRNN, LSTM, GRU)")
    inner = obj.get("config") or {}
    return {"class_name": cls, "config": {"name": inner.get("name", cls.lower()),
                                          **canonical_layer_config(cls, inner, dialect, where)}}


def _shape(shape: Any, where: str) -> list:
    if not isinstance(shape, (list, tuple)) or not shape:
        raise ModelFormatError(f"{where}: input shape must be a list like [null, 28, 28], got {shape!r}")
    out = []
    for dim in shape:
        if dim is None:
            out.append(None)
        elif isinstance(dim, int) and not isinstance(dim, bool) and 0 <= dim <= MAX_DIM:
            out.append(int(dim))
        else:
            raise ModelFormatError(f"{where}: input shape {shape!r} has a bad dimension {dim!r}")
    return out


# ---------------------------------------------------------------------------------------------------- writing


def dialect_layer_config(class_name: str, name: str, config: dict, dialect: str, where: str) -> dict:
    """A canonical config written the way ``dialect`` (portable, keras2, keras3) expects it."""
    out: Dict[str, Any] = {"name": name}
    for key, value in config.items():
        if key in ("activation", "recurrent_activation"):
            value = _written_activation(value, dialect, where)
        out[key] = copy.deepcopy(value)
    for key, value in out.items():
        if key.endswith("_initializer") and isinstance(value, dict) and "module" in value:
            out[key] = _written_opaque(value, dialect, f"{where}: {key}")
    if class_name in NO_TRAINABLE_KEY:
        out.pop("trainable", None)
    if class_name == "InputLayer":
        out["batch_input_shape" if dialect != "keras3" else "batch_shape"] = out.pop("batch_shape")
        out.pop("trainable", None)
        if dialect == "keras2":
            out["ragged"] = False
    if class_name == "LeakyReLU" and dialect == "keras3":
        out["negative_slope"] = out.pop("alpha")
    if class_name == "UpSampling1D":
        out["size"] = config["size"][0]
    if class_name == "Bidirectional":
        config = dict(config)
        if dialect == "keras3" and config.get("backward_layer") is None:
            # Keras 3 always records the backward RNN (and .keras loading needs it): the forward one, reversed.
            config["backward_layer"] = reversed_rnn(config["layer"])
        for key in ("layer", "backward_layer"):
            inner = config.get(key)
            if inner is None:
                out.pop(key, None)
                continue
            icfg = dict(inner["config"])
            iname = icfg.pop("name")
            out[key] = {"module": "keras.layers", "class_name": inner["class_name"],
                        "config": dialect_layer_config(inner["class_name"], iname, icfg, dialect, where),
                        "registered_name": None}
    if dialect != "keras3" and class_name in DATA_LAYERS:
        keras2_data_layer(class_name, out, where)
    if dialect == "keras3":
        out["dtype"] = {"module": "keras", "class_name": "DTypePolicy", "config": {"name": config.get("dtype",
                                                                                                       "float32")},
                        "registered_name": None}
    return out


# Initializers from other modules whose Keras counterpart computes the same values (tf.constant_initializer).
OPAQUE_EQUIVALENTS = {("tensorflow", "Constant"): "Constant"}


def _written_opaque(obj: dict, dialect: str, where: str) -> dict:
    """An opaque initializer as written: unchanged for tf_keras (which wrote it); its Keras equivalent otherwise."""
    if dialect == "keras2":
        return {"module": obj["module"], "class_name": obj["class_name"], "config": obj["config"],
                "registered_name": obj["class_name"]}
    same = OPAQUE_EQUIVALENTS.get((obj["module"].split(".")[0], obj["class_name"]))
    if same is None:
        raise ModelFormatError(f"{where}: initializer {obj['class_name']!r} from module {obj['module']!r} has no "
                               "Keras equivalent Keras 3 could load; write this model with dialect='keras2'")
    return {"class_name": same, "config": obj["config"]}


def _written_activation(name: str, dialect: str, where: str) -> str:
    if name == "hard_sigmoid_keras2":
        if dialect == "keras2":
            return "hard_sigmoid"
        raise ModelFormatError(f"{where}: Keras 2's hard_sigmoid (0.2x + 0.5) has no Keras 3 equivalent; write this "
                               "model with dialect='keras2'")
    if name == "hard_silu" and dialect != "keras3":
        raise ModelFormatError(f"{where}: tf_keras has no hard_silu (hard_swish) activation; write this model with "
                               "dialect='keras3'")
    if name == "hard_sigmoid":
        if dialect == "keras3":
            return name
        raise ModelFormatError(f"{where}: Keras 3's hard_sigmoid (relu6(x + 3) / 6) means 0.2x + 0.5 in Keras 2; "
                               "write this model with dialect='keras3'")
    return name


def is_model_class(class_name: Optional[str]) -> bool:
    return class_name in MODEL_CLASSES
