"""``keraslite.ops``: Keras 3's ``keras.ops`` names on keraslite tensors (numpy semantics, differentiable).

Inputs may be Tensors, Variables, numpy arrays, numbers or nested lists; results are Tensors (``.numpy()``).
"""
from __future__ import annotations

import builtins

import numpy as np

from ..errors import KerasliteError
from . import activations as A
from .autodiff import Tensor, as_array, conv as C, elementwise as E, linalg as L, nn as N, reduce as R, shape as S
from .autodiff.core import FLOATX, primitive
from . import image_ops as image  # keras.ops.image


def _t(x):
    """Tensors and numbers pass through; lists and tuples become arrays."""
    if isinstance(x, (Tensor, int, float, bool, np.ndarray, np.generic)):
        return x
    return as_array(x)


def _v(x):
    return x._v if isinstance(x, Tensor) else np.asarray(x)


def convert_to_tensor(x, dtype=None, sparse=None):
    """``x`` as a Tensor (Python floats become float32)."""
    if isinstance(x, Tensor) and dtype is None:
        return x
    if isinstance(x, Tensor):
        return cast(x, dtype)
    return Tensor(as_array(x, dtype))


def convert_to_numpy(x):
    return np.array(_v(x)) if not isinstance(x, Tensor) else x.numpy()


def is_tensor(x):
    return isinstance(x, Tensor)


def shape(x):
    return tuple(np.shape(_v(x)))


def ndim(x):
    return np.ndim(_v(x))


def size(x):
    return int(np.size(_v(x)))


def dtype(x):
    return str(np.result_type(_v(x)))


# ---------------------------------------------------------------------------------------------- creation
def _dt(dtype):
    return np.dtype(dtype or FLOATX)


def zeros(shape, dtype=None):
    return Tensor(np.zeros(shape, _dt(dtype)))


def ones(shape, dtype=None):
    return Tensor(np.ones(shape, _dt(dtype)))


def full(shape, fill_value, dtype=None):
    return Tensor(np.full(shape, fill_value, _dt(dtype)))


def zeros_like(x, dtype=None):
    return Tensor(np.zeros_like(_v(x), dtype=dtype))


def ones_like(x, dtype=None):
    return Tensor(np.ones_like(_v(x), dtype=dtype))


def full_like(x, fill_value, dtype=None):
    return Tensor(np.full_like(_v(x), fill_value, dtype=dtype))


def arange(start, stop=None, step=1, dtype=None):
    out = np.arange(start, stop, step) if stop is not None else np.arange(start)
    if dtype is None:
        dtype = "int32" if out.dtype.kind in "iu" else FLOATX
    return Tensor(out.astype(dtype))


def linspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    return Tensor(np.linspace(start, stop, num, endpoint=endpoint, axis=axis).astype(_dt(dtype)))


def eye(N, M=None, k=0, dtype=None):
    return Tensor(np.eye(N, M, k, dtype=_dt(dtype)))


def identity(n, dtype=None):
    return eye(n, dtype=dtype)


def one_hot(x, num_classes, axis=-1, dtype=None):
    idx = _v(x).astype(np.int64)
    out = (idx[..., None] == np.arange(num_classes)).astype(_dt(dtype))
    return Tensor(np.moveaxis(out, -1, axis) if axis != -1 else out)


# ---------------------------------------------------------------------------------------------- arithmetic
def add(x1, x2):
    return E.add(_t(x1), _t(x2))


def subtract(x1, x2):
    return E.subtract(_t(x1), _t(x2))


def multiply(x1, x2):
    return E.multiply(_t(x1), _t(x2))


def divide(x1, x2):
    return E.divide(_t(x1), _t(x2))


true_divide = divide


def divide_no_nan(x1, x2):
    safe = E.where(E.equal(_t(x2), 0), 1.0, _t(x2))
    return E.where(E.equal(_t(x2), 0), 0.0, E.divide(_t(x1), safe))


def floor_divide(x1, x2):
    return E.floor_divide(_t(x1), _t(x2))


def mod(x1, x2):
    return E.mod(_t(x1), _t(x2))


def negative(x):
    return E.negative(_t(x))


