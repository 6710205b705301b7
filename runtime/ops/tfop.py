"""TFOpLambda: the allow-listed tensor operations of ``format/tfops.py`` (Keras 2 TFOpLambda/SlicingOpLambda and
Keras 3 ``keras.ops`` calls), each a numpy function of the call's tensors and the constants read from the file."""
import numpy as np

from ...errors import ModelFormatError
from ...format.tfops import TENSOR
from ..kernels.activations import FUNCTIONS, _softmax
from .merge import _same_shape

BINARY = {"math.add": np.add, "math.subtract": np.subtract, "math.multiply": np.multiply,
          "math.truediv": np.true_divide, "math.maximum": np.maximum, "math.minimum": np.minimum}
UNARY = {"math.negative": np.negative, "math.abs": np.abs, "math.sqrt": np.sqrt, "math.square": np.square,
         "math.exp": np.exp, "math.log": np.log, "math.tanh": np.tanh, "math.sigmoid": FUNCTIONS["sigmoid"],
         "nn.relu": FUNCTIONS["relu"], "nn.relu6": FUNCTIONS["relu6"]}
REDUCE = {"math.reduce_mean": np.mean, "math.reduce_sum": np.sum, "math.reduce_max": np.max}


def _fail(layer, why):
    return ModelFormatError(f"layer {layer.name!r} (TFOpLambda {layer.config['function']}): {why}")


def _operand(value, shapes):
    """``(getter, shape)`` for one argument: a tensor of the call or a float32 constant."""
    if isinstance(value, dict) and TENSOR in value:
        i = value[TENSOR]
        return (lambda xs: xs[i]), shapes[i]
    const = np.asarray(value, dtype=np.float32)
    return (lambda xs: const), tuple(const.shape)


def _broadcast_shape(layer, a, b):
    """numpy/TF broadcasting of two shapes (batch included); constants have no batch axis."""
    rank = max(len(a), len(b))
    out = []
    for axis in range(rank):
        da = a[axis - rank + len(a)] if axis - rank + len(a) >= 0 else 1
        db = b[axis - rank + len(b)] if axis - rank + len(b) >= 0 else 1
        if da is not None and db is not None and da != 1 and db != 1 and da != db:
            raise _fail(layer, f"operands of shapes {a} and {b} do not broadcast")
        out.append(db if da == 1 else da if db == 1 else (da if da is not None else db))
    return tuple(out)


def _axes(layer, axis, rank):
    axes = [axis] if isinstance(axis, int) else list(axis)
    out = []
    for a in axes:
        if not -rank <= a < rank:
            raise _fail(layer, f"axis {a} is out of range for an input of rank {rank}")
        out.append(a % rank)
    if 0 in out:
        raise _fail(layer, "an op over the batch axis is not supported")
    return tuple(sorted(set(out)))


def _binary(layer, args, shapes):
    (fa, sa), (fb, sb) = _operand(args["x"], shapes), _operand(args["y"], shapes)
    fn = BINARY[layer.config["function"]]
    out = _broadcast_shape(layer, sa, sb)
    if len(out) != max(len(s) for s in shapes):
        raise _fail(layer, f"a constant of shape {sb if len(sb) > len(sa) else sa} outranks the tensor")
    return (lambda *xs: fn(fa(xs), fb(xs)).astype(np.float32, copy=False)), out


def _reduce(layer, args, shapes):
    shape = shapes[0]
    axes = _axes(layer, args["axis"], len(shape))
    keep = bool(args["keepdims"])
    fn = REDUCE[layer.config["function"]]
    out = tuple(1 if i in axes else d for i, d in enumerate(shape)) if keep else tuple(
        d for i, d in enumerate(shape) if i not in axes)
    return (lambda x: fn(x, axis=axes, keepdims=keep).astype(np.float32, copy=False)), out


