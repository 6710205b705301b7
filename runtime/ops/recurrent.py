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

    def step(xw_t, h, c, out):
        """One time step on numpy for every row, in place (the masked path)."""
        if kind == "SimpleRNN":
            K.simple_numpy(xw_t, rkernel, act, h, out)
        elif kind == "LSTM":
            K.lstm_numpy(xw_t, rkernel, act, ract, h, c, out)
        else:
            K.gru_numpy(xw_t, rkernel, rbias, act, ract, reset_after, h, out)

    def masked(xw, mask, zero_output):
        """Keras' masked recurrence: a masked step leaves the state as it was and outputs the previous output
        (zeros with ``zero_output``, as a Bidirectional returning sequences asks)."""
        n, steps = xw.shape[0], xw.shape[1]
        h = np.zeros((n, units), np.float32)
        c = np.zeros((n, units), np.float32) if kind == "LSTM" else None
        hn, cn = np.empty_like(h), (np.empty_like(c) if c is not None else None)
        seq = np.empty((n, steps, units), np.float32)
        out = np.empty((n, 1, units), np.float32)
        for t in range(steps):
            hn[:] = h
            if c is not None:
                cn[:] = c
            step(xw[:, t:t + 1], hn, cn, out)
            keep = mask[:, t, None]
            np.copyto(h, hn, where=keep)
            if c is not None:
                np.copyto(c, cn, where=keep)
            seq[:, t] = np.where(keep, hn, np.float32(0)) if zero_output else h
        return seq, ([h, c] if c is not None else [h])

    def run(x, mask=None, zero_output=False):
        n, steps = x.shape[0], x.shape[1]
        if backwards:
            x = x[:, ::-1]
            mask = mask[:, ::-1] if mask is not None else None
        xw = np.dot(x.reshape(n * steps, -1), kernel)
        xw += in_bias
        xw = xw.reshape(n, steps, g)
        if mask is not None:
            return masked(xw, mask, zero_output)
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


def _mask_of(layer, shapes):
    """``fn(source) -> bool mask`` for a masked call (its last input is the mask source), else None."""
    if layer.mask is None:
        return None
    from .masking import check_mask_shape, mask_fn

    check_mask_shape(layer, shapes[0], shapes[-1])
    return mask_fn(layer)


def rnn(layer, shapes):
    shape = shapes[0]
    cell, units = _cell(layer, shape)
    seqs = bool(layer.config.get("return_sequences"))
    state = bool(layer.config.get("return_state"))
    out = (shape[0], shape[1], units) if seqs else (shape[0], units)
    n_states = 2 if layer.class_name == "LSTM" else 1
    get_mask = _mask_of(layer, shapes)

    def run(x, source=None):
        seq, states = cell(x, get_mask(source) if get_mask is not None else None)
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
    get_mask = _mask_of(layer, shapes)

    def run(x, source=None):
        mask = get_mask(source) if get_mask is not None else None
        fs, _ = fcell(x, mask, seqs)  # Keras zeroes masked outputs of a Bidirectional returning sequences
        bs, _ = bcell(x, mask, seqs)
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
