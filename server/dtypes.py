"""Tensor datatype names of both protocols: V2 (``FP32``) and TensorFlow (``DT_FLOAT``), to and from numpy."""
from __future__ import annotations

import numpy as np

from .decode import bad

V2_TO_NUMPY = {
    "BOOL": "bool", "UINT8": "uint8", "UINT16": "uint16", "UINT32": "uint32", "UINT64": "uint64",
    "INT8": "int8", "INT16": "int16", "INT32": "int32", "INT64": "int64",
    "FP16": "float16", "FP32": "float32", "FP64": "float64",
}
NUMPY_TO_V2 = {v: k for k, v in V2_TO_NUMPY.items()}
NUMPY_TO_TF = {
    "bool": "DT_BOOL", "uint8": "DT_UINT8", "uint16": "DT_UINT16", "uint32": "DT_UINT32", "uint64": "DT_UINT64",
    "int8": "DT_INT8", "int16": "DT_INT16", "int32": "DT_INT32", "int64": "DT_INT64",
    "float16": "DT_HALF", "float32": "DT_FLOAT", "float64": "DT_DOUBLE",
}


def _is_string(dtype) -> bool:
    return dtype == "string" or (isinstance(dtype, np.dtype) and dtype.kind in "OSU")


def v2_name(dtype) -> str:
    """The V2 datatype of a numpy dtype (``float32`` -> ``FP32``; string inputs -> ``BYTES``)."""
    if _is_string(dtype):
        return "BYTES"
    return NUMPY_TO_V2.get(np.dtype(dtype).name, "FP32")


def tf_name(dtype) -> str:
    """The TensorFlow DataType name of a numpy dtype (``float32`` -> ``DT_FLOAT``; strings -> ``DT_STRING``)."""
    if _is_string(dtype):
        return "DT_STRING"
    return NUMPY_TO_TF.get(np.dtype(dtype).name, "DT_FLOAT")


def numpy_for_v2(datatype, what: str) -> str:
    """The numpy dtype for a V2 ``datatype`` (``"string"`` for BYTES); 400 naming the known ones otherwise."""
    if datatype == "BYTES":
        return "string"
    if not isinstance(datatype, str) or datatype not in V2_TO_NUMPY:
        raise bad(f"{what}: unknown datatype {datatype!r}; expected one of {sorted(V2_TO_NUMPY) + ['BYTES']}")
    return V2_TO_NUMPY[datatype]


def signature_shape(shape) -> list:
    """A signature shape for JSON: unknown axes (the batch) as -1."""
    return [-1 if d is None else int(d) for d in shape]
