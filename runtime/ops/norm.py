"""Normalization ops: BatchNormalization (inference form: one scale and shift) and LayerNormalization."""
import numpy as np

from ...errors import ModelFormatError
from .. import native
from ..kernels import activations
from .common import need, weights


def _axes(layer, rank):
    axis = layer.config.get("axis", -1)
    return sorted({a % rank for a in ([axis] if isinstance(axis, int) else axis)})


def batchnorm_affine(layer, channels):
    """(scale, shift) with y = x * scale + shift for a BatchNormalization over ``channels`` features."""
    cfg = layer.config
    names = (["gamma"] if cfg.get("scale", True) else []) + (["beta"] if cfg.get("center", True) else [])
    names += ["moving_mean", "moving_variance"]
    got = dict(zip(names, weights(layer, names, [(channels,)] * len(names))))
    eps = np.float32(cfg.get("epsilon", 1e-3))
    gamma = got.get("gamma", np.ones(channels, np.float32))
    beta = got.get("beta", np.zeros(channels, np.float32))
    scale = (gamma / np.sqrt(got["moving_variance"] + eps)).astype(np.float32)
    shift = (beta - got["moving_mean"] * scale).astype(np.float32)
    return scale, shift


def batchnorm(layer, shapes):
    shape = shapes[0]
    axes = _axes(layer, len(shape))
    need(layer, len(axes) == 1, f"axis={layer.config.get('axis')!r} (several axes)")
    channels = shape[axes[0]]
    if channels is None:
        raise ModelFormatError(f"layer {layer.name!r} (BatchNormalization): the normalised axis {axes[0]} of input "
                               f"shape {shape} must be known")
    scale, shift = batchnorm_affine(layer, channels)
    act = layer.config.get("_activation")  # joined by fuse.bn_activation (compiled kernels only)
    if native.lib() is not None and axes[0] == len(shape) - 1:
        from ..kernels import native_ops

        return native_ops.affine(scale, shift, act or "linear"), [shape]
    target = [1] * len(shape)
    target[axes[0]] = channels
    scale, shift = scale.reshape(target), shift.reshape(target)
    if act is not None:
        fn = activations.get(act)
        return (lambda x: fn(x * scale + shift)), [shape]
    return (lambda x: x * scale + shift), [shape]


def layernorm(layer, shapes):
    shape = shapes[0]
    cfg = layer.config
    axes = tuple(_axes(layer, len(shape)))
    need(layer, not cfg.get("rms_scaling"), "rms_scaling=True")
    wshape = tuple(shape[a] for a in axes)
    names = (["gamma"] if cfg.get("scale", True) else []) + (["beta"] if cfg.get("center", True) else [])
    got = dict(zip(names, weights(layer, names, [wshape] * len(names))))
    target = [1] * len(shape)
    for a in axes:
        target[a] = shape[a]
    gamma = got["gamma"].reshape(target) if "gamma" in got else None
    beta = got["beta"].reshape(target) if "beta" in got else None
    eps = np.float32(cfg.get("epsilon", 1e-3))

    def run(x):
        mean = x.mean(axis=axes, keepdims=True)
        centered = x - mean
        var = np.mean(np.square(centered), axis=axes, keepdims=True)
        y = centered / np.sqrt(var + eps)
        if gamma is not None:
            y *= gamma
        if beta is not None:
            y += beta
        return y
    return run, [shape]


OPS = {
    "BatchNormalization": batchnorm,
    "LayerNormalization": layernorm,
}
