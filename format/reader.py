"""``read(path, weights=None) -> ModelSpec`` for every file form Keras saves a model in."""
from __future__ import annotations

import io
import json
import os
import zipfile
from typing import Any, Dict, Optional

from ..errors import ModelFormatError
from . import h5io
from .graph import parse_model
from .spec import ModelSpec
from .vocabulary import read_assets
from .weights import check_complete, read_keras3, read_legacy, read_optimizer_keras3, read_optimizer_legacy

MAX_CONFIG_BYTES = 64 << 20
MAX_ZIP_MEMBER = 4 << 30
MAX_ZIP_RATIO = 200  # a member may not expand to more than 200x its compressed size (beyond 1 MiB)


def read(path: str, weights: Optional[str] = None) -> ModelSpec:
    """Read a Keras model file into a ModelSpec.

    Args:
        path: a ``.h5`` saved by ``model.save`` (Keras 2 or 3), a ``.keras`` zip, or an architecture ``.json`` /
            ``.yaml`` (``model.to_json()``).
        weights: for an architecture file, the weights file (Keras 2 ``save_weights`` ``.h5`` or Keras 3
            ``.weights.h5``); for a full model, optional weights that replace the stored ones.
    Returns:
        The ModelSpec, with every weight checked against its layer.
    Raises:
        ModelFormatError (or UnsupportedLayerError) naming the file, the layer and the problem.

    Example::

        spec = read("model.h5")
        spec = read("model.json", weights="model.weights.h5")
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file")
    if os.path.isdir(path):
        raise ModelFormatError(f"{path}: is a folder (a TensorFlow SavedModel?); keraslite reads Keras .h5, "
                               ".keras, and .json/.yaml + weights files")
    kind = _kind(path)
    if kind == "h5":
        spec = _read_h5(path)
    elif kind == "keras":
        spec = _read_keras_zip(path)
    else:
        spec = _read_arch(path, kind)
    if weights is not None:
        load_weights(spec, weights)
    check_complete(spec, path)
    return spec


def _kind(path: str) -> str:
    with open(path, "rb") as fh:
        head = fh.read(8)
    if head == h5io.HDF5_SIGNATURE:
        return "h5"
    if head[:4] == b"PK\x03\x04":
        return "keras"
    ext = os.path.splitext(path)[1].lower()
    if ext == ".json" or head.lstrip()[:1] == b"{":
        return "json"
    if ext in (".yaml", ".yml"):
        return "yaml"
    raise ModelFormatError(f"{path}: not a Keras model file (starts with {head!r}); expected an HDF5 .h5, a .keras "
                           "zip, or an architecture .json/.yaml")


def _dialect(keras_version: Any, config: Any) -> str:
    """``keras2`` or ``keras3``: from the recorded Keras version, else from the config's shape."""
    if isinstance(keras_version, str) and keras_version[:1].isdigit():
        return "keras3" if int(keras_version.split(".")[0]) >= 3 else "keras2"
    text = json.dumps(config)[:1 << 20] if config is not None else ""
    return "keras3" if ('"module": "keras' in text or '"batch_shape"' in text) else "keras2"


def _from_config(obj: Any, label: str, fmt: str, keras_version: Any, backend: Any,
                 training_config: Any = None) -> ModelSpec:
    dialect = _dialect(keras_version, obj)
    spec = parse_model(obj, dialect, label)
    spec.training_config = training_config if isinstance(training_config, dict) else None
    spec.source = {"path": label, "format": fmt, "keras_version": keras_version if isinstance(
        keras_version, str) else None, "backend": backend if isinstance(backend, str) else None,
        "dialect": dialect}
    return spec


def _read_h5(path: str) -> ModelSpec:
    with h5io.open_h5(path, path) as f:
        config = h5io.json_attr(f, "model_config", path)
        if config is None:
            if h5io.name_list(f, "layer_names", path) is not None or h5io.has(f, "layers", path):
                raise ModelFormatError(f"{path}: is a weights-only file (save_weights); load it with its "
                                       "architecture: read('model.json', weights=" + repr(path) + ")")
            raise ModelFormatError(f"{path}: HDF5 file without 'model_config'; expected a Keras model saved with "
                                   "model.save('model.h5')")
        spec = _from_config(config, path, "h5", h5io.attr(f, "keras_version", path), h5io.attr(f, "backend", path),
                            h5io.json_attr(f, "training_config", path))
        if not h5io.has(f, "model_weights", path):
            raise ModelFormatError(f"{path}: has no 'model_weights' group; the file holds no weights")
        read_legacy(spec, h5io.child(f, "model_weights", path), path)
        spec.optimizer_weights = read_optimizer_legacy(f, path)
    return spec


