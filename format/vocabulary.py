"""Vocabularies of TextVectorization / StringLookup / IntegerLookup in model files, and the checks of the data
preprocessing layers' configs.

Canonical form (what a ModelSpec holds): ``config["vocabulary"]`` is the whole vocabulary in index order, special
tokens included (what Keras' ``get_vocabulary()`` returns), and for ``tf_idf`` ``config["idf_weights"]`` holds one
weight per vocabulary entry.

Keras 3 keeps an adapted vocabulary out of the config: ``assets/<layer path>/vocabulary.txt`` inside the ``.keras``
archive (one term per line; TextVectorization writes it once for itself and once for its inner
``_lookup_layer``) and the idf weights as the variable ``<layer path>/vars/idf_weights``. ``read_assets`` and
``split_assets`` convert between the two. A vocabulary given as a string in a config is a file path Keras would
open: it is refused (a model file must not make the loader read other files), only archive members are read.
"""
from __future__ import annotations

import copy
from typing import Dict, List, Optional, Tuple

import numpy as np

from ..errors import ModelFormatError
from .spec import LayerSpec, ModelSpec

LOOKUPS = ("TextVectorization", "StringLookup", "IntegerLookup")
MAX_VOCABULARY = 1 << 24


def specials(class_name: str, config: dict) -> list:
    """The mask/OOV entries that start this layer's vocabulary (Keras' token layout)."""
    mode = config.get("output_mode", "int")
    if class_name == "TextVectorization":
        mask, oov, num_oov = "", "[UNK]", 1
    else:
        mask, oov, num_oov = config.get("mask_token"), config.get("oov_token"), int(config.get("num_oov_indices", 1))
    head = [mask] if mask is not None and mode == "int" else []
    return head + [oov] * num_oov


def _token(value, integer: bool, where: str):
    if integer:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or float(value) != int(value):
            raise ModelFormatError(f"{where}: vocabulary entries must be integers, got {value!r}")
        return int(value)
    if not isinstance(value, str):
        raise ModelFormatError(f"{where}: vocabulary entries must be strings, got {value!r}")
    return value


def normalize(class_name: str, config: dict, where: str) -> None:
    """Check a data-preprocessing layer's config and bring its vocabulary to the canonical (full) form."""
    for key in ("height", "width", "num_tokens", "num_bins"):
        if key in config:
            value = config[key]
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ModelFormatError(f"{where}: {key} must be a positive int, got {value!r}")
    if class_name not in LOOKUPS:
        return
    if isinstance(config.get("ngrams"), list):
        config["ngrams"] = [int(n) for n in config["ngrams"]]
    vocab = config.get("vocabulary")
    if vocab is None:
        if config.get("idf_weights") is not None:
            config["idf_weights"] = None  # without a vocabulary the weights describe nothing
        return
    if isinstance(vocab, str):
        raise ModelFormatError(f"{where}: the config names the vocabulary file {vocab!r}. A model file may only "
                               "carry its vocabulary inside itself (a list in the config, or the .keras archive's "
                               "assets): loading never opens other files named by a model (Keras refuses this too "
                               "in safe mode). Re-save the model with the vocabulary adapted or given as a list")
    if not isinstance(vocab, list) or len(vocab) > MAX_VOCABULARY:
        raise ModelFormatError(f"{where}: vocabulary must be a list of terms (at most {MAX_VOCABULARY}), got "
                               f"{type(vocab).__name__}")
    integer = class_name == "IntegerLookup"
    vocab = [_token(v, integer, where) for v in vocab]
    head = specials(class_name, config)
    found = vocab[:len(head)] == head
    full = vocab if found else head + vocab
    config["vocabulary"] = full
    config["vocabulary_size"] = len(full)
    idf = config.get("idf_weights")
    if config.get("output_mode") == "tf_idf" and idf is not None:
        weights = _weights(idf, where)
        if not found:
            weights = [float(np.average(weights))] * len(head) + weights
        config["idf_weights"] = weights[:len(full)]
        if len(config["idf_weights"]) != len(full):
            raise ModelFormatError(f"{where}: idf_weights has {len(weights)} values for a vocabulary of "
                                   f"{len(full)} terms")
    else:
        config["idf_weights"] = None


def _weights(values, where) -> List[float]:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1 or not np.all(np.isfinite(arr)):
        raise ModelFormatError(f"{where}: idf_weights must be a list of finite numbers")
    return [float(v) for v in arr]


def keras2_data_layer(class_name: str, out: dict, where: str) -> None:
    """A data layer's written config for a file tf_keras must load too: Keras-3-only keys dropped at their
    default (refused otherwise), and the dtypes tf_keras' constructors insist on."""
    from .layers import KERAS3_ONLY_KEYS

    for key, default in KERAS3_ONLY_KEYS.get(class_name, {}).items():
        if out.get(key, default) != default:
            raise ModelFormatError(f"{where}: {class_name} with {key}={out[key]!r} exists only in Keras 3; write "
                                   "this model as .keras (or with dialect='keras3')")
        out.pop(key, None)
    if out.get("output_mode") == "tf_idf" and class_name in LOOKUPS:
        raise ModelFormatError(f"{where}: {class_name} with output_mode='tf_idf' keeps its idf weights in a variable "
                               "that tf_keras' .h5 loader counts as a layer weight and Keras 3's does not, so one .h5 "
                               "cannot serve both; write .keras, or .h5 with dialect='keras3'")
    if class_name == "TextVectorization":
        out["dtype"] = "string"  # tf_keras: "`TextVectorization` may only have a dtype of string"
    elif class_name in ("IntegerLookup", "Hashing") and out.get("output_mode", "int") == "int":
        out["dtype"] = "int64"  # tf_keras: "When `output_mode='int'`, `dtype` should be an integer type"


