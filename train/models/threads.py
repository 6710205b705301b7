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
    """Rough multiply-adds of one training step (forward and backward) in the model's matrix products."""
    total = 0.0
    for layer in _leaves(model):
        kernel = getattr(layer, "kernel", None)
        if kernel is None or kernel.ndim < 2:
            continue
        positions = 1
        nodes = getattr(layer, "_inbound_nodes", [])
        if kernel.ndim > 2 and nodes and nodes[0].output_tensors:
            positions = int(np.prod([d or 1 for d in nodes[0].output_tensors[0].shape[1:-1]]))
        total += float(np.prod(kernel.shape)) * positions
    return 3.0 * total * batch_size


def _leaves(layer):
    stack, out = [layer], []
    while stack:
        item = stack.pop()
        out.append(item)
        stack.extend(item._sublayers())
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
