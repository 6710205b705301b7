"""Fused neural-network primitives whose inputs share work in the backward pass.

- ``dense``: ``act(x @ kernel + bias)`` for the activations whose derivative reads from the output (linear,
  relu, relu6, tanh): one node instead of three. Sigmoid and softmax stay separate nodes so the loss can find
  their logits (``_keras_logits``), as Keras does. Large float32 ones run on the compiled kernels (native.py).
- Cross-entropies on logits (softmax / sparse softmax / sigmoid), computed as TensorFlow does, with
  ``softmax - labels`` style gradients.
- ``batch_norm_train``: normalization by batch statistics, returning the batch mean and variance too.
"""
from __future__ import annotations

import numpy as np

from .core import primitive
from . import native, parallel
from .parallel import matmul
from .elementwise import log_softmax_array, sigmoid_array, softmax_array  # noqa: F401

PAIR_MACS = 4_000_000  # both backward products at least this large: run them side by side (parallel.run_all)

# activation -> (forward, in place on the fresh pre-activation z; derivative read from the output y)
DENSE_ACTIVATIONS = {
    "linear": (None, None),
    "relu": (lambda z: np.maximum(z, 0, out=z), lambda y: y > 0),
    "relu6": (lambda z: np.clip(z, 0, 6, out=z), lambda y: (y > 0) & (y < 6)),
    "tanh": (lambda z: np.tanh(z, out=z), lambda y: 1 - y * y),
}


def _flat(x):
    return x if x.ndim == 2 else x.reshape(-1, x.shape[-1])


def _dense_fwd(x, kernel, bias, activation="linear"):
    if x.ndim == 2 and native.matmul_usable(x.shape[0], x.shape[1], kernel.shape[1], x, kernel, bias):
        return native.matmul(x, kernel, bias, activation)
    z = matmul(x, kernel) if x.ndim == 2 else np.matmul(x, kernel)
    if bias is not None:
        z += bias
    fn = DENSE_ACTIVATIONS[activation][0]
    return z if fn is None else fn(z)


def activation_and_bias_grad(g, y, activation, bias_grad):
    """``(dz, db)``: the gradient ``g`` of a fused node's output ``y`` through its activation (read from ``y``)
    and, when ``bias_grad``, its sum over every axis but the last (the bias gradient, else None), in one compiled
    pass when the kernels take it."""
    deriv = DENSE_ACTIVATIONS[activation][1]
    if deriv is None:
        dz = g
    else:
        fused = native.activation_grad(g, y, activation, sums=bias_grad)
        if fused is not None:
            return fused if bias_grad else (fused, None)
        dz = g * deriv(y)
    return dz, _flat(dz).sum(axis=0) if bias_grad else None


def _dense_joint(g, y, needs, x, kernel, bias, activation="linear"):
    dz, gb = activation_and_bias_grad(g, y, activation, needs[2])
    dz2 = _flat(dz)
    m, n = dz2.shape
    k = kernel.shape[0]
    if dz.ndim == 2 and native.usable(m * n * k, dz, kernel, x):  # compiled, each product on every thread
        gx = native.product(dz, kernel.T) if needs[0] else None
        gk = native.product(x.T, dz) if needs[1] else None
    elif needs[0] and needs[1] and dz.ndim == 2 and parallel.threads() > 1 and dz.size * x.shape[1] >= PAIR_MACS:
        # two independent products: the input gradient whole on one thread while the others take the kernel
        # gradient's blocks (fixed blocks: the numbers do not depend on which thread runs what)
        gx = np.empty((dz.shape[0], kernel.shape[0]), np.result_type(dz, kernel))
        gk, tasks = parallel.matmul_tasks(x.T, dz)
        parallel.run_all([lambda: np.matmul(dz, kernel.T, out=gx)] + tasks)
    else:
        gx = (matmul(dz, kernel.T) if dz.ndim == 2 else np.matmul(dz, kernel.T)) if needs[0] else None
        gk = matmul(_flat(x).T, dz2) if needs[1] else None
    return gx, gk, gb


dense = primitive("dense", _dense_fwd, joint=_dense_joint)


# ------------------------------------------------------------------------------------------- lookup
def _lookup_fwd(table, ids):
    return table[ids]


