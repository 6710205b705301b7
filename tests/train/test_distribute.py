"""keraslite.distribute under a real ``mpiexec -n 2`` (the MPICH wheel of the dev extra): two replicas with a
global batch of 64 end with the weights, logs, evaluation and predictions of one process with batch 64; a
killed job resumes from its backup; only the chief writes; a failing worker stops the job with a clear message.

The scripts run in tests/train/mpi/. mpiexec and mpi4py missing is a failure, never a skip.
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).parent / "mpi"
FIT, FAIL, RESUME = HERE / "fit_check.py", HERE / "failure_check.py", HERE / "resume_check.py"
LAUNCH_VARIABLES = ("PMI_RANK", "PMI_SIZE", "PMI_FD", "PMIX_RANK", "OMPI_COMM_WORLD_SIZE", "MPI_LOCALNRANKS")


def _mpiexec():
    local = Path(sys.executable).parent / "mpiexec"
    found = str(local) if local.exists() else shutil.which("mpiexec")
    try:
        import mpi4py  # noqa: F401
    except ImportError as exc:
        pytest.fail(f"mpi4py is missing ({exc}): `pip install -e '.[dev]'` installs mpi4py and the mpich wheel")
    if not found:
        pytest.fail("mpiexec is missing: `pip install -e '.[dev]'` installs the mpich wheel, which provides it")
    return found


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in LAUNCH_VARIABLES and k != "TF_CONFIG"}
    env["OPENBLAS_NUM_THREADS"] = "1"  # two processes on two cores
    env.update(extra)
    return env


def run(script, *args, processes=None, timeout=120, **env):
    command = [sys.executable, str(script), *map(str, args)]
    if processes:
        command = [_mpiexec(), "-n", str(processes)] + command
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=_env(**env))


def _ok(proc):
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"


def _load(path):
    with np.load(path) as npz:
        return {k: npz[k] for k in npz.files}


def _assert_same(reference, got, keys_from=None):
    keys = [k for k in (keys_from or reference) if k not in ("replicas", "allreduces_per_step")]
    assert keys and set(keys) <= set(got), sorted(set(keys) - set(got))
    for key in keys:
        np.testing.assert_allclose(got[key], reference[key], rtol=1e-4, atol=2e-5, err_msg=key)


@pytest.fixture(scope="module")
def synchronized_runs(tmp_path_factory):
    out = tmp_path_factory.mktemp("sync")
    _ok(run(FIT, out / "one", "--bn", "synchronized"))
    _ok(run(FIT, out / "two", "--bn", "synchronized", "--strategy", processes=2))
    return out


def test_two_replicas_reach_the_weights_of_one_process(synchronized_runs):
    """Synchronized BatchNormalization normalizes by the global batch, so 2 x 32 is exactly one batch of 64
    (197 samples: the last batch of 5 splits 2 + 3); shuffled, with validation, evaluate and predict (41 samples
    in batches of 20: the last one, of one sample, leaves replica 0 a stand-in)."""
    reference = _load(synchronized_runs / "one" / "rank0.npz")
    assert int(reference["replicas"]) == 1
    for rank in (0, 1):
        got = _load(synchronized_runs / "two" / f"rank{rank}.npz")
        assert int(got["replicas"]) == 2
        _assert_same(reference, got)
    assert {"history_loss", "history_val_loss", "history_accuracy", "evaluate_loss", "predictions"} <= set(reference)


def test_per_replica_batch_normalization_matches_its_expectation(tmp_path):
    """Keras' default BatchNormalization under MirroredStrategy: each replica normalizes by its own slice; the
    reference computes that on one process with GradientTape (fit_check.emulate_fit)."""
    small = "--small-last-batch"  # 193 samples: the last batch has one, so replica 0 runs a stand-in of weight 0
    _ok(run(FIT, tmp_path / "emulated", "--bn", "per-replica", "--emulate", "2", small))
    _ok(run(FIT, tmp_path / "two", "--bn", "per-replica", "--strategy", small, processes=2))
    _ok(run(FIT, tmp_path / "whole", "--bn", "per-replica", small))
    expected = _load(tmp_path / "emulated" / "rank0.npz")
    for rank in (0, 1):
        got = _load(tmp_path / "two" / f"rank{rank}.npz")
        _assert_same(expected, got)
        assert float(got["allreduces_per_step"]) == 1.0  # one fused buffer per training step
    whole_batch = _load(tmp_path / "whole" / "rank0.npz")
    assert np.abs(whole_batch["weight_0"] - expected["weight_0"]).max() > 1e-3  # the two semantics differ


def test_killed_job_resumes_from_the_chief_backup_and_only_the_chief_writes(tmp_path):
    backup = tmp_path / "backup"
    _ok(run(RESUME, tmp_path / "whole", tmp_path / "backup_whole", processes=2))
    killed = run(RESUME, tmp_path / "resumed", backup, "--die-at-epoch", "2", processes=2)
    assert killed.returncode != 0
    assert "worker rank 1 raised RuntimeError" in killed.stderr
    assert (backup / "training_metadata.json").exists()
    _ok(run(RESUME, tmp_path / "resumed", backup, processes=2))
    whole = _load(tmp_path / "whole" / "rank0.npz")
    for rank in (0, 1):
        resumed = _load(tmp_path / "resumed" / f"rank{rank}.npz")
        for key in whole:
            np.testing.assert_allclose(resumed[key], whole[key], rtol=1e-5, atol=1e-6, err_msg=key)
    names = sorted(os.listdir(tmp_path / "resumed"))
    assert names == ["ckpt0.keras", "log0.csv", "rank0.npz", "rank1.npz"], names
    rows = (tmp_path / "resumed" / "log0.csv").read_text().splitlines()
    assert rows[0].startswith("epoch,loss,mae") and [r.split(",")[0] for r in rows[1:]] == ["0", "1", "2", "3"]


@pytest.mark.parametrize("mode, message", [
    ("raise", "worker rank 1 raised RuntimeError (traceback below); stopping all 2 workers (MPI_Abort)"),
    ("exit", "worker rank 1 has exited (its script ended or called sys.exit) while rank 0 waits for it"),
    ("freeze", "worker rank 1 (host "),
])
def test_a_failing_worker_stops_the_job_with_a_clear_error(mode, message):
    # a short heartbeat only where the heartbeat is what must notice; on a busy machine a 3 s heartbeat can expire
    # before a crashed or exited worker is reported the quicker way
    proc = run(FAIL, mode, processes=2, timeout=120, KERASLITE_HEARTBEAT_TIMEOUT="3" if mode == "freeze" else "60")
    assert proc.returncode != 0
    assert message in proc.stderr, proc.stderr[-3000:]
    assert "finished the fit" not in proc.stdout
    if mode == "freeze":
        assert "has sent no heartbeat for" in proc.stderr


def test_tf_config_that_disagrees_with_mpi_is_a_clear_error(tmp_path):
    config = '{"cluster": {"worker": ["a:1", "b:1", "c:1"]}, "task": {"type": "worker", "index": 0}}'
    proc = run(FAIL, "raise", processes=2, timeout=90, TF_CONFIG=config)
    assert proc.returncode != 0
    assert ("TF_CONFIG lists 3 task(s) (0 chief, 3 worker) but the MPI launcher started 2 process(es); start "
            "them with `mpiexec -n 3`") in proc.stderr, proc.stderr[-3000:]
