"""JSON in and out: orjson when it is installed (the ``serve`` extra), the standard library otherwise.

Non-finite numbers follow each protocol. TensorFlow Serving reads and writes the ``NaN``, ``Infinity`` and
``-Infinity`` tokens (its REST API documents them, and Python's json module and JavaScript read them), so
``loads(..., allow_non_finite=True)`` accepts them and ``dumps_tokens`` writes them. The Open Inference Protocol V2
speaks strict JSON: its inputs must be finite, and ``dumps`` never writes a bare token (``v2_data`` turns
non-finite outputs into the strings proto3's JSON mapping uses, ``"NaN"``, ``"Infinity"``, ``"-Infinity"``).
"""
from __future__ import annotations

import json
from typing import Any

import numpy as np

try:  # optional: 5-10x faster than the standard library both ways, and it writes numpy arrays directly
    import orjson
except ImportError:  # pragma: no cover - exercised by the fallback test in a subprocess
    orjson = None

DecodeError = (ValueError,)  # orjson.JSONDecodeError and json.JSONDecodeError are both ValueErrors
NON_FINITE_STRINGS = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


def loads(raw, allow_non_finite: bool = False) -> Any:
    """Decode UTF-8 JSON from bytes, bytearray or memoryview; ``allow_non_finite`` also reads NaN/Infinity tokens.

    Raises ValueError (malformed JSON, not UTF-8) or RecursionError (nesting too deep for the stdlib parser).
    """
    if orjson is not None:
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            if not allow_non_finite:
                raise
            # orjson is strict JSON; the standard library reads TF Serving's NaN/Infinity tokens.
    text = bytes(raw).decode("utf-8-sig")
    if allow_non_finite:
        return json.loads(text)
    return json.loads(text, parse_constant=_refuse_constant)


def _refuse_constant(token: str):
    raise ValueError(f"{token} is not a JSON number (the Open Inference Protocol is strict JSON; send finite numbers)")


def dumps(obj: Any) -> bytes:
    """Strict JSON bytes; numpy arrays and scalars are written directly (their values must be finite)."""
    if orjson is not None:
        return orjson.dumps(obj, default=_plain, option=orjson.OPT_SERIALIZE_NUMPY)
    return json.dumps(obj, separators=(",", ":"), allow_nan=False, default=_plain).encode()


def dumps_tokens(obj: Any) -> bytes:
    """JSON bytes that may contain TF Serving's NaN/Infinity tokens (the standard library writes them)."""
    return json.dumps(obj, separators=(",", ":"), default=_plain).encode()


def _plain(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def all_finite(arr: np.ndarray) -> bool:
    """True when a float array has no NaN or infinity (integer and boolean arrays always are)."""
    return arr.dtype.kind != "f" or bool(np.isfinite(arr).all())


def dumps_tf(obj: Any, arrays) -> bytes:
    """A TF Serving answer holding ``arrays``: strict JSON when they are all finite, else with NaN/Infinity tokens."""
    return dumps(obj) if all(all_finite(a) for a in arrays) else dumps_tokens(obj)


def v2_data(arr: np.ndarray):
    """An output array flattened for V2 ``data``: the array when finite, else a list with proto3's strings."""
    flat = arr.ravel()
    if all_finite(flat):
        return flat
    return [v if v == v and abs(v) != float("inf") else NON_FINITE_STRINGS[repr(v)] for v in flat.tolist()]
