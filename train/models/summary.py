"""``model.summary()``: Keras 3's table (Layer (type) | Output Shape | Param # [| Connected to]) and totals.

Drawn with the same box characters Keras' rich table uses; cells wrap onto extra lines when they are too wide.
"""
from __future__ import annotations

import shutil
import textwrap

import numpy as np


def readable_size(nbytes: float) -> str:
    """``18.79 KB``-style sizes, as Keras prints them."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if nbytes / 1024 < 1:
            return f"{nbytes:.2f} {unit}"
        nbytes /= 1024
    return f"{nbytes:.2f} PB"


def _count(weights) -> int:
    return int(sum(np.prod(v.shape) for v in weights))


def _bytes(weights) -> int:
    return int(sum(np.prod(v.shape) * np.dtype(v.dtype).itemsize for v in weights))


def _fmt_shape(shape):
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def _layer_shape(layer) -> str:
    nodes = getattr(layer, "_inbound_nodes", [])
    if not nodes:
        return "?"
    outs = [tuple(t.shape) for t in nodes[-1].output_tensors]
    return _fmt_shape(outs[0]) if len(outs) == 1 else "[" + ", ".join(_fmt_shape(s) for s in outs) + "]"


def _params(layer) -> str:
    if not layer.built:
        return "0 (unbuilt)"
    return f"{layer.count_params():,}"


def _connections(layer, model) -> str:
    nodes = getattr(model, "_nodes", None)
    relevant = {id(n) for n in nodes} if nodes is not None else None
    parts = []
    for node in layer._inbound_nodes:
        if relevant is not None and id(node) not in relevant:
            continue
        for t in node.input_tensors:
            src, index, tensor = t._keras_history
            parts.append(f"{src.name}[{index}][{tensor}]")
    return ", ".join(parts) or "-"


def _even_reduce(excess, widths):
    """Take ``excess`` off the widths as evenly as rich does (Python rounding, left to right)."""
    out, remaining, parts = [], excess, len(widths)
    for w in widths:
        cut = min(w, round(remaining / parts))
        out.append(w - cut)
        remaining -= cut
        parts -= 1
    return out


def _spread(extra, widths):
    """Share ``extra`` among the widths in proportion to them (rounding up, left to right), as rich does."""
    out, remaining, total = [], extra, sum(widths)
    for w in widths:
        add = -(-w * remaining // total) if total > 0 else remaining
        out.append(w + add)
        total -= w
        remaining -= add
    return out


def _widths(line_length, positions):
    """Content width of each column: Keras asks rich for columns at ``positions`` of ``line_length``; rich fits
    them, with one space of padding on each side and the borders, into exactly ``line_length`` characters."""
    raw, current = [], 0
    for pos in positions:
        w = int(pos * line_length) - current
        raw.append(w)
        current += w
    padded = [w + 2 for w in raw]
    available = line_length - (len(raw) + 1)
    if sum(padded) > available:
        padded = _even_reduce(sum(padded) - available, padded)
    elif sum(padded) < available:
        padded = _spread(available - sum(padded), padded)
    return [w - 2 for w in padded]


def _fit(text, width, align):
    if align == "right":
        return text.rjust(width)
    if align == "center":
        return text.center(width)
    return text.ljust(width)


def _row(cells, widths, aligns, border="│", header=False):
    if header:  # rich cuts a header that does not fit with an ellipsis instead of wrapping it
        wrapped = [[c if len(c) <= w else c[:w - 1] + "…"] for c, w in zip(cells, widths)]
    else:
        wrapped = [textwrap.wrap(c, w, break_on_hyphens=False) or [""] for c, w in zip(cells, widths)]
    height = max(len(w) for w in wrapped)
    lines = []
    for i in range(height):
        parts = [f" {_fit(lines_of[i] if i < len(lines_of) else '', w, a)} "
                 for lines_of, w, a in zip(wrapped, widths, aligns)]
        lines.append(border + border.join(parts) + border)
    return lines


def _rule(widths, left, mid, right, fill):
    return left + mid.join(fill * (w + 2) for w in widths) + right


def _sequential_like(model) -> bool:
    """Keras prints a functional model without "Connected to" when it is a chain (one call, one input each)."""
    nodes = getattr(model, "_nodes", None)
    if nodes is None:
        return True
    chain = []
    for node in nodes:
        if len(node.input_tensors) > 1:
            return False
        chain.append(node)
    depths = {}
    for node in chain:
        for t in node.input_tensors:
            src = id(t._keras_history.layer._inbound_nodes[t._keras_history.node_index])
            depths[src] = depths.get(src, 0) + 1
    if any(count > 1 for count in depths.values()):
        return False  # one tensor feeding two calls is a branch
    in_model = {id(n) for n in chain}
    return all(sum(id(n) in in_model for n in layer._inbound_nodes) <= 1 for layer in model.layers)


def summary_lines(model, line_length=None, positions=None, expand_nested=False, show_trainable=False):
    """The summary as a list of lines."""
    sequential_like = _sequential_like(model)
    if sequential_like:
        default, positions = 88, positions or [0.45, 0.80, 1.0]
        header, aligns = ["Layer (type)", "Output Shape", "Param #"], ["left", "left", "right"]
    else:
        default, positions = 108, positions or [0.3, 0.56, 0.74, 1.0]
        header, aligns = ["Layer (type)", "Output Shape", "Param #", "Connected to"], ["left", "left", "right",
                                                                                        "left"]
    if show_trainable:
        default += 12
        positions = [p * 0.90 for p in positions] + [1.0]
        header.append("Trainable")
        aligns.append("center")
    line_length = line_length or min(default, shutil.get_terminal_size().columns - 4)
    widths = _widths(line_length, positions)

    def fields(layer, level=0):
        prefix = "   " * level + "└ " if level else ""
        row = [f"{prefix}{layer.name} ({type(layer).__name__})", _layer_shape(layer), _params(layer)]
        if not sequential_like:
            row.append(_connections(layer, model))
        if show_trainable:
            row.append(("Y" if layer.trainable else "N") if layer.weights else "-")
        rows = [row]
        if expand_nested and getattr(layer, "layers", None) and hasattr(layer, "_sublayers"):
            for inner in layer.layers:
                rows += fields(inner, level + 1)
        return rows

    lines = [f'Model: "{model.name}"', _rule(widths, "┏", "┳", "┓", "━")]
    lines += _row(header, widths, aligns, "┃", header=True)
    lines.append(_rule(widths, "┡", "╇", "┩", "━"))
    rows = [r for layer in model.layers for r in fields(layer)]
    for i, row in enumerate(rows):
        lines += _row(row, widths, aligns)
        lines.append(_rule(widths, "├", "┼", "┤", "─") if i < len(rows) - 1 else _rule(widths, "└", "┴", "┘", "─"))
    trainable, frozen = model.trainable_weights, model.non_trainable_weights
    opt = getattr(model, "optimizer", None)
    opt_vars = list(opt.variables) if opt is not None and getattr(opt, "built", False) else []
    total = _count(trainable) + _count(frozen) + _count(opt_vars)
    total_bytes = _bytes(trainable) + _bytes(frozen) + _bytes(opt_vars)
    lines.append(f" Total params: {total:,} ({readable_size(total_bytes)})")
    lines.append(f" Trainable params: {_count(trainable):,} ({readable_size(_bytes(trainable))})")
    lines.append(f" Non-trainable params: {_count(frozen):,} ({readable_size(_bytes(frozen))})")
    if opt_vars:
        lines.append(f" Optimizer params: {_count(opt_vars):,} ({readable_size(_bytes(opt_vars))})")
    return lines


def print_summary(model, line_length=None, positions=None, print_fn=None, expand_nested=False,
                  show_trainable=False):
    text = "\n".join(summary_lines(model, line_length, positions, expand_nested, show_trainable))
    (print_fn or print)(text)


__all__ = ["print_summary", "summary_lines", "readable_size"]