def power(x1, x2):
    return E.power(_t(x1), _t(x2))


def square(x):
    return E.square(_t(x))


def sqrt(x):
    return E.sqrt(_t(x))


def rsqrt(x):
    return E.rsqrt(_t(x))


def exp(x):
    return E.exp(_t(x))


def expm1(x):
    return E.expm1(_t(x))


def log(x):
    return E.log(_t(x))


def log1p(x):
    return E.log1p(_t(x))


def abs(x):  # noqa: A001 (Keras' name)
    return E.absolute(_t(x))


absolute = abs


def sign(x):
    return E.sign(_t(x))


def maximum(x1, x2):
    return E.maximum(_t(x1), _t(x2))


def minimum(x1, x2):
    return E.minimum(_t(x1), _t(x2))


def clip(x, x_min, x_max):
    return E.clip(_t(x), x_min, x_max)


def where(condition, x1=None, x2=None):
    if x1 is None and x2 is None:
        return tuple(Tensor(i.astype(np.int32)) for i in np.nonzero(_v(condition)))
    return E.where(_v(condition), _t(x1), _t(x2))


def cast(x, dtype):
    return E.cast(_t(x), np.dtype(dtype))


def sin(x):
    return E.sin(_t(x))


def cos(x):
    return E.cos(_t(x))


def arctan(x):
    return E.arctan(_t(x))


def floor(x):
    return E.floor(_t(x))


def ceil(x):
    return E.ceil(_t(x))


def round(x, decimals=0):  # noqa: A001
    return E.round_(_t(x))


def erf(x):
    return E.erf(_t(x))


def equal(x1, x2):
    return E.equal(_t(x1), _t(x2))


def not_equal(x1, x2):
    return E.not_equal(_t(x1), _t(x2))


def less(x1, x2):
    return E.less(_t(x1), _t(x2))


def less_equal(x1, x2):
    return E.less_equal(_t(x1), _t(x2))


def greater(x1, x2):
    return E.greater(_t(x1), _t(x2))


def greater_equal(x1, x2):
    return E.greater_equal(_t(x1), _t(x2))


def logical_and(x1, x2):
    return E.logical_and(_t(x1), _t(x2))


def logical_or(x1, x2):
    return E.logical_or(_t(x1), _t(x2))


def logical_not(x):
    return E.logical_not(_t(x))


def isnan(x):
    return E.isnan(_t(x))


def isfinite(x):
    return E.isfinite(_t(x))


stop_gradient = primitive("stop_gradient", lambda x: x)

# ---------------------------------------------------------------------------------------------- reductions


def sum(x, axis=None, keepdims=False):  # noqa: A001
    return R.sum_(_t(x), axis=_axis(axis), keepdims=keepdims)


def mean(x, axis=None, keepdims=False):
    return R.mean(_t(x), axis=_axis(axis), keepdims=keepdims)


def max(x, axis=None, keepdims=False, initial=None):  # noqa: A001
    return R.max_(_t(x), axis=_axis(axis), keepdims=keepdims)


def min(x, axis=None, keepdims=False, initial=None):  # noqa: A001
    return R.min_(_t(x), axis=_axis(axis), keepdims=keepdims)


amax, amin = max, min


def prod(x, axis=None, keepdims=False, dtype=None):
    return R.prod(_t(x), axis=_axis(axis), keepdims=keepdims)


def var(x, axis=None, keepdims=False):
    return R.var(_t(x), axis=_axis(axis), keepdims=keepdims)


def std(x, axis=None, keepdims=False):
    return E.sqrt(var(x, axis, keepdims))


def logsumexp(x, axis=None, keepdims=False):
    return R.logsumexp(_t(x), axis=_axis(axis), keepdims=keepdims)


def cumsum(x, axis=None, dtype=None):
    return R.cumsum(_t(x), axis=axis)


def argmax(x, axis=None, keepdims=False):
    return Tensor(np.argmax(_v(x), axis=axis, keepdims=keepdims).astype(np.int32))


def argmin(x, axis=None, keepdims=False):
    return Tensor(np.argmin(_v(x), axis=axis, keepdims=keepdims).astype(np.int32))


