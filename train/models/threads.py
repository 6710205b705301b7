"""How many BLAS threads a fit uses.

Small models are per-step overhead and tiny matrix products; multi-threaded OpenBLAS wakes its pool for each of
them and, on a busy machine, one 32x512 product can take 5 ms instead of 40 us. So a fit whose matrix products
are small (under ``SMALL_MACS`` multiply-adds per step) runs BLAS on one thread; larger ones keep the default.
``OPENBLAS_NUM_THREADS`` (or the other BLAS variables) set by the user always wins, and so does
``KERASLITE_TRAIN_THREADS``. Needs ``threadpoolctl``; without it nothing is changed.
"""
from __future__ import annotations

import contextlib
import os

import numpy as np

SMALL_MACS = 5e7
USER_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


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


@contextlib.contextmanager
def blas_threads(model, batch_size: int):
    """Limit BLAS to one thread for the duration of a small fit (see the module docstring)."""
    wanted = os.environ.get("KERASLITE_TRAIN_THREADS")
    if wanted is None and any(os.environ.get(v) for v in USER_VARIABLES):
        yield
        return
    if wanted is None:
        if step_macs(model, batch_size or 32) >= SMALL_MACS:
            yield
            return
        wanted = "1"
    try:
        import threadpoolctl
    except ImportError:
        yield
        return
    with threadpoolctl.threadpool_limits(limits=int(wanted), user_api="blas"):
        yield


__all__ = ["blas_threads", "step_macs"]
