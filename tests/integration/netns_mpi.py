"""Multi-host training on one machine: two network namespaces joined by a veth pair play two hosts, and
``mpiexec -hosts A,B`` starts one replica in each; the distributed fit must end with the weights, logs,
evaluation and predictions of one process (the check of tests/train/test_distribute.py), and the bytes counted on
the veth pair show that the replicas talked over that link.

    sudo python tests/integration/netns_mpi.py        # root: it creates and deletes the namespaces

Not part of CI: it needs root and ``ip netns`` (iproute2). MPICH's hydra starts the remote proxy through a
launcher that behaves like ssh (``-launcher ssh -launcher-exec``): a small script that enters the host's
namespace with ``ip netns exec`` (and a UTS namespace, so each "host" has its own hostname). MPICH's UCX
netmod would still see one machine (one boot id) and move the data through shared memory, so the run sets
``UCX_TLS=tcp,self``: every byte between the replicas then crosses the veth pair, as between two real hosts. The
addresses (10.231.0.1/2) exist only inside the two namespaces.
"""
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
FIT = ROOT / "tests" / "train" / "mpi" / "fit_check.py"
HOSTS = {"10.231.0.1": f"kl{os.getpid()}a", "10.231.0.2": f"kl{os.getpid()}b"}
LAUNCHER = """#!/bin/sh
# hydra calls this as it calls ssh: [options] HOST COMMAND...; run COMMAND in HOST's network namespace
while [ "${1#-}" != "$1" ]; do shift; done
host=$1; shift
case $host in
%s
  *) echo "netns launcher: unknown host $host" >&2; exit 1;;
esac
exec ip netns exec "$ns" unshare --uts sh -c "hostname $ns && exec $*"
"""


def sh(*args, **kwargs):
    return subprocess.run(list(args), check=True, capture_output=True, text=True, **kwargs).stdout


def setup():
    (a, na), (b, nb) = HOSTS.items()
    sh("ip", "netns", "add", na)
    sh("ip", "netns", "add", nb)
    sh("ip", "link", "add", f"v{na}", "type", "veth", "peer", "name", f"v{nb}")
    for addr, ns in HOSTS.items():
        sh("ip", "link", "set", f"v{ns}", "netns", ns)
        sh("ip", "-n", ns, "addr", "add", f"{addr}/24", "dev", f"v{ns}")
        sh("ip", "-n", ns, "link", "set", f"v{ns}", "up")
        sh("ip", "-n", ns, "link", "set", "lo", "up")


def teardown():
    for ns in HOSTS.values():
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def veth_bytes(ns):
    return int(sh("ip", "netns", "exec", ns, "cat", f"/sys/class/net/v{ns}/statistics/tx_bytes"))


def _env():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PMI_", "PMIX_", "OMPI_"))}
    env["OPENBLAS_NUM_THREADS"] = "1"
    env["UCX_TLS"] = "tcp,self"  # not shared memory: the two "hosts" are one machine (see the docstring)
    return env


@contextlib.contextmanager
def two_hosts():
    """The two namespaces for the duration of the block; yields ``launch(command) -> CompletedProcess``, which
    runs ``command`` (a Python script and its arguments) as one process on each host under mpiexec."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        raise SystemExit("netns_mpi.py needs root and iproute2's `ip` (apt-get install iproute2)")
    bin_dir = Path(sys.executable).parent
    mpiexec = bin_dir / "mpiexec" if (bin_dir / "mpiexec").exists() else shutil.which("mpiexec")
    work = Path(tempfile.mkdtemp(prefix="netns_mpi_"))
    launcher = work / "launch.sh"
    launcher.write_text(LAUNCHER % "\n".join(f"  {addr}) ns={ns};;" for addr, ns in HOSTS.items()))
    launcher.chmod(0o755)
    first_ns = next(iter(HOSTS.values()))

    def launch(command, timeout=300):
        # each "host" also gets a hostname of its own (a UTS namespace), so MPI sees two nodes
        full = ["ip", "netns", "exec", first_ns, "unshare", "--uts", "sh", "-c", f'hostname {first_ns} && exec "$@"',
                "launch", str(mpiexec), "-hosts", ",".join(HOSTS), "-n", "2", "-launcher", "ssh",
                "-launcher-exec", str(launcher), *map(str, command)]
        return subprocess.run(full, env=_env(), capture_output=True, text=True, timeout=timeout)

    setup()
    try:
        yield launch
    finally:
        teardown()
        shutil.rmtree(work, ignore_errors=True)


def run_across_namespaces(command):
    """The JSON lines ``command`` prints when run on the two namespaces (bench/distributed.py --netns)."""
    with two_hosts() as launch:
        proc = launch(command)
    if proc.returncode:
        raise RuntimeError(f"{command} across namespaces failed:\n{proc.stderr[-3000:]}")
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


def main():
    work = Path(tempfile.mkdtemp(prefix="netns_fit_"))
    try:
        subprocess.run([sys.executable, str(FIT), str(work / "one"), "--bn", "synchronized"], check=True, env=_env())
        with two_hosts() as launch:
            before = {ns: veth_bytes(ns) for ns in HOSTS.values()}
            proc = launch([sys.executable, FIT, work / "two", "--bn", "synchronized", "--strategy"])
            sent = {ns: veth_bytes(ns) - before[ns] for ns in HOSTS.values()}
        if proc.returncode:
            print(proc.stdout, proc.stderr, file=sys.stderr)
            return 1
        with np.load(work / "one" / "rank0.npz") as npz:
            reference = {k: npz[k] for k in npz.files}
        worst = 0.0
        for rank in (0, 1):
            with np.load(work / "two" / f"rank{rank}.npz") as npz:
                assert int(npz["replicas"]) == 2
                for key, expected in reference.items():
                    if key == "replicas":
                        continue
                    np.testing.assert_allclose(npz[key], expected, rtol=1e-4, atol=2e-5, err_msg=key)
                    worst = max(worst, float(np.max(np.abs(npz[key] - expected))))
        print(f"2 replicas on hosts {list(HOSTS)} (namespaces {list(HOSTS.values())}) match one process: "
              f"{len(reference) - 1} arrays, largest difference {worst:.2e}")
        print("bytes sent over the veth pair during the fit: " + ", ".join(f"{ns}: {n:,}" for ns, n in sent.items()))
        weight_bytes = sum(v.nbytes for k, v in reference.items() if k.startswith("weight_"))
        steps = 2 * 4  # fit_check: 2 epochs of 4 batches, each with an all-reduce of every gradient
        assert min(sent.values()) > steps * weight_bytes / 2, "the replicas did not talk over the veth pair"
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
