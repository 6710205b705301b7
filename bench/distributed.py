"""Data-parallel training speed: 2 MPI replicas (1 BLAS thread each) against 1 process with 2 BLAS threads, the
all-reduce time per step, an MPI ping benchmark, and the ring all-reduce model projected to 8 and 64 workers.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/distributed.py [--rounds 3]
        [--tasks wide_mlp,digits_cnn] [--netns]

Tasks (bench/train.py's models and data): wide_mlp (784-512-512-10, 20,000 random samples, global batch 128,
3 epochs) and digits_cnn (the digits CNN, global batch 32, 8 epochs). Every run uses the same global batch, so
they make the same number of optimizer steps; samples/s is from the steady epochs (2..N, median). One process
with one BLAS thread is measured too, to tell the gain of a second replica from the cost of a second BLAS thread.

Each round runs every task both ways, alternating which goes first, in fresh processes. The ping benchmark
(``mpiexec -n 2``) measures the one-way latency of an 8-byte message and the bandwidth of 8 MiB messages, and
times an all-reduce of each task's gradient buffer alone. The projection uses the ring all-reduce model
``t(p) = 2 (p - 1) / p * bytes / bandwidth + 2 (p - 1) * latency`` and keeps the per-replica batch and compute
time fixed (weak scaling, the tutorials' ``global_batch = per_worker_batch * workers``). ``--netns`` (root) also
measures latency and bandwidth over TCP between two network namespaces (tests/integration/netns_mpi.py's setup),
a stand-in for two hosts.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TASKS = {"wide_mlp": dict(batch_size=128, epochs=3), "digits_cnn": dict(batch_size=32, epochs=8)}
# (label, processes, BLAS threads per process)
VARIANTS = (("1 process, 2 threads", 1, 2), ("1 process, 1 thread", 1, 1), ("2 replicas, 1 thread each", 2, 1))


def _bench_train():
    spec = importlib.util.spec_from_file_location("bench_train", os.path.join(ROOT, "bench", "train.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ------------------------------------------------------------------------------------------------ children
def child_fit(task, replicas, out):
    import numpy as np

    import keraslite as keras

    bench = _bench_train()
    keras.utils.set_random_seed(0)
    (x, y), _ = bench._data(task, np)
    strategy = keras.distribute.MirroredStrategy() if replicas > 1 else None
    if strategy:
        with strategy.scope():
            model, _ = bench._model(task, keras)
    else:
        model, _ = bench._model(task, keras)
    marks = []

    class Clock(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            marks.append((time.perf_counter(), strategy.allreduce_seconds if strategy else 0.0))

    settings = TASKS[task]
    start = time.perf_counter()
    model.fit(x, y, verbose=0, shuffle=True, callbacks=[Clock()], **settings)
    steps = -(-len(x) // settings["batch_size"])
    times = [b[0] - a[0] for a, b in zip([(start, 0.0)] + marks[:-1], marks)]
    reduce = [b[1] - a[1] for a, b in zip([(start, 0.0)] + marks[:-1], marks)]
    epoch = statistics.median(times[1:])
    gradient_floats = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    rank = strategy.cluster_resolver.task_id if strategy else 0
    with open(os.path.join(out, f"rank{rank}.json"), "w") as fh:  # the ranks' stdout lines would interleave
        json.dump({"rank": rank, "epoch_s": epoch, "samples_per_s": len(x) / epoch, "steps": steps,
                   "allreduce_ms_per_step": 1e3 * statistics.median(reduce[1:]) / steps,
                   "gradient_bytes": 4 * gradient_floats}, fh)


def child_ping(sizes):
    import numpy as np
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    rank, peer = comm.Get_rank(), 1 - comm.Get_rank()

    def pingpong(nbytes, repeats):
        buf = np.zeros(max(1, nbytes // 8), np.float64)
        comm.Barrier()
        start = time.perf_counter()
        for _ in range(repeats):
            if rank == 0:
                comm.Send(buf, dest=peer)
                comm.Recv(buf, source=peer)
            else:
                comm.Recv(buf, source=peer)
                comm.Send(buf, dest=peer)
        return (time.perf_counter() - start) / (2 * repeats)  # one way

    pingpong(8, 200)
    latency = min(pingpong(8, 2000) for _ in range(3))
    big = 8 << 20
    bandwidth = big / min(pingpong(big, 20) for _ in range(3))
    allreduce = {}
    for nbytes in sizes:
        buf = np.ones(nbytes // 4, np.float32)
        comm.Allreduce(MPI.IN_PLACE, buf)
        runs = []
        for _ in range(5):
            comm.Barrier()
            start = time.perf_counter()
            for _ in range(20):
                comm.Allreduce(MPI.IN_PLACE, buf)
            runs.append((time.perf_counter() - start) / 20)
        allreduce[str(nbytes)] = min(runs)
    if rank == 0:
        print(json.dumps({"latency_s": latency, "bandwidth_Bps": bandwidth, "allreduce_s": allreduce}), flush=True)


# ------------------------------------------------------------------------------------------------ parent side
def _mpiexec():
    local = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    return local if os.path.exists(local) else "mpiexec"


def _run(command, env_extra, timeout=3600):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PMI_", "PMIX_", "OMPI_"))}
    env.update(env_extra)
    proc = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env, timeout=timeout)
    if proc.returncode:
        raise RuntimeError(f"{' '.join(command)} failed:\n{proc.stderr[-3000:]}")
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


def run_fit(task, replicas, threads):
    import tempfile

    with tempfile.TemporaryDirectory() as out:
        me = [sys.executable, os.path.abspath(__file__), "--child", task, "--replicas", str(replicas), "--out", out]
        env = {"OPENBLAS_NUM_THREADS": str(threads), "KERASLITE_TRAIN_THREADS": str(threads)}
        _run(me if replicas == 1 else [_mpiexec(), "-n", str(replicas)] + me, env)
        results = []
        for rank in range(replicas):
            with open(os.path.join(out, f"rank{rank}.json")) as fh:
                results.append(json.load(fh))
        return results


def run_ping(sizes, netns=False):
    me = [sys.executable, os.path.abspath(__file__), "--ping", ",".join(map(str, sizes))]
    if not netns:
        return _run([_mpiexec(), "-n", "2"] + me, {"OPENBLAS_NUM_THREADS": "1"})[0]
    sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
    import netns_mpi

    return netns_mpi.run_across_namespaces(me)[0]


def ring_seconds(p, nbytes, latency, bandwidth):
    return 2 * (p - 1) / p * nbytes / bandwidth + 2 * (p - 1) * latency


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tasks", default="wide_mlp,digits_cnn")
    parser.add_argument("--netns", action="store_true", help="also ping over TCP between two namespaces (root)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--replicas", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--ping", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child_fit(args.child, args.replicas, args.out)
    if args.ping:
        return child_ping([int(s) for s in args.ping.split(",")])
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if os.environ.get(var):
            print(f"warning: {var} is set; run with `env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE`", file=sys.stderr)
    tasks = [t for t in args.tasks.split(",") if t]
    print(f"load average at start: {os.getloadavg()[0]:.2f}", flush=True)
    results = {(t, v[0]): [] for t in tasks for v in VARIANTS}
    pings = []
    for r in range(args.rounds):
        for task in tasks:
            for label, replicas, threads in (VARIANTS if r % 2 == 0 else VARIANTS[::-1]):
                result = run_fit(task, replicas, threads)
                results[(task, label)].append(result)
                print(f"round {r + 1} {task} {label}: {result}", flush=True)
        two = {t: results[(t, VARIANTS[2][0])] for t in tasks}
        sizes = sorted({two[t][-1][0]["gradient_bytes"] for t in tasks})
        pings.append(run_ping(sizes))
        print(f"round {r + 1} ping: {pings[-1]}", flush=True)
    print(f"load average at end: {os.getloadavg()[0]:.2f}\n")
    sizes = sorted({two[t][0][0]["gradient_bytes"] for t in tasks})
    latency = statistics.median(p["latency_s"] for p in pings)
    bandwidth = statistics.median(p["bandwidth_Bps"] for p in pings)
    print(f"MPI ping (mpiexec -n 2, one machine): latency {latency * 1e6:.2f} us, bandwidth "
          f"{bandwidth / 1e9:.2f} GB/s")
    links = [("one machine (shared memory)", latency, bandwidth)]
    if args.netns:
        tcp = run_ping(sizes, netns=True)
        links.append(("two namespaces over veth (TCP)", tcp["latency_s"], tcp["bandwidth_Bps"]))
        print(f"MPI ping over veth/TCP: latency {tcp['latency_s'] * 1e6:.2f} us, bandwidth "
              f"{tcp['bandwidth_Bps'] / 1e9:.2f} GB/s")
        for key, seconds in tcp["allreduce_s"].items():
            model = ring_seconds(2, int(key), tcp["latency_s"], tcp["bandwidth_Bps"])
            print(f"  all-reduce of {int(key) / 1e6:.2f} MB over veth/TCP: {seconds * 1e3:.3f} ms (ring model "
                  f"{model * 1e3:.3f} ms)")
    print("\n| task | 1 process, 2 threads (samples/s) | 1 process, 1 thread | 2 replicas, 1 thread each | "
          "2 replicas / 1 process 2 threads | 2 replicas / 1 process 1 thread | all-reduce in fit (ms/step) | "
          "all-reduce alone (ms) | ring model, p=2 (ms) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    rows = {}
    for task in tasks:
        single, single1, double = (statistics.median(r[0]["samples_per_s"] for r in results[(task, v[0])])
                                   for v in VARIANTS)
        # the last replica to arrive waits least: its time is the all-reduce itself, the others' add waiting
        in_fit = statistics.median(min(x["allreduce_ms_per_step"] for x in r) for r in two[task])
        waits = statistics.median(max(x["allreduce_ms_per_step"] for x in r) for r in two[task])
        nbytes = two[task][0][0]["gradient_bytes"]
        alone = statistics.median(p["allreduce_s"][str(nbytes)] for p in pings) * 1e3
        model2 = ring_seconds(2, nbytes, latency, bandwidth) * 1e3
        rows[task] = (double, in_fit, alone, nbytes)
        print(f"| {task} ({nbytes / 1e6:.2f} MB of gradients) | {single:,.0f} | {single1:,.0f} | {double:,.0f} | "
              f"{double / single:.2f} | {double / single1:.2f} | {in_fit:.3f} (first to arrive: {waits:.3f}) | "
              f"{alone:.3f} | {model2:.3f} |")
    print("\nProjected weak scaling (per-replica batch and compute fixed; ring all-reduce model):")
    print("| task | link | workers | all-reduce (ms) | step (ms) | efficiency | samples/s |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for task in tasks:
        double, in_fit, alone, nbytes = rows[task]
        step = TASKS[task]["batch_size"] / double * 1e3  # ms per step with 2 replicas
        compute = step - in_fit
        local_batch = TASKS[task]["batch_size"] / 2
        for name, lat, bw in links:
            for p in (2, 8, 64):
                t = ring_seconds(p, nbytes, lat, bw) * 1e3
                print(f"| {task} | {name} | {p} | {t:.3f} | {compute + t:.2f} | {compute / (compute + t):.0%} | "
                      f"{p * local_batch / (compute + t) * 1e3:,.0f} |")


if __name__ == "__main__":
    main()
