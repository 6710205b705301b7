"""What ``compile`` builds: the losses and metrics attached to each model output, as Keras 3 resolves them.

Outputs are handled as a flat list in model order with their names (``output_names``). ``loss``, ``loss_weights``,
``metrics`` and ``weighted_metrics`` may be one value (every output), a list (by position) or a dict (by output
name). ``"accuracy"``/``"acc"`` and ``"crossentropy"``/``"ce"`` pick the binary, sparse or categorical form from
the shapes of the targets and predictions, as Keras 3 does. With more than one loss each is also logged as
``<output>_loss``; metrics of a multi-output model are logged as ``<output>_<metric>``.
"""
from __future__ import annotations

from typing import List, Optional

import numpy as np

from ...errors import KerasliteError
from .. import losses as losses_module
from .. import metrics as metrics_module
from ..autodiff import Tensor, elementwise as E


def _shape(x):
    return tuple(x.shape) if hasattr(x, "shape") else np.shape(x)


def resolve_metric(identifier, y_true, y_pred):
    """A Metric object for one output; the name is the user's spelling for strings."""
    if identifier is None:
        raise KerasliteError("Expected metric, received `None`")
    return metrics_module.get_metric(identifier, _shape(y_true), _shape(y_pred))


def resolve_loss(identifier, y_true, y_pred):
    """A Loss object for one output (None for no loss)."""
    if identifier is None:
        return None
    if isinstance(identifier, str) and identifier.lower() in ("crossentropy", "ce"):
        fn = metrics_module.resolve_crossentropy(identifier, _shape(y_true), _shape(y_pred))
        return losses_module.LossFunctionWrapper(fn, name=identifier)
    loss = losses_module.get(identifier)
    if not isinstance(loss, losses_module.Loss):
        if not callable(loss):
            raise KerasliteError(f"Could not interpret loss identifier: {identifier!r}")
        name = identifier if isinstance(identifier, str) else getattr(loss, "__name__", "loss")
        loss = losses_module.LossFunctionWrapper(loss, name=name)
    return loss


def per_output(value, output_names: List[str], argument: str, broadcast: bool = True):
    """``value`` spread over the outputs: one entry per output (None where nothing applies)."""
    n = len(output_names)
    if isinstance(value, dict):
        unknown = sorted(set(value) - set(output_names))
        if unknown:
            raise KerasliteError(f"`{argument}` names output(s) {unknown} that the model does not have; outputs "
                                 f"are {output_names}")
        return [value.get(name) for name in output_names]
    if isinstance(value, (list, tuple)) and n > 1:
        if len(value) != n:
            raise KerasliteError(f"`{argument}` has {len(value)} entries for a model with {n} outputs "
                                 f"{output_names}; give one per output, or a dict keyed by output name")
        return list(value)
    return [value] * n if broadcast else [value] + [None] * (n - 1)


class CompiledLoss:
    """The weighted sum of per-output losses."""

    def __init__(self, loss, loss_weights, output_names: List[str]):
        if loss_weights is not None and not isinstance(loss_weights, (list, tuple, dict, float, int)):
            raise KerasliteError(f"Expected `loss_weights` argument to be a float (single output case) or a list, "
                                 f"tuple, or dict (multiple output case). Received instead: "
                                 f"loss_weights={loss_weights!r} of type {type(loss_weights)}")
        self.user_loss, self.user_weights = loss, loss_weights
        self.output_names = output_names
        self.identifiers = per_output(loss, output_names, "loss")
        weights = per_output(loss_weights, output_names, "loss_weights") if loss_weights is not None else \
            [None] * len(output_names)
        self.weights = [None if w is None else float(w) for w in weights]
        self.losses: Optional[List] = None
        for ident in self.identifiers:  # unknown names fail at compile time, as in Keras
            if isinstance(ident, str) and ident.lower() not in ("crossentropy", "ce"):
                losses_module.get(ident)

    def build(self, y_true, y_pred):
        self.losses = [resolve_loss(i, t, p) for i, t, p in zip(self.identifiers, y_true, y_pred)]
        active = [i for i, l in enumerate(self.losses) if l is not None]
        if not active:
            raise KerasliteError("No loss to compute. Provide a `loss` argument in `compile()`.")
        self.log_names = [f"{self.output_names[i]}_loss" for i in active] if len(active) > 1 else []

    def __call__(self, y_true, y_pred, sample_weights):
        """``(total loss Tensor, [per-output loss values for the logs])``."""
        if self.losses is None:
            self.build(y_true, y_pred)
        total, parts = None, []
        for loss, weight, t, p, sw in zip(self.losses, self.weights, y_true, y_pred, sample_weights):
            if loss is None:
                continue
            if t is None:
                raise KerasliteError(f"missing targets for output {self.output_names[len(parts)]!r}: fit/evaluate "
                                     "needs a `y` for every output that has a loss")
            # a target array by identity as a Tensor, so the loss converts it with primitives (a traced step replays)
            value = loss(Tensor(t) if type(t) is np.ndarray else t, p, sw)
            parts.append(value)
            if weight is not None:
                value = E.multiply(value, weight)
            total = value if total is None else E.add(total, value)
        return total, parts


