"""MPI collectives that cannot hang: each one is nonblocking, polled until it completes, and given a deadline.

MPI's blocking calls wait forever for a peer that has died, stopped or exited early. Here every collective is
started with its nonblocking form (``Iallreduce``, ``Ibcast``, ``Iallgatherv``) and polled with ``Test``; the wait
ends the whole job with ``MPI_Abort`` and a message naming the operation when ``timeout`` seconds pass, or at once
when the heartbeat (heartbeat.py) has seen a peer leave. Spinning first and then sleeping in growing steps keeps
the latency of a prompt peer low without burning a core while a slow one computes.
"""
from __future__ import annotations

import time
from typing import List, Optional

import numpy as np

SPIN_SECONDS = 2e-4  # poll without sleeping this long first: most collectives finish within it
MAX_SLEEP = 2e-3


class Collective:
    """The collectives the distributed fit uses, on one MPI communicator.

    Args:
        comm: an ``mpi4py.MPI.Comm`` (the world).
        timeout: seconds a collective may wait before the job is aborted (None: no deadline, heartbeat only).
        heartbeat: the ``Heartbeat`` watching a peer, or None.
        bucket_bytes: all-reduces larger than this are split into buckets of at most this size, all in flight at
            once (0: one buffer whatever its size).
    """

    def __init__(self, comm, timeout: Optional[float] = 600.0, heartbeat=None, bucket_bytes: int = 64 << 20):
        from mpi4py import MPI

        self.MPI = MPI
        self.comm = comm
        self.rank = comm.Get_rank()
        self.size = comm.Get_size()
        self.timeout = timeout
        self.heartbeat = heartbeat
        self.bucket_bytes = int(bucket_bytes)
        self.seconds = 0.0  # time spent inside all-reduces (the benchmark reports it per step)
        self.calls = 0

    # ------------------------------------------------------------------------------------------- waiting
    def wait(self, requests: List, what: str) -> None:
        """Poll ``requests`` until all complete; abort the job past the deadline or when a peer has left."""
        Request = self.MPI.Request
        if Request.Testall(requests):
            return
        start = time.monotonic()
        sleep = 0.0
        while not Request.Testall(requests):
            now = time.monotonic()
            elapsed = now - start
            if self.heartbeat is not None and self.heartbeat.departed is not None and not Request.Testall(requests):
                gone = self.heartbeat.departed
                self.abort(f"{what}: worker rank {gone} has exited (its script ended or called sys.exit) while "
                           f"rank {self.rank} waits for it; every worker must run the same fit/evaluate/predict "
                           "calls")
            if self.timeout is not None and elapsed > self.timeout:
                self.abort(f"{what} did not complete within {self.timeout:g} s: another worker has stopped, hung "
                           "or is far behind. Raise the limit with communication_options="
                           "keraslite.distribute.experimental.CommunicationOptions(timeout_seconds=...)")
            if elapsed > SPIN_SECONDS:
                sleep = min(MAX_SLEEP, sleep * 2 or 2e-5)
                time.sleep(sleep)

    def abort(self, message: str) -> None:
        """Print ``message`` and end every process of the job (``MPI_Abort``)."""
        from .mpi import abort_job

        abort_job(self.MPI, f"\nkeraslite.distribute: {message}. Stopping all {self.size} workers (MPI_Abort).\n")

    # ------------------------------------------------------------------------------------------- operations
    def allreduce_(self, buffer: np.ndarray, what: str = "all-reduce") -> np.ndarray:
        """Sum ``buffer`` (contiguous, 1-d) over all processes, in place; buckets when it is large."""
        start = time.perf_counter()
        MPI = self.MPI
        step = max(1, self.bucket_bytes // buffer.itemsize) if self.bucket_bytes else buffer.size
        requests = [self.comm.Iallreduce(MPI.IN_PLACE, buffer[i:i + step], op=MPI.SUM)
                    for i in range(0, buffer.size, step)]
        self.wait(requests, what)
        self.seconds += time.perf_counter() - start
        self.calls += 1
        return buffer

    def bcast_(self, buffer: np.ndarray, root: int = 0, what: str = "broadcast") -> np.ndarray:
        """Overwrite ``buffer`` with the root's, in place."""
        self.wait([self.comm.Ibcast(buffer, root=root)], what)
        return buffer

    def bcast_object(self, obj, root: int = 0, what: str = "broadcast"):
        """A small picklable object of the root's, on every process (its length first, then its bytes)."""
        import pickle

        payload = np.frombuffer(pickle.dumps(obj), np.uint8) if self.rank == root else None
        length = np.array([0 if payload is None else payload.size], np.int64)
        self.bcast_(length, root, what)
        data = payload.copy() if payload is not None else np.empty(int(length[0]), np.uint8)
        self.bcast_(data, root, what)
        # pickle from our own processes only: the peers are this job's ranks, never a network client
        return obj if self.rank == root else pickle.loads(data.tobytes())

    def allgather_counts(self, values, what: str = "all-gather") -> np.ndarray:
        """``values`` (a 1-d int64 array of the same length everywhere) of every rank, as rows of a matrix."""
        local = np.ascontiguousarray(values, np.int64)
        out = np.empty((self.size, local.size), np.int64)
        self.wait([self.comm.Iallgather(local, out)], what)
        return out

    def allgatherv(self, local: np.ndarray, what: str = "all-gather") -> np.ndarray:
        """The rows of every rank's ``local`` (same trailing shape everywhere), rank 0's first."""
        local = np.ascontiguousarray(local)
        rows = self.allgather_counts([local.shape[0]], what)[:, 0]
        per_row = int(np.prod(local.shape[1:], dtype=np.int64))
        counts = rows * per_row
        displacements = np.concatenate([[0], np.cumsum(counts)[:-1]])
        out = np.empty((int(rows.sum()),) + local.shape[1:], local.dtype)
        request = self.comm.Iallgatherv(local.reshape(-1), [out.reshape(-1), (counts, displacements)])
        self.wait([request], what)
        return out


__all__ = ["Collective"]
