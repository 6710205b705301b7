"""Convolution ops: Conv1D/2D, DepthwiseConv2D, SeparableConv1D/2D, Conv2DTranspose (channels_last)."""
import numpy as np

from ...errors import ModelFormatError
from .. import native
from ..kernels import conv as K
from .common import channels_last, check_rank, conv_out, need, pad_amounts, weights
from .core import activation_fn, activation_name, epilogue_fn


def _geometry(layer, shape):
    """Rank (1 or 2), kernel/stride/dilation as 2-D tuples and the padding mode, after checks."""
    rank = 1 if layer.class_name.endswith("1D") else 2
    check_rank(layer, shape, (rank + 2,))
    channels_last(layer)
    cfg = layer.config
    ks = [int(k) for k in cfg["kernel_size"]]
    st = [int(s) for s in (cfg.get("strides") or [1] * rank)]
    dl = [int(d) for d in (cfg.get("dilation_rate") or [1] * rank)]
    padding = cfg.get("padding", "valid")
    need(layer, padding in ("valid", "same", "causal"), f"padding={padding!r}")
    need(layer, not (any(s > 1 for s in st) and any(d > 1 for d in dl)), "strides > 1 together with dilation_rate > 1")
    if rank == 1:
        ks, st, dl = [1] + ks, [1] + st, [1] + dl
    return rank, ks, st, dl, padding


def _spatial(shape, rank):
    """(H, W) of a channels_last input of the given rank, 1-D as height 1."""
    return (1, shape[1]) if rank == 1 else (shape[1], shape[2])


def _pads(hw, ks, st, dl, padding):
    return [pad_amounts(n, k, s, d, padding) if n is not None else None for n, k, s, d in zip(hw, ks, st, dl)]


def _out_shape(shape, rank, ks, st, dl, padding, filters):
    hw = _spatial(shape, rank)
    o = [conv_out(n, k, s, d, padding) for n, k, s, d in zip(hw, ks, st, dl)]
    return (shape[0], o[1], filters) if rank == 1 else (shape[0], o[0], o[1], filters)


def _runner(rank, ks, st, dl, padding, kernel_fn, finish, extra=((0, 0), (0, 0))):
    """fn(x) for a conv-like op: pads from the runtime spatial size (plus ``extra``, an absorbed ZeroPadding2D),
    then ``kernel_fn``, then ``finish`` (epilogue)."""
    (kh, kw), (sh, sw), (dh, dw) = ks, st, dl
    cache = {}  # input (H, W) -> pads; dict reads and writes are atomic, so threads may share it

    def run(x):
        x4 = x[:, None] if rank == 1 else x
        hw = x4.shape[1:3]
        pads = cache.get(hw)
        if pads is None:
            pads = cache[hw] = [(a + ea, b + eb) for (a, b), (ea, eb) in zip(
                (pad_amounts(n + ea + eb, k, s, d, padding) for n, k, s, d, (ea, eb) in zip(hw, ks, st, dl, extra)),
                extra)]
        y = finish(kernel_fn(x4, kh, kw, sh, sw, dh, dw, pads))
        return y[:, 0] if rank == 1 else y
    return run


