"""Per-step time of a runtime plan: where one predict spends its time, step by step.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 KERASLITE_NUM_THREADS=1 \\
        /work/venvs/dev/bin/python bench/profile_steps.py [--model cnn|mobilenet|mlp|text_gap|text_lstm|FILE.h5]
        [--batch 1 8] [--calls 200]

Each step is timed on its own, on the inputs the previous steps produced (fastest and median of ``--calls`` runs,
so caches are as warm as in a predict loop); the total of the steps is printed beside a whole predict. Not a test.
"""
import argparse
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, HERE)


def _model(name, batch):
    import numpy as np

    from keraslite import runtime

    if name.endswith(".h5"):
        model = runtime.load(name)
        npz = name[:-3] + ".npz"
        if os.path.exists(npz):
            with np.load(npz) as data:
                x0 = data["x0"]
            x = np.ascontiguousarray(np.concatenate([x0] * -(-batch // len(x0)))[:batch], np.float32)
        else:
            x = np.random.default_rng(0).random((batch,) + model.inputs[0].shape[1:]).astype(np.float32)
        return model, x
    from tutorial_models import MODELS

    make = {fn.__name__: fn for fn in MODELS.values()}[name]
    spec, inputs = make()
    return runtime.load_spec(spec), inputs(batch)


def _time_us(fn, args, calls):
    """(fastest, median) microseconds per call: on a shared machine the fastest is the least disturbed."""
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - start)
    return min(times) * 1e6, statistics.median(times) * 1e6


def profile(model, x, calls):
    """Rows (step index, layer, output shape, (fastest, median) us) and the same for a whole predict."""
    plan = model.plan
    vals = [None] * plan.n_slots
    for s in plan.input_slots:
        vals[s] = x
    rows = []
    for i, (fn, ins, outs) in enumerate(plan.steps):
        args = [vals[s] for s in ins]
        result = fn(*args)
        us = _time_us(fn, args, calls)
        results = [result] if len(outs) == 1 else list(result)
        for s, v in zip(outs, results):
            vals[s] = v
        name = plan.step_layers[i] if plan.step_layers else "?"
        rows.append((i, name, tuple(results[0].shape), us))
    total = _time_us(model.predict, [x], calls)
    return rows, total


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="cnn")
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args(argv)
    print(f"load average {' / '.join(f'{v:.1f}' for v in os.getloadavg())}")
    for batch in args.batch:
        model, x = _model(args.model, batch)
        rows, total = profile(model, x, args.calls)
        steps = [sum(r[3][k] for r in rows) for k in (0, 1)]
        print(f"\n{args.model} batch {batch}: predict {total[0]:.1f} us fastest, {total[1]:.1f} median; sum of "
              f"steps {steps[0]:.1f} / {steps[1]:.1f} us")
        for i, name, shape, (fast, med) in rows:
            print(f"  {i:3d} {name:28s} {str(shape):22s} {fast:9.1f} {med:9.1f} us  {100 * fast / steps[0]:5.1f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