def any(x, axis=None, keepdims=False):  # noqa: A001
    return Tensor(np.any(_v(x), axis=_axis(axis), keepdims=keepdims))


def all(x, axis=None, keepdims=False):  # noqa: A001
    return Tensor(np.all(_v(x), axis=_axis(axis), keepdims=keepdims))


def norm(x, ord=None, axis=None, keepdims=False):  # noqa: A002
    if ord not in (None, 2, "fro", "euclidean"):
        raise KerasliteError(f"ops.norm supports the 2-norm only (ord=None); got ord={ord!r}")
    return E.sqrt(R.sum_(E.square(_t(x)), axis=_axis(axis), keepdims=keepdims))


def moments(x, axes, keepdims=False, synchronized=False):
    m = mean(x, axes, keepdims=True)
    v = mean(square(subtract(x, stop_gradient(m))), axes, keepdims=keepdims)
    return (m if keepdims else squeeze(m, axes)), v


def _axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis


# ---------------------------------------------------------------------------------------------- shapes
def reshape(x, newshape):
    return S.reshape(_t(x), tuple(-1 if d is None else int(d) for d in newshape))


def transpose(x, axes=None):
    return S.transpose(_t(x), None if axes is None else tuple(axes))


def expand_dims(x, axis):
    return S.expand_dims(_t(x), axis)


def squeeze(x, axis=None):
    return S.squeeze(_t(x), _axis(axis))


def swapaxes(x, axis1, axis2):
    order = list(range(ndim(x)))
    order[axis1], order[axis2] = order[axis2], order[axis1]
    return transpose(x, order)


def moveaxis(x, source, destination):
    order = list(np.moveaxis(np.arange(ndim(x)), source, destination))
    return transpose(x, order)


def broadcast_to(x, shape):
    return S.broadcast_to(_t(x), tuple(shape))


def concatenate(xs, axis=0):
    return S.concatenate(*[_t(x) for x in xs], axis=axis)


def stack(x, axis=0):
    return S.stack(*[_t(v) for v in x], axis=axis)


def split(x, indices_or_sections, axis=0):
    return list(S.split(_t(x), indices_or_sections, axis=axis))


def unstack(x, num=None, axis=0):
    n = shape(x)[axis]
    return [squeeze(p, axis) for p in split(x, n, axis)]


def take(x, indices, axis=None):
    return S.take(_t(x), _v(indices).astype(np.intp), axis=axis)


def take_along_axis(x, indices, axis=None):
    return S.take_along_axis(_t(x), _v(indices).astype(np.intp), axis)


def tile(x, repeats):
    return S.tile(_t(x), tuple(repeats) if not np.isscalar(repeats) else (repeats,))


def repeat(x, repeats, axis=None):
    return S.repeat(_t(x), repeats, axis=axis)


def pad(x, pad_width, mode="constant", constant_values=None):
    return S.pad(_t(x), tuple(tuple(p) for p in pad_width), mode=mode, constant_values=constant_values or 0)


def flip(x, axis=None):
    return S.flip(_t(x), axis)


def slice(inputs, start_indices, shape):  # noqa: A001
    index = tuple(builtins.slice(int(s), int(s) + int(n)) for s, n in zip(start_indices, shape))
    return S.getitem(_t(inputs), index)


def sort(x, axis=-1):
    order = np.argsort(_v(x), axis=axis, kind="stable")
    return take_along_axis(x, order, axis=axis)


def argsort(x, axis=-1):
    return Tensor(np.argsort(_v(x), axis=axis, kind="stable").astype(np.int32))


def top_k(x, k, sorted=True):  # noqa: A002
    idx = np.argsort(-_v(x), axis=-1, kind="stable")[..., :k]
    return take_along_axis(x, idx, axis=-1), Tensor(idx.astype(np.int32))


def in_top_k(targets, predictions, k):
    pred = _v(predictions)
    target = _v(targets).astype(np.int64)
    picked = np.take_along_axis(pred, target[:, None], axis=-1)
    return Tensor(np.sum(pred > picked, axis=-1) < k)


