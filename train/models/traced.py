"""Traced steps for fit, evaluate and predict, as Keras runs a compiled train function unless ``run_eagerly=True``.

For each input signature (structure, shapes and dtypes of ``x``, ``y``, ``sample_weight``) the default
``train_step`` / ``test_step`` / ``predict_step`` runs eagerly twice with a ``Recorder`` on (autodiff/trace.py).
When both traces give the same program, later batches of that signature replay it: the forward primitives, the
loss and the VJPs on plain arrays, reading the variables' current values, drawing fresh dropout masks from the
same generators, so the weights come out as the eager step's. Trackers, metrics, the strategy's gradient
all-reduce and the optimizer then run as in the eager step. Everything else stays eager: ``run_eagerly=True``,
an overridden step, ``compute_loss``, ``compute_metrics`` or ``__call__``, a layer, loss or regularizer defined
outside keraslite (Python side effects a replay would skip), outputs carrying a mask, and any step whose trace
fails (see trace.py).
"""
from __future__ import annotations

import types

import numpy as np

from ..autodiff import GradientTape
from ..autodiff.trace import Program, Recorder, TraceError, wrap
from ..data import adapters
from ..layers.base import Layer
from ..layers.keras_tensor import flatten, map_structure

EAGER = "eager"


class StepRunner:
    """``runner(batch)`` runs one train, test or predict step (``kind``), replayed once its signature is traced."""

    def __init__(self, model, kind):
        self.model, self.kind = model, kind
        self.eager = {"train": model.train_step, "test": model.test_step, "predict": model.predict_step}[kind]
        self.enabled = eligible(model, kind)
        # signature -> ("pending", first trace), ("failed", None) after one failed trace, the Program once a second
        # trace matched the first, or EAGER
        self.entries = {}

    def __call__(self, data):
        if not self.enabled:
            return self.eager(data)
        x, y, sample_weight = adapters.unpack(data)
        leaves = []
        key = _signature((x, y, sample_weight), leaves)
        entry = self.entries.get(key) if key is not None else EAGER
        if entry is EAGER:
            return self.eager(data)
        if isinstance(entry, Program):
            return self._replay(entry, leaves, x, y, sample_weight)
        return self._trace(key, entry, leaves, x, y, sample_weight)

    def _settle(self, key, pending, program):
        if program is None:  # a first trace may fail for a one-off reason (a lazy build setting weights)
            self.entries[key] = EAGER if pending is not None else ("failed", None)
        elif pending is None or pending[1] is None:
            self.entries[key] = ("pending", program)
        else:
            self.entries[key] = program if program.key == pending[1].key else EAGER

    def _trace(self, key, pending, leaves, x, y, sample_weight):
        model, training = self.model, self.kind == "train"
        recorder = Recorder(leaves)
        tape = GradientTape() if training else None
        if tape is not None:
            tape.__enter__()
        try:
            with recorder:
                y_pred = model(x, training=training)
                variables = model._variables_to_train() if training else []
                loss = None
                if self.kind != "predict" and (training or model._compiled_loss is not None or model.losses):
                    loss = model.compute_loss(x, y, y_pred, sample_weight, training=training)
        finally:
            if tape is not None:
                tape.__exit__(None, None, None)
        program = None
        try:
            program = _finish(model, recorder, tape, y_pred, loss, variables)
        except TraceError:
            pass
        self._settle(key, pending, program)
        if self.kind == "predict":
            return y_pred
        if training:
            return model._finish_train_step(x, y, sample_weight, y_pred, loss, variables,
                                            lambda: tape.gradient(loss, variables))
        return model._finish_test_step(x, y, sample_weight, y_pred, loss)

    def _replay(self, program, leaves, x, y, sample_weight):
        model, training = self.model, self.kind == "train"
        variables = model._variables_to_train() if training else []
        if len(variables) != len(program.sources) or any(a is not b for a, b in zip(variables, program.sources)):
            return self.eager((x, y, sample_weight))  # the trainable set changed: not the traced step
        outputs, grads = program.run(leaves, differentiate=training)
        it = iter(outputs[program.n_losses:program.n_losses + program.n_pred])
        y_pred = map_structure(lambda _: wrap(next(it)), program.pred_structure)
        if self.kind == "predict":
            return y_pred
        loss = None
        if program.n_losses:
            loss = wrap(outputs[0])
            model._last_output_losses = [wrap(a) for a in outputs[program.n_losses + program.n_pred:]]
        if training:
            return model._finish_train_step(x, y, sample_weight, y_pred, loss, variables, lambda: grads)
        return model._finish_test_step(x, y, sample_weight, y_pred, loss)


def _finish(model, recorder, tape, y_pred, loss, variables):
    """The Program of a traced step, with what the replay needs to rebuild the step's values."""
    flat_pred = model._flat_outputs(y_pred)
    if any(getattr(t, "_keras_mask", None) is not None for t in flat_pred):
        raise TraceError("a mask on the outputs (the metrics read it)")
    parts = list(getattr(model, "_last_output_losses", []) or []) if model._compiled_loss is not None else []
    losses = [] if loss is None else [loss]
    program = recorder.finish(losses + flat_pred + (parts if losses else []), tape, variables)
    program.n_losses, program.n_pred = len(losses), len(flat_pred)
    program.pred_structure = map_structure(lambda _: None, y_pred)
    program.sources = list(variables)
    return program


def _signature(structure, leaves):
    """A hashable key of the batch's nesting, shapes and dtypes (None when a leaf is not a numpy array)."""
    if structure is None:
        return ("none",)
    if type(structure) is np.ndarray:
        leaves.append(structure)
        return structure.shape, structure.dtype.str
    if isinstance(structure, (dict, list, tuple)):
        items = structure.items() if isinstance(structure, dict) else enumerate(structure)
        keys = tuple((k, _signature(v, leaves)) for k, v in items)
        return None if any(v is None for _, v in keys) else (type(structure).__name__, keys)
    return None


def eligible(model, kind) -> bool:
    """Whether ``model``'s ``kind`` steps may be traced (see the module docstring)."""
    from .trainer import Trainer

    if getattr(model, "run_eagerly", False) or not (kind == "predict" or getattr(model, "compiled", False)):
        return False
    cls = type(model)
    step = kind + "_step"
    for name in (step, "compute_loss", "compute_metrics", "_update_loss_trackers", "_flat_outputs"):
        if getattr(cls, name) is not getattr(Trainer, name):
            return False
    if cls.__call__ is not Layer.__call__:
        return False
    stack = [model]
    while stack:
        layer = stack.pop()
        if not _ours(type(layer)) or (layer.activity_regularizer is not None and not _ours(layer.activity_regularizer)):
            return False
        for v in layer._trainable_variables + layer._non_trainable_variables:
            if v.regularizer is not None and not _ours(v.regularizer):
                return False
        stack.extend(layer._sublayers())
    compiled = model._compiled_loss
    if compiled is not None:
        for ident in flatten(compiled.identifiers):
            if ident is not None and not isinstance(ident, (str, dict)) and not _ours(ident):
                return False
    return True


def _ours(obj) -> bool:
    """Whether ``obj`` (a class, a function, or an instance and the function it wraps) is keraslite's own."""
    if isinstance(obj, (type, types.FunctionType, types.BuiltinFunctionType)):
        module = obj.__module__
    else:
        module = type(obj).__module__
        wrapped = getattr(obj, "fn", None)
        if wrapped is not None and not _ours(wrapped):
            return False
    return isinstance(module, str) and (module == "keraslite" or module.startswith("keraslite."))


__all__ = ["StepRunner", "eligible"]
