"""The MPI world of this process: whether a launcher started it, its rank and size, and the job-wide safety nets.

mpi4py is imported only when a launcher (``mpiexec``/``mpirun``, ``srun``, the Kubernetes MPI Operator) started
the process, so a plain ``python train.py`` never initializes MPI: it trains as one replica and says so once.
Under a launcher with more than one process, a heartbeat thread watches a peer (heartbeat.py) and an uncaught
exception on any rank ends the whole job with ``MPI_Abort`` (MPI's default would leave the others waiting).
"""
from __future__ import annotations

import atexit
import os
import socket
import sys
import time
import warnings
from typing import List, Optional

from ...errors import KerasliteError

# set by MPICH/Intel MPI (PMI_*), Open MPI (OMPI_*), PMIx launchers (srun --mpi=pmix, prterun)
LAUNCH_VARIABLES = ("PMI_RANK", "PMI_SIZE", "PMI_FD", "PMIX_RANK", "OMPI_COMM_WORLD_SIZE", "MPI_LOCALNRANKS")
HEARTBEAT_VARIABLE = "KERASLITE_HEARTBEAT_TIMEOUT"
INSTALL_HINT = "`pip install 'keraslite[distributed]'` brings mpi4py and the MPICH wheel"


class World:
    """This process's place in the job: ``rank``, ``size``, ``hosts`` (one per rank) and the MPI communicator."""

    def __init__(self, rank: int = 0, size: int = 1, comm=None, hosts: Optional[List[str]] = None,
                 heartbeat=None):
        self.rank, self.size, self.comm = rank, size, comm
        self.hosts = hosts or [socket.gethostname()]
        self.heartbeat = heartbeat


_state = {"world": None, "noted": False}


def launched_by_mpi(environ=None) -> bool:
    """Whether an MPI launcher started this process (it sets one of ``LAUNCH_VARIABLES``)."""
    environ = os.environ if environ is None else environ
    return any(environ.get(name) for name in LAUNCH_VARIABLES)


def world(strategy_name: str = "MirroredStrategy") -> World:
    """The process's World, initializing MPI on first use when a launcher started the process."""
    if _state["world"] is not None:
        return _state["world"]
    if not launched_by_mpi():
        if not _state["noted"]:
            _state["noted"] = True
            warnings.warn(f"keraslite.distribute.{strategy_name}: this process was not started by an MPI launcher, "
                          "so it trains as one replica. To train on N processes run `mpiexec -n N python "
                          f"{os.path.basename(sys.argv[0]) or 'script.py'}`; {INSTALL_HINT}.",
                          stacklevel=_user_stacklevel())
        _state["world"] = World()
        return _state["world"]
    try:
        from mpi4py import MPI
    except ImportError as exc:
        raise KerasliteError(f"keraslite.distribute.{strategy_name}: this process was started by an MPI launcher "
                             f"but mpi4py cannot be imported ({exc}); {INSTALL_HINT}") from None
    comm = MPI.COMM_WORLD
    rank, size = comm.Get_rank(), comm.Get_size()
    hosts = comm.allgather(socket.gethostname()) if size > 1 else [socket.gethostname()]
    heartbeat = None
    if size > 1:
        heartbeat = _start_heartbeat(MPI, comm, hosts)
        _abort_on_uncaught_exception(MPI, rank, size)
    _state["world"] = World(rank, size, comm, hosts, heartbeat)
    return _state["world"]


def _user_stacklevel() -> int:
    """The stacklevel of the first caller outside keraslite (a warning points at the user's line)."""
    package = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    frame, level = sys._getframe(1), 1
    while frame is not None and not frame.f_code.co_filename.startswith("<") and \
            os.path.abspath(frame.f_code.co_filename).startswith(package + os.sep):
        frame, level = frame.f_back, level + 1
    return level


def _start_heartbeat(MPI, comm, hosts):
    from .heartbeat import Heartbeat

    raw = os.environ.get(HEARTBEAT_VARIABLE, "30")
    try:
        timeout = float(raw)
    except ValueError:
        raise KerasliteError(f"{HEARTBEAT_VARIABLE} must be a number of seconds (0 turns the heartbeat off), "
                             f"got {raw!r}") from None
    if timeout <= 0:
        return None
    if MPI.Query_thread() < MPI.THREAD_MULTIPLE:
        warnings.warn("keraslite.distribute: this MPI library does not provide MPI_THREAD_MULTIPLE, so there is "
                      "no heartbeat; a dead worker is noticed only when a collective passes its deadline",
                      stacklevel=4)
        return None
    heartbeat = Heartbeat(comm.Dup(), hosts, timeout)
    heartbeat.start()
    atexit.register(heartbeat.stop)  # runs before mpi4py's MPI_Finalize (atexit is last in, first out)
    return heartbeat


def abort_job(MPI, message=None):
    """Write ``message`` (if any) to stderr and end every process of the job with ``MPI_Abort``.

    The abort waits half a second after the flush: mpiexec drops what its output forwarder has not read yet when
    a rank aborts, and on a loaded machine that was the message saying why."""
    sys.stdout.flush()
    if message:
        sys.stderr.write(message)
    sys.stderr.flush()
    time.sleep(0.5)
    MPI.COMM_WORLD.Abort(1)


def _abort_on_uncaught_exception(MPI, rank, size):
    previous = sys.excepthook

    def hook(kind, value, tb):
        # the one-line reason first: if mpiexec still loses output, it loses the end of the traceback
        reason = "was interrupted" if issubclass(kind, KeyboardInterrupt) else f"raised {kind.__name__}"
        sys.stderr.write(f"keraslite.distribute: worker rank {rank} {reason} (traceback below); stopping all "
                         f"{size} workers (MPI_Abort).\n")
        sys.stderr.flush()
        previous(kind, value, tb)
        abort_job(MPI)

    sys.excepthook = hook


__all__ = ["World", "world", "launched_by_mpi", "abort_job"]
