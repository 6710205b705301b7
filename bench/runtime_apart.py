"""Runtime latency with each peer alone in its own process: what a user who runs only one of them sees.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /work/venvs/dev/bin/python bench/runtime_apart.py
        [--threads default|one] [--set all|tutorial|apps] [--only NAME ...] [--repeats 2] [--seconds 1.0]

bench/runtime.py alternates the peers inside one process, which keeps the machine's load the same for both but
lets one peer's idle pool threads (spinning after a call, both libraries do) run on the cores the other is timing
on; at default threads on a quiet machine that skews the ratio by tens of percent either way. Here every
measurement is a fresh process that loads one model with one peer, warms up, and times calls for ``--seconds``
(median per call); the peers alternate process by process, ``--repeats`` processes each, and the figure is the
median over them. Same models, inputs and ONNX files as bench/runtime.py. Prints a Markdown table.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile

import runtime as rt  # bench/runtime.py: the cases, their inputs and the thread variables

CHILD = r"""
import json, sys, time
sys.path.insert(0, {here!r})
import runtime as rt
case, batch, peer, seconds = json.loads(sys.argv[1])
x = rt._inputs(case, batch)
if peer == "keraslite":
    from keraslite import runtime
    model = runtime.load(case["h5"])
    call = lambda: model.predict(x)
else:
    import onnxruntime as ort
    opts = ort.SessionOptions()
    if {one!r}:
        opts.intra_op_num_threads = opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(case["onnx"], opts, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    call = lambda: sess.run(None, {{name: x}})
for _ in range(3):
    call()
times, end = [], time.perf_counter() + seconds
while time.perf_counter() < end or len(times) < 10:
    start = time.perf_counter()
    call()
    times.append(time.perf_counter() - start)
print(sorted(times)[len(times) // 2])
"""


def alone(case, batch, peer, args, env):
    """Median seconds per call of ``peer`` on ``case`` at ``batch``, in a fresh process."""
    import json

    code = CHILD.format(here=rt.HERE, one=args.threads == "one")
    done = subprocess.run([sys.executable, "-c", code, json.dumps([case, batch, peer, args.seconds])], env=env,
                          capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{peer} on {case['label']} failed:\n{done.stderr[-2000:]}")
    return float(done.stdout.split()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", choices=["default", "one"], default="default")
    parser.add_argument("--set", choices=["all", "tutorial", "apps"], default="all")
    parser.add_argument("--apps", default=rt.APPS_DIR)
    parser.add_argument("--only", nargs="+", help="only these applications")
    parser.add_argument("--repeats", type=int, default=2, help="processes per peer, case and batch")
    parser.add_argument("--seconds", type=float, default=1.0, help="timed calls per process")
    args = parser.parse_args(argv)
    args.out = tempfile.mkdtemp(prefix="keraslite-bench-")
    env = {k: v for k, v in os.environ.items() if k not in rt.THREAD_VARS}
    if args.threads == "one":
        env.update({var: "1" for var in rt.THREAD_VARS})
    start_load = rt.load_average()
    cases, failed = rt.prepare(args)
    rows = []
    for case in cases:
        for batch in case["batches"]:
            runs = {"keraslite": [], "onnxruntime": []}
            for r in range(args.repeats):
                for peer in (("keraslite", "onnxruntime") if r % 2 == 0 else ("onnxruntime", "keraslite")):
                    runs[peer].append(alone(case, batch, peer, args, env))
            ours, theirs = (statistics.median(runs[p]) * 1e6 for p in ("keraslite", "onnxruntime"))
            rows.append((case["label"], case["set"], batch, ours, theirs, ours / theirs))
            print(f"  {case['label']:30s} b{batch:<2d} keraslite {ours:10.1f} us  onnxruntime {theirs:10.1f} us  "
                  f"ratio {ours / theirs:5.2f}", flush=True)
    print(f"\nLoad average (1/5/15 min): {start_load} at the start, {rt.load_average()} at the end; "
          f"{args.threads} thread(s), each peer alone in its process.\n")
    print(f"| model | batch | keraslite (us) | onnxruntime (us) | ratio |\n| --- | ---: | ---: | ---: | ---: |")
    for label, _, batch, ours, theirs, ratio in rows:
        print(f"| {label} | {batch} | {ours:.0f} | {theirs:.0f} | {ratio:.2f} |")
    for subset, title in (("tutorial", "tutorial models"), ("apps", "keras.applications"), (None, "whole set")):
        chosen = [r for r in rows if subset is None or r[1] == subset]
        if chosen:
            worst = max(chosen, key=lambda r: r[5])
            mean = rt.geomean([r[5] for r in chosen])
            print(f"- {title}: geometric mean **{mean:.2f}** over {len(chosen)} cases; highest {worst[5]:.2f} "
                  f"({worst[0]}, batch {worst[2]})")
    for name, why in failed:
        print(f"not loaded: {name}: {why}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