# ---------------------------------------------------------------------------------------------- linear algebra
def matmul(x1, x2):
    a, b = _t(x1), _t(x2)
    if ndim(a) == 1 and ndim(b) == 1:
        return R.sum_(E.multiply(a, b))
    if ndim(a) == 1:
        return squeeze(L.matmul(expand_dims(a, 0), b), -2)
    if ndim(b) == 1:
        return squeeze(L.matmul(a, expand_dims(b, -1)), -1)
    return L.matmul(a, b)


def dot(x1, x2):
    if ndim(x1) == 0 or ndim(x2) == 0:
        return multiply(x1, x2)
    if ndim(x2) <= 2:
        return matmul(x1, x2)
    return tensordot(x1, x2, axes=([ndim(x1) - 1], [ndim(x2) - 2]))


def einsum(subscripts, *operands):
    return L.einsum(*[_t(o) for o in operands], subscripts=subscripts)


def tensordot(x1, x2, axes=2):
    return L.tensordot(_t(x1), _t(x2), axes=axes)


def outer(x1, x2):
    return multiply(reshape(x1, (-1, 1)), reshape(x2, (1, -1)))


# ---------------------------------------------------------------------------------------------- neural networks
relu, relu6, sigmoid, tanh, softplus, softsign, elu, selu, gelu = (A.relu, A.relu6, A.sigmoid, A.tanh, A.softplus,
                                                                   A.softsign, A.elu, A.selu, A.gelu)
silu = swish = A.silu
leaky_relu, mish, hard_sigmoid, hard_silu = A.leaky_relu, A.mish, A.hard_sigmoid, A.hard_silu
hard_swish = hard_silu


def softmax(x, axis=-1):
    return A.softmax(_t(x), axis=axis)


def log_softmax(x, axis=-1):
    return A.log_softmax(_t(x), axis=axis)


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    from .losses import functions

    return functions.categorical_crossentropy_raw(target, output, from_logits, axis)


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    from .losses import functions

    return functions.sparse_categorical_crossentropy_raw(target, output, from_logits, axis)


def binary_crossentropy(target, output, from_logits=False):
    from .losses import functions

    return functions.binary_crossentropy_raw(target, output, from_logits)


def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """N-D convolution, channels last (1-D and 2-D)."""
    x = _t(inputs)
    rank = ndim(x) - 2
    strides = (strides,) * rank if np.isscalar(strides) else tuple(strides)
    dilation = (dilation_rate,) * rank if np.isscalar(dilation_rate) else tuple(dilation_rate)
    if rank == 1:
        out = C.conv2d(expand_dims(x, 1), expand_dims(_t(kernel), 0), None, strides=(1, strides[0]),
                       padding=padding, dilation=(1, dilation[0]))
        return squeeze(out, 1)
    return C.conv2d(x, _t(kernel), None, strides=strides, padding=padding, dilation=dilation)


def max_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    pool = (pool_size,) * 2 if np.isscalar(pool_size) else tuple(pool_size)
    strides = pool if strides is None else ((strides,) * 2 if np.isscalar(strides) else tuple(strides))
    return C.max_pool2d(_t(inputs), pool=pool, strides=strides, padding=padding)


def average_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    pool = (pool_size,) * 2 if np.isscalar(pool_size) else tuple(pool_size)
    strides = pool if strides is None else ((strides,) * 2 if np.isscalar(strides) else tuple(strides))
    return C.avg_pool2d(_t(inputs), pool=pool, strides=strides, padding=padding)


def batch_normalization(x, mean, variance, axis, offset=None, scale=None, epsilon=1e-3):
    inv = rsqrt(add(variance, epsilon))
    if scale is not None:
        inv = multiply(inv, scale)
    out = multiply(subtract(x, mean), inv)
    return add(out, offset) if offset is not None else out


def dense(x, kernel, bias=None, activation="linear"):
    """``activation(x @ kernel + bias)`` as one fused node (relu, relu6, tanh or linear)."""
    return N.dense(_t(x), _t(kernel), bias, activation=activation)


__all__ = [n for n in dir() if not n.startswith("_") and n not in ("np", "annotations", "KerasliteError", "builtins", "primitive")]