def load_weights(spec: ModelSpec, path: str) -> None:
    """Fill ``spec`` from a weights-only file: Keras 2 ``save_weights`` .h5 or Keras 3 ``.weights.h5``."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such weights file")
    with h5io.open_h5(path, path) as f:
        if h5io.has(f, "model_weights", path):
            read_legacy(spec, h5io.child(f, "model_weights", path), path)
        elif h5io.name_list(f, "layer_names", path) is not None:
            read_legacy(spec, f, path)
        elif h5io.has(f, "layers", path) or h5io.has(f, "vars", path):
            read_keras3(spec, f, path)
        else:
            raise ModelFormatError(f"{path}: no weights found: expected 'layer_names' (Keras 2 save_weights) or a "
                                   "'layers' group (Keras 3 .weights.h5)")


def _zip_member(zf: zipfile.ZipFile, name: str, path: str, limit: int) -> bytes:
    try:
        info = zf.getinfo(name)
    except KeyError:
        raise ModelFormatError(f"{path}: the .keras archive has no {name!r}; members: {zf.namelist()[:20]}") from None
    if info.file_size > limit or (info.file_size > (1 << 20) and info.file_size > MAX_ZIP_RATIO * max(
            info.compress_size, 1)):
        raise ModelFormatError(f"{path}: archive member {name!r} expands to {info.file_size} bytes from "
                               f"{info.compress_size}; refused as a zip bomb")
    try:
        with zf.open(info) as fh:
            data = fh.read(limit + 1)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise ModelFormatError(f"{path}: archive member {name!r} is damaged ({exc})") from None
    if len(data) > limit:
        raise ModelFormatError(f"{path}: archive member {name!r} is larger than declared; refused")
    return data


def _read_keras_zip(path: str) -> ModelSpec:
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ModelFormatError(f"{path}: not a readable .keras zip archive ({exc})") from None
    with zf:
        for name in zf.namelist():
            if name.startswith("/") or ".." in name.replace("\\", "/").split("/") or ":" in name:
                raise ModelFormatError(f"{path}: archive member {name!r} points outside the archive; refused")
        config = _json(_zip_member(zf, "config.json", path, MAX_CONFIG_BYTES), f"{path}:config.json")
        meta_bytes = _zip_member(zf, "metadata.json", path, MAX_CONFIG_BYTES) if "metadata.json" in \
            zf.namelist() else b"{}"
        meta = _json(meta_bytes, f"{path}:metadata.json")
        meta = meta if isinstance(meta, dict) else {}
        compile_config = config.get("compile_config") if isinstance(config, dict) else None
        spec = _from_config(config, path, "keras", meta.get("keras_version") or "3", "tensorflow",
                            _training_config(compile_config))
        weights = _zip_member(zf, "model.weights.h5", path, MAX_ZIP_MEMBER)
        assets = {name: _zip_member(zf, name, path, MAX_CONFIG_BYTES) for name in zf.namelist()
                  if name.startswith("assets/") and name.endswith("/vocabulary.txt")}
    with h5io.open_h5(io.BytesIO(weights), f"{path}:model.weights.h5") as f:
        read_keras3(spec, f, f"{path}:model.weights.h5")
        read_assets(spec, assets, f, path)
        spec.optimizer_weights = read_optimizer_keras3(f, f"{path}:model.weights.h5")
    return spec


def _json(data: bytes, label: str) -> Any:
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ModelFormatError(f"{label}: not valid JSON ({str(exc)[:200]})") from None


def _read_arch(path: str, kind: str) -> ModelSpec:
    if os.path.getsize(path) > MAX_CONFIG_BYTES:
        raise ModelFormatError(f"{path}: architecture file larger than {MAX_CONFIG_BYTES >> 20} MiB; refused")
    with open(path, "rb") as fh:
        data = fh.read()
    return _parse_arch(data, kind, path)


def parse_architecture(text, kind: str = "json", label: str = "<string>") -> ModelSpec:
    """A ModelSpec without weights from ``model.to_json()`` / ``to_yaml()`` text (``kind`` "json" or "yaml").

    Example::

        spec = parse_architecture(open("model.json").read())
    """
    data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
    if len(data) > MAX_CONFIG_BYTES:
        raise ModelFormatError(f"{label}: architecture larger than {MAX_CONFIG_BYTES >> 20} MiB; refused")
    return _parse_arch(data, kind, label)


def _parse_arch(data: bytes, kind: str, path: str) -> ModelSpec:
    if kind == "json":
        obj = _json(data, path)
    else:
        import yaml  # only ever through safe_load: YAML tags cannot construct Python objects

        try:
            obj = yaml.safe_load(data.decode("utf-8"))
        except (UnicodeDecodeError, yaml.YAMLError) as exc:
            raise ModelFormatError(f"{path}: not valid YAML ({str(exc)[:200]})") from None
    if not isinstance(obj, dict):
        raise ModelFormatError(f"{path}: expected a model config object, got {type(obj).__name__}")
    return _from_config(obj, path, kind, obj.get("keras_version"), obj.get("backend"))


def _training_config(compile_config: Any) -> Optional[Dict[str, Any]]:
    """A ``.keras`` compile_config in the legacy ``training_config`` form that ``.h5`` files carry."""
    if not isinstance(compile_config, dict) or compile_config.get("optimizer") is None:
        return None
    return {"optimizer_config": compile_config["optimizer"], "loss": compile_config.get("loss"),
            "metrics": compile_config.get("metrics"), "weighted_metrics": compile_config.get("weighted_metrics"),
            "loss_weights": compile_config.get("loss_weights")}
