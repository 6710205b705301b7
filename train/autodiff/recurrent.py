"""Fused recurrent primitives: one node per SimpleRNN / LSTM / GRU layer call, backpropagation through time inside.

``lstm(x, kernel, recurrent_kernel, bias, h0, c0, ...)`` (``gru`` and ``simple_rnn`` alike with one state) runs the
whole sequence: the input projection ``x @ kernel`` of every step is one GEMM, then a loop over the steps does the
recurrent GEMM and the gate arithmetic of the cell (recurrent_cells.py, or its Numba kernels), keeping what the
backward pass needs; with the compiled kernels (recurrent_native.py) the whole loop is one C call each way. The
VJP walks the steps in reverse and ends with one GEMM each for the kernel, the recurrent kernel and the inputs.
Outputs: the output (the sequence, or its last step) and the final states.
``bidirectional_lstm`` (and the other two) are a Bidirectional layer's two directions as one node, run on two
threads.

Keras' semantics (``keras/src/backend/tensorflow/rnn.py``, the loop Keras runs on CPU): ``go_backwards`` reads
the (whole, padded) sequence from its end and returns outputs in that order; at a masked step the states keep
their previous value and the output repeats the previous output (zeros before the first valid step), or is zero
with ``zero_output_for_mask`` (what Bidirectional sets when it returns sequences). Dropout masks are inputs: one
``(N, F)`` mask for every gate, or one per gate, as the layer draws them.
"""
from __future__ import annotations

import threading

import numpy as np

from ...errors import KerasliteError
from .core import primitive, recording_tapes
from .recurrent_cells import CELLS, LSTMCell, lstm_perm
from .recurrent_kernels import cell_class
from .recurrent_native import POOL, native_cell, run_jobs
from .recurrent_parts import Projection, activation as get_activation


def _layout(kind, units, bias, reset_after):
    """(column permutation or None, input bias for the projection, recurrent bias of the GRU candidate)."""
    perm = lstm_perm(units) if kind == "lstm" else None
    if bias is None:
        return perm, None, None
    if kind == "gru" and reset_after:
        u = units
        folded = bias[0].copy()
        folded[:2 * u] += bias[1][:2 * u]  # the z and r recurrent biases add straight to the projection
        return perm, folded, bias[1][2 * u:]
    return perm, (bias if perm is None else bias[perm]), None


def _gate_masks(mask, kind):
    """Per-gate dropout masks in the cell's internal gate order."""
    if mask is None or kind != "lstm" or np.ndim(mask) == 2 or np.shape(mask)[0] == 1:
        return mask
    return np.asarray(mask)[list(LSTMCell.GATE_ORDER)]


class _Context:
    """What one forward call leaves for its backward pass."""

    __slots__ = ("cell", "states", "proj", "mask", "perm", "kind", "go_backwards", "return_sequences",
                 "zero_output", "reset_after", "dtype", "passes")


def _backward_passes():
    """How many backward passes can reach this call: one per recording tape, unlimited (None) when a tape is
    persistent. The saved sequences are dropped after the last one: the node itself lives on, in a reference
    cycle with its outputs, until Python's cycle collector runs, and RNN residuals are megabytes per batch."""
    active = [t for t in recording_tapes() if t._recording]
    return None if any(t._persistent for t in active) else len(active)


def _drive(drivers, backward):
    """Run each call's driver (a generator) to its compiled job, the jobs in one call (a Bidirectional layer's two
    directions at once), then each driver's rest; the results in order. Without compiled jobs two drivers' loops
    (the Numba / numpy cells) run on two threads."""
    jobs = [next(d) for d in drivers]
    compiled = [j for j in jobs if j is not None]
    if compiled:
        run_jobs(backward, compiled)
    elif len(drivers) == 2:
        return list(_both(lambda: _finish(drivers[0]), lambda: _finish(drivers[1])))
    return [_finish(d) for d in drivers]


def _finish(driver):
    try:
        driver.send(None)
    except StopIteration as stop:
        return stop.value
    raise RuntimeError("a recurrent driver yielded twice")  # a bug here, never the user's input


