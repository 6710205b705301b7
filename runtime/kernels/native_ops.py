"""Dense, convolution, depthwise and recurrent steps on the compiled kernels (``runtime.native``): weights packed
once at plan time, bias, a residual and the activation fused into the kernel's store. Builders call these only when
``native.lib()`` is not None; each returns a closure over its packed weights."""
import threading

import numpy as np

from .. import native
from ..ops.common import pad_amounts
from . import activations


def _softmax(y):
    native.lib().softmax(y)
    return y


def _epilogue(name):
    """(activation code for the kernel, in-place function to run after it or None)."""
    code = native.act_code(name)
    if code is not None:
        return code, None
    if name == "softmax":  # over whole rows, so after the kernel's tiles (compiled: one pass, not four numpy calls)
        return native.ACT["linear"], _softmax
    return native.ACT["linear"], activations.get(name, inplace=True)


def _pre(prologue):
    """The kernels' prologue arguments (scale, shift, activation code) for ``(scale, shift, name)`` or None."""
    if prologue is None:
        return None, None, -1
    scale, shift, name = prologue
    f32 = (lambda a: None if a is None else np.ascontiguousarray(a, np.float32))
    return f32(scale), f32(shift), native.ACT[name]


_PACK_LOCK = threading.Lock()


class Packed:
    """Weights packed for the compiled GEMM on first use: the folds rebuild a layer's step several times while a
    plan is made (BatchNormalization, then the activation), and only the last build ever runs."""

    __slots__ = ("w2d", "groups", "value")

    def __init__(self, w2d, groups=1):
        self.w2d, self.groups, self.value = w2d, groups, None

    def get(self):
        with _PACK_LOCK:
            if self.value is None:
                self.value = native.pack(self.w2d, self.groups)
                self.w2d = None
        return self.value


def _f32(x):
    return x if x.dtype == np.float32 and x.flags.c_contiguous else np.ascontiguousarray(x, np.float32)


def dense(kernel, bias, act_name):
    """fn(x (..., K)) -> act(x @ kernel + bias) (..., units)."""
    gemm, packed, units = native.lib().gemm, Packed(kernel), kernel.shape[1]
    code, after = _epilogue(act_name)

    def run(x, res=None):
        x = _f32(x)
        res = None if res is None else _f32(res)
        y = np.empty(x.shape[:-1] + (units,), np.float32)
        gemm(x, packed.value if packed.value is not None else packed.get(), y, bias, res, code)
        return y if after is None else after(y)
    return run


