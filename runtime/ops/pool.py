"""Pooling, global pooling, padding, cropping and upsampling ops (channels_last)."""
import numpy as np

from .. import native
from ..kernels import pool as K
from .common import channels_last, check_rank, conv_out, need, pad_amounts


def _pool(layer, shapes, kernel):
    shape = shapes[0]
    rank = 1 if layer.class_name.endswith("1D") else 2
    check_rank(layer, shape, (rank + 2,))
    channels_last(layer)
    cfg = layer.config
    size = [int(p) for p in cfg["pool_size"]]
    strides = [int(s) for s in (cfg.get("strides") or size)]
    padding = cfg.get("padding", "valid")
    need(layer, padding in ("valid", "same"), f"padding={padding!r}")
    if rank == 1:
        size, strides = [1] + size, [1] + strides
    (ph, pw), (sh, sw) = size, strides
    hw = (1, shape[1]) if rank == 1 else shape[1:3]
    o = [conv_out(n, k, s, 1, padding) for n, k, s in zip(hw, size, strides)]
    out = (shape[0], o[1], shape[-1]) if rank == 1 else (shape[0], o[0], o[1], shape[-1])
    if native.lib() is not None:
        from ..kernels import native_ops

        return native_ops.pool(kernel is K.avg_pool2d, rank, size, strides, padding, cfg.get("_extra_pads")), [out]

    def run(x):
        x4 = x[:, None] if rank == 1 else x
        pads = [pad_amounts(n, k, s, 1, padding) for n, k, s in zip(x4.shape[1:3], size, strides)]
        y = kernel(x4, ph, pw, sh, sw, pads)
        return y[:, 0] if rank == 1 else y
    hw = (1, shape[1]) if rank == 1 else shape[1:3]
    o = [conv_out(n, k, s, 1, padding) for n, k, s in zip(hw, size, strides)]
    out = (shape[0], o[1], shape[-1]) if rank == 1 else (shape[0], o[0], o[1], shape[-1])
    return run, [out]


def max_pool(layer, shapes):
    return _pool(layer, shapes, K.max_pool2d)


def avg_pool(layer, shapes):
    return _pool(layer, shapes, K.avg_pool2d)


def _global(layer, shapes, reduce):
    shape = shapes[0]
    rank = 1 if layer.class_name.endswith("1D") else 2
    check_rank(layer, shape, (rank + 2,))
    channels_last(layer)
    axes = tuple(range(1, rank + 1))
    keep = bool(layer.config.get("keepdims", False))
    out = (shape[0],) + ((1,) * rank if keep else ()) + (shape[-1],)
    return (lambda x: reduce(x, axis=axes, keepdims=keep).astype(np.float32, copy=False)), [out]


def _masked_avg(layer, shapes):
    """GlobalAveragePooling1D under a Keras mask: the mean of the unmasked steps (NaN when none is, as Keras)."""
    from .masking import check_mask_shape, mask_fn

    shape = shapes[0]
    check_rank(layer, shape, (3,))
    check_mask_shape(layer, shape, shapes[1])
    get_mask, keep = mask_fn(layer), bool(layer.config.get("keepdims", False))

    def run(x, source):
        m = get_mask(source).astype(np.float32)[:, :, None]
        with np.errstate(invalid="ignore", divide="ignore"):
            y = (x * m).sum(axis=1, keepdims=keep) / m.sum(axis=1, keepdims=keep)
        return y.astype(np.float32, copy=False)
    return run, [(shape[0],) + ((1,) if keep else ()) + (shape[-1],)]


def global_avg(layer, shapes):
    if layer.mask is not None:
        return _masked_avg(layer, shapes)
    if "_embedding" in layer.config:  # fuse.absorb_embedding: the input is the Embedding's indices
        from ..kernels import native_ops
        from .core import embedding_table

        check_rank(layer, shapes[0], (3,))
        return native_ops.embedding_mean(*embedding_table(layer.config["_embedding"])), [(shapes[0][0],
                                                                                         shapes[0][-1])]
    shape = shapes[0]
    rank = 1 if layer.class_name.endswith("1D") else 2
    check_rank(layer, shape, (rank + 2,))
    channels_last(layer)
    keep = bool(layer.config.get("keepdims", False))
    if native.lib() is not None:  # no BLAS call, so no BLAS thread pool spinning beside the kernels' own
        from ..kernels import native_ops

        return native_ops.global_pool(True, rank, keep), [(shape[0],) + ((1,) * rank if keep else ()) + (shape[-1],)]
    weights = {}  # positions -> row of 1/positions; the mean is one BLAS matmul (numpy's mean over axis 1 is slow)

    def run(x):
        n, c = x.shape[0], x.shape[-1]
        steps = x.size // max(n * c, 1)
        row = weights.get(steps)
        if row is None:
            row = weights[steps] = np.full((1, steps), 1.0 / max(steps, 1), np.float32)
        y = np.matmul(row, x.reshape(n, steps, c))
        return y.reshape((n,) + (1,) * rank + (c,) if keep else (n, c))
    out = (shape[0],) + ((1,) * rank if keep else ()) + (shape[-1],)
    return run, [out]