def _forward(*args, **params):
    return _drive([_forward_steps(*args, **params)], backward=False)[0]


def _forward_steps(kind, x, kernel, recurrent_kernel, bias, *states0, mask=None, dropout=None,
                   recurrent_dropout=None, activation="tanh", recurrent_activation="sigmoid", go_backwards=False,
                   return_sequences=False, zero_output_for_mask=False, reset_after=True, passes=-1):
    """The forward pass of one call; yields its compiled job (None without one) once, returns ``_forward``'s."""
    n, steps = x.shape[0], x.shape[1]
    units = recurrent_kernel.shape[0]
    dtype = x.dtype
    xt = x.transpose(1, 0, 2)
    m = None if mask is None else np.asarray(mask, bool).T
    if go_backwards:
        xt = xt[::-1]
        m = None if m is None else m[::-1]
    if m is not None and m.all():
        m = None  # nothing masked: the plain loop gives the same numbers
    perm, in_bias, bias_h = _layout(kind, units, bias, reset_after)
    kern = kernel if perm is None else kernel[:, perm]
    rkern = recurrent_kernel if perm is None else recurrent_kernel[:, perm]
    names = [activation] + ([recurrent_activation] if kind != "simple_rnn" else [])
    native = native_cell(kind, dtype, names, recurrent_dropout)
    # a compiled cell's sequences come from a pool and go back to it after the backward pass (recurrent_native.py)
    empty = POOL.take if native is not None else lambda shape: np.empty(shape, dtype)
    x_steps = empty(xt.shape)
    np.copyto(x_steps, xt)
    proj = Projection(x_steps, kern, _gate_masks(dropout, kind), CELLS[kind].gates)
    pooled = native is not None and kern.dtype == np.float32
    xw = proj.forward(POOL.take((steps * n, kern.shape[1])) if pooled else None)
    if in_bias is not None and native is None:  # the compiled loop adds it as it reads xw
        xw += in_bias
    cls = native or cell_class(kind, dtype, names) or CELLS[kind]
    extra = {"reset_after": reset_after} if kind == "gru" else {}
    acts = [get_activation(a) for a in names]
    cell = cls(steps, n, units, dtype, rkern, _gate_masks(recurrent_dropout, kind), acts, bias_h, **extra)
    states = [empty((steps + 1, n, units)) for _ in range(cell.n_states)]
    for s, s0 in zip(states, states0):
        s[0] = s0
    compiled = native is not None
    outputs = None
    if compiled:
        yield cell.forward_job(xw, states, m, zero_output_for_mask, in_bias)
        outputs = cell.outputs
    else:
        yield None
    if pooled:
        POOL.give([xw.base if xw.base is not None else xw])  # read by the forward steps only
    if m is not None and not compiled:
        outputs = np.empty((steps, n, units), dtype)
    step = cell.step
    for t in range(0 if compiled else steps):
        step(t, xw, states)
        if m is not None:
            keep = ~m[t][:, None]
            np.copyto(outputs[t], states[0][t + 1])
            if zero_output_for_mask or t == 0:
                np.copyto(outputs[t], 0, where=keep)
            else:
                np.copyto(outputs[t], outputs[t - 1], where=keep)
            for s in states:
                np.copyto(s[t + 1], s[t], where=keep)
    seq = states[0][1:] if outputs is None else outputs
    out = seq.transpose(1, 0, 2) if return_sequences else seq[steps - 1]
    finals = [s[steps] for s in states]
    if compiled:  # what is returned must not be a view of a pooled buffer
        finals = [f.copy() for f in finals]
        out = out if return_sequences else out.copy()
    ctx = _Context()
    ctx.cell, ctx.states, ctx.proj, ctx.mask, ctx.perm, ctx.kind = cell, states, proj, m, perm, kind
    ctx.go_backwards, ctx.return_sequences, ctx.zero_output = go_backwards, return_sequences, zero_output_for_mask
    ctx.reset_after, ctx.dtype = reset_after, dtype
    ctx.passes = _backward_passes() if passes == -1 else passes
    return (out, *finals), ctx


