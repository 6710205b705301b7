"""Emitters for SimpleRNN, LSTM, GRU and Bidirectional as the native ONNX RNN/LSTM/GRU ops (no Loop).

ONNX wants time-major input ([time, batch, features]); the tensors in between stay time-major (perm ``(1, 0, 2)``)
so stacked recurrent layers need no transposes between them.
"""
from __future__ import annotations

from typing import Dict, List, Tuple

import numpy as np

from ..format.layers import bidirectional_halves
from .activations import RNN_ACTIVATIONS
from .graph import GraphBuilder, Value, fail
from .masking import Compacted, mask_of
from .reshaping import INT64_MAX

TIME_MAJOR = (1, 0, 2)
OPS = {"SimpleRNN": ("RNN", 1), "LSTM": ("LSTM", 4), "GRU": ("GRU", 3)}
LSTM_ORDER = (0, 3, 1, 2)  # Keras gates i, f, c, o -> ONNX i, o, f, c


def _gates(matrix: np.ndarray, gates: int, order) -> np.ndarray:
    """Reorder the gate blocks along the last axis."""
    blocks = np.split(matrix, gates, axis=-1)
    return np.concatenate([blocks[i] for i in order], axis=-1)


def _direction_weights(class_name: str, cfg: Dict, w: Dict, layer) -> Tuple[np.ndarray, ...]:
    """ONNX W [gates*u, in], R [gates*u, u], B [2*gates*u] of one direction."""
    units = int(cfg["units"])
    _, gates = OPS[class_name]
    kernel = np.asarray(w["kernel"], np.float32)
    recurrent = np.asarray(w["recurrent_kernel"], np.float32)
    bias_in = np.zeros(gates * units, np.float32)
    bias_rec = np.zeros(gates * units, np.float32)
    if cfg.get("use_bias", True):
        bias = np.asarray(w["bias"], np.float32)
        if class_name == "GRU" and bias.ndim == 2:
            bias_in, bias_rec = bias[0], bias[1]
        else:
            bias_in = bias.reshape(-1)
    if class_name == "LSTM":
        kernel, recurrent, bias_in = (_gates(a, 4, LSTM_ORDER) for a in (kernel, recurrent, bias_in))
    if kernel.shape[1] != gates * units:
        raise fail(layer, f"kernel has shape {kernel.shape}, expected (input_dim, {gates * units})")
    return kernel.T, recurrent.T, np.concatenate([bias_in, bias_rec])


def _attrs(class_name: str, cfg: Dict, layer, directions: int) -> Dict:
    """hidden_size, activations (with their alpha/beta), GRU's linear_before_reset."""
    names = {"SimpleRNN": ["activation"], "LSTM": ["recurrent_activation", "activation", "activation"],
             "GRU": ["recurrent_activation", "activation"]}[class_name]
    acts, alphas, betas = [], [], []
    for key in names * directions:
        name = cfg.get(key, "sigmoid" if key == "recurrent_activation" else "tanh")
        if name not in RNN_ACTIVATIONS:
            raise fail(layer, f"{key} {name!r} has no ONNX {OPS[class_name][0]} equivalent; "
                              f"supported: {sorted(RNN_ACTIVATIONS)}")
        op, alpha, beta = RNN_ACTIVATIONS[name]
        acts.append(op)
        if alpha is not None:
            alphas.append(alpha)
        if beta is not None:
            betas.append(beta)
    attrs = {"hidden_size": int(cfg["units"]), "activations": acts}
    if alphas:
        attrs["activation_alpha"] = alphas
    if betas:
        attrs["activation_beta"] = betas
    if class_name == "GRU":
        attrs["linear_before_reset"] = int(bool(cfg.get("reset_after", True)))
    return attrs


def _check(layer, cfg: Dict, inputs: List[Value]) -> None:
    expected = 2 if layer.mask is not None else 1  # a masked call's last input is its mask source
    if len(inputs) != expected:
        raise fail(layer, f"initial states passed as extra inputs ({len(inputs) - expected}) are not supported")
    if cfg.get("return_state"):
        raise fail(layer, "return_state=True is not supported")
    if cfg.get("time_major"):
        raise fail(layer, "time_major=True is not supported")


def _run(g: GraphBuilder, layer, inputs: List[Value], class_name: str, cfg: Dict, weights: List[Tuple],
         direction: str, merge: str, return_sequences: bool) -> Value:
    """The recurrent node(s) and what brings the output to Keras' meaning; a masked call runs on its unmasked
    steps only (``masking.Compacted``)."""
    if layer.mask is None:
        return _node(g, layer, inputs[0], class_name, cfg, weights, direction, merge, return_sequences, None)
    compact = Compacted(g, layer, inputs[0], mask_of(g, layer, inputs[-1]), reverse=direction == "reverse")
    y = _node(g, layer, compact.x, class_name, cfg, weights, "forward" if direction == "reverse" else direction,
              merge, return_sequences, compact.lens)
    if return_sequences:  # a Bidirectional returning sequences zeroes masked steps, as Keras does
        return compact.sequence(g, y, zero_output=direction == "bidirectional")
    return compact.last(g, y)