# ----------------------------------------------------------------------------------------------- .keras archives
def _asset_names(layer: LayerSpec, path: str) -> List[str]:
    names = [f"assets/{path}/vocabulary.txt"]
    if layer.class_name == "TextVectorization":
        names.append(f"assets/{path}/_lookup_layer/vocabulary.txt")
    return names


def _var_paths(layer: LayerSpec, path: str) -> List[str]:
    paths = [f"{path}/vars/idf_weights"]
    if layer.class_name == "TextVectorization":
        paths.append(f"{path}/_lookup_layer/vars/idf_weights")
    return paths


def _lookup_layers(spec: ModelSpec) -> List[Tuple[LayerSpec, str]]:
    from .weights import keras3_paths

    return [(layer, path) for layer, path in keras3_paths(spec) if layer.class_name in LOOKUPS]


def read_assets(spec: ModelSpec, members: Dict[str, bytes], weights_root, label: str) -> None:
    """Fill the lookups of ``spec`` (read from a ``.keras`` archive) from the archive's vocabulary assets and
    idf variables."""
    from . import h5io
    from .dialect import canonical_layer_config

    for layer, path in _lookup_layers(spec):
        where = f"{label}: layer {layer.name!r} ({layer.class_name})"
        if layer.config.get("vocabulary") is not None:
            continue  # given in the config (Keras keeps an explicit vocabulary there)
        found = [members[n] for n in _asset_names(layer, path) if n in members]
        if not found:
            continue  # a layer that was never adapted: the runtime says so if the model is used
        text = _decode(found[0], f"{where}, asset {_asset_names(layer, path)[0]!r}")
        lines = text.splitlines()  # as Keras' load_assets reads the file
        while lines and lines[-1] == "":
            lines.pop()
        config = dict(layer.config)
        if layer.class_name == "IntegerLookup":
            try:
                config["vocabulary"] = [int(line) for line in lines]
            except ValueError:
                raise ModelFormatError(f"{where}: the vocabulary asset holds a non-integer line") from None
        else:
            config["vocabulary"] = lines
        if config.get("output_mode") == "tf_idf":
            arrays = [h5io.array(weights_root, p, label) for p in _var_paths(layer, path)
                      if h5io.has(weights_root, p, label)]
            if not arrays:
                raise ModelFormatError(f"{where}: output_mode='tf_idf' but the weights file has no idf_weights "
                                       f"(expected {_var_paths(layer, path)[0]!r})")
            config["idf_weights"] = [float(v) for v in np.asarray(arrays[0], np.float64).ravel()[:len(lines)]]
        layer.config = canonical_layer_config(layer.class_name, config, "keras3", where)


def _decode(data: bytes, where: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ModelFormatError(f"{where}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def split_assets(spec: ModelSpec) -> Tuple[ModelSpec, Dict[str, bytes], Dict[str, np.ndarray]]:
    """For writing a ``.keras``: ``spec`` with vocabularies taken out of the lookup configs, the asset members
    holding them, and the idf variables (store path -> array), laid out as Keras 3 writes them."""
    lookups = _lookup_layers(spec)
    if not lookups:
        return spec, {}, {}
    spec = copy.deepcopy(spec)
    members: Dict[str, bytes] = {}
    variables: Dict[str, np.ndarray] = {}
    for layer, path in _lookup_layers(spec):
        vocab = layer.config.get("vocabulary")
        if vocab is None:
            continue
        text = "\n".join(str(v) for v in vocab).encode("utf-8")
        for name in _asset_names(layer, path):
            members[name] = text
        weights = idf_of(layer) if layer.config.get("output_mode") == "tf_idf" else None
        if weights is not None:
            for p in _var_paths(layer, path):
                variables[p] = weights
        layer.config = {**layer.config, "vocabulary": None, "idf_weights": None, "vocabulary_size": len(vocab)}
    return spec, members, variables


def write_variables(path: str, variables: Dict[str, np.ndarray]) -> None:
    """Add named variables (``<layer path>/vars/idf_weights``) to a Keras 3 weights file written before."""
    import h5py

    with h5py.File(path, "a") as f:
        for name, array in variables.items():
            f.create_dataset(name, data=array)


def idf_of(layer: LayerSpec) -> Optional[np.ndarray]:
    """A lookup's idf weights padded as its outputs need them (to max_tokens with ``pad_to_max_tokens``)."""
    idf = layer.config.get("idf_weights")
    if idf is None:
        return None
    weights = np.asarray(idf, np.float32)
    max_tokens = layer.config.get("max_tokens")
    if layer.config.get("pad_to_max_tokens") and max_tokens and weights.size < max_tokens:
        weights = np.pad(weights, (0, max_tokens - weights.size))
    return weights


__all__ = ["LOOKUPS", "specials", "normalize", "keras2_data_layer", "read_assets", "split_assets", "write_variables", "idf_of"]
