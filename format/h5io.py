"""Careful HDF5 access for files from strangers: no soft/external links, no external or virtual datasets, no
datasets that declare far more data than the file stores, numeric dtypes only, and every h5py failure turned into
a ``ModelFormatError`` that names the file and the object."""
from __future__ import annotations

import contextlib
import functools
import json
from typing import Any, Iterator, List, Optional

import h5py
import numpy as np

from ..errors import ModelFormatError

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
MAX_ARRAY_BYTES = 4 << 30          # no single weight above 4 GiB
MAX_DECLARED_OVER_STORED = 64      # a dataset may not declare 64x more bytes than it stores (beyond 1 MiB)
MAX_ATTR_ITEMS = 1 << 20           # names in one attribute (a million layers or weights)
MAX_ATTR_BYTES = 64 << 20          # an attribute's storage (a model_config of 64 MiB)


@contextlib.contextmanager
def open_h5(path_or_file: Any, label: str) -> Iterator[h5py.File]:
    """Open an HDF5 file read-only; a damaged or non-HDF5 file raises ModelFormatError naming ``label``."""
    try:
        f = h5py.File(path_or_file, "r")
    except (OSError, ValueError) as exc:
        raise ModelFormatError(f"{label}: not a readable HDF5 file ({_short(exc)}); expected a Keras .h5 file. "
                               "Is it truncated or of another format?") from None
    try:
        yield f
    finally:
        try:
            f.close()
        except Exception:  # closing a damaged file can fail too; the first error is the useful one
            pass


def _short(exc: BaseException) -> str:
    return str(exc).split("\n")[0][:200]


def has(group: h5py.Group, name: str, label: str) -> bool:
    """``name in group`` for a damaged file too: h5py raises RuntimeError when a link table is corrupt."""
    try:
        return name in group
    except Exception as exc:
        raise ModelFormatError(f"{label}: cannot read {group.name!r} ({_short(exc)}); is the file damaged?") from None


def _open(gid: Any, name: str, label: str) -> Any:
    """The low-level object id at ``name`` under group id ``gid``, refusing soft and external links on every step.

    h5py's low-level calls, not ``group[name]``: a model has hundreds of weights, and the high-level path costs
    several lookups and wrapper objects per step (about two thirds of reading a MobileNetV2 file).
    """
    node = gid
    for part in [p for p in name.split("/") if p]:
        key = part.encode()
        try:
            if not node.links.exists(key):
                where = h5py.h5i.get_name(node).decode(errors="replace")
                raise ModelFormatError(f"{label}: missing {name!r} in {where!r}")
            kind = node.links.get_info(key).type
            if kind != h5py.h5l.TYPE_HARD:
                where = h5py.h5i.get_name(node).decode(errors="replace").rstrip("/")
                what = {h5py.h5l.TYPE_SOFT: "soft", h5py.h5l.TYPE_EXTERNAL: "external"}.get(kind, "user-defined")
                raise ModelFormatError(f"{label}: {where}/{part} is a {what} link; links are refused in model files")
            node = h5py.h5o.open(node, key)
        except ModelFormatError:
            raise
        except Exception as exc:
            raise ModelFormatError(f"{label}: cannot read {name!r} ({_short(exc)})") from None
    return node


def child(group: h5py.Group, name: str, label: str) -> Any:
    """``group[name]`` (``name`` may hold ``/``), refusing soft and external links on every step."""
    oid = _open(group.id, name, label)
    if isinstance(oid, h5py.h5d.DatasetID):
        return h5py.Dataset(oid)
    if isinstance(oid, h5py.h5g.GroupID):
        return h5py.Group(oid)
    raise ModelFormatError(f"{label}: {name!r} is neither a group nor a dataset; refused in model files")


