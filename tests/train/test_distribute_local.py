"""keraslite.distribute without a launcher: one replica (said once, mpi4py untouched), scope() wiring, and the
TF_CONFIG rules against a given MPI world."""
import json
import subprocess
import sys
import warnings

import numpy as np
import pytest

import keraslite as keras
from keraslite.errors import KerasliteError
from keraslite.train.distribute import cluster, mpi


def test_outside_a_launcher_one_replica_said_once_and_mpi4py_untouched():
    code = """
import sys, warnings
warnings.simplefilter("always")
import keraslite as keras
with warnings.catch_warnings(record=True) as caught:
    a = keras.distribute.MirroredStrategy()
    b = keras.distribute.MultiWorkerMirroredStrategy()
print(a.num_replicas_in_sync, b.num_replicas_in_sync, len(caught), "mpi4py" in sys.modules)
print(caught[0].message)
print(a.cluster_resolver.task_type, a.cluster_resolver.task_id, caught[0].filename == "<string>")
"""
    env = {k: v for k, v in __import__("os").environ.items() if k not in mpi.LAUNCH_VARIABLES}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    counts, message, task = proc.stdout.splitlines()
    assert counts == "1 1 1 False"
    assert message.startswith("keraslite.distribute.MirroredStrategy: this process was not started by an MPI "
                              "launcher, so it trains as one replica. To train on N processes run `mpiexec -n N")
    assert task == "worker 0 True"  # the warning points at the user's line


def test_a_model_made_in_scope_trains_as_without_a_strategy():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the one-replica note (the test above reads it)
        strategy = keras.distribute.MirroredStrategy()
    x = np.random.default_rng(0).normal(size=(40, 3)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    results = []
    for use_scope in (True, False):
        keras.utils.set_random_seed(1)
        if use_scope:
            with strategy.scope() as entered:
                assert entered is strategy and keras.distribute.get_strategy() is strategy
                model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(1)])
                model.compile(optimizer="sgd", loss="mse")
            assert model._distribution is strategy and not keras.distribute.has_strategy()
        else:
            model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(1)])
            model.compile(optimizer="sgd", loss="mse")
        results.append(model.fit(x, y, batch_size=8, epochs=2, verbose=0).history["loss"])
    assert results[0] == results[1]


WORLD = ["h0", "h1", "h2"]


def _resolve(config, rank=0, size=3):
    return cluster.resolve(rank, size, WORLD[:size], {"TF_CONFIG": json.dumps(config) if config else ""})


def test_tf_config_resolves_task_type_and_id():
    workers = {"cluster": {"worker": ["a:1", "b:1", "c:1"]}}
    resolver = _resolve({**workers, "task": {"type": "worker", "index": 2}}, rank=2)
    assert (resolver.task_type, resolver.task_id) == ("worker", 2)
    assert resolver.cluster_spec().as_dict() == {"worker": ["a:1", "b:1", "c:1"]}
    with_chief = {"cluster": {"chief": ["a:1"], "worker": ["b:1", "c:1"]}}
    assert (_resolve({**with_chief, "task": {"type": "chief", "index": 0}}).task_type) == "chief"
    assert _resolve({**with_chief, "task": {"type": "worker", "index": 1}}, rank=2).task_id == 1
    assert (_resolve(with_chief, rank=1).task_type, _resolve(with_chief, rank=1).task_id) == ("worker", 0)
    assert (_resolve(None, rank=1).task_type, _resolve(None, rank=1).task_id) == ("worker", 1)
    assert _resolve(None).cluster_spec().as_dict() == {"worker": WORLD}


@pytest.mark.parametrize("config, rank, size, message", [
    ({"cluster": {"worker": ["a:1", "b:1"]}}, 0, 3,
     "TF_CONFIG lists 2 task(s) (0 chief, 2 worker) but the MPI launcher started 3 process(es)"),
    ({"cluster": {"worker": ["a:1", "b:1", "c:1"]}, "task": {"type": "worker", "index": 0}}, 1, 3,
     "TF_CONFIG says this process is task worker:0, which is MPI rank 0, but MPI started it as rank 1"),
    ({"cluster": {"worker": ["a:1", "b:1", "c:1"]}, "task": {"type": "worker", "index": 5}}, 1, 3,
     "TF_CONFIG: task worker:5 is not in the cluster, which has 3 worker task(s) (indices 0..2)"),
    ({"cluster": {"worker": ["a:1", "b:1"], "ps": ["p:1"]}}, 0, 3,
     "TF_CONFIG: cluster job(s) ['ps'] are not supported"),
    ({"cluster": {"worker": ["a:1", "b:1"]}, "task": {"type": "evaluator"}}, 0, 2,
     "TF_CONFIG: 'task' must be {'type': 'worker' or 'chief', 'index': <int>}; got {'type': 'evaluator'}"),
    ({"cluster": {"worker": ["a:12345", "b:12345"]}}, 0, 1,
     "TF_CONFIG describes a cluster of 2 tasks, but this process was started alone (not by an MPI launcher)"
     ". keraslite connects the workers with MPI: start all of them with one command, e.g. `mpiexec -hosts a,b -n 2"),
])
def test_tf_config_that_disagrees_is_a_clear_error(config, rank, size, message):
    with pytest.raises(KerasliteError) as info:
        _resolve(config, rank, size)
    assert message in str(info.value)


def test_bad_tf_config_json_and_options():
    with pytest.raises(KerasliteError, match="TF_CONFIG is not valid JSON"):
        cluster.resolve(0, 1, ["h"], {"TF_CONFIG": "{worker"})
    with pytest.raises(KerasliteError, match="timeout_seconds must be positive or None, got 0"):
        keras.distribute.experimental.CommunicationOptions(timeout_seconds=0)
    with pytest.raises(KerasliteError, match="communication_options must be a"):
        keras.distribute.MirroredStrategy(communication_options={"timeout": 3})
