"""How many threads ``fit``, ``evaluate`` and ``predict`` use for their matrix products.

During them BLAS runs on one thread, and keraslite splits the large products itself over its own threads
(``train/autodiff/parallel.py``): multi-threaded OpenBLAS spins while it waits for its partner threads, so on a
machine where another process holds a core one 128x784x512 product took 30-48 ms instead of 0.9 ms, and a wide
MLP's epoch 20 s instead of 2. Small models (under ``SMALL_MACS`` multiply-adds per step) use one thread, which
is fastest for small matrices; larger ones use every core this process may run on, divided among the MPI ranks
on this host. ``KERASLITE_TRAIN_THREADS=n`` picks ``n``; a BLAS variable the user set (``OPENBLAS_NUM_THREADS``
and the like) hands threading back to BLAS, untouched. Needs ``threadpoolctl``; without it nothing is changed.
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


LOCAL_RANKS_VARIABLES = ("MPI_LOCALNRANKS", "OMPI_COMM_WORLD_LOCAL_SIZE", "SLURM_NTASKS_PER_NODE")


def fit_threads(model, batch_size: int) -> int:
    """Threads for the products of one fit of ``model`` (see the module docstring)."""
    wanted = os.environ.get("KERASLITE_TRAIN_THREADS")
    if wanted:
        try:
            return max(1, int(wanted))
        except ValueError:
            from ...errors import KerasliteError

            raise KerasliteError(f"KERASLITE_TRAIN_THREADS must be a whole number of threads, got {wanted!r}; "
                                 "unset it to let keraslite choose") from None
    if step_macs(model, batch_size or 32) < SMALL_MACS:
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    local = 1
    for var in LOCAL_RANKS_VARIABLES:
        value = os.environ.get(var, "")
        if value.isdigit() and int(value) > 0:
            local = int(value)
            break
    return max(1, cores // local)


@contextlib.contextmanager
def blas_threads(model, batch_size: int):
    """For the duration of a fit (evaluate, predict): BLAS on one thread, large products split over ``fit_threads`` threads."""
    if not os.environ.get("KERASLITE_TRAIN_THREADS") and any(os.environ.get(v) for v in USER_VARIABLES):
        yield
        return
    try:
        import threadpoolctl
    except ImportError:
        yield
        return
    from ..autodiff import parallel

    previous = parallel.set_threads(fit_threads(model, batch_size))
    try:
        with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):
            yield
    finally:
        parallel.set_threads(previous)


__all__ = ["blas_threads", "fit_threads", "step_macs"]