def _backward(*args, **params):
    return _drive([_backward_steps(*args, **params)], backward=True)[0]


def _backward_steps(g, ans, needs, x, kernel, recurrent_kernel, bias, *states0, **params):
    """The VJP of one call; yields its compiled job (None without one) once, returns the gradients."""
    _, ctx = ans
    if ctx.cell is None:
        raise KerasliteError(f"the {ctx.kind} call's saved sequences were released after its backward pass; "
                             "use GradientTape(persistent=True) to take several gradients")
    cell, states, m = ctx.cell, ctx.states, ctx.mask
    steps, n, units = states[0].shape[0] - 1, states[0].shape[1], states[0].shape[2]
    # contiguous gradients in the working dtype: each step then hands the kernels rows of one layout
    g_out = None if g[0] is None else np.asarray(g[0], ctx.dtype)
    d_seq = np.ascontiguousarray(g_out.transpose(1, 0, 2)) if (ctx.return_sequences and g_out is not None) else None
    d_last = np.ascontiguousarray(g_out) if (g_out is not None and not ctx.return_sequences) else None
    ds = [np.zeros((n, units), ctx.dtype) if gs is None else np.ascontiguousarray(gs, ctx.dtype) for gs in g[1:]]
    cell.prepare_backward(states)
    carry = None
    compiled = hasattr(cell, "backward_job")
    if compiled:
        yield cell.backward_job(ds, d_seq, d_last, ctx.zero_output)
        ds = cell.d_states
    else:
        yield None
    for t in range(-1 if compiled else steps - 1, -1, -1):
        d_out = None if d_seq is None else d_seq[t]
        if t == steps - 1 and d_last is not None:
            d_out = d_last if d_out is None else d_out + d_last
        if m is None:
            ds = cell.back(t, ds, d_out)
            continue
        if carry is not None:
            d_out = carry if d_out is None else d_out + carry
        valid = m[t][:, None].astype(ctx.dtype)
        held = 1 - valid
        dh = ds[0] if d_out is None else ds[0] + d_out
        through = cell.back(t, [dh * valid] + [d * valid for d in ds[1:]])
        ds = [b + d * held for b, d in zip(through, ds)]
        carry = None if (ctx.zero_output or d_out is None) else d_out * held
    dz = cell.dz
    grads = [None, None, None, None]
    if needs[0]:
        gx = ctx.proj.input_grad(dz)
        grads[0] = (gx[::-1] if ctx.go_backwards else gx).transpose(1, 0, 2)
    if needs[1]:
        grads[1] = _unpermute(ctx.proj.kernel_grad(dz), ctx.perm)
    if needs[2] or (needs[3] and ctx.kind == "gru" and ctx.reset_after):
        grad_u, grad_rbias = cell.recurrent_grads(states)
        grads[2] = _unpermute(grad_u, ctx.perm) if needs[2] else None
    if needs[3] and bias is not None:
        summed = getattr(cell, "dbias", None)  # the compiled loop sums dz as it goes
        grad_b = _unpermute(dz.sum(axis=(0, 1)) if summed is None else summed, ctx.perm)
        grads[3] = np.stack([grad_b, grad_rbias]) if (ctx.kind == "gru" and ctx.reset_after) else grad_b
    last = ctx.passes is not None and ctx.passes <= 1
    if last and hasattr(cell, "release"):
        # the states hold the returned sequence when it is not a masked copy
        shared = ctx.return_sequences and m is None
        cell.release(states[1:] + [ctx.proj.x] if shared else states + [ctx.proj.x])
    for name in BACKWARD_BUFFERS:  # the node outlives this call until Python's cycle collector frees it
        cell.__dict__.pop(name, None)
    if ctx.passes is not None:
        ctx.passes -= 1
        if ctx.passes <= 0:
            ctx.cell = ctx.states = ctx.proj = None
    return tuple(grads) + tuple(ds[k] if needs[4 + k] else None for k in range(len(states0)))


# What a cell's prepare_backward makes; a second backward pass (a persistent tape) makes them again.
BACKWARD_BUFFERS = ("factor", "dh_to_dc", "dz", "dm", "dr", "states")