class Window:
    """The sliding-window geometry of a conv-like layer: kernel, strides, dilation, Keras padding and the extra
    padding of an absorbed ZeroPadding2D; ``of(shape)`` -> (4-D input shape, output height and width, top and left
    padding), cached per input shape (dict reads and writes are atomic, so threads may share it)."""

    def __init__(self, rank, ks, st, dl, padding, extra=((0, 0), (0, 0))):
        self.rank, self.ks, self.st, self.dl, self.padding, self.extra = rank, ks, st, dl, padding, extra
        self.cache = {}

    def of(self, shape):
        got = self.cache.get(shape)
        if got is None:
            x4 = (shape[0], 1) + tuple(shape[1:]) if self.rank == 1 else tuple(shape)
            dims, front = [], []
            for n, k, s, d, (ea, eb) in zip(x4[1:3], self.ks, self.st, self.dl, self.extra):
                a, b = pad_amounts(n + ea + eb, k, s, d, self.padding)
                a, b = a + ea, b + eb
                dims.append(max((n + a + b - (k - 1) * d - 1) // s + 1, 0))
                front.append(a)
            got = self.cache[shape] = (x4, tuple(dims), front[0], front[1])
        return got


def conv(kernel2d, bias, act_name, groups, filters, prologue, window):
    """fn(x, res=None) -> act(conv(pre(x)) + bias + res) for a Conv1D/Conv2D; ``prologue``: ``(scale, shift,
    activation)`` applied to the input per channel as it is read (None: none); ``window``: a ``Window``."""
    op, packed = native.lib().conv, Packed(kernel2d, groups)
    code, after = _epilogue(act_name)
    ps, pre_t, pa = _pre(prologue)
    (kh, kw), (sh, sw), (dh, dw) = window.ks, window.st, window.dl
    rank = window.rank

    def run(x, res=None):
        x4shape, (oh, ow), pt, pl = window.of(x.shape)
        if x.dtype != np.float32 or not x.flags.c_contiguous:
            x = np.ascontiguousarray(x, np.float32)
        if res is not None and (res.dtype != np.float32 or not res.flags.c_contiguous):
            res = np.ascontiguousarray(res, np.float32)
        y = np.empty((x4shape[0], oh, ow, filters), np.float32)
        op(x if rank == 2 else x.reshape(x4shape), packed.value if packed.value is not None else packed.get(), y,
           bias, res if res is None or rank == 2 else res.reshape(y.shape), code, kh, kw, sh, sw, dh, dw, pt, pl,
           groups, ps, pre_t, pa)
        if rank == 1:
            y = y.reshape(y.shape[0], ow, filters)
        return y if after is None else after(y)
    return run


def depthwise(kernel3, bias, act_name, prologue, window):
    """fn(x) -> act(depthwise(pre(x)) + bias); kernel3 is (kh, kw, C*mult); ``window``: a ``Window`` (2-D)."""
    op = native.lib().depthwise
    code, after = _epilogue(act_name)
    ps, pre_t, pa = _pre(prologue)
    kernel3 = np.ascontiguousarray(kernel3, np.float32)
    cm = kernel3.shape[2]
    (sh, sw), (dh, dw) = window.st, window.dl

    def run(x):
        x4shape, (oh, ow), pt, pl = window.of(x.shape)
        if x.dtype != np.float32 or not x.flags.c_contiguous:
            x = np.ascontiguousarray(x, np.float32)
        y = np.empty((x4shape[0], oh, ow, cm), np.float32)
        op(x, kernel3, y, bias, code, sh, sw, dh, dw, pt, pl, ps, pre_t, pa)
        return y if after is None else after(y)
    return run


def affine(scale, shift, act_name):
    """fn(x (..., C)) -> act(x * scale + shift): an inference BatchNormalization (and an activation) in one pass."""
    op, code, after = native.lib().affine, *_epilogue(act_name)
    scale, shift = np.ascontiguousarray(scale, np.float32), np.ascontiguousarray(shift, np.float32)

    def run(x):
        x = _f32(x)
        y = np.empty(x.shape, np.float32)
        op(x, scale, shift, y, code)
        return y if after is None else after(y)
    return run


def bias_act(bias, act_name):
    """fn(y) -> y with ``y += bias`` and the activation applied in place (y C-contiguous float32)."""
    op = native.lib().bias_act
    code, after = _epilogue(act_name)

    def run(y):
        y = _f32(y)
        op(y, bias, code)
        return y if after is None else after(y)
    return run


def pool(avg, rank, size, strides, padding, extra=None):
    """fn(x) -> max or average pooling (``padding`` as Keras; ``extra``: an absorbed ZeroPadding2D, whose zeros take
    part in the window)."""
    op, (ph, pw), (sh, sw) = native.lib().pool, size, strides
    extra = tuple(tuple(int(v) for v in p) for p in extra) if extra else ((0, 0), (0, 0))
    zeros, avg = int(extra != ((0, 0), (0, 0))), int(avg)
    cache = {}  # input shape -> (output shape, top and left padding); dict reads and writes are atomic

    def geometry(shape):
        hw = [n + a + b for n, (a, b) in zip(shape[1:3], extra)]
        pads = [pad_amounts(n, k, s, 1, padding) for n, k, s in zip(hw, size, strides)]
        oh, ow = [(n + a + b - k) // s + 1 for n, (a, b), k, s in zip(hw, pads, size, strides)]
        got = cache[shape] = ((shape[0], max(oh, 0), max(ow, 0), shape[3]), pads[0][0] + extra[0][0],
                              pads[1][0] + extra[1][0])
        return got

    def run(x):
        x4 = _f32(x[:, None] if rank == 1 else x)
        out, pt, pl = cache.get(x4.shape) or geometry(x4.shape)
        y = np.empty(out, np.float32)
        op(x4, y, avg, ph, pw, sh, sw, pt, pl, zeros)
        return y[:, 0] if rank == 1 else y
    return run


def global_pool(avg, rank, keep):
    """fn(x (N, spatial..., C)) -> the mean or max over the spatial axes (kept as size 1 with ``keep``)."""
    op, avg = native.lib().pool, int(avg)

    def run(x):
        x = _f32(x)
        n, c = x.shape[0], x.shape[-1]
        steps = x.size // max(n * c, 1)
        y = np.empty((n, 1, 1, c), np.float32)
        if steps:
            op(x.reshape(n, 1, steps, c), y, avg, 1, steps, 1, 1, 0, 0, 0)
        else:
            y.fill(np.nan)  # the mean / max of nothing, as numpy gives
        return y.reshape((n,) + (1,) * rank + (c,) if keep else (n, c))
    return run


RNN_KINDS = {"SimpleRNN": 0, "LSTM": 1, "GRU": 2}


def recurrence(kind, kernel, rkernel, in_bias, rbias, act, ract, reset_after, units):
    """fn(x (n, T, F)) -> (seq (n, T, u), h, c or None), or None when an activation has no compiled form."""
    codes = (native.act_code(act), native.act_code(ract))
    if None in codes:
        return None
    lib = native.lib()
    project = dense(kernel, in_bias, "linear")
    k = RNN_KINDS[kind] + (1 if kind == "GRU" and not reset_after else 0)
    if k == 3:  # reset gate before the candidate's product: the z|r and candidate parts packed apart
        up, up2 = native.pack(np.ascontiguousarray(rkernel[:, :2 * units])), native.pack(
            np.ascontiguousarray(rkernel[:, 2 * units:]))
    else:
        up, up2 = native.pack(rkernel), None
    rb = np.ascontiguousarray(rbias, np.float32) if k == 2 else None

    def run(x):
        n, steps = x.shape[0], x.shape[1]
        xw = project(x.reshape(n * steps, -1)).reshape(n, steps, -1)
        h = np.zeros((n, units), np.float32)
        c = np.zeros((n, units), np.float32) if k == 1 else None
        seq = np.empty((n, steps, units), np.float32)
        lib.rnn(k, xw, up, up2, rb, h, c, seq, codes[0], codes[1])
        return seq, h, c
    return run


def embedding_mean(table, fail):
    """fn(indices (N, T)) -> (N, D): Embedding then GlobalAveragePooling1D in one pass, never writing the (N, T, D)
    sequence; ``fail(indices)`` raises for an index outside the table."""
    op = native.lib().embedding_mean
    table = _f32(table)

    def run(x):
        idx = x if x.dtype in (np.int32, np.int64) and x.flags.c_contiguous else np.ascontiguousarray(x, np.int64)
        y = np.empty((idx.shape[0], table.shape[1]), np.float32)
        if op(idx, table, y) >= 0:
            fail(idx)
        return y
    return run

