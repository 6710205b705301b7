"""``MirroredStrategy`` and ``MultiWorkerMirroredStrategy``: data-parallel training on MPI processes.

One replica is one process started by an MPI launcher (``mpiexec -n 4 python train.py`` on one machine,
``mpiexec -hosts a,b -n 8``, ``srun``, the Kubernetes MPI Operator). Models compiled in ``strategy.scope()`` train
with every global batch split across the replicas and their gradients all-reduced (engine.py), so each replica
holds the same weights after every step. Both classes behave the same here: MPI makes no difference between the
GPUs of one machine and the machines of a cluster; MultiWorkerMirroredStrategy also checks ``TF_CONFIG``.
"""
from __future__ import annotations

import contextlib
import enum
import warnings
from typing import Optional

from ...errors import KerasliteError
from . import cluster, context, mpi


class CommunicationImplementation(enum.Enum):
    """TensorFlow's names for the collective implementation; every one of them means MPI here."""

    AUTO = "AUTO"
    RING = "RING"
    NCCL = "NCCL"


class CommunicationOptions:
    """How the replicas communicate (``tf.distribute.experimental.CommunicationOptions``).

    Args:
        bytes_per_pack: all-reduces larger than this many bytes are split into buckets of at most this size
            (0, the default: buckets of 64 MiB).
        timeout_seconds: a collective that waits longer ends the job with MPI_Abort (default 600; None: no
            deadline, the heartbeat still stops a job whose worker died).
        implementation: accepted for compatibility; MPI picks its own algorithm.
    """

    def __init__(self, bytes_per_pack: int = 0, timeout_seconds: Optional[float] = 600.0,
                 implementation=CommunicationImplementation.AUTO):
        if not isinstance(bytes_per_pack, int) or bytes_per_pack < 0:
            raise KerasliteError(f"CommunicationOptions: bytes_per_pack must be a non-negative integer, got "
                                 f"{bytes_per_pack!r}")
        if timeout_seconds is not None and not timeout_seconds > 0:
            raise KerasliteError(f"CommunicationOptions: timeout_seconds must be positive or None, got "
                                 f"{timeout_seconds!r}")
        self.bytes_per_pack = bytes_per_pack or (64 << 20)
        self.timeout_seconds = timeout_seconds
        self.implementation = implementation


class MirroredStrategy:
    """Synchronous data-parallel training, one replica per MPI process.

    Args:
        devices: accepted for compatibility (TensorFlow's GPU list); replicas are processes here, so it must be
            None or list one device per process.
        cross_device_ops: accepted for compatibility and ignored (the all-reduce is MPI's).
        communication_options: a ``CommunicationOptions`` (bucket size, collective timeout).

    Example::

        # mpiexec -n 2 python train.py
        strategy = keraslite.distribute.MirroredStrategy()
        print("replicas:", strategy.num_replicas_in_sync)
        with strategy.scope():
            model = keras.Sequential([...])
            model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        model.fit(x, y, batch_size=64 * strategy.num_replicas_in_sync, epochs=3)
    """

    _check_tf_config = False

    def __init__(self, devices=None, cross_device_ops=None, communication_options=None):
        name = type(self).__name__
        self._world = mpi.world(name)
        if devices is not None and len(devices) not in (1, self._world.size):
            warnings.warn(f"{name}: devices={list(devices)} is ignored: keraslite runs one replica per MPI process "
                          f"({self._world.size} here)", stacklevel=2)
        options = communication_options or CommunicationOptions()
        if not isinstance(options, CommunicationOptions):
            raise KerasliteError(f"{name}: communication_options must be a "
                                 "keraslite.distribute.experimental.CommunicationOptions, got "
                                 f"{type(options).__name__}")
        self.communication_options = options
        world = self._world
        environ = None if self._check_tf_config else {}
        self.cluster_resolver = cluster.resolve(world.rank, world.size, world.hosts, environ)
        self._engine = None
        if world.size > 1:
            from .collective import Collective
            from .engine import Engine

            self._engine = Engine(Collective(world.comm, options.timeout_seconds, world.heartbeat,
                                             options.bytes_per_pack))

    @property
    def num_replicas_in_sync(self) -> int:
        """How many replicas train together (the MPI world size; 1 outside an MPI launcher)."""
        return self._world.size

    @property
    def should_checkpoint(self) -> bool:
        """Whether this replica writes checkpoints (the chief, rank 0)."""
        return self._world.rank == 0

    should_save_summary = should_checkpoint

    @contextlib.contextmanager
    def scope(self):
        """Models made (or compiled) inside train with this strategy."""
        context.push(self)
        try:
            yield self
        finally:
            context.pop(self)

    @property
    def allreduce_seconds(self) -> float:
        """Seconds this replica spent in all-reduces so far (what bench/distributed.py reports)."""
        return 0.0 if self._engine is None else self._engine.collective.seconds

    def __repr__(self):
        return (f"<keraslite.distribute.{type(self).__name__} replicas={self.num_replicas_in_sync} "
                f"task={self.cluster_resolver.task_type}:{self.cluster_resolver.task_id}>")


class MultiWorkerMirroredStrategy(MirroredStrategy):
    """``MirroredStrategy`` across machines; a ``TF_CONFIG`` that is set must match the MPI world.

    Args:
        cluster_resolver: accepted for compatibility; the cluster comes from MPI (and ``TF_CONFIG``).
        communication_options: a ``CommunicationOptions``.

    Example::

        # mpiexec -hosts node1,node2 -n 2 python train.py
        strategy = keraslite.distribute.MultiWorkerMirroredStrategy()
        task_type, task_id = strategy.cluster_resolver.task_type, strategy.cluster_resolver.task_id
    """

    _check_tf_config = True

    def __init__(self, cluster_resolver=None, communication_options=None):
        super().__init__(communication_options=communication_options)


__all__ = ["MirroredStrategy", "MultiWorkerMirroredStrategy", "CommunicationOptions",
           "CommunicationImplementation"]
