"""The one finite-difference oracle: analytic gradients from GradientTape against central differences in float64.

``check_gradients(fn, inputs)`` reduces ``fn``'s output(s) to a scalar with a fixed random cotangent, so every
output element contributes, then compares d(scalar)/d(input) element by element with
``(f(x + h) - f(x - h)) / 2h``. Used for primitives, layers (weights and input) and losses alike.
"""
from __future__ import annotations

from typing import Callable, List, Sequence

import numpy as np

from keraslite.train.autodiff import GradientTape, Tensor, Variable


def _scalar(out, cotangents):
    outs = out if isinstance(out, (list, tuple)) else [out]
    total = 0.0
    for o, c in zip(outs, cotangents):
        total = total + float(np.sum(np.asarray(o, dtype=np.float64) * c))
    return total


def _cotangents(out, rng):
    outs = out if isinstance(out, (list, tuple)) else [out]
    return [rng.standard_normal(np.shape(o)) for o in outs]


def check_gradients(fn: Callable, inputs: Sequence[np.ndarray], wrt: Sequence[int] = None, h: float = 1e-6,
                    rtol: float = 1e-5, atol: float = 1e-6, seed: int = 0, variables: List[Variable] = ()):
    """Assert the tape's gradients of ``fn(*inputs)`` match central differences.

    Args:
        fn: takes Tensors (float64), returns a Tensor or a list of Tensors; must be deterministic.
        inputs: float64 arrays (integer arrays are passed through and not differentiated).
        wrt: indices of the inputs to check (default: every float input).
        variables: Variables ``fn`` reads (layer weights), checked as well.
    """
    inputs = [np.asarray(x) for x in inputs]
    wrt = [i for i, x in enumerate(inputs) if x.dtype.kind == "f"] if wrt is None else list(wrt)
    rng = np.random.default_rng(seed)
    tensors = [Tensor(x) for x in inputs]
    with GradientTape(persistent=True) as tape:
        for i in wrt:
            tape.watch(tensors[i])
        out = fn(*tensors)
        cot = _cotangents(out, rng)
        outs = out if isinstance(out, (list, tuple)) else [out]
        from keraslite.train.autodiff import elementwise as E, reduce as R

        loss = None
        for o, c in zip(outs, cot):
            term = R.sum_(E.multiply(o, c))
            loss = term if loss is None else E.add(loss, term)
    analytic = tape.gradient(loss, [tensors[i] for i in wrt] + list(variables))

    def numeric(get, set_):
        base = get().copy()
        grad = np.zeros_like(base)
        for idx in np.ndindex(base.shape):
            for sign in (1, -1):
                probe = base.copy()
                probe[idx] += sign * h
                set_(probe)
                value = _scalar(fn(*[Tensor(a) for a in current]), cot)
                grad[idx] += sign * value
            set_(base)
        return grad / (2 * h)

    current = [x.copy() for x in inputs]
    targets = [(f"input {i}", lambda i=i: current[i], lambda v, i=i: current.__setitem__(i, v)) for i in wrt]
    targets += [(f"variable {v.path}", lambda v=v: v.numpy(), lambda a, v=v: v.assign(a)) for v in variables]
    for (label, get, set_), got in zip(targets, analytic):
        want = numeric(get, set_)
        got = np.zeros_like(want) if got is None else np.asarray(got, dtype=np.float64)
        err = np.abs(got - want)
        bound = atol + rtol * np.abs(want)
        assert np.all(err <= bound), (f"{label}: gradient mismatch, max |analytic - numeric| = {err.max():.3g} "
                                      f"at {np.unravel_index(np.argmax(err - bound), err.shape)}\n"
                                      f"analytic={got.ravel()[:8]}\nnumeric={want.ravel()[:8]}")