def _lookup_vjp(g, ans, table, ids):
    from .sparse import IndexedSlices

    width = table.shape[1:]
    return IndexedSlices(g.reshape((-1,) + width), ids.reshape(-1), table.shape)


embedding_lookup = primitive("embedding_lookup", _lookup_fwd, _lookup_vjp)


# ------------------------------------------------------------------------------------------- cross-entropy
def _sparse_ce_fwd(logits, labels):
    lsm = log_softmax_array(logits, axis=-1)
    flat = lsm.reshape(-1, lsm.shape[-1])
    rows = np.arange(flat.shape[0])
    picked = flat[rows, labels.reshape(-1)].reshape(labels.shape)
    return -picked, (lsm, rows)


def _sparse_ce_vjp(g, ans, logits, labels):
    _, (lsm, rows) = ans
    grad = np.exp(lsm)
    flat = grad.reshape(-1, grad.shape[-1])
    flat[rows, labels.reshape(-1)] -= 1
    grad *= g[..., None]
    return grad


sparse_softmax_cross_entropy = primitive("sparse_softmax_cross_entropy", _sparse_ce_fwd, _sparse_ce_vjp, None,
                                         saves=True)


def _softmax_ce_fwd(logits, labels, axis=-1):
    lsm = log_softmax_array(logits, axis=axis)
    return -np.sum(labels * lsm, axis=axis), lsm


def _softmax_ce_joint(g, ans, needs, logits, labels, axis=-1):
    _, lsm = ans
    ge = np.expand_dims(g, axis)
    glogits = (np.exp(lsm) * np.sum(labels, axis=axis, keepdims=True) - labels) * ge if needs[0] else None
    glabels = -lsm * ge if needs[1] else None
    return glogits, glabels


softmax_cross_entropy = primitive("softmax_cross_entropy", _softmax_ce_fwd, joint=_softmax_ce_joint, saves=True)


def _sigmoid_ce_fwd(logits, labels):
    # max(x, 0) - x * z + log(1 + exp(-|x|)), TensorFlow's stable form
    return np.maximum(logits, 0) - logits * labels + np.log1p(np.exp(-np.abs(logits)))


sigmoid_cross_entropy = primitive("sigmoid_cross_entropy", _sigmoid_ce_fwd,
                                  lambda g, a, x, z: g * (sigmoid_array(x) - z),
                                  lambda g, a, x, z: -g * x)


# ------------------------------------------------------------------------------------------- normalization
def _bn_fwd(x, gamma, beta, axes, epsilon):
    mean = np.mean(x, axis=axes, keepdims=True)
    var = np.mean(np.square(x - mean), axis=axes, keepdims=True)
    inv = 1.0 / np.sqrt(var + np.asarray(epsilon, x.dtype))
    xhat = (x - mean) * inv
    y = xhat
    if gamma is not None:
        y = y * gamma
    if beta is not None:
        y = y + beta
    keep = mean.shape
    return (y, np.squeeze(mean, axes), np.squeeze(var, axes)), (xhat, inv, keep)


def _bn_joint(g, ans, needs, x, gamma, beta, axes, epsilon):
    gy = g[0]
    (y, _, _), (xhat, inv, keep) = ans
    n = x.size // int(np.prod(keep))
    ggamma = np.sum(gy * xhat, axis=axes).reshape(np.shape(gamma)) if needs[1] else None
    gbeta = np.sum(gy, axis=axes).reshape(np.shape(beta)) if needs[2] else None
    gx = None
    if needs[0]:
        gxhat = gy * gamma if gamma is not None else gy
        s1 = np.sum(gxhat, axis=axes, keepdims=True)
        s2 = np.sum(gxhat * xhat, axis=axes, keepdims=True)
        gx = (gxhat - (s1 + xhat * s2) / np.asarray(n, x.dtype)) * inv
    return gx, ggamma, gbeta


batch_norm_train = primitive("batch_norm_train", _bn_fwd, joint=_bn_joint, n_out=3, saves=True)

__all__ = ["dense", "activation_and_bias_grad", "embedding_lookup", "sparse_softmax_cross_entropy", "softmax_cross_entropy",
           "sigmoid_cross_entropy", "batch_norm_train", "DENSE_ACTIVATIONS", "softmax_array"]
