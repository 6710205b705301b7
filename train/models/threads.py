"""How many threads ``fit``, ``evaluate`` and ``predict`` give their large matrix products.

Small models (under ``SMALL_MACS`` multiply-adds per step) use one thread, fastest for small matrices; larger ones
``parallel.default_threads()``. The mechanism, and why BLAS itself stays on one thread, is in
``train/autodiff/parallel.py``.
"""
from __future__ import annotations

import os

import numpy as np

SMALL_MACS = 5e7


def step_macs(model, batch_size: int) -> float:
    """Rough multiply-adds of one training step (forward and backward) in the model's matrix products. A recurrent
    layer's kernel and recurrent kernel count once per time step (the input's second axis, read from the layer's
    own call or, inside a wrapper such as Bidirectional, from the wrapper's; 1 when it is not fixed): an
    LSTM(32) over 50 steps is 50x its weights, and counted once it kept a BiLSTM on one thread (0.83x the epoch
    on two)."""
    total = 0.0
    for layer, steps in _leaves(model, with_steps=True):
        kernel = getattr(layer, "kernel", None)
        if kernel is None or kernel.ndim < 2:
            continue
        recurrent = getattr(layer, "recurrent_kernel", None)
        if recurrent is not None and kernel.ndim == 2:
            total += float(np.prod(kernel.shape) + np.prod(recurrent.shape)) * steps
            continue
        positions = 1
        nodes = getattr(layer, "_inbound_nodes", [])
        if kernel.ndim > 2 and nodes and nodes[0].output_tensors:
            positions = int(np.prod([d or 1 for d in nodes[0].output_tensors[0].shape[1:-1]]))
        total += float(np.prod(kernel.shape)) * positions
    return 3.0 * total * batch_size


def _time_steps(layer):
    """The fixed length of the second axis of the layer's first input (None when unknown or not a sequence)."""
    nodes = getattr(layer, "_inbound_nodes", [])
    inputs = getattr(nodes[0], "input_tensors", None) if nodes else None
    shape = getattr(inputs[0], "shape", None) if inputs else None
    return shape[1] if shape is not None and len(shape) >= 3 and shape[1] else None


def _leaves(layer, with_steps=False):
    """Every layer under ``layer``, itself included; with ``with_steps``, ``(layer, time steps it sees)`` pairs (its
    own input's steps, else its wrapper's, else 1)."""
    stack, out = [(layer, 1)], []
    while stack:
        item, steps = stack.pop()
        if with_steps:
            steps = _time_steps(item) or steps
        out.append((item, steps) if with_steps else item)
        stack.extend((child, steps) for child in item._sublayers())
    return out


def fit_threads(model, batch_size: int) -> int:
    """Threads for the products of one fit of ``model`` (see the module docstring)."""
    from ..autodiff import parallel

    if os.environ.get("KERASLITE_TRAIN_THREADS"):
        return parallel.default_threads()
    return 1 if step_macs(model, batch_size or 32) < SMALL_MACS else parallel.default_threads()


def blas_threads(model, batch_size: int):
    """The context of a fit (evaluate, predict): BLAS on one thread, large products on ``fit_threads``; freed
    memory kept for the next batch from the first one on (``runtime/_alloc.py``)."""
    from ...runtime import _alloc
    from ..autodiff import parallel

    _alloc.tune()
    return parallel.policy(fit_threads(model, batch_size))


__all__ = ["blas_threads", "fit_threads", "step_macs"]