def _unpermute(grad, perm):
    if perm is None:
        return grad
    out = np.empty_like(grad)
    out[..., perm] = grad
    return out


def _make(kind, n_states):
    def fwd(x, kernel, recurrent_kernel, bias, *states, **params):
        return _forward(kind, x, kernel, recurrent_kernel, bias, *states, **params)
    fwd.__name__ = f"_{kind}_fwd"
    return primitive(kind, fwd, joint=_backward, n_out=1 + n_states, saves=True)


simple_rnn = _make("simple_rnn", 1)
lstm = _make("lstm", 2)
gru = _make("gru", 1)


# ------------------------------------------------------------------------------------------- both directions
def _both(first, second):
    """``(first(), second())``, the second on another thread: the two directions of a Bidirectional layer are
    independent and spend most of their time in GEMMs and kernels that release the GIL (as TensorFlow runs the
    two halves of its graph on two cores)."""
    box = {}

    def run():
        try:
            box["value"] = second()
        except BaseException as exc:  # re-raised on the calling thread
            box["error"] = exc

    thread = threading.Thread(target=run, name="keraslite-bidirectional")
    thread.start()
    try:
        result = first()
    finally:
        thread.join()
    if "error" in box:
        raise box["error"]
    return result, box["value"]


def _make_pair(kind, n_states):
    """A Bidirectional layer's two RNNs of one kind as one node:
    ``(x, kernel, recurrent_kernel, bias) forwards, the same backwards, forward states, backward states``;
    outputs ``(output, *states)`` forwards then backwards. ``forward``/``backward`` hold each side's parameters,
    as a dict or as its ``items()`` (plain constants: a traced step can then replay the node)."""
    def fwd(x, fk, frk, fb, bk, brk, bb, *states, forward, backward):
        forward, backward = dict(forward), dict(backward)
        passes = _backward_passes()  # tapes are per thread: counted here, for both sides
        f, b = _drive([_forward_steps(kind, x, fk, frk, fb, *states[:n_states], passes=passes, **forward),
                       _forward_steps(kind, x, bk, brk, bb, *states[n_states:], passes=passes, **backward)], False)
        return (*f[0], *b[0]), (f, b)

    def joint(g, ans, needs, x, fk, frk, fb, bk, brk, bb, *states, forward, backward):
        _, (f, b) = ans
        forward, backward = dict(forward), dict(backward)
        k = 1 + n_states
        sides = ((g[:k], f, [needs[0], *needs[1:4], *needs[7:7 + n_states]], (fk, frk, fb), states[:n_states],
                  forward),
                 (g[k:], b, [needs[0], *needs[4:7], *needs[7 + n_states:]], (bk, brk, bb), states[n_states:],
                  backward))

        live = [i for i in (0, 1) if any(v is not None for v in sides[i][0])]
        done = _drive([_backward_steps(grads, saved, wanted, x, *weights, *init, **params)
                       for grads, saved, wanted, weights, init, params in (sides[i] for i in live)], True)
        results = [(None,) * (4 + n_states)] * 2
        for i, r in zip(live, done):
            results[i] = r
        rf, rb = results
        dx = rf[0] if rb[0] is None else (rb[0] if rf[0] is None else rf[0] + rb[0])
        return (dx, *rf[1:4], *rb[1:4], *rf[4:], *rb[4:])

    fwd.__name__ = f"_bidirectional_{kind}_fwd"
    return primitive(f"bidirectional_{kind}", fwd, joint=joint, n_out=2 * (1 + n_states), saves=True)


bidirectional_simple_rnn = _make_pair("simple_rnn", 1)
bidirectional_lstm = _make_pair("lstm", 2)
bidirectional_gru = _make_pair("gru", 1)
PAIRS = {"simple_rnn": bidirectional_simple_rnn, "lstm": bidirectional_lstm, "gru": bidirectional_gru}

__all__ = ["simple_rnn", "lstm", "gru", "bidirectional_simple_rnn", "bidirectional_lstm", "bidirectional_gru",
           "PAIRS"]
