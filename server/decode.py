"""Request decoding shared by both protocols: the JSON body, JSON values to typed arrays, checks against a signature.

Every client mistake becomes an ``ApiError`` whose message names the input, the axis, what was expected and what
was received; the app turns it into ``{"error": message}`` with its HTTP status. Values quoted from the request
go through ``clip`` so a huge field is never echoed back whole.
"""
from __future__ import annotations

import re
from typing import Any, Optional, Sequence

import numpy as np

from . import jsonio
from .body import take_body
from .numeric import LARGE, MalformedSpan, NumericText, Ragged, find_spans

JSON_TYPES = ("application/json",)
# curl -d sends this when no Content-Type is given, and TF Serving's own documented curl commands rely on it.
LENIENT_TYPES = ("application/x-www-form-urlencoded", "")
BODY_KEY = "keraslite.body"  # set by keraslite's gunicorn worker: the whole body, already read and de-chunked
CLIP = 40  # characters of a client's value quoted in an error message
BOM = b"\xef\xbb\xbf"


class ApiError(Exception):
    """A request the server refuses: HTTP ``status`` and a message for ``{"error": ...}``."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def bad(message: str) -> ApiError:
    """A 400 ApiError."""
    return ApiError(400, message)


def clip(value: Any, limit: int = CLIP) -> str:
    """``repr(value)`` cut to about ``limit`` characters, saying how long the original was."""
    if isinstance(value, str) and len(value) > limit:
        return f"{value[:limit]!r}... ({len(value)} characters)"
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def read_json(request, allow_non_finite: bool = False) -> dict:
    """The request body as a JSON object; 415 when it is declared as something else, 400 when it is not JSON.

    ``allow_non_finite`` accepts TF Serving's NaN/Infinity tokens. Large arrays of numbers come back as
    ``NumericText`` (see ``numeric``), turned into arrays by ``to_array`` once their dtype is known.
    """
    check_content_type(request.mimetype)
    return decode_object(read_body(request), allow_non_finite)


def check_content_type(mimetype: str) -> None:
    """415 unless ``mimetype`` (lower case, no parameters) is JSON or what curl sends by default."""
    mimetype = (mimetype or "").lower()
    if mimetype not in JSON_TYPES + LENIENT_TYPES and not mimetype.endswith("+json"):
        raise ApiError(415, f"expected a JSON body (Content-Type: application/json), got Content-Type "
                            f"{clip(mimetype)}")


def decode_object(raw, allow_non_finite: bool = False) -> dict:
    """A body's bytes as a JSON object (400 for an empty body, malformed JSON or another top-level value)."""
    if raw[:3] == BOM:  # RFC 8259 lets a parser ignore it; orjson does not
        raw = memoryview(raw)[3:]
    if not bytes(raw[:64]).strip() and not bytes(raw).strip():
        raise bad("empty request body: expected a JSON object such as {\"instances\": [...]} or {\"inputs\": [...]}")
    body = parse(raw, allow_non_finite)
    if not isinstance(body, dict):
        raise bad(f"expected a JSON object at the top level, got {json_type(body)}")
    return body


def read_body(request):
    """The whole body: handed over by keraslite's worker, or read in chunks from the WSGI stream.

    ``request.get_data()`` stops silently at MAX_CONTENT_LENGTH for a chunked body; reading on until the stream
    ends makes Flask's limited stream raise RequestEntityTooLarge (413) instead. A broken chunked encoding raises
    the WSGI server's own error while reading, which is the client's mistake: 400.
    """
    body = request.environ.get(BODY_KEY)
    if body is not None:
        return take_body(body)
    from werkzeug.exceptions import HTTPException

    stream, chunks = request.stream, []
    try:
        while True:
            chunk = stream.read(1 << 16)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
    except HTTPException:
        raise
    except Exception as exc:  # gunicorn's InvalidChunkSize, ChunkMissingTerminator, ... while reading the body
        raise bad(f"malformed request body: {type(exc).__name__}: {clip(str(exc), 80)}") from None


def parse(raw, allow_non_finite: bool = False) -> Any:
    """Decode the body; large numeric arrays are left as NumericText (see ``numeric``)."""
    spans, truncated = find_spans(raw) if len(raw) >= LARGE else ([], False)
    if truncated:
        raise bad("malformed JSON: the body ends inside an array (it was cut short)")
    if not spans:
        return _loads(raw, allow_non_finite)
    pieces, pos = [], 0
    for i, span in enumerate(spans):
        pieces += [raw[pos:span.start], b'"\\u0000kl:%d"' % i]
        pos = span.end
    pieces.append(raw[pos:])
    try:
        tree = jsonio.loads(b"".join(pieces), allow_non_finite)
    except ValueError:
        tree = None
    if tree is not None:
        found = [0] * len(spans)
        tree = _put_back(tree, spans, found)
        if found == [1] * len(spans):
            return tree
    # A span was not a JSON value of its own (it sat inside a string) or the rest is malformed: decode it with
    # each span as a plain number to tell which, then either report the error or decode the body whole.
    numbers = b"".join(p if i % 2 == 0 else b"0" for i, p in enumerate(pieces))
    try:
        jsonio.loads(numbers, allow_non_finite)
    except ValueError as exc:
        raise bad(_malformed(exc, raw, shift=[(s.start, s.end - s.start - 1) for s in spans])) from None
    return _loads(raw, allow_non_finite)


def _loads(raw, allow_non_finite: bool):
    try:
        return jsonio.loads(raw, allow_non_finite)
    except RecursionError:
        raise bad("malformed JSON: arrays or objects nested too deeply") from None
    except ValueError as exc:
        raise bad(_malformed(exc, raw)) from None


