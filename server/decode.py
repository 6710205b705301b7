"""Request decoding shared by both protocols: the JSON body, JSON values to typed arrays, checks against a signature.

Every client mistake becomes an ``ApiError`` whose message names the input, the axis, what was expected and what
was received; the app turns it into ``{"error": message}`` with its HTTP status.
"""
from __future__ import annotations

import json
import re
from typing import Any, Optional, Sequence

import numpy as np

JSON_TYPES = ("application/json",)
# curl -d sends this when no Content-Type is given, and TF Serving's own documented curl commands rely on it.
LENIENT_TYPES = ("application/x-www-form-urlencoded", "")


class ApiError(Exception):
    """A request the server refuses: HTTP ``status`` and a message for ``{"error": ...}``."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def bad(message: str) -> ApiError:
    """A 400 ApiError."""
    return ApiError(400, message)


def read_json(request) -> dict:
    """The request body as a JSON object; 415 when it is declared as something else, 400 when it is not JSON.

    The body is read through Flask's limited stream, so a body over MAX_CONTENT_LENGTH raises 413 even when it is
    sent chunked, without a Content-Length.
    """
    mimetype = (request.mimetype or "").lower()
    if mimetype not in JSON_TYPES + LENIENT_TYPES and not mimetype.endswith("+json"):
        raise ApiError(415, f"expected a JSON body (Content-Type: application/json), got Content-Type {mimetype!r}")
    raw = read_body(request)
    if not raw.strip():
        raise bad("empty request body: expected a JSON object such as {\"instances\": [...]} or {\"inputs\": [...]}")
    try:
        body = json.loads(raw.decode("utf-8-sig"))  # RFC 8259: JSON over a network is UTF-8
    except UnicodeDecodeError as exc:
        raise bad(f"malformed JSON: the body is not UTF-8 ({exc.reason} at byte {exc.start})") from None
    except ValueError as exc:
        raise bad(f"malformed JSON: {exc}") from None
    except RecursionError:
        raise bad("malformed JSON: arrays or objects nested too deeply") from None
    if not isinstance(body, dict):
        raise bad(f"expected a JSON object at the top level, got {json_type(body)}")
    return body


def read_body(request) -> bytes:
    """The whole body, read in chunks from Flask's limited stream.

    ``request.get_data()`` stops silently at MAX_CONTENT_LENGTH for a chunked body; reading on until the stream
    ends makes the limited stream raise RequestEntityTooLarge (413) instead of handing back a truncated body.
    """
    stream = request.stream
    chunks = []
    while True:
        chunk = stream.read(1 << 16)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def json_type(value: Any) -> str:
    """The JSON name of a decoded value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


ALL_NUMBERS = object()


def first_non_number(value: Any) -> Any:
    """The first leaf of nested lists that is not a JSON number, else ALL_NUMBERS (used only to word an error)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(reversed(item))
        elif isinstance(item, bool) or not isinstance(item, (int, float)):
            return item
    return ALL_NUMBERS


def to_array(value: Any, what: str) -> np.ndarray:
    """Nested JSON lists of numbers (or booleans) -> an ndarray; 400 for ragged or non-numeric values."""
    if isinstance(value, dict):
        raise bad(f"{what}: expected a number or nested arrays of numbers, got an object")
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as exc:
        found = re.search(r"after (\d+) dimensions", str(exc))
        where = f" (the lengths along axis {found.group(1)} differ)" if found else ""
        if "maximum number of dimension" in str(exc):
            raise bad(f"{what}: arrays nested too deeply (numpy allows at most 64 axes)") from None
        raise bad(f"{what}: ragged array: nested arrays must all have the same length{where}") from None
    if arr.dtype.kind in "iufb":
        return arr
    odd = first_non_number(value)
    if odd is ALL_NUMBERS:  # numpy only falls back to objects for integers beyond 64 bits
        raise bad(f"{what}: an integer does not fit in 64 bits; expected numbers within the int64/float64 range")
    shown = json.dumps(odd) if isinstance(odd, (str, type(None), bool)) else json_type(odd)
    raise bad(f"{what}: expected numbers, got {json_type(odd)} ({shown[:40]})")


def cast(arr: np.ndarray, dtype: str, what: str) -> np.ndarray:
    """``arr`` as ``dtype``: integers must be whole and in range, booleans are only taken for bool tensors."""
    target = np.dtype(dtype)
    kind = arr.dtype.kind
    if target.kind == "b":
        if kind == "b":
            return arr
        if kind in "iuf" and np.isin(arr, (0, 1)).all():
            return arr.astype(bool)
        raise bad(f"{what}: expected booleans (true/false or 0/1) for dtype {target.name}, got other numbers")
    if kind == "b":
        raise bad(f"{what}: expected numbers for dtype {target.name}, got booleans")
    if target.kind in "iu":
        if kind == "f":
            if not np.isfinite(arr).all() or not (arr == np.round(arr)).all():
                raise bad(f"{what}: expected whole numbers for dtype {target.name}, got fractional or non-finite "
                          f"values")
        if arr.size:
            info = np.iinfo(target)
            low, high = arr.min(), arr.max()
            if low < info.min or high > info.max:
                raise bad(f"{what}: values must lie in [{info.min}, {info.max}] for dtype {target.name}, got "
                          f"{low}..{high}")
    with np.errstate(over="ignore", invalid="ignore"):
        return arr.astype(target, copy=False)


def show_shape(shape: Sequence[Optional[int]]) -> str:
    """``(None, 64)`` for a signature shape, ``(1, 64)`` for an array shape."""
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def check_shape(arr: np.ndarray, spec, what: str, hint: str = "") -> None:
    """400 unless ``arr`` fits the input ``spec``: same rank, a non-empty batch, every fixed axis equal."""
    expected = tuple(spec.shape)
    if arr.ndim != len(expected):
        raise bad(f"{what}: expected rank {len(expected)} (shape {show_shape(expected)}, axis 0 the batch), got "
                  f"rank {arr.ndim} (shape {show_shape(arr.shape)}){hint}")
    if arr.ndim and arr.shape[0] == 0:
        raise bad(f"{what}: empty batch: expected at least one instance, got shape {show_shape(arr.shape)}")
    for axis, (want, got) in enumerate(zip(expected, arr.shape)):
        if axis and want is not None and want != got:
            raise bad(f"{what}, axis {axis}: expected {want}, got {got} (expected shape {show_shape(expected)}, "
                      f"got {show_shape(arr.shape)})")


def as_input(value: Any, spec, what: str, hint: str = "") -> np.ndarray:
    """A JSON value for one model input -> a checked array of the input's dtype."""
    if spec.dtype == "string":  # raw-text models: JSON strings, not numbers
        from .strings import as_string_input

        return as_string_input(value, spec, what, hint)
    arr = to_array(value, what)
    check_shape(arr, spec, what, hint)
    return cast(arr, spec.dtype, what)