def global_max(layer, shapes):
    if native.lib() is not None and layer.class_name in ("GlobalMaxPooling1D", "GlobalMaxPooling2D"):
        from ..kernels import native_ops

        shape, rank = shapes[0], 1 if layer.class_name.endswith("1D") else 2
        check_rank(layer, shape, (rank + 2,))
        channels_last(layer)
        keep = bool(layer.config.get("keepdims", False))
        return native_ops.global_pool(False, rank, keep), [(shape[0],) + ((1,) * rank if keep else ()) + (shape[-1],)]
    return _global(layer, shapes, np.max)


def _pairs(layer, key, rank):
    """``padding``/``cropping`` as a list of (before, after) per spatial axis."""
    value = layer.config[key]
    if rank == 1:
        return [tuple(int(v) for v in value)]
    return [tuple(int(v) for v in pair) for pair in value]


def zero_padding(layer, shapes):
    shape = shapes[0]
    rank = 1 if layer.class_name.endswith("1D") else 2
    check_rank(layer, shape, (rank + 2,))
    channels_last(layer)
    pads = _pairs(layer, "padding", rank)
    width = [(0, 0)] + pads + [(0, 0)]
    out = (shape[0],) + tuple(None if n is None else n + a + b for n, (a, b) in zip(shape[1:-1], pads)) + (shape[-1],)

    def run(x):
        y = np.zeros(tuple(n + a + b for n, (a, b) in zip(x.shape, width)), dtype=x.dtype)
        y[inner] = x
        return y
    inner = tuple(slice(a, -b or None) for a, b in width)
    return run, [out]


def cropping(layer, shapes):
    shape = shapes[0]
    rank = 1 if layer.class_name.endswith("1D") else 2
    check_rank(layer, shape, (rank + 2,))
    channels_last(layer)
    crops = _pairs(layer, "cropping", rank)
    index = (slice(None),) + tuple(slice(a, -b if b else None) for a, b in crops)
    out = (shape[0],) + tuple(None if n is None else n - a - b for n, (a, b) in zip(shape[1:-1], crops)) + (shape[-1],)
    return (lambda x: np.ascontiguousarray(x[index])), [out]


def upsampling(layer, shapes):
    shape = shapes[0]
    rank = 1 if layer.class_name.endswith("1D") else 2
    check_rank(layer, shape, (rank + 2,))
    channels_last(layer)
    mode = layer.config.get("interpolation", "nearest")
    need(layer, mode in ("nearest", "bilinear"), f"interpolation={mode!r} (only 'nearest' and 'bilinear')")
    size = layer.config.get("size", [2] * rank)
    size = [int(size)] if isinstance(size, int) else [int(s) for s in size]

    def bilinear(x):
        for axis, s in enumerate(size, start=1):
            if s != 1:
                x = _lerp_axis(x, axis, s)
        return x

    def run(x):
        for axis, s in enumerate(size, start=1):
            if s != 1:
                x = np.repeat(x, s, axis=axis)
        return x
    out = (shape[0],) + tuple(None if n is None else n * s for n, s in zip(shape[1:-1], size)) + (shape[-1],)
    return (bilinear if mode == "bilinear" else run), [out]


def _lerp_axis(x, axis, s):
    """``x`` resized by ``s`` along ``axis`` with half-pixel-centred linear interpolation (as tf.image.resize)."""
    n = x.shape[axis]
    src = np.clip((np.arange(n * s, dtype=np.float64) + 0.5) / s - 0.5, 0, n - 1)
    lo = np.floor(src).astype(np.intp)
    hi = np.minimum(lo + 1, n - 1)
    w = (src - lo).astype(np.float32).reshape((-1,) + (1,) * (x.ndim - axis - 1))
    a, b = np.take(x, lo, axis=axis), np.take(x, hi, axis=axis)
    return a + (b - a) * w


OPS = {
    "MaxPooling1D": max_pool,
    "MaxPooling2D": max_pool,
    "AveragePooling1D": avg_pool,
    "AveragePooling2D": avg_pool,
    "GlobalAveragePooling1D": global_avg,
    "GlobalAveragePooling2D": global_avg,
    "GlobalMaxPooling1D": global_max,
    "GlobalMaxPooling2D": global_max,
    "ZeroPadding1D": zero_padding,
    "ZeroPadding2D": zero_padding,
    "Cropping1D": cropping,
    "Cropping2D": cropping,
    "UpSampling1D": upsampling,
    "UpSampling2D": upsampling,
}