def _put_back(node, spans, found):
    """``node`` with the span markers replaced by their NumericText; counts each marker seen in ``found``."""
    if isinstance(node, str):
        if node.startswith("\x00kl:"):
            index = int(node[4:]) if node[4:].isdigit() else -1
            if 0 <= index < len(spans):
                found[index] += 1
                return spans[index]
        return node
    if isinstance(node, list):
        return [_put_back(v, spans, found) for v in node]
    if isinstance(node, dict):
        return {k: _put_back(v, spans, found) for k, v in node.items()}
    return node


def _malformed(exc: ValueError, raw, offset: int = 0, shift=()) -> str:
    """The 400 message for a decode error at ``exc.pos`` (+ ``offset``, + replaced spans before it)."""
    try:
        bytes(raw).decode("utf-8")
    except UnicodeDecodeError as bad_text:
        return f"malformed JSON: the body is not UTF-8 ({bad_text.reason} at byte {bad_text.start})"
    pos = getattr(exc, "pos", None)
    if pos is None:
        return f"malformed JSON: {clip(str(exc), 120)}"
    pos += offset
    for start, extra in shift:
        if start < pos:
            pos += extra
    return f"malformed JSON: {getattr(exc, 'msg', exc)} (at byte {pos})"


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
    if isinstance(value, (list, NumericText)):
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


def to_array(value: Any, what: str, dtype=None, max_batch: Optional[int] = None) -> np.ndarray:
    """Nested JSON lists of numbers (or booleans) -> an ndarray; 400 for ragged or non-numeric values.

    With ``dtype`` the result is cast (``cast``'s checks); a NumericText is then parsed straight into it.
    """
    if isinstance(value, NumericText):
        if dtype is None:
            raise bad(f"{what}: expected a single number, got an array")  # only V2 scalars ask for no dtype
        check_batch(value.rows, max_batch)
        try:
            return value.to_array(np.dtype(dtype), what, _converted,
                                  before_alloc=lambda shape: check_batch(shape[0], max_batch))
        except MalformedSpan as exc:
            raise bad(_malformed(exc.exc, b"", offset=exc.offset)) from None
        except Ragged as exc:
            raise _ragged(what, exc.axis) from None
    if isinstance(value, dict):
        raise bad(f"{what}: expected a number or nested arrays of numbers, got an object")
    if isinstance(value, list):
        check_batch(len(value), max_batch)
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as exc:
        found = re.search(r"after (\d+) dimensions", str(exc))
        if "maximum number of dimension" in str(exc):
            raise bad(f"{what}: arrays nested too deeply (numpy allows at most 64 axes)") from None
        raise _ragged(what, int(found.group(1)) if found else None) from None
    if arr.dtype.kind not in "iufb":
        odd = first_non_number(value)
        if odd is not ALL_NUMBERS:
            shown = clip(odd) if isinstance(odd, (str, type(None), bool)) else json_type(odd)
            raise bad(f"{what}: expected numbers, got {json_type(odd)} ({shown})")
        arr = np.asarray(value, dtype=np.float64)  # integers beyond 64 bits, read as floats like orjson does
    return arr if dtype is None else cast(arr, dtype, what)


def _converted(values, dtype, what, first_row):
    """One chunk of a NumericText's rows as ``dtype``; error messages count rows from ``first_row``."""
    return cast(to_array(values, what), dtype, what, first_row)


def _ragged(what: str, axis: Optional[int]) -> ApiError:
    where = f" (the lengths along axis {axis} differ)" if axis is not None else ""
    return bad(f"{what}: ragged array: nested arrays must all have the same length{where}")


def check_batch(rows: int, max_batch: Optional[int]) -> None:
    """413 when a request asks for more rows than ``--max-batch``."""
    if max_batch and rows > max_batch:
        raise ApiError(413, f"batch too large: {rows} rows, the limit is {max_batch} (--max-batch); send smaller "
                            f"batches or raise --max-batch")


def cast(arr: np.ndarray, dtype, what: str, first_row: int = 0) -> np.ndarray:
    """``arr`` as ``dtype``: integers must be whole and in range, floats must fit, booleans only for bool tensors.

    NaN and infinities already in ``arr`` (TF Serving's tokens) stay as they are; a finite value too large for a
    float dtype (``1e39`` for float32) is refused instead of becoming infinity.
    """
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
        out = arr.astype(target, copy=False)
    if target.kind == "f" and out.dtype != arr.dtype and out.size and not np.isfinite(out).all():
        overflow = ~np.isfinite(out) & np.isfinite(arr)
        if overflow.any():
            index = tuple(int(i) for i in np.argwhere(overflow)[0])
            largest, shown = float(np.finfo(target).max), [index[0] + first_row, *index[1:]]
            raise bad(f"{what}: value {float(arr[index]):g} at index {shown} does not fit dtype {target.name} "
                      f"(largest finite magnitude {largest:g}); scale the input or use a wider dtype")
    return out


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


def as_input(value: Any, spec, what: str, hint: str = "", max_batch: Optional[int] = None) -> np.ndarray:
    """A JSON value for one model input -> a checked array of the input's dtype."""
    if spec.dtype == "string":  # raw-text models: JSON strings, not numbers
        from .strings import as_string_input

        if isinstance(value, list):
            check_batch(len(value), max_batch)
        return as_string_input(value, spec, what, hint)
    arr = to_array(value, what, spec.dtype, max_batch)
    check_shape(arr, spec, what, hint)
    return arr
