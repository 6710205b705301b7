"""``plot_history``: the picture every tutorial draws by hand, from a CSVLogger file (or a History).

One panel per quantity (loss, then each metric, then the learning rate when it was logged): the training curve
and, when there is one, the validation curve (``val_<name>``) per epoch. Drawn with matplotlib's Agg canvas
(``pip install 'keraslite[plot]'``), without pyplot, so no window opens and no global state changes.
"""
from __future__ import annotations

import csv
import math
import os
from typing import Dict, List

from ..errors import KerasliteError


def read_csv_log(path, separator=",") -> Dict[str, List[float]]:
    """The columns of a CSVLogger file: ``{"epoch": [...], "loss": [...], ...}``; ``NA`` cells become NaN."""
    path = os.fspath(path)
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh, delimiter=separator))
    if not rows or "epoch" not in rows[0]:
        raise KerasliteError(f"{path} is not a CSVLogger log: its first line must be a header starting with "
                             f"'epoch' (e.g. 'epoch,accuracy,loss,val_accuracy,val_loss'); got {rows[:1]}")
    header, body = rows[0], [r for r in rows[1:] if r]
    if not body:
        raise KerasliteError(f"{path} has a header but no epoch rows yet")
    columns: Dict[str, List[float]] = {}
    for index, name in enumerate(header):
        values = []
        for row in body:
            cell = row[index] if index < len(row) else "NA"
            try:
                values.append(float("nan") if cell == "NA" else float(cell))
            except ValueError:
                values = None  # a vector metric ("[0.1, 0.2]") or text: not a curve
                break
        if values is not None:
            columns[name] = values
    return columns


def _panels(columns) -> List[str]:
    names = [n for n in columns if n != "epoch" and not n.startswith("val_")]
    names += [n[4:] for n in columns if n.startswith("val_") and n[4:] not in names]
    keep = [n for n in names if any(not math.isnan(v) for v in columns.get(n, []) + columns.get(f"val_{n}", []))]
    order = {"loss": 0, "learning_rate": 2}
    return sorted(keep, key=lambda n: (order.get(n, 1), names.index(n)))


def plot_history(history, to_file, title=None, dpi=100, separator=","):
    """Draw training (and validation) curves per epoch to ``to_file`` (.png, .svg, .pdf).

    Args:
        history: a CSVLogger file's path, a ``History`` (``model.fit``'s result) or its ``.history`` dict.
        to_file: the picture's path.
        title: a title above the panels (default: the log file's name).
        dpi: the picture's resolution.
        separator: the column separator of a CSVLogger file.

    Returns:
        The matplotlib ``Figure`` (one axes per panel).

    Example:
        >>> keraslite.utils.plot_history("training.log", "history.png")
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise KerasliteError(f"plot_history needs matplotlib ({exc}): pip install 'keraslite[plot]'") from None
    if isinstance(history, (str, os.PathLike)):
        columns, title = read_csv_log(history, separator), title or os.path.basename(os.fspath(history))
    else:
        columns = dict(getattr(history, "history", history))
        count = max((len(v) for v in columns.values()), default=0)
        columns.setdefault("epoch", list(range(count)))
    panels = _panels(columns)
    if not panels:
        raise KerasliteError("plot_history: the log has no numeric column besides 'epoch'")
    epochs = [int(e) + 1 for e in columns["epoch"]]  # epochs counted from 1, as the progress bar shows them
    cols = min(3, len(panels))
    rows = math.ceil(len(panels) / cols)
    figure = Figure(figsize=(4.2 * cols, 3.2 * rows), dpi=dpi, layout="constrained")
    FigureCanvasAgg(figure)
    for i, name in enumerate(panels):
        axes = figure.add_subplot(rows, cols, i + 1)
        if name in columns:
            axes.plot(epochs, columns[name], marker="o", markersize=3, label="training")
        if f"val_{name}" in columns and any(not math.isnan(v) for v in columns[f"val_{name}"]):
            axes.plot(epochs, columns[f"val_{name}"], marker="o", markersize=3, label="validation")
        axes.set_title(name)
        axes.set_xlabel("epoch")
        axes.grid(alpha=0.3)
        axes.legend()
        if name == "learning_rate" and min(columns[name]) > 0:
            axes.set_yscale("log")
    if title:
        figure.suptitle(title)
    figure.savefig(os.fspath(to_file))
    return figure


__all__ = ["plot_history", "read_csv_log"]