class CompiledMetrics:
    """Metrics per output (plain and weighted), built on the first batch once target shapes are known."""

    def __init__(self, metrics, weighted_metrics, output_names: List[str]):
        self.output_names = output_names
        self.plain = self._spread(metrics, "metrics")
        self.weighted = self._spread(weighted_metrics, "weighted_metrics")
        self.built = False
        self.objects: List[tuple] = []  # (output index, metric, weighted)

    def _spread(self, value, argument):
        """One list of metric identifiers (or None) per output."""
        n = len(self.output_names)
        if value is None:
            return [None] * n
        if isinstance(value, dict):
            per = per_output(value, self.output_names, argument)
        elif n == 1:
            per = [value]
        elif isinstance(value, (list, tuple)) and len(value) == n:
            per = list(value)  # one entry (a metric or a list of them) per output, as Keras 3 reads it
        else:
            per = [value] * n
        return [None if v is None else (list(v) if isinstance(v, (list, tuple)) else [v]) for v in per]

    def build(self, y_true, y_pred):
        prefix = len(self.output_names) > 1
        names = set()
        for i, (t, p) in enumerate(zip(y_true, y_pred)):
            plain_names = set()
            for group, weighted in ((self.plain[i], False), (self.weighted[i], True)):
                for ident in group or []:
                    metric = resolve_metric(ident, t, p)
                    if weighted and metric.name in plain_names:  # Keras renames only a clashing weighted metric
                        metric.name = f"weighted_{metric.name}"
                    elif not weighted:
                        plain_names.add(metric.name)
                    if prefix:
                        metric.name = f"{self.output_names[i]}_{metric.name}"
                    if metric.name in names:
                        raise KerasliteError(f"two metrics are both named {metric.name!r}; give them distinct "
                                             "names (name=...)")
                    names.add(metric.name)
                    self.objects.append((i, metric, weighted))
        self.built = True

    def update_state(self, y_true, y_pred, sample_weights):
        if not self.built:
            self.build(y_true, y_pred)
        for i, metric, weighted in self.objects:
            if y_true[i] is None:
                continue
            metric.update_state(y_true[i], y_pred[i], sample_weights[i] if weighted else None)

    @property
    def metrics(self):
        return [m for _, m, _ in self.objects]

    def reset_state(self):
        for m in self.metrics:
            m.reset_state()


def as_list(y, output_names, argument="y"):
    """Targets (or sample weights) as one entry per output: a single value, a list, or a dict by name."""
    n = len(output_names)
    if y is None:
        return [None] * n
    if isinstance(y, dict):
        unknown = sorted(set(y) - set(output_names))
        if unknown:
            raise KerasliteError(f"`{argument}` has key(s) {unknown} that are not model outputs; outputs are "
                                 f"{output_names}")
        return [y.get(name) for name in output_names]
    if isinstance(y, (list, tuple)) and n > 1:
        if len(y) != n:
            raise KerasliteError(f"`{argument}` has {len(y)} arrays for a model with {n} outputs {output_names}")
        return list(y)
    if isinstance(y, (list, tuple)) and n == 1 and len(y) == 1 and isinstance(y[0], (np.ndarray, Tensor)):
        return [y[0]]
    if argument == "sample_weight" and n > 1:
        return [y] * n
    return [y] + [None] * (n - 1) if n > 1 else [y]


__all__ = ["CompiledLoss", "CompiledMetrics", "resolve_metric", "resolve_loss", "as_list", "per_output"]