def conv(layer, shapes):
    shape = shapes[0]
    rank, ks, st, dl, padding = _geometry(layer, shape)
    cfg = layer.config
    filters, groups = int(cfg["filters"]), int(cfg.get("groups", 1) or 1)
    cin = shape[-1]
    if cin is None or cin % groups or filters % groups:
        raise ModelFormatError(f"layer {layer.name!r} ({layer.class_name}): input channels {cin} and filters "
                               f"{filters} must be known and divisible by groups={groups}")
    kshape = tuple(ks[2 - rank:]) + (cin // groups, filters)
    names = ["kernel", "bias"] if cfg.get("use_bias", True) else ["kernel"]
    got = weights(layer, names, [kshape, (filters,)])
    kernel2d = got[0].reshape(-1, filters)
    bias = got[1] if len(got) > 1 else None
    if native.lib() is not None:  # packed weights, bias and activation fused into the GEMM
        from ..kernels import native_ops

        window = native_ops.Window(rank, ks, st, dl, padding, _extra(layer))
        run = native_ops.conv(kernel2d, bias, activation_name(layer), groups, filters, cfg.get("_prologue"), window)
        return run, [_out_shape(shape, rank, ks, st, dl, padding, filters)]

    def kernel_fn(x4, kh, kw, sh, sw, dh, dw, pads):
        return K.conv2d(x4, kernel2d, kh, kw, sh, sw, dh, dw, pads, groups)
    run = _runner(rank, ks, st, dl, padding, kernel_fn, epilogue_fn(layer, bias), _extra(layer))
    return run, [_out_shape(shape, rank, ks, st, dl, padding, filters)]


def _extra(layer):
    """Padding absorbed from a ZeroPadding2D before the layer (see fold.absorb_padding), per spatial axis."""
    return tuple(tuple(p) for p in layer.config.get("_extra_pads", ((0, 0), (0, 0))))


def _depthwise_kernel_fn(kernel3, bias=None, act=0):
    from ..kernels.depthwise import depthwise2d  # imports numba only for plans that need it

    def kernel_fn(x4, kh, kw, sh, sw, dh, dw, pads):
        return depthwise2d(x4, kernel3, sh, sw, dh, dw, pads, bias, act)
    return kernel_fn


def depthwise(layer, shapes):
    shape = shapes[0]
    rank, ks, st, dl, padding = _geometry(layer, shape)
    cfg = layer.config
    mult, cin = int(cfg.get("depth_multiplier", 1)), shape[-1]
    names = ["depthwise_kernel", "bias"] if cfg.get("use_bias", True) else ["depthwise_kernel"]
    got = weights(layer, names, [tuple(ks[2 - rank:]) + (cin, mult), (cin * mult,)])
    kernel3 = np.ascontiguousarray(got[0].reshape(ks[0], ks[1], cin * mult))
    bias = got[1] if len(got) > 1 else None
    out = [_out_shape(shape, rank, ks, st, dl, padding, cin * mult)]
    if native.lib() is not None:
        from ..kernels import native_ops

        window = native_ops.Window(rank, ks, st, dl, padding, _extra(layer))
        return native_ops.depthwise(kernel3, bias, activation_name(layer), cfg.get("_prologue"), window), out
    from ..kernels.depthwise import ACT_CODES  # imports numba only for plans that need it

    act_name = cfg.get("activation", "linear")
    if act_name in ACT_CODES:  # bias and activation fused into the kernel's pass
        fn = _depthwise_kernel_fn(kernel3, bias, ACT_CODES[act_name])
        run = _runner(rank, ks, st, dl, padding, fn, activation_fn(layer, "linear"), _extra(layer))
    else:
        run = _runner(rank, ks, st, dl, padding, _depthwise_kernel_fn(kernel3), epilogue_fn(layer, bias),
                      _extra(layer))
    return run, [_out_shape(shape, rank, ks, st, dl, padding, cin * mult)]


def separable(layer, shapes):
    shape = shapes[0]
    rank, ks, st, dl, padding = _geometry(layer, shape)
    cfg = layer.config
    mult, cin, filters = int(cfg.get("depth_multiplier", 1)), shape[-1], int(cfg["filters"])
    names = ["depthwise_kernel", "pointwise_kernel"] + (["bias"] if cfg.get("use_bias", True) else [])
    got = weights(layer, names, [tuple(ks[2 - rank:]) + (cin, mult), (1,) * rank + (cin * mult, filters),
                                 (filters,)])
    kernel3 = np.ascontiguousarray(got[0].reshape(ks[0], ks[1], cin * mult))
    point = np.ascontiguousarray(got[1].reshape(cin * mult, filters))
    bias = got[2] if len(got) > 2 else None
    if native.lib() is not None:
        from ..kernels import native_ops

        window = native_ops.Window(2, ks, st, dl, padding, _extra(layer))
        depth_native = native_ops.depthwise(kernel3, None, "linear", cfg.get("_prologue"), window)
        point_fn = native_ops.dense(point, bias, activation_name(layer))

        def run(x, res=None):  # res: a residual Add absorbed into the pointwise store (fuse.absorb_residual)
            y = point_fn(depth_native(x[:, None] if rank == 1 else x), res if res is None or rank == 2
                         else res[:, None])
            return y[:, 0] if rank == 1 else y
        return run, [_out_shape(shape, rank, ks, st, dl, padding, filters)]
    depth_fn = _depthwise_kernel_fn(kernel3)

    def kernel_fn(x4, kh, kw, sh, sw, dh, dw, pads):
        d = depth_fn(x4, kh, kw, sh, sw, dh, dw, pads)
        return np.dot(d.reshape(-1, d.shape[-1]), point).reshape(d.shape[:3] + (filters,))
    run = _runner(rank, ks, st, dl, padding, kernel_fn, epilogue_fn(layer, bias), _extra(layer))
    return run, [_out_shape(shape, rank, ks, st, dl, padding, filters)]


def _transpose_axis(n, span, s, padding, output_padding):
    """(output length, rows cropped before) of one axis of a transposed conv with an effective kernel ``span``,
    as Keras 3 / TensorFlow size it (``output_padding`` None: Keras' default)."""
    if n is None:
        return None, None
    if padding == "valid":
        extra = max(span, s) - span if output_padding is None else output_padding
        return (n - 1) * s + span + extra, 0
    out = n * s if output_padding is None else (n - 1) * s + span % 2 + output_padding
    return out, max((n - 1) * s + span - out, 0) // 2


def conv_transpose(layer, shapes):
    shape = shapes[0]
    rank, ks, st, dl, padding = _geometry(layer, shape)
    cfg = layer.config
    need(layer, padding in ("valid", "same"), f"padding={padding!r}")
    filters, cin = int(cfg["filters"]), shape[-1]
    names = ["kernel", "bias"] if cfg.get("use_bias", True) else ["kernel"]
    got = weights(layer, names, [tuple(ks) + (filters, cin), (filters,)])
    kernel = got[0]
    if any(d > 1 for d in dl):  # then the strides are 1: the same op with zeros between the kernel taps
        spread = np.zeros(((ks[0] - 1) * dl[0] + 1, (ks[1] - 1) * dl[1] + 1, filters, cin), np.float32)
        spread[::dl[0], ::dl[1]] = kernel
        kernel, ks = spread, list(spread.shape[:2])
    out_pad = cfg.get("output_padding") or [None, None]
    kernel2d = np.ascontiguousarray(kernel.transpose(3, 0, 1, 2).reshape(cin, -1))
    bias = got[1] if len(got) > 1 else None
    finish = epilogue_fn(layer, bias)
    (kh, kw), (sh, sw) = ks, st
    project = None
    if native.lib() is not None:
        from ..kernels import native_ops

        project = native_ops.dense(kernel2d, None, "linear")

    def run(x):
        (oh, t), (ow, l) = (_transpose_axis(n, k, s, padding, p)
                            for n, k, s, p in zip(x.shape[1:3], (kh, kw), (sh, sw), out_pad))
        return finish(K.conv2d_transpose(x, kernel2d, kh, kw, sh, sw, (t, l), (oh, ow), project))
    out = [_transpose_axis(n, k, s, padding, p)[0] for n, k, s, p in zip(shape[1:3], (kh, kw), (sh, sw), out_pad)]
    return run, [(shape[0], out[0], out[1], filters)]


OPS = {
    "Conv1D": conv,
    "Conv2D": conv,
    "DepthwiseConv2D": depthwise,
    "SeparableConv1D": separable,
    "SeparableConv2D": separable,
    "Conv2DTranspose": conv_transpose,
}
