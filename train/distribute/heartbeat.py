"""A heartbeat between the MPI workers, so a worker that dies, freezes or loses its network stops the job.

Each rank sends a tiny message every ``interval`` seconds to the next rank of a ring and watches the previous
one, on a communicator of its own (a duplicate of the world, so these messages never meet a collective). A rank
that hears nothing from its predecessor for ``timeout`` seconds ends the job with ``MPI_Abort`` and a message
naming that rank and its host. A rank that leaves normally (its script ends) sends a last "bye": its successor
stops watching it, and a collective that still waits for it aborts at once (collective.py) instead of waiting
for the deadline. A thread (MPI_THREAD_MULTIPLE) keeps beating while the main thread computes or writes files.
"""
from __future__ import annotations

import threading
import time
from typing import List, Optional

import numpy as np

ALIVE, BYE = 1, 2
TAG = 7101


class Heartbeat(threading.Thread):
    """The ring heartbeat of one rank (see the module docstring); ``start()`` it, ``stop()`` it at exit."""

    def __init__(self, comm, hosts: List[str], timeout: float = 30.0, interval: Optional[float] = None):
        super().__init__(name="keraslite-heartbeat", daemon=True)
        self.comm = comm
        self.rank, self.size = comm.Get_rank(), comm.Get_size()
        self.hosts = hosts
        self.timeout = float(timeout)
        self.interval = float(interval) if interval else min(1.0, self.timeout / 5)
        self.departed: Optional[int] = None  # the predecessor's rank once it said bye
        self._stopping = threading.Event()
        self._alive = np.array([ALIVE], np.int32)
        self._bye = np.array([BYE], np.int32)
        self._sends = []

    @property
    def watched(self) -> int:
        return (self.rank - 1) % self.size

    def run(self):
        nxt, prev = (self.rank + 1) % self.size, self.watched
        inbox = np.zeros(1, np.int32)
        recv = self.comm.Irecv(inbox, source=prev, tag=TAG)
        last_heard = time.monotonic()
        while not self._stopping.wait(self.interval):
            self._send(nxt, self._alive)
            while self.departed is None and recv.Test():
                last_heard = time.monotonic()
                if inbox[0] == BYE:
                    self.departed = prev
                    break
                recv = self.comm.Irecv(inbox, source=prev, tag=TAG)
            silent = time.monotonic() - last_heard
            if self.departed is None and silent > self.timeout:
                self._abort(prev, silent)
        if self.departed is None:
            recv.Cancel()
            recv.Wait()

    def _send(self, dest, message):
        self._sends = [r for r in self._sends if not r.Test()]
        if len(self._sends) < 64:  # a dead successor never takes them; do not pile requests up forever
            self._sends.append(self.comm.Isend(message, dest=dest, tag=TAG))

    def _abort(self, prev, silent):
        from mpi4py import MPI

        from .mpi import abort_job

        abort_job(MPI, f"\nkeraslite.distribute: worker rank {prev} (host {self.hosts[prev]}) has sent no "
                       f"heartbeat for {silent:.0f} s (limit {self.timeout:g} s): it died, froze or lost its "
                       f"network. Stopping all {self.size} workers (MPI_Abort). Set KERASLITE_HEARTBEAT_TIMEOUT "
                       "to allow longer silences.\n")

    def stop(self):
        """Say bye to the successor and end the thread (at interpreter exit, before MPI_Finalize)."""
        if not self.is_alive():
            return
        self._stopping.set()
        self.join()
        nxt = (self.rank + 1) % self.size
        self._send(nxt, self._bye)
        deadline = time.monotonic() + 1.0
        while self._sends and time.monotonic() < deadline:
            self._sends = [r for r in self._sends if not r.Test()]
            time.sleep(1e-3)


__all__ = ["Heartbeat"]