def attr(obj: Any, name: str, label: str) -> Any:
    """An attribute decoded to str / list of str / JSON-able Python, or None when absent."""
    key = name.encode()
    try:
        if not h5py.h5a.exists(obj.id, key):
            return None
        # A damaged or hostile header can declare billions of elements; h5py would allocate and convert them all
        # (minutes of CPU for variable-length strings) before anything could look at the value.
        aid = h5py.h5a.open(obj.id, key)
        space, ftype = aid.get_space(), aid.get_type()
        items = space.get_simple_extent_npoints()
        stored = items * ftype.get_size()
        if items > MAX_ATTR_ITEMS or stored > MAX_ATTR_BYTES:
            raise ModelFormatError(f"{label}: attribute {name!r} declares {items} values ({stored} bytes); refused "
                                   "as damaged or hostile")
        simple = space.get_simple_extent_type() in (h5py.h5s.SIMPLE, h5py.h5s.SCALAR)
        if simple and ftype.get_class() == h5py.h5t.STRING and ftype.is_variable_str():
            # Keras' names and JSON: read straight into an array, several times cheaper than ``attrs[name]``,
            # which a file with hundreds of layers pays hundreds of times.
            dtype, mtype = _vlen_string(ftype.get_cset())
            value = np.empty(space.get_simple_extent_dims(), dtype)
            aid.read(value, mtype=mtype)
            if value.ndim == 0:
                value = value[()]
        else:
            value = obj.attrs[name]
    except ModelFormatError:
        raise
    except Exception as exc:
        raise ModelFormatError(f"{label}: cannot read attribute {name!r} ({_short(exc)})") from None
    return _decode(value)


@functools.lru_cache(maxsize=None)
def _vlen_string(cset: int):
    """(numpy dtype, HDF5 memory type) to read variable-length strings of character set ``cset``."""
    dtype = h5py.string_dtype("utf-8" if cset == h5py.h5t.CSET_UTF8 else "ascii")
    return dtype, h5py.h5t.py_create(dtype)


def _decode(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, np.ndarray):
        return [_decode(v) for v in value.tolist()] if value.dtype.kind in "SOU" else value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def name_list(obj: Any, name: str, label: str) -> Optional[List[str]]:
    """A list-of-names attribute, also when Keras chunked it as ``name0``, ``name1``, ... (None when absent)."""
    value = attr(obj, name, label)
    if value is None:
        chunks = []
        while True:
            part = attr(obj, f"{name}{len(chunks)}", label)
            if part is None:
                break
            chunks.append(part)
        if not chunks:
            return None
        value = [v for chunk in chunks for v in (chunk if isinstance(chunk, list) else [chunk])]
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ModelFormatError(f"{label}: attribute {name!r} must be a list of names, got {value!r:.200}")
    return value


def json_attr(obj: Any, name: str, label: str) -> Any:
    """A JSON attribute parsed, or None when absent."""
    text = attr(obj, name, label)
    if text is None:
        return None
    try:
        return json.loads(text)
    except (TypeError, ValueError) as exc:
        raise ModelFormatError(f"{label}: attribute {name!r} is not valid JSON ({_short(exc)})") from None


def array(group: h5py.Group, name: str, label: str) -> np.ndarray:
    """A numeric dataset read whole, after the safety checks."""
    ds = _open(group.id, name, label)

    def where() -> str:
        try:
            return f"{label}: dataset {h5py.h5i.get_name(ds).decode(errors='replace')!r}"
        except Exception:
            return f"{label}: dataset {name!r}"

    if not isinstance(ds, h5py.h5d.DatasetID):
        what = "a group" if isinstance(ds, h5py.h5g.GroupID) else "neither a group nor a dataset"
        raise ModelFormatError(f"{where()} is {what}, expected a weight array")
    try:
        plist = ds.get_create_plist()
        if plist.get_layout() == h5py.h5d.VIRTUAL:
            raise ModelFormatError(f"{where()} is a virtual dataset; refused in model files")
        if plist.get_external_count():
            raise ModelFormatError(f"{where()} stores its data in external files; refused in model files")
        dtype = ds.dtype
        if dtype.kind not in "fiub":
            raise ModelFormatError(f"{where()} has dtype {dtype}; expected a numeric weight array")
        space = ds.get_space()
        if space.get_simple_extent_type() == h5py.h5s.NULL:
            raise ModelFormatError(f"{where()} holds no data (an empty dataspace); expected a weight array")
        shape = space.get_simple_extent_dims()
        declared = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        stored = ds.get_storage_size()
        if declared > MAX_ARRAY_BYTES or (declared > (1 << 20) and declared > MAX_DECLARED_OVER_STORED * stored):
            raise ModelFormatError(f"{where()} declares {declared} bytes but stores {stored}; refused as a "
                                   "decompression bomb or a damaged file")
        out = np.empty(shape, dtype)
        if out.size:
            ds.read(h5py.h5s.ALL, h5py.h5s.ALL, out)
        return out
    except ModelFormatError:
        raise
    except Exception as exc:
        raise ModelFormatError(f"{where()} cannot be read ({_short(exc)}); is the file truncated?") from None
