"""Recurrent ops: SimpleRNN, LSTM, GRU (reset_after either way) and Bidirectional."""
import numpy as np

from ...errors import ModelFormatError
from .. import native
from ..kernels.activations import FUNCTIONS
from ...format.layers import bidirectional_halves
from .common import check_rank, need, weights

GATES = {"SimpleRNN": 1, "LSTM": 4, "GRU": 3}
BLAS_MIN_BATCH = 4  # from this batch size on, LSTM steps use one BLAS GEMM each (measured on AVX-512)


def _cell(layer, shape, compiled_ok=True):
    """A function ``(x) -> (seq (N, T, u), [final states])`` for one recurrent layer, checked once."""
    cfg = layer.config
    need(layer, not cfg.get("stateful"), "stateful=True")
    need(layer, not cfg.get("time_major"), "time_major=True")
    check_rank(layer, shape, (3,))
    kind, units, features = layer.class_name, int(cfg["units"]), shape[-1]
    g = GATES[kind] * units
    act = cfg.get("activation", "tanh")
    ract = cfg.get("recurrent_activation", "sigmoid")
    for name in (act, ract):
        need(layer, name in FUNCTIONS, f"activation {name!r}")
    reset_after = bool(cfg.get("reset_after", True)) if kind == "GRU" else False
    use_bias = cfg.get("use_bias", True)
    bias_shape = (2, g) if reset_after else (g,)
    names = ["kernel", "recurrent_kernel"] + (["bias"] if use_bias else [])
    got = weights(layer, names, [(features, g), (units, g), bias_shape])
    kernel, rkernel = got[0], got[1]
    bias = got[2] if use_bias else np.zeros(bias_shape, np.float32)
    in_bias, rbias = (bias[0], np.ascontiguousarray(bias[1])) if reset_after else (bias, np.zeros(g, np.float32))
    backwards = bool(cfg.get("go_backwards"))
    compiled = None
    if compiled_ok and native.lib() is not None:
        from ..kernels import native_ops

        compiled = native_ops.recurrence(kind, kernel, rkernel, in_bias, rbias, act, ract, reset_after, units)
    if compiled is not None:
        other = []  # the cell without compiled kernels, built on first use, for calls with extra arguments

        def run_compiled(x, *extra):
            if extra and extra[0] is not None:
                if not other:
                    other.append(_cell(layer, shape, compiled_ok=False)[0])
                return other[0](x, *extra)
            seq, h, c = compiled(x[:, ::-1] if backwards else x)
            return seq, ([h, c] if c is not None else [h])
        return run_compiled, units
    from ..kernels import recurrent as K  # imports numba only for plans with RNNs

    jit = {"SimpleRNN": K.simple_jit, "LSTM": K.lstm_jit, "GRU": K.gru_jit}[kind]
    codes = (K.CODES.get(act), K.CODES.get(ract))
    use_jit = jit is not None and None not in codes

    def run(x):
        n, steps = x.shape[0], x.shape[1]
        if backwards:
            x = x[:, ::-1]
        xw = np.dot(x.reshape(n * steps, -1), kernel)
        xw += in_bias
        xw = xw.reshape(n, steps, g)
        h = np.zeros((n, units), np.float32)
        seq = np.empty((n, steps, units), np.float32)
        c = np.zeros((n, units), np.float32) if kind == "LSTM" else None
        if kind == "SimpleRNN":
            (K.simple_jit(xw, rkernel, codes[0], h, seq) if use_jit else K.simple_numpy(xw, rkernel, act, h, seq))
        elif kind == "LSTM":
            if not use_jit:
                K.lstm_numpy(xw, rkernel, act, ract, h, c, seq)
            elif n >= BLAS_MIN_BATCH:  # h @ U by BLAS per step beats the fused loop from a few rows on
                K.lstm_blas(xw, rkernel, codes[0], codes[1], h, c, seq)
            else:
                K.lstm_jit(xw, rkernel, codes[0], codes[1], h, c, seq)
        else:
            (K.gru_jit(xw, rkernel, rbias, codes[0], codes[1], reset_after, h, seq) if use_jit
             else K.gru_numpy(xw, rkernel, rbias, act, ract, reset_after, h, seq))
        return seq, ([h, c] if c is not None else [h])
    return run, units


def rnn(layer, shapes):
    shape = shapes[0]
    cell, units = _cell(layer, shape)
    seqs = bool(layer.config.get("return_sequences"))
    state = bool(layer.config.get("return_state"))
    out = (shape[0], shape[1], units) if seqs else (shape[0], units)
    n_states = 2 if layer.class_name == "LSTM" else 1

    def run(x):
        seq, states = cell(x)
        y = seq if seqs else np.ascontiguousarray(seq[:, -1])
        return (y, *states) if state else y
    return run, [out] + ([(shape[0], units)] * n_states if state else [])


def bidirectional(layer, shapes):
    shape = shapes[0]
    cfg = layer.config
    inner = cfg["layer"]
    need(layer, inner["class_name"] in GATES, f"wrapped layer {inner['class_name']!r}")
    need(layer, not inner["config"].get("return_state"), "return_state=True inside Bidirectional")
    fwd, bwd = bidirectional_halves(layer)
    if not fwd.weights or not bwd.weights:
        raise ModelFormatError(f"layer {layer.name!r} (Bidirectional): weights 'forward/...' and 'backward/...' "
                               f"expected, found {[n for n, _ in layer.weights]}")
    fcell, units = _cell(fwd, shape)
    bcell, bunits = _cell(bwd, shape)
    seqs = bool(inner["config"].get("return_sequences"))
    mode = cfg.get("merge_mode", "concat")
    need(layer, mode in ("concat", "sum", "mul", "ave", None), f"merge_mode={mode!r}")

    def run(x):
        fs, _ = fcell(x)
        bs, _ = bcell(x)
        if seqs:
            f, b = fs, np.ascontiguousarray(bs[:, ::-1])
        else:
            f, b = np.ascontiguousarray(fs[:, -1]), np.ascontiguousarray(bs[:, -1])
        if mode == "concat":
            return np.concatenate([f, b], axis=-1)
        if mode == "sum":
            return f + b
        if mode == "mul":
            return f * b
        if mode == "ave":
            return (f + b) * np.float32(0.5)
        return f, b
    lead = (shape[0], shape[1]) if seqs else (shape[0],)
    if mode == "concat":
        return run, [lead + (units + bunits,)]
    if mode is None:
        return run, [lead + (units,), lead + (bunits,)]
    return run, [lead + (units,)]


OPS = {
    "SimpleRNN": rnn,
    "LSTM": rnn,
    "GRU": rnn,
    "Bidirectional": bidirectional,
}
