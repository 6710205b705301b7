"""Merge ops: Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate."""
from functools import reduce

import numpy as np

from ...errors import ModelFormatError
from .. import native


def _same_shape(layer, shapes):
    """The broadcast output shape of the inputs, or ModelFormatError when known dims disagree."""
    rank = max(len(s) for s in shapes)
    out = []
    for axis in range(rank):
        dims = {s[axis - rank + len(s)] for s in shapes if axis - rank + len(s) >= 0} - {None, 1}
        if len(dims) > 1:
            raise ModelFormatError(f"layer {layer.name!r} ({layer.class_name}): inputs of shapes {shapes} do not "
                                   f"match on axis {axis}")
        known = [s[axis - rank + len(s)] for s in shapes if axis - rank + len(s) >= 0]
        out.append(dims.pop() if dims else (None if None in known else 1))
    out[0] = None
    return tuple(out)


def _elementwise(op):
    def build(layer, shapes):
        if len(shapes) < 2 and layer.class_name != "Add":
            raise ModelFormatError(f"layer {layer.name!r} ({layer.class_name}): needs at least 2 inputs, "
                                   f"got {len(shapes)}")
        return (lambda *xs: op(xs)), [_same_shape(layer, shapes)]
    return build


def _subtract(layer, shapes):
    if len(shapes) != 2:
        raise ModelFormatError(f"layer {layer.name!r} (Subtract): needs exactly 2 inputs, got {len(shapes)}")
    return (lambda a, b: a - b), [_same_shape(layer, shapes)]


def _concatenate(layer, shapes):
    rank = len(shapes[0])
    axis = int(layer.config.get("axis", -1)) % rank
    if any(len(s) != rank for s in shapes):
        raise ModelFormatError(f"layer {layer.name!r} (Concatenate): inputs of different ranks {shapes}")
    sizes = [s[axis] for s in shapes]
    out = list(_same_shape(layer, [s[:axis] + (1,) + s[axis + 1:] for s in shapes]))
    out[axis] = None if None in sizes else sum(sizes)
    lib = native.lib()
    if lib is None or axis != rank - 1 or len(shapes) > 64:
        return (lambda *xs: np.concatenate(xs, axis=axis)), [tuple(out)]

    def channels(*xs):  # the channels_last case (DenseNet's every block): one compiled pass on the pool
        lead = xs[0].shape[:-1]
        if all(type(x) is np.ndarray and x.dtype == np.float32 and x.flags.c_contiguous and x.shape[:-1] == lead
               for x in xs):
            y = np.empty(lead + (sum(x.shape[-1] for x in xs),), np.float32)
            lib.concat(xs, y)
            return y
        return np.concatenate(xs, axis=axis)
    return channels, [tuple(out)]


def _multiply(layer, shapes):
    """Multiply; a squeeze-and-excite gate (one input (N, 1, ..., 1, C) scaling the other's channels, as in
    EfficientNet and MobileNetV3) runs as one compiled per-channel scale per sample, the same products as numpy's
    broadcasting (which walks the broadcast axes ~1.7x slower)."""
    fn, out = _elementwise(lambda xs: reduce(np.multiply, xs))(layer, shapes)
    lib = native.lib()
    gate = [i for i, s in enumerate(shapes) if len(s) > 2 and all(d == 1 for d in s[1:-1])]
    if lib is None or len(shapes) != 2 or len(gate) != 1 or len(shapes[0]) != len(shapes[1]):
        return fn, out
    g_at = gate[0]

    def gated(a, b):
        x, g = (b, a) if g_at == 0 else (a, b)
        if (type(x) is np.ndarray and type(g) is np.ndarray and x.dtype == np.float32 and g.dtype == np.float32
                and x.flags.c_contiguous and g.flags.c_contiguous and x.ndim == g.ndim and x.ndim > 2
                and g.shape[0] == x.shape[0] and g.shape[-1] == x.shape[-1] and g.size == x.shape[0] * x.shape[-1]):
            y = np.empty(x.shape, np.float32)
            for n in range(x.shape[0]):
                lib.affine(x[n], g[n], None, y[n], 0)
            return y
        return fn(a, b)
    return gated, out


OPS = {
    "Add": _elementwise(lambda xs: reduce(np.add, xs)),
    "Subtract": _subtract,
    "Multiply": _multiply,
    "Average": _elementwise(lambda xs: (reduce(np.add, xs) * np.float32(1.0 / len(xs))).astype(np.float32)),
    "Maximum": _elementwise(lambda xs: reduce(np.maximum, xs)),
    "Minimum": _elementwise(lambda xs: reduce(np.minimum, xs)),
    "Concatenate": _concatenate,
}
