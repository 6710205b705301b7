"""``cluster_resolver``: the task type and index of this process, from ``TF_CONFIG`` checked against the MPI world.

TensorFlow's multi-worker tutorials describe the cluster in ``TF_CONFIG``::

    {"cluster": {"worker": ["host1:12345", "host2:23456"]}, "task": {"type": "worker", "index": 0}}

Here MPI starts and connects the processes, so ``TF_CONFIG`` is optional. When it is set it must agree with the
MPI world: as many tasks as processes (a ``chief`` counts as rank 0, ``worker`` i is then rank i + 1), and this
process's ``task`` must be its rank. Without it the task is ``worker`` number ``rank``.
"""
from __future__ import annotations

import json
import os
from typing import Dict, List, Optional

from ...errors import KerasliteError

SUPPORTED_TYPES = ("chief", "worker")


class ClusterSpec:
    """The jobs of a cluster (``{"worker": [addresses]}``), as ``tf.train.ClusterSpec`` shows them."""

    def __init__(self, jobs: Dict[str, List[str]]):
        self._jobs = {k: list(v) for k, v in jobs.items()}

    def as_dict(self) -> Dict[str, List[str]]:
        return {k: list(v) for k, v in self._jobs.items()}

    @property
    def jobs(self) -> List[str]:
        return list(self._jobs)

    def num_tasks(self, job_name: str) -> int:
        return len(self._jobs.get(job_name, []))

    def __repr__(self):
        return f"ClusterSpec({self._jobs})"


class ClusterResolver:
    """``task_type`` (``"worker"`` or ``"chief"``), ``task_id`` and ``cluster_spec()`` of this process."""

    def __init__(self, task_type: str, task_id: int, jobs: Dict[str, List[str]], rpc_layer: str = "mpi"):
        self.task_type, self.task_id, self.rpc_layer = task_type, int(task_id), rpc_layer
        self._spec = ClusterSpec(jobs)

    def cluster_spec(self) -> ClusterSpec:
        return self._spec

    def num_accelerators(self, task_type=None, task_id=None, config_proto=None) -> Dict[str, int]:
        return {}  # keraslite replicas are CPU processes

    def __repr__(self):
        return f"<ClusterResolver task_type={self.task_type!r} task_id={self.task_id} {self._spec!r}>"


def resolve(rank: int, size: int, hosts: List[str], environ=None) -> ClusterResolver:
    """This process's ClusterResolver; a ``TF_CONFIG`` that disagrees with the MPI world raises KerasliteError."""
    environ = os.environ if environ is None else environ
    raw = environ.get("TF_CONFIG")
    if not raw:
        return ClusterResolver("worker", rank, {"worker": list(hosts)})
    config = _parse(raw)
    cluster = config.get("cluster") or {}
    unknown = sorted(set(cluster) - set(SUPPORTED_TYPES))
    if unknown:
        raise KerasliteError(f"TF_CONFIG: cluster job(s) {unknown} are not supported: keraslite trains data-parallel "
                             f"on MPI, with only {list(SUPPORTED_TYPES)} tasks (no parameter servers or evaluator)")
    chiefs, workers = _addresses(cluster, "chief"), _addresses(cluster, "worker")
    if len(chiefs) > 1:
        raise KerasliteError(f"TF_CONFIG: a cluster has at most one chief; got {len(chiefs)}: {chiefs}")
    listed = len(chiefs) + len(workers)
    if size == 1 and listed > 1:
        raise KerasliteError(f"TF_CONFIG describes a cluster of {listed} tasks, but this process was started alone "
                             "(not by an MPI launcher). keraslite connects the workers with MPI: start all of them "
                             f"with one command, e.g. `mpiexec -hosts {','.join(_hosts(chiefs + workers))} -n "
                             f"{listed} python script.py`, instead of one `python` per machine")
    if listed != size:
        raise KerasliteError(f"TF_CONFIG lists {listed} task(s) ({len(chiefs)} chief, {len(workers)} worker) but "
                             f"the MPI launcher started {size} process(es); start them with `mpiexec -n {listed}` "
                             "or make TF_CONFIG's cluster match (or unset TF_CONFIG: MPI gives the ranks)")
    task = config.get("task")
    if not task:
        kind, index = ("chief", 0) if chiefs and rank == 0 else ("worker", rank - len(chiefs))
        return ClusterResolver(kind, index, cluster)
    kind, index = _task(task)
    if kind == "chief" and not chiefs:
        raise KerasliteError("TF_CONFIG: task type 'chief' but the cluster has no 'chief' job")
    expected = 0 if kind == "chief" else index + len(chiefs)
    count = len(chiefs) if kind == "chief" else len(workers)
    if not 0 <= index < count:
        raise KerasliteError(f"TF_CONFIG: task {kind}:{index} is not in the cluster, which has {count} {kind} "
                             f"task(s) (indices 0..{count - 1})")
    if expected != rank:
        raise KerasliteError(f"TF_CONFIG says this process is task {kind}:{index}, which is MPI rank {expected}, "
                             f"but MPI started it as rank {rank}. Give each process the TF_CONFIG of its own rank, "
                             "or unset TF_CONFIG so the task comes from the MPI rank")
    return ClusterResolver(kind, index, cluster)


def _hosts(addresses) -> List[str]:
    return [str(a).rsplit(":", 1)[0] for a in addresses]


def _parse(raw: str) -> dict:
    try:
        config = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise KerasliteError(f"TF_CONFIG is not valid JSON ({exc}); expected e.g. "
                             '\'{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
                             '"task": {"type": "worker", "index": 0}}\'') from None
    if not isinstance(config, dict):
        raise KerasliteError(f"TF_CONFIG must be a JSON object with 'cluster' and 'task'; got {type(config).__name__}")
    return config


def _addresses(cluster, kind) -> List[str]:
    value = cluster.get(kind, [])
    if not isinstance(value, list):
        raise KerasliteError(f"TF_CONFIG: cluster[{kind!r}] must be a list of 'host:port' strings; got {value!r}")
    return value


def _task(task) -> tuple:
    kind: Optional[str] = task.get("type") if isinstance(task, dict) else None
    index = task.get("index", 0) if isinstance(task, dict) else None
    if kind not in SUPPORTED_TYPES or not isinstance(index, int) or isinstance(index, bool):
        raise KerasliteError(f"TF_CONFIG: 'task' must be {{'type': 'worker' or 'chief', 'index': <int>}}; got "
                             f"{task!r}")
    return kind, index


__all__ = ["ClusterResolver", "ClusterSpec", "resolve"]
