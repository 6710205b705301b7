"""String inputs (models whose input TensorSpec dtype is ``string``, e.g. a TextVectorization in front): JSON
strings of both protocols decoded into the object arrays the runtime takes.

TF Serving REST: a string is a JSON string, or ``{"b64": "..."}`` for binary data; V2: datatype ``BYTES`` with
``data`` a flat array of JSON strings (UTF-8 text). Metadata names the dtype ``DT_STRING`` / ``BYTES``.
"""
from __future__ import annotations

import base64
import binascii
from typing import Any

import numpy as np

from .decode import bad, check_shape, json_type, show_shape

STRING = "string"


def _leaf(value: Any, what: str) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, dict) and set(value) == {"b64"} and isinstance(value["b64"], str):
        try:
            return base64.b64decode(value["b64"], validate=True)
        except (binascii.Error, ValueError):
            raise bad(f"{what}: {{\"b64\": ...}} holds invalid base64") from None
    raise bad(f"{what}: expected strings (or {{\"b64\": \"...\"}}) for a string input, got {json_type(value)}")


def to_strings(value: Any, what: str) -> np.ndarray:
    """Nested JSON arrays of strings -> an object array of bytes; 400 for ragged nesting or non-strings."""
    def shape_of(v):
        return (len(v),) + (shape_of(v[0]) if v else ()) if isinstance(v, list) else ()

    shape = shape_of(value)
    flat = []

    def walk(v, depth):
        if depth == len(shape):
            flat.append(_leaf(v, what))
            return
        if not isinstance(v, list) or len(v) != shape[depth]:
            raise bad(f"{what}: ragged array: nested arrays must all have the same length (axis {depth})")
        for item in v:
            walk(item, depth + 1)

    walk(value, 0)
    out = np.empty(len(flat), dtype=object)
    out[:] = flat
    return out.reshape(shape)


def as_string_input(value: Any, spec, what: str, hint: str = "") -> np.ndarray:
    """A TF Serving JSON value for a string input -> a checked object array of bytes."""
    arr = to_strings(value, what)
    check_shape(arr, spec, what, hint)
    return arr


def v2_bytes_tensor(data: Any, shape, spec, what: str) -> np.ndarray:
    """A V2 ``BYTES`` tensor's flat ``data`` and ``shape`` -> a checked object array of bytes."""
    arr = to_strings(data if isinstance(data, list) else [data], what).ravel()
    count = int(np.prod(shape)) if shape else 1
    if arr.size != count:
        raise bad(f"{what}: 'data' has {arr.size} values but 'shape' {show_shape(shape)} needs {count}")
    arr = arr.reshape(shape)
    check_shape(arr, spec, what)
    return arr


__all__ = ["STRING", "to_strings", "as_string_input", "v2_bytes_tensor"]