def _node(g: GraphBuilder, layer, x: Value, class_name: str, cfg: Dict, weights: List[Tuple], direction: str,
          merge: str, return_sequences: bool, lens) -> Value:
    """One ONNX recurrent node (``lens``: its sequence_lens, or None) and its output in Keras' meaning."""
    op, _ = OPS[class_name]
    d = len(weights)
    stacked = [np.stack([wts[i] for wts in weights]) for i in range(3)]
    names = [g.const(a, f"{layer.name}/{n}", key=(layer.name, n, "onnx")) for n, a in zip("WRB", stacked)]
    x = g.to_perm(x, TIME_MAJOR)
    y, y_h = g.node(op, [x.name, *names] + ([lens] if lens else []), layer.name + "/" + op.lower(), outputs=2,
                    direction=direction, **_attrs(class_name, cfg, layer, d))
    if return_sequences:  # Y: [time, directions, batch, units]
        seq = Value(y, 4, (1, 2, 0, 3), x.dtype)
        if d == 1:
            out = g.squeeze(seq, [1], layer.name)
            if direction == "reverse":  # Keras returns a go_backwards sequence in processing order
                ins = [out.name, g.ints([-1], "minus_one"), g.ints([-INT64_MAX], "int64_min"), g.ints([0], "zero"),
                       g.ints([-1], "minus_one")]
                out = g.op("Slice", ins, out, layer.name + "/reversed")
            return out
        if merge == "concat":
            t = g.node("Transpose", [y], layer.name + "/transpose", perm=[0, 2, 1, 3])[0]
            shape = g.ints([0, 0, -1], "shape_0_0_m1")
            return Value(g.node("Reshape", [t, shape], layer.name)[0], 3, TIME_MAJOR, x.dtype)
        return _merge(g, layer, seq, 1, merge)
    last = Value(y_h, 3, (1, 0, 2), x.dtype)  # Y_h: [directions, batch, units]
    if d == 1:
        return g.squeeze(last, [0], layer.name)
    if merge == "concat":
        t = g.node("Transpose", [y_h], layer.name + "/transpose", perm=[1, 0, 2])[0]
        shape = g.ints([0, -1], "shape_0_m1")
        return Value(g.node("Reshape", [t, shape], layer.name)[0], 2, (0, 1), x.dtype)
    return _merge(g, layer, last, 0, merge)


def _merge(g: GraphBuilder, layer, value: Value, axis: int, merge: str) -> Value:
    """Bidirectional's sum/mul/ave merge as one Reduce over the directions axis."""
    op = {"sum": "ReduceSum", "mul": "ReduceProd", "ave": "ReduceMean"}.get(merge)
    if op is None:
        raise fail(layer, f"merge_mode {merge!r} is not supported; expected concat, sum, mul or ave")
    return g.reduce(op, value, [axis], layer.name, keepdims=False)


def recurrent(g: GraphBuilder, layer, inputs):
    """SimpleRNN, LSTM, GRU."""
    cfg = layer.config
    _check(layer, cfg, inputs)
    wts = _direction_weights(layer.class_name, cfg, layer.weight_dict, layer)
    direction = "reverse" if cfg.get("go_backwards") else "forward"
    return [_run(g, layer, inputs, layer.class_name, cfg, [wts], direction, "concat",
                 bool(cfg.get("return_sequences")))]


def bidirectional(g: GraphBuilder, layer, inputs):
    """Bidirectional as one direction=bidirectional node; merge concat/sum/mul/ave."""
    cfg = layer.config
    inner = cfg["layer"]
    class_name, inner_cfg = inner["class_name"], inner["config"]
    if class_name not in OPS:
        raise fail(layer, f"wrapped layer {class_name!r} is not supported; expected one of {sorted(OPS)}")
    _check(layer, inner_cfg, inputs)
    forward, backward = bidirectional_halves(layer)
    keys = ("units", "activation", "recurrent_activation", "reset_after", "use_bias", "return_sequences")
    differing = [k for k in keys if backward.config.get(k) != inner_cfg.get(k)]
    if differing:
        raise fail(layer, f"the backward layer differs from the forward one in {differing}")
    if inner_cfg.get("go_backwards"):
        raise fail(layer, "a wrapped layer with go_backwards=True is not supported")
    merge = cfg.get("merge_mode", "concat")
    if merge is None:
        raise fail(layer, "merge_mode=None (two separate outputs) is not supported; use concat, sum, mul or ave")
    per_dir = [_direction_weights(class_name, inner_cfg, half.weight_dict, layer) for half in (forward, backward)]
    return [_run(g, layer, inputs, class_name, inner_cfg, per_dir, "bidirectional", merge,
                 bool(inner_cfg.get("return_sequences")))]


EMITTERS = {
    "SimpleRNN": recurrent,
    "LSTM": recurrent,
    "GRU": recurrent,
    "Bidirectional": bidirectional,
}