def _reshape(layer, args, shapes):
    shape, target = shapes[0], [int(v) for v in args["shape"][1:]]
    rest = shape[1:]
    if None not in rest:
        total, known = int(np.prod(rest, dtype=np.int64)), int(np.prod([t for t in target if t != -1],
                                                                          dtype=np.int64))
        if (-1 in target and total % max(known, 1)) or (-1 not in target and known != total):
            raise _fail(layer, f"cannot reshape {tuple(rest)} to {tuple(target)}")
        target = [total // max(known, 1) if t == -1 else t for t in target]
    full = (-1,) + tuple(target)
    return (lambda x: x.reshape(full)), (None,) + tuple(None if t == -1 else t for t in target)


def _transpose(layer, args, shapes):
    perm = tuple(int(p) for p in args["perm"])
    if len(perm) != len(shapes[0]):
        raise _fail(layer, f"perm {list(perm)} does not match an input of rank {len(shapes[0])}")
    return (lambda x: np.ascontiguousarray(x.transpose(perm))), tuple(shapes[0][p] for p in perm)


def _expand_dims(layer, args, shapes):
    shape = shapes[0]
    axis = int(args["axis"])
    if not -len(shape) - 1 <= axis <= len(shape):
        raise _fail(layer, f"axis {axis} is out of range for an input of rank {len(shape)}")
    axis %= len(shape) + 1
    return (lambda x: np.expand_dims(x, axis)), shape[:axis] + (1,) + shape[axis:]


def _squeeze(layer, args, shapes):
    shape = shapes[0]
    axes = _axes(layer, args["axis"], len(shape))
    if any(shape[a] not in (1, None) for a in axes):
        raise _fail(layer, f"cannot squeeze axes {list(axes)} of shape {shape}")
    return (lambda x: np.squeeze(x, axis=axes)), tuple(d for i, d in enumerate(shape) if i not in axes)


def _concat(layer, args, shapes):
    index = [v[TENSOR] for v in args["values"]]
    parts = [shapes[i] for i in index]
    rank = len(parts[0])
    if any(len(p) != rank for p in parts):
        raise _fail(layer, f"inputs of different ranks {parts}")
    (axis,) = _axes(layer, args["axis"], rank)
    sizes = [p[axis] for p in parts]
    out = list(_same_shape(layer, [p[:axis] + (1,) + p[axis + 1:] for p in parts]))
    out[axis] = None if None in sizes else sum(sizes)
    return (lambda *xs: np.concatenate([xs[i] for i in index], axis=axis)), tuple(out)


def _getitem(layer, args, shapes):
    shape = shapes[0]
    spec = args["slice_spec"]
    if len(spec) > len(shape):
        raise _fail(layer, f"{len(spec)} indices for an input of rank {len(shape)}")
    key, out = [], []
    for axis, (item, dim) in enumerate(zip(spec + [None] * (len(shape) - len(spec)), shape)):
        if item is None:
            key.append(slice(None))
            out.append(dim)
        elif isinstance(item, int):
            if dim is not None and not -dim <= item < dim:
                raise _fail(layer, f"index {item} is out of range for axis {axis} of size {dim}")
            key.append(item)
        else:
            s = slice(item["start"], item["stop"], item["step"])
            key.append(s)
            out.append(None if dim is None else len(range(*s.indices(dim))))
    key = tuple(key)
    return (lambda x: np.ascontiguousarray(x[key])), tuple(out)


def _unary(layer, args, shapes):
    fn = UNARY[layer.config["function"]]
    return (lambda x: np.asarray(fn(x), dtype=np.float32)), shapes[0]


def _silu(layer, args, shapes):
    beta = np.float32(args["beta"])
    sigmoid = FUNCTIONS["sigmoid"]
    return (lambda x: (x * sigmoid(beta * x)).astype(np.float32, copy=False)), shapes[0]


def _softmax_op(layer, args, shapes):
    (axis,) = _axes(layer, args["axis"], len(shapes[0]))
    return (lambda x: _softmax(x, axis).astype(np.float32, copy=False)), shapes[0]


SPECIAL = {"math.reduce_mean": _reduce, "math.reduce_sum": _reduce, "math.reduce_max": _reduce,
           "reshape": _reshape, "transpose": _transpose, "expand_dims": _expand_dims, "squeeze": _squeeze,
           "concat": _concat, "__operators__.getitem": _getitem, "nn.silu": _silu, "nn.softmax": _softmax_op}


def tf_op(layer, shapes):
    """The builder for a TFOpLambda LayerSpec (the op name was checked against the allow-list on read)."""
    name = layer.config["function"]
    args = layer.config["arguments"]
    if name in BINARY:
        fn, out = _binary(layer, args, shapes)
    elif name in UNARY:
        fn, out = _unary(layer, args, shapes)
    else:
        fn, out = SPECIAL[name](layer, args, shapes)
    return fn, [out]


OPS = {"TFOpLambda": tf_op}
