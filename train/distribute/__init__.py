"""``keraslite.distribute``: data-parallel training on MPI, with TensorFlow's ``tf.distribute`` names.

    # mpiexec -n 2 python train.py        (pip install 'keraslite[distributed]': mpi4py + MPICH)
    strategy = keraslite.distribute.MirroredStrategy()
    with strategy.scope():
        model = make_model()
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, batch_size=64 * strategy.num_replicas_in_sync)

Outside an MPI launcher a strategy has one replica. ``experimental.MultiWorkerMirroredStrategy`` and
``experimental.CommunicationOptions`` are the TensorFlow 2.x spellings. Importing this package never imports
mpi4py; creating a strategy under a launcher does.
"""
import types

from .cluster import ClusterResolver, ClusterSpec
from .context import current_strategy
from .strategy import (CommunicationImplementation, CommunicationOptions, MirroredStrategy,
                       MultiWorkerMirroredStrategy)

experimental = types.SimpleNamespace(MultiWorkerMirroredStrategy=MultiWorkerMirroredStrategy,
                                     CommunicationOptions=CommunicationOptions,
                                     CommunicationImplementation=CommunicationImplementation)
cluster_resolver = types.SimpleNamespace(ClusterResolver=ClusterResolver)


def get_strategy():
    """The strategy whose ``scope()`` is open, or None (TensorFlow returns a default one-replica strategy)."""
    return current_strategy()


def has_strategy() -> bool:
    """Whether a strategy's ``scope()`` is open."""
    return current_strategy() is not None


__all__ = ["MirroredStrategy", "MultiWorkerMirroredStrategy", "CommunicationOptions", "CommunicationImplementation",
           "ClusterResolver", "ClusterSpec", "experimental", "cluster_resolver", "get_strategy", "has_strategy"]
